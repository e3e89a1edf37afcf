"""Draw a technique on any pyvista plotter: tool, approach arrow, stroke, angle cone, danger zones.

Written against ``BasePlotter`` (off-screen ``pyvista.Plotter`` or the Qt
interactor). :class:`TechniqueOverlay` owns its actors: ``show`` replaces what
it drew before, ``clear`` removes everything it added. A flagged technique is
drawn in a warning colour.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from viewer.anatomy.nerve_zones import DangerZone
from viewer.render.frames import RenderRequest, no_frame
from viewer.techniques.geometry import TechniqueGeometry
from viewer.techniques.safety import SafetyReport

SAFE_COLOUR = "#1f9e89"
WARNING_COLOUR = "#ff3b1f"
STROKE_COLOUR = "#2a62c9"
TOOL_COLOUR = "#5d6b8a"
CONE_OPACITY = 0.22
ZONE_OPACITY = 0.35


def _faces(faces: np.ndarray) -> np.ndarray:
    return np.hstack([np.full((len(faces), 1), 3), faces]).ravel()


def zone_mesh(zone: DangerZone) -> pv.PolyData:
    """A danger zone as a pyvista mesh."""
    return pv.PolyData(np.asarray(zone.vertices, dtype=float), _faces(zone.faces))


def tool_glyph(tool: str, contact: np.ndarray, direction: np.ndarray) -> pv.PolyData:
    """A simple shape per tool, sitting on the contact point, its axis along the approach."""
    d = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    outward = -d
    if tool == "ball":
        return pv.Sphere(radius=32.0, center=contact + 32.0 * outward, theta_resolution=32, phi_resolution=32)
    if tool == "roller":
        side = np.cross(d, [0.0, 1.0, 0.0])
        side = side / np.linalg.norm(side) if np.linalg.norm(side) > 1e-6 else np.array([1.0, 0.0, 0.0])
        return pv.Cylinder(center=contact + 75.0 * outward, direction=side, radius=75.0, height=300.0, resolution=48)
    if tool in ("palm_heel", "forearm"):
        radius, height = (40.0, 12.0) if tool == "palm_heel" else (30.0, 14.0)
        disc = pv.Cylinder(
            center=contact + height / 2 * outward, direction=d, radius=radius, height=height, resolution=48
        )
        return disc if tool == "palm_heel" else disc.scale([1.0, 1.0, 1.0], inplace=False)
    if tool == "fist":
        return pv.Box(bounds=(-22, 22, -18, 18, -14, 14)).translate(contact + 16.0 * outward, inplace=False)
    # precise tools: elbow, knuckles, thumb, fingers -> a capsule-like rod along the approach
    radius = {"elbow": 14.0, "knuckles": 9.0, "thumb": 8.0, "fingers": 6.0}.get(tool, 8.0)
    length = {"elbow": 45.0, "knuckles": 30.0, "thumb": 30.0, "fingers": 35.0}.get(tool, 30.0)
    rod = pv.Cylinder(
        center=contact + (radius + length / 2) * outward, direction=d, radius=radius, height=length, resolution=32
    )
    tip = pv.Sphere(radius=radius, center=contact + radius * outward)
    return rod.merge(tip)


def cone_mesh(geometry: TechniqueGeometry) -> pv.PolyData:
    """Cone of acceptable angles: apex at the contact, opening into the body to the working depth."""
    height = geometry.working_depth_mm
    radius = height * np.tan(np.radians(max(geometry.cone_half_angle_deg, 0.5)))
    centre = geometry.contact + geometry.direction * height / 2
    # pv.Cone points from base to apex along ``direction``
    return pv.Cone(
        center=centre, direction=-geometry.direction, height=height, radius=radius, resolution=48, capping=False
    )


class TechniqueOverlay:
    """The actors for one technique at a time (plus danger zones) on a plotter."""

    def __init__(
        self, plotter: pv.BasePlotter, prefix: str = "technique", request_render: RenderRequest = no_frame
    ) -> None:
        self.plotter = plotter
        self.request_render = request_render
        self.prefix = prefix
        self.actors: dict[str, pv.Actor] = {}

    def _add(self, key: str, mesh: pv.PolyData, **kwargs) -> pv.Actor:
        name = f"__{self.prefix}_{key}"
        actor = self.plotter.add_mesh(mesh, name=name, reset_camera=False, pickable=False, render=False, **kwargs)
        self.actors[key] = actor
        return actor

    def show(
        self,
        geometry: TechniqueGeometry,
        report: SafetyReport | None = None,
        zones: list[DangerZone] | None = None,
        show_cone: bool = True,
        render: bool = True,
    ) -> dict[str, pv.Actor]:
        """Draw (replacing any previous technique). Returns the actors by part name."""
        self.clear(render=False)
        flagged = bool(report is not None and report.flagged)
        accent = WARNING_COLOUR if flagged else SAFE_COLOUR
        self._add(
            "tool",
            tool_glyph(geometry.tool, geometry.contact, geometry.direction),
            color=WARNING_COLOUR if flagged else TOOL_COLOUR,
            smooth_shading=True,
            specular=0.3,
        )
        arrow_length = max(geometry.working_depth_mm, 30.0)
        start = geometry.contact - geometry.direction * (arrow_length * 0.9)
        arrow = pv.Arrow(
            start=start,
            direction=geometry.direction,
            scale=arrow_length * 1.6,
            tip_length=0.3,
            tip_radius=0.07,
            shaft_radius=0.025,
        )
        self._add("approach", arrow, color=accent, smooth_shading=True)
        force = pv.Line(geometry.contact, geometry.force_end).tube(radius=2.0)
        self._add("force_line", force, color=accent, opacity=0.9)
        if len(geometry.stroke) >= 2:
            path = pv.Spline(np.asarray(geometry.stroke, dtype=float), 4 * len(geometry.stroke)).tube(radius=2.5)
            self._add("stroke", path, color=STROKE_COLOUR, smooth_shading=True)
            end = geometry.stroke[-1]
            towards = geometry.stroke[-1] - geometry.stroke[-2]
            self._add(
                "stroke_head",
                pv.Cone(center=end, direction=towards, height=12.0, radius=6.0, resolution=24),
                color=STROKE_COLOUR,
            )
        if show_cone:
            self._add("cone", cone_mesh(geometry), color=accent, opacity=CONE_OPACITY, smooth_shading=True)
        for zone in zones or []:
            self._add(f"zone_{zone.id}", zone_mesh(zone), color=zone.colour, opacity=ZONE_OPACITY, smooth_shading=True)
        if render:
            self.request_render()
        return dict(self.actors)

    def clear(self, render: bool = True) -> None:
        """Remove every actor this overlay added."""
        for actor in self.actors.values():
            self.plotter.remove_actor(actor, render=False)
        self.actors.clear()
        if render:
            self.request_render()


__all__ = ["SAFE_COLOUR", "WARNING_COLOUR", "TechniqueOverlay", "cone_mesh", "tool_glyph", "zone_mesh"]
