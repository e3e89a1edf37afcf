"""Draws the active technique of a :class:`TechniqueSession` and keeps it current."""

from __future__ import annotations

from collections.abc import Callable

import pyvista as pv

from viewer.model.technique_session import TechniqueSession
from viewer.render.technique_overlay import TechniqueOverlay

WARNING_TEXT_COLOUR = "#b3261e"
SAFE_TEXT_COLOUR = "#1b5e20"


class TechniqueView:
    """Tool, approach arrow, force line, cone and stroke path, with a one-line safety verdict.

    Recomputing a technique takes most of a second, so the window passes a
    ``schedule`` that delays the update until the pose settles; off-screen it is immediate.
    """

    def __init__(self, plotter: pv.BasePlotter, session: TechniqueSession) -> None:
        self.plotter = plotter
        self.session = session
        self.overlay = TechniqueOverlay(plotter)
        self.schedule: Callable[[], None] | None = None
        session.changed.connect(self._on_changed)
        self.update()

    def _on_changed(self, _technique_id: str | None) -> None:
        if self.schedule is None:
            self.update()
        else:
            self.schedule()

    def update(self) -> None:
        self.plotter.remove_actor("__technique_verdict", render=False)
        result = self.session.result()
        if result is None:
            self.overlay.clear(render=False)
            self.plotter.render()
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
        self.plotter.add_text(
            f"{self.session.active.title}\n{verdict}",
            position="lower_right",
            font_size=12,
            color=WARNING_TEXT_COLOUR if report.flagged else SAFE_TEXT_COLOUR,
            name="__technique_verdict",
        )
        self.plotter.render()
