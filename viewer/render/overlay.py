"""The 2D overlays of a view (labels, leader lines, legend, colour bar, caption) as plain drawing primitives.

VTK draws these as 2D actors in display pixels. An export takes them off the
plotter (:func:`capture_overlay`), renders the 3D picture without them (in
tiles when it is large), and draws them again on the finished picture: with
PIL on a PNG (:func:`draw_on_image`) or as real, selectable text in a PDF
(``viewer.render.handout``). Laying the overlays out once and drawing them at
any scale is what keeps labels readable and in place on a 16384 px picture.

Coordinates are display pixels with the origin at the bottom left, as in VTK.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np
import pyvista as pv
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkRenderingAnnotation import vtkLegendBoxActor
from vtkmodules.vtkRenderingCore import vtkActor2D, vtkPolyDataMapper2D, vtkTextActor

from viewer.render.labels import Box, text_box

RGB = tuple[float, float, float]
LEGEND_SQUARE = 0.8  # the colour square's side, times the legend's line height
LEGEND_LINE = 1.5  # a legend line's height, times its font size (see scene_view.legend_box)


@dataclass(frozen=True)
class OverlayText:
    """One text block: ``box`` (frame included) in display pixels, lines justified ``align`` inside it."""

    text: str
    box: Box
    font_px: float
    colour: RGB
    align: str = "left"  # left, center or right
    background: tuple[float, float, float, float] | None = None  # RGBA, 0..1
    frame: RGB | None = None


@dataclass(frozen=True)
class OverlayLines:
    """Line segments (n, 2, 2) and dots (m, 2), display pixels, drawn ``width`` pixels wide."""

    segments: np.ndarray
    dots: np.ndarray
    width: float
    colour: RGB


@dataclass(frozen=True)
class OverlayPolygon:
    """A filled polygon (k, 2) in display pixels."""

    points: np.ndarray
    colour: tuple[float, float, float, float]


@dataclass
class Overlay:
    """Everything drawn in 2D over a view of ``size`` (width, height) pixels."""

    size: tuple[int, int]
    texts: list[OverlayText] = field(default_factory=list)
    lines: list[OverlayLines] = field(default_factory=list)
    polygons: list[OverlayPolygon] = field(default_factory=list)

    def scaled(self, factor: float) -> Overlay:
        """The same overlay for a picture ``factor`` times larger (fonts, lines and places)."""

        def box(b: Box) -> Box:
            return Box(b.x0 * factor, b.y0 * factor, b.x1 * factor, b.y1 * factor)

        return Overlay(
            (round(self.size[0] * factor), round(self.size[1] * factor)),
            [replace(t, box=box(t.box), font_px=t.font_px * factor) for t in self.texts],
            [
                replace(s, segments=s.segments * factor, dots=s.dots * factor, width=s.width * factor)
                for s in self.lines
            ],
            [replace(p, points=p.points * factor) for p in self.polygons],
        )


def overlay_props(plotter: pv.BasePlotter) -> list:
    """The visible 2D props of the plotter's main renderer (text, legend, lines, colour ramp)."""
    props = plotter.renderer.GetViewProps()
    found = []
    for index in range(props.GetNumberOfItems()):
        prop = props.GetItemAsObject(index)
        if isinstance(prop, vtkTextActor | vtkLegendBoxActor | vtkActor2D) and prop.GetVisibility():
            found.append(prop)
    return found


def capture_overlay(plotter: pv.BasePlotter) -> Overlay:
    """Read the overlays the plotter would draw (its labels, legend, colour bar and caption, as laid out now)."""
    renderer = plotter.renderer
    overlay = Overlay(tuple(int(v) for v in plotter.window_size))
    for prop in overlay_props(plotter):
        if isinstance(prop, vtkTextActor):
            _capture_text(prop, renderer, overlay)
        elif isinstance(prop, vtkLegendBoxActor):
            _capture_legend(prop, renderer, overlay)
        elif isinstance(prop.GetMapper(), vtkPolyDataMapper2D):
            _capture_polydata(prop, overlay)
    return overlay


@contextlib.contextmanager
def overlays_hidden(plotter: pv.BasePlotter) -> Iterator[None]:
    """Hide every 2D overlay while the 3D picture is rendered; shown again afterwards."""
    props = overlay_props(plotter)
    for prop in props:
        prop.SetVisibility(False)
    try:
        yield
    finally:
        for prop in props:
            prop.SetVisibility(True)


def _capture_text(actor: vtkTextActor, renderer, overlay: Overlay) -> None:
    text = actor.GetInput()
    if not text or actor.GetPositionCoordinate().GetCoordinateSystemAsString() not in ("Viewport", "Display"):
        return
    prop = actor.GetTextProperty()
    background = None
    if prop.GetBackgroundOpacity() > 0:
        background = (*prop.GetBackgroundColor(), prop.GetBackgroundOpacity())
    align = {0: "left", 1: "center", 2: "right"}[prop.GetJustification()]
    overlay.texts.append(
        OverlayText(
            text,
            text_box(actor, renderer),
            float(prop.GetFontSize()),
            tuple(prop.GetColor()),
            align,
            background,
            tuple(prop.GetFrameColor()) if prop.GetFrame() else None,
        )
    )


def _capture_legend(legend: vtkLegendBoxActor, renderer, overlay: Overlay) -> None:
    """A legend as its background, one colour square per entry and the entries' texts."""
    x0, y0 = legend.GetPositionCoordinate().GetComputedDisplayValue(renderer)
    x1, y1 = legend.GetPosition2Coordinate().GetComputedDisplayValue(renderer)
    count = legend.GetNumberOfEntries()
    if count == 0:
        return
    line = (y1 - y0) / (count + 1 / 3)  # legend_box: a line and a half per entry plus half a font
    font = line / LEGEND_LINE
    if legend.GetUseBackground():
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)
        overlay.polygons.append(OverlayPolygon(corners, (*legend.GetBackgroundColor(), legend.GetBackgroundOpacity())))
    colour = tuple(legend.GetEntryTextProperty().GetColor())
    pad = font / 3
    for index in range(count):
        top = y1 - pad - index * line
        side = LEGEND_SQUARE * font
        sx0, sy0 = x0 + pad, top - (line + side) / 2
        square = np.array([[sx0, sy0], [sx0 + side, sy0], [sx0 + side, sy0 + side], [sx0, sy0 + side]])
        overlay.polygons.append(OverlayPolygon(square, (*legend.GetEntryColor(index), 1.0)))
        text_x = sx0 + side + pad
        overlay.texts.append(OverlayText(legend.GetEntryString(index), Box(text_x, top - line, x1, top), font, colour))


def _capture_polydata(actor: vtkActor2D, overlay: Overlay) -> None:
    """Leader lines and their dots, or a colour ramp (quads coloured by the mapper's lookup table)."""
    mapper = actor.GetMapper()
    data = mapper.GetInput()
    if data is None or data.GetNumberOfPoints() == 0:
        return
    points = vtk_to_numpy(data.GetPoints().GetData())[:, :2].astype(float)
    prop = actor.GetProperty()
    colour = tuple(prop.GetColor())
    if data.GetNumberOfLines() or data.GetNumberOfVerts():
        lines = _cells(data.GetLines())
        segments = np.array([points[[a, b]] for cell in lines for a, b in itertools.pairwise(cell)])
        dots = points[[index for cell in _cells(data.GetVerts()) for index in cell]]
        overlay.lines.append(
            OverlayLines(segments.reshape(-1, 2, 2), dots.reshape(-1, 2), float(prop.GetLineWidth()), colour)
        )
    if data.GetNumberOfPolys():
        rgba = vtk_to_numpy(mapper.MapScalars(1.0)) / 255.0 if mapper.GetScalarVisibility() else None
        for cell in _cells(data.GetPolys()):
            fill = tuple(rgba[cell].mean(axis=0)) if rgba is not None else (*colour, 1.0)
            overlay.polygons.append(OverlayPolygon(points[cell], fill))


def _cells(cells) -> list[list[int]]:
    """The point ids of each cell of a vtkCellArray."""
    if cells is None or cells.GetNumberOfCells() == 0:
        return []
    offsets = vtk_to_numpy(cells.GetOffsetsArray())
    connectivity = vtk_to_numpy(cells.GetConnectivityArray())
    return [connectivity[a:b].tolist() for a, b in itertools.pairwise(offsets)]


# --- drawing on a picture ----------------------------------------------------------------------------


@cache
def font_path() -> Path:
    """A sans-serif TrueType font (DejaVu Sans, shipped with matplotlib) for text drawn on pictures."""
    from matplotlib import font_manager

    return Path(font_manager.findfont("DejaVu Sans"))


def _byte_colour(colour, alpha: float = 1.0) -> tuple[int, int, int, int]:
    rgba = (*colour, alpha) if len(colour) == 3 else tuple(colour)
    return tuple(round(255 * float(np.clip(c, 0, 1))) for c in rgba)


def draw_on_image(image: np.ndarray, overlay: Overlay) -> np.ndarray:
    """Draw ``overlay`` on an (height, width, 3 or 4) uint8 picture of the overlay's size; returns the picture.

    Translucent fills are blended; a transparent picture becomes opaque where something is drawn.
    """
    from PIL import Image, ImageDraw, ImageFont

    height = image.shape[0]
    mode = "RGBA" if image.shape[2] == 4 else "RGB"
    picture = Image.fromarray(image, mode).convert("RGBA")
    layer = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)

    def flip(points: np.ndarray) -> list[tuple[float, float]]:
        return [(float(x), float(height - y)) for x, y in np.asarray(points).reshape(-1, 2)]

    for polygon in overlay.polygons:
        draw.polygon(flip(polygon.points), fill=_byte_colour(polygon.colour))
    for lines in overlay.lines:
        width = max(1, round(lines.width))
        for segment in lines.segments:
            draw.line(flip(segment), fill=_byte_colour(lines.colour), width=width)
        radius = 1.5 * lines.width
        for x, y in flip(lines.dots):
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=_byte_colour(lines.colour))
    for text in overlay.texts:
        _draw_text(draw, text, height, lambda size: ImageFont.truetype(str(font_path()), max(1, round(size))))
    picture.alpha_composite(layer)
    return np.asarray(picture.convert(mode))


def _draw_text(draw, text: OverlayText, height: int, font_of_size) -> None:
    """One text block in its box; the font is narrowed to the box when it runs wider than VTK's measured it."""
    box = (text.box.x0, height - text.box.y1, text.box.x1, height - text.box.y0)
    spacing = round(text.font_px * 0.2)
    font = font_of_size(text.font_px)
    left, _top, right, _bottom = draw.multiline_textbbox((0, 0), text.text, font=font, spacing=spacing)
    # a framed or filled label's box has VTK's padding on each side; a bare text's box (a colour bar tick) is the ink
    pad = text.font_px / 6 if text.frame is not None or text.background is not None else 0.0
    room = box[2] - box[0] - 2 * pad
    if right - left > room > 0:
        font = font_of_size(text.font_px * room / (right - left))
    if text.background is not None:
        draw.rectangle(box, fill=_byte_colour(text.background))
    if text.frame is not None:
        draw.rectangle(box, outline=_byte_colour(text.frame), width=max(1, round(text.font_px / 14)))
    x = {"left": box[0] + pad, "center": (box[0] + box[2]) / 2, "right": box[2] - pad}
    anchor = {"left": "lm", "center": "mm", "right": "rm"}[text.align]
    draw.multiline_text(
        (x[text.align], (box[1] + box[3]) / 2), text.text, font=font, fill=_byte_colour(text.colour),
        anchor=anchor, align=text.align, spacing=spacing,
    )  # fmt: skip
