"""Structure labels with leader lines, laid out in screen space beside the model.

One label per visible structure, anchored at a representative surface point:
of the structure's vertices that the depth buffer shows unoccluded, the one
nearest their screen centroid (structures entirely hidden get no label;
translucent ones such as the skin do not hide what is under them). Labels go in two columns, left and right of the model's screen
footprint, each label on the side of its anchor; a 1D sweep in each column
keeps them apart and inside the window. Font size scales with the window
height so labels stay legible on a projector. ``update()`` re-lays them out
after the camera, the pose or the visibility changes.

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

from viewer.anatomy.lagrange import FloatArray

MIN_FONT, MAX_FONT = 9, 30
FONT_PER_HEIGHT = 1 / 48  # 25 px text in a 1200 px tall window
TEXT_COLOUR = (0.1, 0.1, 0.1)
BOX_COLOUR = (1.0, 1.0, 0.98)
LEADER_COLOUR = (0.15, 0.15, 0.15)
MIN_VISIBLE_OPACITY = 0.3  # ghosts are not labelled


@dataclass(frozen=True)
class Box:
    """A label rectangle in display pixels (origin bottom left)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box, gap: float = 0.0) -> bool:
        return not (
            self.x1 + gap <= other.x0
            or other.x1 + gap <= self.x0
            or self.y1 + gap <= other.y0
            or other.y1 + gap <= self.y0
        )

    def inside(self, width: float, height: float) -> bool:
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
) -> list[Box] | None:
    """Place one box per anchor in two columns beside the model; None if they do not fit.

    ``anchors`` (n, 2) display pixels, ``sizes`` (n, 2) box width and height,
    ``model_box`` (x0, y0, x1, y1) the model's footprint on screen. Anchors left
    of the footprint's centre get a label in the left column, the others in
    the right one; a side that overflows hands its lowest-priority labels
    (last in the input) to the other side.
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
            bottoms = _sweep(anchors[order, 1], sizes[order, 1], margin, height - margin, gap)
            if bottoms is None:
                overflow = side
                break
            for index, bottom in zip(order, bottoms, strict=True):
                w, h = sizes[index]
                if side == 0:
                    right = min(max(model_box[0] - column_gap, margin + widest[0]), width - margin)
                    x0 = max(margin, right - w)
                else:
                    x0 = max(margin, min(model_box[2] + column_gap, width - margin - widest[1]))
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


def _columns_overlap(boxes: Sequence[Box]) -> bool:
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def font_size_for(window_height: float) -> int:
    return int(np.clip(round(window_height * FONT_PER_HEIGHT), MIN_FONT, MAX_FONT))


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
    """The rendered depth buffer (height, width), row 0 at the bottom; opaque geometry only (None if unreadable)."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    if isinstance(plotter, pv.Plotter) and plotter.off_screen and not getattr(plotter, "_rendered", True):
        plotter.show(auto_close=False)  # an off-screen window has no buffers until first shown
    plotter.render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(plotter.render_window)
    grab.SetInputBufferTypeToZBuffer()
    grab.ReadFrontBufferOff()
    grab.Update()
    image = grab.GetOutput()
    width, height, _ = image.GetDimensions()
    depth = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(height, width)
    return depth if np.isfinite(depth).all() and depth.min() >= 0 and depth.max() <= 1 else None


def visible_anchor(
    screen: FloatArray, zbuffer: FloatArray | None, window: tuple[int, int], tolerance: float = 2e-4
) -> int | None:
    """Index of the representative unoccluded vertex: nearest the screen centroid of the unoccluded ones.

    Without a depth buffer every on-screen vertex counts as seen.
    """
    width, height = window
    x = np.round(screen[:, 0]).astype(int)
    y = np.round(screen[:, 1]).astype(int)
    on_screen = (x >= 0) & (x < width) & (y >= 0) & (y < height) & (screen[:, 2] > 0) & (screen[:, 2] < 1)
    seen = np.zeros(len(screen), dtype=bool)
    if zbuffer is None:
        seen = on_screen
    else:
        seen[on_screen] = screen[on_screen, 2] <= zbuffer[y[on_screen], x[on_screen]] + tolerance
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


class StructureLabels:
    """Labels for the visible structures of a :class:`~viewer.render.scene_view.SceneView`."""

    def __init__(self, scene_view, enabled: bool = False, names: Iterable[str] | None = None) -> None:
        self.scene_view = scene_view
        self.plotter: pv.BasePlotter = scene_view.plotter
        self.model = scene_view.model
        self.only = set(names) if names is not None else None
        self.text_actors: dict[str, vtkTextActor] = {}
        self.boxes: dict[str, Box] = {}
        self.anchors: dict[str, tuple[float, float]] = {}
        self.font_size = MIN_FONT
        # more (key, text, point) items laid out with the structures, e.g. the landmark pins' names
        self.extra_items: Callable[[], list[tuple[str, str, FloatArray]]] | None = None
        self._texts: dict[str, str] = {}
        self._lines, self._line_data = _line_actor()
        self.plotter.renderer.AddViewProp(self._lines)
        self._enabled = False
        self.set_enabled(enabled)

    # --- switching --------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        self._enabled = bool(enabled)
        if self._enabled:
            self.update()
        else:
            self._clear()
            self.plotter.render()

    def toggle(self) -> bool:
        self.set_enabled(not self._enabled)
        return self._enabled

    def _clear(self) -> None:
        for actor in self.text_actors.values():
            actor.SetVisibility(False)
        self._line_data.Initialize()
        self._lines.SetVisibility(False)
        self.boxes = {}
        self.anchors = {}

    # --- what to label ------------------------------------------------------------------------
    def candidates(self) -> list[str]:
        """Visible, not ghosted structures (in scene order), optionally limited to ``names``."""
        names = []
        for name in self.model.structures:
            if self.only is not None and name not in self.only:
                continue
            actor = self.scene_view.actors.get(name)
            if actor is None or not actor.GetVisibility() or actor.prop.opacity < MIN_VISIBLE_OPACITY:
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
            self.plotter.renderer.AddViewProp(actor)
            self.text_actors[name] = actor
        actor.SetInput(self._texts.get(name) or self.model.structure_name(name))  # in the scene's language
        return actor

    def _measure(self, actor: vtkTextActor) -> tuple[float, float]:
        bbox = [0.0, 0.0, 0.0, 0.0]
        actor.SetPosition(0, 0)
        actor.GetBoundingBox(self.plotter.renderer, bbox)
        return bbox[1] - bbox[0] + 1, bbox[3] - bbox[2] + 1

    # --- layout -----------------------------------------------------------------------------------
    def update(self) -> None:
        """Re-anchor and re-lay out every label for the current camera, pose and visibility."""
        if not self._enabled:
            return
        self._clear()
        width, height = self.plotter.window_size
        zbuffer = depth_buffer(self.plotter)
        names, anchors = [], []
        for name in self.candidates():
            screen = project(self.plotter, self.model.vertices(name))
            index = visible_anchor(screen, zbuffer, (width, height))
            if index is None:  # hidden behind other structures
                continue
            names.append(name)
            anchors.append(tuple(screen[index, :2]))
        for key, text, point in self.extra_items() if self.extra_items else []:
            screen = project(self.plotter, np.asarray(point, dtype=float)[None])[0]
            if 0 <= screen[0] < width and 0 <= screen[1] < height:
                self._texts[key] = text
                names.append(key)
                anchors.append((float(screen[0]), float(screen[1])))
        if not names:
            self.plotter.render()
            return
        anchors_array = np.array(anchors)
        model_box = self._footprint()
        boxes = None
        font = font_size_for(height)
        while font >= MIN_FONT - 2:
            sizes = []
            for name in names:
                actor = self._text_actor(name)
                actor.GetTextProperty().SetFontSize(font)
                sizes.append(self._measure(actor))
            boxes = layout_labels(anchors_array, np.array(sizes), (width, height), model_box, margin=max(4, font // 2))
            if boxes is not None:
                break
            font -= 1
        while boxes is None and len(names) > 1:  # too many for the window: drop the deepest (last) labels
            names, anchors_array, sizes = names[:-1], anchors_array[:-1], sizes[:-1]
            boxes = layout_labels(anchors_array, np.array(sizes), (width, height), model_box)
        boxes = boxes or []
        font = max(font, MIN_FONT - 2)
        self.font_size = font
        points, lines = vtkPoints(), vtkCellArray()
        for name, anchor, box in zip(names, anchors_array, boxes, strict=False):
            actor = self.text_actors[name]
            actor.SetPosition(box.x0, box.y0)
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
        self.plotter.render()

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
        for actor in self.text_actors.values():
            self.plotter.renderer.RemoveViewProp(actor)
        self.plotter.renderer.RemoveViewProp(self._lines)
        self.text_actors.clear()


__all__ = [
    "Box",
    "StructureLabels",
    "anchor_point",
    "depth_buffer",
    "font_size_for",
    "layout_labels",
    "project",
    "visible_anchor",
]
