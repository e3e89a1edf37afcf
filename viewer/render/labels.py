"""Structure labels with leader lines, laid out in screen space beside the model.

One label per visible structure, anchored at a representative surface point:
of the structure's vertices that the depth buffer shows unoccluded, the one
nearest their screen centroid (structures entirely hidden get no label;
translucent ones such as the skin do not hide what is under them). Labels go in two columns, left and right of the model's screen
footprint, each label on the side of its anchor; a 1D sweep in each column
keeps them apart, inside the window and clear of the legends, colour bar
and captions (``obstacles``). A structure or pin is named only when it is
really seen: drawn opaque enough not to be a ghost, its anchor unoccluded in
the depth buffer, not on the far side in a lateral view, and each name once.
One rule sizes all overlay text from the output (:func:`screen_text_sizes`
on screen, :func:`print_text_sizes` for exports); labels are dropped rather
than shrunk below the legible size. ``update()`` re-lays them out after the
camera, the pose or the visibility changes.

Written against ``pyvista.BasePlotter`` (off-screen plotter or the Qt
interactor); the layout itself is the pure function :func:`layout_labels`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyvista as pv
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor2D, vtkCoordinate, vtkPolyDataMapper2D, vtkTextActor

from viewer.types import FloatArray

MIN_FONT, MAX_FONT = 9, 30
FONT_PER_HEIGHT = 1 / 48  # 25 px text in a 1200 px tall window
MIN_FONT_PER_HEIGHT = 0.0125  # times the label scale: 2.5 % of the height in presentation mode (scale 2)
PRINT_FONT_PT, PRINT_MIN_FONT_PT = 9.0, 8.0  # handout text, and the smallest still read comfortably
A4_WIDTH_INCH = 210 / 25.4  # an export without a dpi is taken to fill an A4 page's width
POINTS_PER_INCH = 72.0
LINE_PER_FONT = 1 / 14  # leader line width per pixel of font size (2.7 px for 9 pt at 300 dpi)
TEXT_COLOUR = (0.1, 0.1, 0.1)
BOX_COLOUR = (1.0, 1.0, 0.98)
LEADER_COLOUR = (0.15, 0.15, 0.15)
GHOST_OPACITY = 0.3  # at or below this a structure is a ghost (peeled layer, technique's see-through layer)
FAR_SIDE_LATERAL = 0.8  # camera direction's lateral component from which the other side is the far side


@dataclass(frozen=True)
class TextSizes:
    """Sizes, in output pixels, for every piece of overlay text and line (labels, legends, bars, captions)."""

    font_px: int  # preferred font size
    min_font_px: int  # labels are dropped rather than shrunk below this
    line_px: float  # leader lines and frames

    def shrunk(self, factor: float) -> TextSizes:
        """The sizes in a window ``factor`` times smaller than the output (a tiled export's layout window)."""
        if factor == 1:
            return self
        return TextSizes(
            max(1, round(self.font_px / factor)), max(1, round(self.min_font_px / factor)), self.line_px / factor
        )

    @property
    def margin_px(self) -> int:
        """Clearance from the picture edge and around reserved boxes."""
        return max(4, self.font_px // 2)

    @property
    def gap_px(self) -> int:
        """Clearance between two labels."""
        return max(3, self.font_px // 5)


def _sizes(font: float, minimum: float) -> TextSizes:
    font_px = int(max(np.ceil(minimum), round(font)))
    return TextSizes(font_px, int(np.ceil(minimum)), max(1.5, font_px * LINE_PER_FONT))


def screen_text_sizes(height: float, scale: float = 1.0) -> TextSizes:
    """On screen: a share of the view height, times the label scale (2 in presentation mode).

    The legible minimum is ``MIN_FONT_PER_HEIGHT * scale`` of the height (2.5 % when presenting), never under 9 px.
    """
    font = np.clip(height * FONT_PER_HEIGHT * scale, MIN_FONT * scale, MAX_FONT * scale)
    return _sizes(font, max(MIN_FONT, MIN_FONT_PER_HEIGHT * scale * height))


def print_text_sizes(width: float, dpi: float | None = None) -> TextSizes:
    """For an exported picture: 9 pt text (8 pt at least) when printed at ``dpi``.

    Without a dpi the picture is taken to fill the width of an A4 page (2480 px wide: 300 dpi, 9 pt = 38 px).
    """
    dpi = dpi if dpi else width / A4_WIDTH_INCH
    px_per_pt = dpi / POINTS_PER_INCH
    return _sizes(max(MIN_FONT, PRINT_FONT_PT * px_per_pt), max(MIN_FONT, PRINT_MIN_FONT_PT * px_per_pt))


def far_side(view_direction: FloatArray) -> str | None:
    """The body side turned away from a camera looking from ``view_direction`` (focus to camera, pelvis frame,
    Z right): ``"left"`` in a right lateral view, ``"right"`` in a left one, None when both sides face it."""
    direction = np.asarray(view_direction, dtype=float)
    lateral = direction[2] / max(float(np.linalg.norm(direction)), 1e-12)
    if lateral >= FAR_SIDE_LATERAL:
        return "left"
    if lateral <= -FAR_SIDE_LATERAL:
        return "right"
    return None


@dataclass(frozen=True)
class LabelItem:
    """Something else named in the shared layout (e.g. a landmark pin): a sphere of ``radius`` mm at ``point``."""

    key: str
    text: str
    point: FloatArray
    side: str | None = None
    radius: float = 0.0


@dataclass(frozen=True)
class Box:
    """A label rectangle in display pixels (origin bottom left)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box, gap: float = 0.0) -> bool:
        """Whether this box and ``other`` come closer than ``gap`` pixels."""
        return not (
            self.x1 + gap <= other.x0
            or other.x1 + gap <= self.x0
            or self.y1 + gap <= other.y0
            or other.y1 + gap <= self.y0
        )

    def inside(self, width: float, height: float) -> bool:
        """Whether the box lies wholly within a ``width`` x ``height`` picture."""
        return self.x0 >= 0 and self.y0 >= 0 and self.x1 <= width and self.y1 <= height


def _sweep(targets: FloatArray, heights: FloatArray, low: float, high: float, gap: float) -> FloatArray | None:
    """Bottoms of boxes stacked in one column, each as near its target centre as the others allow.

    Items must be sorted by target, highest first. Returns None if they cannot fit between low and high.
    """
    n = len(targets)
    if n == 0:
        return np.zeros(0)
    if heights.sum() + gap * (n - 1) > high - low:
        return None
    bottoms = np.empty(n)
    ceiling = high
    for i in range(n):  # top down: below the previous one, no higher than the window
        bottoms[i] = min(targets[i] - heights[i] / 2, ceiling - heights[i])
        ceiling = bottoms[i] - gap
    floor = low
    for i in range(n - 1, -1, -1):  # bottom up: above the next one, no lower than the window
        bottoms[i] = max(bottoms[i], floor)
        floor = bottoms[i] + heights[i] + gap
    return bottoms


def layout_labels(
    anchors: FloatArray,
    sizes: FloatArray,
    window: tuple[float, float],
    model_box: tuple[float, float, float, float] | None = None,
    margin: float = 8.0,
    gap: float = 4.0,
    column_gap: float = 24.0,
    obstacles: Sequence[Box] = (),
) -> list[Box] | None:
    """Place one box per anchor in two columns beside the model; None if they do not fit.

    ``anchors`` (n, 2) display pixels, ``sizes`` (n, 2) box width and height,
    ``model_box`` (x0, y0, x1, y1) the model's footprint on screen. Anchors left
    of the footprint's centre get a label in the left column, the others in
    the right one; a side that overflows hands its lowest-priority labels
    (last in the input) to the other side. Boxes keep ``margin`` from the
    window edge and from every ``obstacle`` (legend, colour bar, caption) in
    their column: one in the lower half raises the column's floor, one in the
    upper half lowers its ceiling.
    """
    anchors = np.asarray(anchors, dtype=float).reshape(-1, 2)
    sizes = np.asarray(sizes, dtype=float).reshape(-1, 2)
    width, height = window
    if model_box is None:
        model_box = (width * 0.3, 0.0, width * 0.7, height)
    centre = (model_box[0] + model_box[2]) / 2
    sides = np.where(anchors[:, 0] < centre, 0, 1)
    # columns hug the footprint but stay inside the window
    widest = [sizes[sides == s, 0].max() if (sides == s).any() else 0.0 for s in (0, 1)]
    for _attempt in range(len(anchors) + 1):
        boxes: list[Box | None] = [None] * len(anchors)
        overflow = None
        for side in (0, 1):
            members = np.flatnonzero(sides == side)
            order = members[np.argsort(-anchors[members, 1], kind="stable")]
            if side == 0:
                right = min(max(model_box[0] - column_gap, margin + widest[0]), width - margin)
                column = (max(margin, right - widest[0]), right)
            else:
                left = max(margin, min(model_box[2] + column_gap, width - margin - widest[1]))
                column = (left, left + widest[1])
            low, high = _free_span(column, obstacles, height, margin)
            bottoms = _sweep(anchors[order, 1], sizes[order, 1], low, high, gap)
            if bottoms is None:
                overflow = side
                break
            for index, bottom in zip(order, bottoms, strict=True):
                w, h = sizes[index]
                x0 = max(margin, column[1] - w) if side == 0 else column[0]
                boxes[index] = Box(x0, bottom, x0 + w, bottom + h)
        if overflow is None:
            result = [b for b in boxes if b is not None]
            if _columns_overlap(result):
                return None
            return result
        # move the last (lowest-priority) label of the full side across, if the other side has room
        members = np.flatnonzero(sides == overflow)
        if len(members) == 0:
            return None
        sides[members[-1]] = 1 - overflow
        widest = [sizes[sides == s, 0].max() if (sides == s).any() else 0.0 for s in (0, 1)]
        if all((sides == s).sum() and sizes[sides == s, 1].sum() > height for s in (0, 1)):
            return None
    return None


def _free_span(
    column: tuple[float, float], obstacles: Sequence[Box], height: float, margin: float
) -> tuple[float, float]:
    """(floor, ceiling) of a column spanning x in ``column``, clear of the window edge and of the obstacles."""
    low, high = margin, height - margin
    for obstacle in obstacles:
        if obstacle.x1 + margin <= column[0] or column[1] + margin <= obstacle.x0:
            continue
        if (obstacle.y0 + obstacle.y1) / 2 < height / 2:
            low = max(low, obstacle.y1 + margin)
        else:
            high = min(high, obstacle.y0 - margin)
    return low, high


def _columns_overlap(boxes: Sequence[Box]) -> bool:
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def font_size_for(window_height: float, scale: float = 1.0) -> int:
    """Preferred on-screen label font size (pixels) for a view ``window_height`` tall."""
    return screen_text_sizes(window_height, scale).font_px


def anchor_point(vertices: FloatArray, camera_position: FloatArray, share: float = 0.35) -> FloatArray:
    """A representative visible point: of the vertices nearest the centroid, the one nearest the camera."""
    vertices = np.asarray(vertices, dtype=float)
    centroid = vertices.mean(axis=0)
    distance = np.linalg.norm(vertices - centroid, axis=1)
    near = vertices[distance <= np.quantile(distance, share)]
    return near[np.linalg.norm(near - camera_position, axis=1).argmin()]


def project(plotter: pv.BasePlotter, points: FloatArray) -> FloatArray:
    """Display x, y (pixels, origin bottom left) and depth-buffer z (0 near, 1 far) of world points."""
    width, height = plotter.window_size
    matrix = plotter.camera.GetCompositeProjectionTransformMatrix(width / max(height, 1), -1, 1)
    m = np.array([[matrix.GetElement(i, j) for j in range(4)] for i in range(4)])
    homogeneous = np.c_[np.asarray(points, dtype=float), np.ones(len(points))] @ m.T
    ndc = homogeneous[:, :3] / homogeneous[:, 3:4]
    return np.c_[(ndc[:, 0] + 1) / 2 * width, (ndc[:, 1] + 1) / 2 * height, (ndc[:, 2] + 1) / 2]


def depth_buffer(plotter: pv.BasePlotter) -> FloatArray | None:
    """The depth buffer of the last frame drawn (height, width), row 0 at the bottom; opaque geometry only.

    None if unreadable. It draws no frame: the caller draws the depth pass first.
    """
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    grab = vtkWindowToImageFilter()
    grab.SetInput(plotter.render_window)
    grab.SetInputBufferTypeToZBuffer()
    grab.ShouldRerenderOff()  # the caller drew the depth pass; another render would be a wasted frame
    grab.ReadFrontBufferOff()
    grab.Update()
    image = grab.GetOutput()
    width, height, _ = image.GetDimensions()
    depth = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(height, width)
    return depth if np.isfinite(depth).all() and depth.min() >= 0 and depth.max() <= 1 else None


def seen_mask(
    screen: FloatArray, zbuffer: FloatArray | None, window: tuple[int, int], tolerance: float = 2e-4
) -> np.ndarray:
    """(n,) whether each projected point (display x, y, depth) is on screen and not behind the depth buffer.

    Without a depth buffer every on-screen point counts as seen.
    """
    width, height = window
    x = np.round(screen[:, 0]).astype(int)
    y = np.round(screen[:, 1]).astype(int)
    on_screen = (x >= 0) & (x < width) & (y >= 0) & (y < height) & (screen[:, 2] > 0) & (screen[:, 2] < 1)
    if zbuffer is None:
        return on_screen
    seen = np.zeros(len(screen), dtype=bool)
    seen[on_screen] = screen[on_screen, 2] <= zbuffer[y[on_screen], x[on_screen]] + tolerance
    return seen


def facing_points(centre: FloatArray, radius: float, camera_position: FloatArray, ring: int = 8) -> FloatArray:
    """(ring + 1, 3) points on the camera-facing half of a sphere: its near pole and a ring 70 degrees from it."""
    towards = np.asarray(camera_position, dtype=float) - centre
    towards /= max(float(np.linalg.norm(towards)), 1e-12)
    helper = np.array([1.0, 0.0, 0.0]) if abs(towards[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(towards, helper)
    u /= np.linalg.norm(u)
    v = np.cross(towards, u)
    angles = np.linspace(0, 2 * np.pi, ring, endpoint=False)
    tilt = np.radians(70)
    rim = np.cos(tilt) * towards + np.sin(tilt) * (np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v)
    return centre + radius * np.r_[towards[None], rim]


def visible_anchor(
    screen: FloatArray, zbuffer: FloatArray | None, window: tuple[int, int], tolerance: float = 2e-4
) -> int | None:
    """Index of the representative unoccluded vertex: nearest the screen centroid of the unoccluded ones."""
    seen = seen_mask(screen, zbuffer, window, tolerance)
    if seen.sum() < 3:
        return None
    candidates = np.flatnonzero(seen)
    centre = screen[candidates, :2].mean(axis=0)
    return int(candidates[np.linalg.norm(screen[candidates, :2] - centre, axis=1).argmin()])


def _line_actor() -> tuple[vtkActor2D, vtkPolyData]:
    data = vtkPolyData()
    mapper = vtkPolyDataMapper2D()
    mapper.SetInputData(data)
    coordinate = vtkCoordinate()
    coordinate.SetCoordinateSystemToDisplay()
    mapper.SetTransformCoordinate(coordinate)
    actor = vtkActor2D()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*LEADER_COLOUR)
    actor.GetProperty().SetLineWidth(1.5)
    actor.GetProperty().SetPointSize(6)
    actor.PickableOff()
    return actor, data


def text_box(actor: vtkTextActor, renderer) -> Box:
    """Where a 2D text actor is drawn, in display pixels (VTK's bounding box, frame included, is relative to the
    actor's position)."""
    bbox = [0.0, 0.0, 0.0, 0.0]
    actor.GetBoundingBox(renderer, bbox)
    x, y = actor.GetPosition()
    return Box(x + bbox[0], y + bbox[2], x + bbox[1] + 1, y + bbox[3] + 1)


class StructureLabels:
    """Labels for the visible structures of a :class:`~viewer.render.scene_view.SceneView`.

    ``enabled`` switches the structure names; the ``extra_items`` (landmark pins) are named whenever they
    return anything, laid out with the structures so nothing overlaps.
    """

    def __init__(self, scene_view, enabled: bool = False, names: Iterable[str] | None = None) -> None:
        self.scene_view = scene_view
        self.plotter: pv.BasePlotter = scene_view.plotter
        self.model = scene_view.model
        self.only = set(names) if names is not None else None
        self.text_actors: dict[str, vtkTextActor] = {}
        self.boxes: dict[str, Box] = {}
        self.anchors: dict[str, tuple[float, float]] = {}
        self.font_size = MIN_FONT
        self.line_width = 1.5
        # more items laid out with the structures, e.g. the landmark pins' names
        self.extra_items: Callable[[], list[LabelItem]] | None = None
        # where a structure may be anchored (default: its vertices); None skips it (a cross-section names
        # only the structures it cuts, on their cut faces)
        self.anchor_points: Callable[[str], FloatArray | None] | None = None
        # regions the labels keep clear of (legends, colour bar, technique caption), display pixels
        self.obstacles: list[Callable[[], Iterable[Box]]] = []
        self.text_sizes: Callable[[], TextSizes] = lambda: screen_text_sizes(self.plotter.window_size[1])
        self._texts: dict[str, str] = {}
        self._offsets: dict[vtkTextActor, tuple[float, float]] = {}
        self._lines, self._line_data = _line_actor()
        self.plotter.renderer.AddViewProp(self._lines)
        self._enabled = False
        self.set_enabled(enabled)

    # --- switching --------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        """Whether labels are shown."""
        return self._enabled

    @property
    def active(self) -> bool:
        """Whether anything is named: the structures, or the extra items (pins) while they are shown."""
        return self._enabled or bool(self.extra_items and self.extra_items())

    def set_enabled(self, enabled: bool, layout: bool = True) -> None:
        """Name the structures or not; ``layout=False`` leaves the layout to the scene's next frame."""
        self._enabled = bool(enabled)
        if layout:
            self.update()
            self.scene_view.request_render()

    def _clear(self) -> None:
        for actor in self.text_actors.values():
            actor.SetVisibility(False)
        self._line_data.Initialize()
        self._lines.SetVisibility(False)
        self.boxes = {}
        self.anchors = {}

    # --- what to label ------------------------------------------------------------------------
    def candidates(self) -> list[str]:
        """Shown, not ghosted structures (in scene order), optionally limited to ``names``.

        The skin is translucent by design and still named; any other structure at ghost opacity is a
        peeled or see-through layer and is not.
        """
        names = []
        for name in self.model.structures:
            if self.only is not None and name not in self.only:
                continue
            actor = self.scene_view.actors.get(name)
            if actor is None or not actor.GetVisibility():
                continue
            if actor.prop.opacity <= GHOST_OPACITY and self.model.structures[name].kind != "skin":
                continue
            names.append(name)
        return names

    def _display(self, point: FloatArray) -> tuple[float, float, float]:
        renderer = self.plotter.renderer
        renderer.SetWorldPoint(*point, 1.0)
        renderer.WorldToDisplay()
        return renderer.GetDisplayPoint()

    def _text_actor(self, name: str) -> vtkTextActor:
        actor = self.text_actors.get(name)
        if actor is None:
            actor = vtkTextActor()
            prop = actor.GetTextProperty()
            prop.SetColor(*TEXT_COLOUR)
            prop.SetBackgroundColor(*BOX_COLOUR)
            prop.SetBackgroundOpacity(0.82)
            prop.SetFrame(True)
            prop.SetFrameColor(0.55, 0.55, 0.55)
            prop.SetFontFamilyToArial()
            prop.SetJustificationToLeft()
            prop.SetVerticalJustificationToBottom()
            actor.PickableOff()
            actor.SetVisibility(False)  # shown once placed (a label that does not fit stays hidden)
            self.plotter.renderer.AddViewProp(actor)
            self.text_actors[name] = actor
        actor.SetInput(self._texts[name])
        return actor

    def _measure(self, actor: vtkTextActor) -> tuple[float, float]:
        actor.SetPosition(0, 0)
        box = text_box(actor, self.plotter.renderer)
        self._offsets[actor] = (box.x0, box.y0)  # the frame reaches a little below and left of the position
        return box.x1 - box.x0, box.y1 - box.y0

    def _seen(self, zbuffer: FloatArray | None) -> tuple[list[str], list[tuple[float, float]]]:
        """Keys and anchors (display pixels) of what is really seen, each name once, structures first."""
        width, height = self.plotter.window_size
        camera = self.plotter.camera
        camera_position = np.asarray(camera.position, dtype=float)
        hidden_side = far_side(camera_position - np.asarray(camera.focal_point, dtype=float))
        keys, anchors, named = [], [], set()

        def add(key: str, text: str, anchor: FloatArray) -> None:
            if text.casefold() in named:  # e.g. the sacrum as a structure and as a pin
                return
            named.add(text.casefold())
            self._texts[key] = text
            keys.append(key)
            anchors.append((float(anchor[0]), float(anchor[1])))

        for name in self.candidates() if self._enabled else []:
            structure = self.model.structures[name]
            if structure.side is not None and structure.side == hidden_side:
                continue
            points = self.anchor_points(name) if self.anchor_points is not None else self.model.vertices(name)
            if points is None:
                continue
            screen = project(self.plotter, points)
            index = visible_anchor(screen, zbuffer, (width, height))
            if index is not None:  # else hidden behind other structures
                add(name, self.model.structure_name(name), screen[index])  # in the scene's language
        for item in self.extra_items() if self.extra_items else []:
            if item.side is not None and item.side == hidden_side:
                continue
            centre = np.asarray(item.point, dtype=float)
            screen = project(self.plotter, np.r_[centre[None], facing_points(centre, item.radius, camera_position)])
            if seen_mask(screen[1:], zbuffer, (width, height)).any():  # some of the pin shows
                add(item.key, item.text, screen[0])
        return keys, anchors

    # --- layout -----------------------------------------------------------------------------------
    def update(self) -> None:
        """Re-anchor and re-lay out every label for the current camera, pose and visibility.

        Draws one depth pass when anything is to be named; the frame that shows the labels is the caller's
        (:meth:`SceneView.flush`, or the next screenshot).
        """
        self._clear()
        if not self.active:
            return
        self.scene_view.depth_pass()  # the depth pass: labels name what this frame shows
        names, anchors = self._seen(depth_buffer(self.plotter))
        if not names:
            return
        sizes_rule = self.text_sizes()
        obstacles = [box for provider in self.obstacles for box in provider()]
        fitted = self._fit(names, np.array(anchors), sizes_rule, obstacles)
        self.line_width = sizes_rule.line_px
        self._lines.GetProperty().SetLineWidth(self.line_width)
        self._lines.GetProperty().SetPointSize(3 * self.line_width)
        points, lines = vtkPoints(), vtkCellArray()
        for name, anchor, box in fitted:
            actor = self.text_actors[name]
            offset = self._offsets.get(actor, (0.0, 0.0))
            actor.SetPosition(box.x0 - offset[0], box.y0 - offset[1])
            actor.SetVisibility(True)
            self.boxes[name] = box
            self.anchors[name] = (float(anchor[0]), float(anchor[1]))
            # leader from the inner edge of the box to the anchor, with a dot at the anchor
            start_x = box.x1 if anchor[0] >= box.x1 else box.x0
            start = points.InsertNextPoint(start_x, (box.y0 + box.y1) / 2, 0)
            end = points.InsertNextPoint(anchor[0], anchor[1], 0)
            lines.InsertNextCell(2)
            lines.InsertCellPoint(start)
            lines.InsertCellPoint(end)
        verts = vtkCellArray()
        for k in range(1, points.GetNumberOfPoints(), 2):
            verts.InsertNextCell(1)
            verts.InsertCellPoint(k)
        self._line_data.SetPoints(points)
        self._line_data.SetLines(lines)
        self._line_data.SetVerts(verts)
        self._line_data.Modified()
        self._lines.SetVisibility(True)

    def _fit(
        self, names: list[str], anchors: FloatArray, rule: TextSizes, obstacles: list[Box]
    ) -> list[tuple[str, FloatArray, Box]]:
        """(name, anchor, box) of the labels that fit: the font shrinks from the preferred size to the legible
        minimum, then the last (lowest-priority) labels are dropped."""
        width, height = self.plotter.window_size
        model_box = self._footprint()
        step = max(1, rule.font_px // 12)
        fonts = [*range(rule.font_px, rule.min_font_px, -step), rule.min_font_px]
        for font in fonts:
            sizes = []
            for name in names:
                actor = self._text_actor(name)
                actor.GetTextProperty().SetFontSize(font)
                sizes.append(self._measure(actor))
            count = len(names) if font != fonts[-1] else 1  # at the minimum font, drop labels until they fit
            for n in range(len(names), count - 1, -1):
                boxes = layout_labels(
                    anchors[:n], np.array(sizes[:n]), (width, height), model_box,
                    margin=rule.margin_px, gap=rule.gap_px, column_gap=rule.font_px, obstacles=obstacles,
                )  # fmt: skip
                if boxes is not None:
                    self.font_size = font
                    return list(zip(names[:n], anchors[:n], boxes, strict=True))
        return []

    def _footprint(self) -> tuple[float, float, float, float]:
        """Screen rectangle of the visible structures' bounding boxes."""
        corners = []
        for name in self.candidates():
            b = self.scene_view.actors[name].GetBounds()
            for x in b[0:2]:
                for y in b[2:4]:
                    for z in b[4:6]:
                        corners.append(self._display((x, y, z))[:2])
        width, height = self.plotter.window_size
        if not corners:
            return (0.3 * width, 0.0, 0.7 * width, height)
        c = np.clip(np.array(corners), 0, [width, height])
        return (float(c[:, 0].min()), float(c[:, 1].min()), float(c[:, 0].max()), float(c[:, 1].max()))

    def remove(self) -> None:
        """Take every label and leader line off the plotter."""
        for actor in self.text_actors.values():
            self.plotter.renderer.RemoveViewProp(actor)
        self.plotter.renderer.RemoveViewProp(self._lines)
        self.text_actors.clear()


__all__ = [
    "Box",
    "LabelItem",
    "StructureLabels",
    "TextSizes",
    "anchor_point",
    "depth_buffer",
    "facing_points",
    "far_side",
    "font_size_for",
    "layout_labels",
    "print_text_sizes",
    "project",
    "screen_text_sizes",
    "seen_mask",
    "text_box",
    "visible_anchor",
]
