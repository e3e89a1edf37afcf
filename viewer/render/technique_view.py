"""Draws the active technique of a :class:`TechniqueSession` and keeps it current."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pyvista as pv
from vtkmodules.vtkRenderingCore import vtkTextActor

from viewer.model.technique_session import TechniqueSession
from viewer.render.frames import RenderRequest, no_frame
from viewer.render.labels import Box, TextSizes, screen_text_sizes, text_box
from viewer.render.technique_overlay import TechniqueOverlay

WARNING_TEXT_COLOUR = "#b3261e"
SAFE_TEXT_COLOUR = "#1b5e20"
CHARACTER_EM = 0.55  # Arial's mean advance in English text, in ems


def wrapped(text: str, width_px: float, font_px: float) -> str:
    """``text`` with each line wrapped to about ``width_px`` at ``font_px`` (Arial's mean advance, 0.55 em)."""
    characters = max(12, int(width_px / (CHARACTER_EM * font_px)))
    return "\n".join(textwrap.fill(line, characters) or line for line in text.split("\n"))


class TechniqueView:
    """Tool, approach arrow, force line, cone and stroke path, with a one-line safety verdict.

    Recomputing a technique takes most of a second, so the window passes a
    ``schedule`` that delays the update until the pose settles; off-screen it is immediate.
    """

    def __init__(
        self,
        plotter: pv.BasePlotter,
        session: TechniqueSession,
        text_sizes: Callable[[], TextSizes] | None = None,
        request_render: RenderRequest = no_frame,
    ) -> None:
        self.plotter = plotter
        self.session = session
        self.request_render = request_render  # the scene view's, in the window (the one render path)
        self.overlay = TechniqueOverlay(plotter)
        self.schedule: Callable[[], None] | None = None
        # the scene's text rule (SceneView.text_sizes), so the caption matches the labels
        self.text_sizes = text_sizes or (lambda: screen_text_sizes(plotter.window_size[1]))
        self.caption: vtkTextActor | None = None
        session.changed.connect(self._on_changed)
        self.update()

    def close(self) -> None:
        """Stop following the technique session."""
        self.session.changed.disconnect(self._on_changed)

    def _on_changed(self, _technique_id: str | None) -> None:
        if self.schedule is None:
            self.update()
        else:
            self.schedule()

    def update(self) -> None:
        """Draw the active technique's tool, approach, cone, stroke and verdict (or clear them)."""
        self.plotter.remove_actor("__technique_verdict", render=False)
        self.caption = None
        result = self.session.result()
        if result is None:
            self.overlay.clear(render=False)
            self.request_render()
            return
        geometry, report, _zones = result
        self.overlay.show(geometry, report, zones=None, render=False)  # the zones are scene structures
        verdict = (
            "Flagged: "
            + ", ".join(
                reason
                for reason, on in (("too vertical", report.too_vertical), ("too close to the nerve", report.too_close))
                if on
            )
            if report.flagged
            else f"Safe approach: {report.angle_to_surface_deg:.0f}° to the surface, nearest {report.nerve_distance_mm:g} mm "
            f"from the nerve (margin {report.danger_margin_mm:g} mm)"
        )
        self._show_caption(
            f"{self.session.active.title}\n{verdict}", WARNING_TEXT_COLOUR if report.flagged else SAFE_TEXT_COLOUR
        )
        self.request_render()

    def _show_caption(self, text: str, colour: str) -> None:
        """The caption in the lower right corner, a margin from the edges, at the scene's text size.

        Its lines are wrapped to the picture's width less the margins (a small handout view at a low dpi
        included); a line that still does not fit makes the font smaller, so the caption never overflows.
        """
        sizes = self.text_sizes()
        width, _height = self.plotter.window_size
        room = max(1.0, width - 2 * sizes.margin_px)
        actor = vtkTextActor()
        actor.SetInput(wrapped(text, room, sizes.font_px))
        prop = actor.GetTextProperty()
        prop.SetFontSize(sizes.font_px)
        prop.SetColor(*pv.Color(colour).float_rgb)
        prop.SetFontFamilyToArial()
        prop.SetJustificationToRight()
        prop.SetVerticalJustificationToBottom()
        actor.PickableOff()
        actor.SetPosition(width - sizes.margin_px, sizes.margin_px)
        drawn = text_box(actor, self.plotter.renderer)
        if drawn.x1 - drawn.x0 > room:
            prop.SetFontSize(max(1, int(sizes.font_px * room / (drawn.x1 - drawn.x0))))
        self.plotter.add_actor(actor, name="__technique_verdict", reset_camera=False, pickable=False, render=False)
        self.caption = actor

    def caption_boxes(self) -> list[Box]:
        """Where the caption is drawn (display pixels), for the labels to keep clear of."""
        return [text_box(self.caption, self.plotter.renderer)] if self.caption is not None else []
