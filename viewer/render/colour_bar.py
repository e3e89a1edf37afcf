"""A horizontal colour bar whose ramp, title and tick labels are laid out apart and sized with the output.

VTK's scalar bar fits its text inside a fixed share of the viewport, so on a
large export the title runs into the tick labels; here every piece is its own
actor, placed by the pure :func:`colour_bar_layout` from the text sizes
(:func:`viewer.render.labels.screen_text_sizes` / ``print_text_sizes``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyvista as pv
from vtkmodules.vtkCommonCore import vtkFloatArray, vtkPoints, vtkScalarsToColors
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor2D, vtkPolyDataMapper2D, vtkTextActor

from viewer.render.labels import Box, TextSizes, text_box

RAMP_SEGMENTS = 64
TEXT_COLOUR = (0.13, 0.13, 0.13)


def colour_bar_layout(
    window: tuple[float, float],
    sizes: TextSizes,
    title_size: tuple[float, float],
    tick_sizes: Sequence[tuple[float, float]],
    tick_fractions: Sequence[float],
    width_fraction: float = 0.4,
) -> tuple[Box, Box, list[Box]]:
    """(ramp, title, ticks) boxes in display pixels for a bar centred at the bottom of ``window``.

    From the bottom up: the tick labels (each centred under its place on the ramp, kept inside the window),
    the ramp (one font size tall), then the title, each a gap apart, all ``margin`` from the edge.
    ``title_size`` and ``tick_sizes`` are the measured (width, height) of the texts.
    """
    width, _height = window
    margin, gap = sizes.margin_px, sizes.gap_px
    ramp_width = min(width * width_fraction, width - 2 * margin)
    x0 = (width - ramp_width) / 2
    tick_height = max((h for _w, h in tick_sizes), default=0.0)
    ramp_y0 = margin + tick_height + gap
    ramp = Box(x0, ramp_y0, x0 + ramp_width, ramp_y0 + sizes.font_px)
    ticks = []
    for (w, h), fraction in zip(tick_sizes, tick_fractions, strict=True):
        centre = float(np.clip(x0 + fraction * ramp_width, margin + w / 2, width - margin - w / 2))
        ticks.append(Box(centre - w / 2, margin, centre + w / 2, margin + h))
    title_x0 = max(margin, (width - title_size[0]) / 2)
    title = Box(title_x0, ramp.y1 + gap, title_x0 + title_size[0], ramp.y1 + gap + title_size[1])
    return ramp, title, ticks


def _text(renderer, colour: tuple[float, float, float]) -> vtkTextActor:
    actor = vtkTextActor()
    prop = actor.GetTextProperty()
    prop.SetColor(*colour)
    prop.SetFontFamilyToArial()
    prop.SetJustificationToLeft()
    prop.SetVerticalJustificationToBottom()
    actor.PickableOff()
    renderer.AddViewProp(actor)
    return actor


class ColourBar:
    """Ramp, title and tick labels of one lookup table on a plotter; ``place`` re-sizes them for the output."""

    def __init__(
        self,
        plotter: pv.BasePlotter,
        lookup_table: vtkScalarsToColors,
        value_range: tuple[float, float],
        title: str,
        ticks: Sequence[float],
        fmt: str = "{:+.0f}",
    ) -> None:
        self.plotter = plotter
        self.value_range = value_range
        self.ticks = list(ticks)
        renderer = plotter.renderer
        self._ramp_data = vtkPolyData()
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self._ramp_data)
        mapper.SetLookupTable(lookup_table)
        mapper.SetScalarRange(*value_range)
        mapper.ScalarVisibilityOn()
        mapper.SetScalarModeToUsePointData()
        self.ramp_actor = vtkActor2D()
        self.ramp_actor.SetMapper(mapper)
        self.ramp_actor.PickableOff()
        renderer.AddViewProp(self.ramp_actor)
        self.title_actor = _text(renderer, TEXT_COLOUR)
        self.title_actor.SetInput(title)
        self.tick_actors = []
        for value in self.ticks:
            actor = _text(renderer, TEXT_COLOUR)
            actor.SetInput("0" if value == 0 else fmt.format(value))
            self.tick_actors.append(actor)
        self.ramp_box: Box | None = None

    def place(self, sizes: TextSizes) -> None:
        """Size the texts from ``sizes`` and lay the pieces out for the current window."""
        renderer = self.plotter.renderer
        measured = []
        for actor in (self.title_actor, *self.tick_actors):
            actor.GetTextProperty().SetFontSize(sizes.font_px)
            actor.SetPosition(0, 0)
            box = text_box(actor, renderer)
            measured.append((box.x1 - box.x0, box.y1 - box.y0))
        low, high = self.value_range
        fractions = [(value - low) / (high - low) for value in self.ticks]
        ramp, title, ticks = colour_bar_layout(
            tuple(self.plotter.window_size), sizes, measured[0], measured[1:], fractions
        )
        self.title_actor.SetPosition(title.x0, title.y0)
        for actor, box in zip(self.tick_actors, ticks, strict=True):
            actor.SetPosition(box.x0, box.y0)
        self._set_ramp(ramp)

    def _set_ramp(self, ramp: Box) -> None:
        """A strip of quads from ``low`` to ``high`` across the ramp box, coloured by the lookup table."""
        xs = np.linspace(ramp.x0, ramp.x1, RAMP_SEGMENTS + 1)
        points, scalars, quads = vtkPoints(), vtkFloatArray(), vtkCellArray()
        for x, value in zip(xs, np.linspace(*self.value_range, RAMP_SEGMENTS + 1), strict=True):
            for y in (ramp.y0, ramp.y1):
                points.InsertNextPoint(x, y, 0)
                scalars.InsertNextValue(value)
        for k in range(RAMP_SEGMENTS):
            quads.InsertNextCell(4)
            for index in (2 * k, 2 * k + 2, 2 * k + 3, 2 * k + 1):
                quads.InsertCellPoint(index)
        self._ramp_data.SetPoints(points)
        self._ramp_data.SetPolys(quads)
        self._ramp_data.GetPointData().SetScalars(scalars)
        self._ramp_data.Modified()
        self.ramp_box = ramp

    def boxes(self) -> list[Box]:
        """Where the bar's pieces are drawn (display pixels), measured from the actors."""
        renderer = self.plotter.renderer
        texts = [text_box(actor, renderer) for actor in (self.title_actor, *self.tick_actors)]
        return ([self.ramp_box] if self.ramp_box else []) + texts

    def remove(self) -> None:
        """Take the bar's actors off the plotter."""
        for actor in (self.ramp_actor, self.title_actor, *self.tick_actors):
            self.plotter.renderer.RemoveViewProp(actor)


__all__ = ["ColourBar", "colour_bar_layout"]
