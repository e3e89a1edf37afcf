"""Is a technique safe at this pose? Computed from its geometry, not asserted.

Along the approach line from the contact point: which structures are crossed
and at what depth; the smallest distance from the force line (contact to
working depth) and from the boundary of its angle cone to the sciatic nerve;
whether the force line enters a danger zone; and whether the push is too
vertical near the nerve or the sciatic notch. The result carries an
explanation a student can read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from viewer.anatomy.nerve_mesh import intervals, ray_hits, segment_points
from viewer.anatomy.nerve_zones import safety_settings
from viewer.techniques.context import TechniqueContext
from viewer.techniques.geometry import TechniqueGeometry
from viewer.techniques.library import Technique

FloatArray = np.ndarray
RAY_LENGTH_MM = 150.0


@dataclass(frozen=True)
class Crossing:
    structure: str
    entry_mm: float  # depth below the contact point along the approach line
    exit_mm: float


@dataclass
class SafetyReport:
    technique_id: str
    side: str
    angle_from_normal_deg: float
    working_depth_mm: float
    crossings: list[Crossing]
    reaches_target: bool  # a target structure is entered within the working depth (+5 mm)
    force_line_min_distance_mm: float  # to the nerve surface
    cone_min_distance_mm: float
    zones_entered: list[str]
    too_vertical: bool
    too_close: bool
    explanation: str
    settings: dict = field(default_factory=dict, repr=False)

    @property
    def angle_to_surface_deg(self) -> float:
        return 90.0 - self.angle_from_normal_deg

    @property
    def flagged(self) -> bool:
        return self.too_vertical or self.too_close

    def summary(self) -> dict:
        return {
            "technique": self.technique_id,
            "side": self.side,
            "angle_to_surface_deg": round(self.angle_to_surface_deg, 1),
            "force_line_min_distance_mm": round(self.force_line_min_distance_mm, 1),
            "cone_min_distance_mm": round(self.cone_min_distance_mm, 1),
            "zones_entered": list(self.zones_entered),
            "too_vertical": self.too_vertical,
            "too_close": self.too_close,
            "flagged": self.flagged,
        }


def crossings_along(
    structures: dict[str, tuple[FloatArray, np.ndarray]], start: FloatArray, direction: FloatArray, length: float
) -> list[Crossing]:
    """Every structure the line crosses within ``length`` of ``start``, by entry depth."""
    origin = start - 2.0 * direction  # catch the surface the contact sits on
    found = []
    for name, (vertices, faces) in structures.items():
        hits = ray_hits(vertices, faces, origin, direction)[0] - 2.0
        pairs = intervals(hits)
        if len(hits) % 2 == 1:  # started inside (e.g. the contact sits exactly on the surface)
            pairs = [(0.0, float(hits[0])), *intervals(hits[1:])]
        for entry, exit_ in pairs:
            if exit_ > 0 and entry < length:
                found.append(Crossing(name, round(max(entry, 0.0), 1), round(min(exit_, length), 1)))
    return sorted(found, key=lambda c: (c.entry_mm, c.exit_mm))


def assess(
    technique: Technique, geometry: TechniqueGeometry, context: TechniqueContext, settings: dict | None = None
) -> SafetyReport:
    """The safety report of a technique's geometry at the context's pose."""
    settings = settings or safety_settings()
    contact, direction, depth = geometry.contact, geometry.direction, geometry.working_depth_mm
    meshes = {**context.structures, context.nerve.name: (context.nerve_vertices, context.nerve.faces)}
    crossings = crossings_along(meshes, contact, direction, RAY_LENGTH_MM)
    targets = {f"{t}_{context.side}" for t in technique.targets}
    reaches = any(c.structure in targets and c.entry_mm <= depth + 5.0 for c in crossings)
    line = segment_points(contact, geometry.force_end, 1.0)
    line_distance = float(context.nerve_distance(line).min())
    cone_distance = np.inf
    for ray in geometry.cone_rays(int(settings["cone_rays"])):
        cone_distance = min(cone_distance, float(context.nerve_distance(segment_points(contact, contact + depth * ray)).min()))
    entered = [zone.id for zone in context.zones if zone.contains(line).any()]
    nerve_zone = [z for z in context.zones if z.kind == "nerve_margin"]
    notch = [z for z in context.zones if z.kind == "sphere"]
    vertical = geometry.angle_from_normal_deg < settings["vertical_limit_deg"]
    near_nerve = line_distance < settings["vertical_caution_mm"]
    in_notch = any(z.id in entered for z in notch)
    too_vertical = bool(vertical and (near_nerve or in_notch))
    too_close = bool(any(z.id in entered for z in nerve_zone) or cone_distance < settings["cone_clearance_mm"])
    report = SafetyReport(
        technique_id=technique.id, side=context.side, angle_from_normal_deg=geometry.angle_from_normal_deg,
        working_depth_mm=depth, crossings=crossings, reaches_target=reaches, force_line_min_distance_mm=line_distance,
        cone_min_distance_mm=float(cone_distance), zones_entered=entered, too_vertical=too_vertical,
        too_close=too_close, explanation="", settings=dict(settings),
    )
    report.explanation = explain(technique, geometry, report, context)
    return report


def _name(structure: str) -> str:
    return structure.rsplit("_", 1)[0].replace("_", " ")


def explain(technique: Technique, geometry: TechniqueGeometry, report: SafetyReport, context: TechniqueContext) -> str:
    """Plain-language reasons why this approach is or is not safe."""
    s = report.settings
    angle = report.angle_to_surface_deg
    layers = ", ".join(f"{_name(c.structure)} ({c.entry_mm:.0f}-{c.exit_mm:.0f} mm)" for c in report.crossings[:5])
    margin = next((z.margin_mm for z in context.zones if z.kind == "nerve_margin"), 0.0)
    lines = [
        f"{technique.title} ({context.side} side): the {technique.tool.replace('_', ' ')} meets the body on "
        f"{_name(geometry.surface_structure)} and pushes at {angle:.0f} degrees to the surface "
        f"({report.angle_from_normal_deg:.0f} degrees from straight down), to a working depth of {report.working_depth_mm:.0f} mm.",
    ]
    if layers:
        lines.append(f"Along that line it crosses: {layers}.")
    if report.force_line_min_distance_mm <= 0:
        lines.append("The line of force runs straight into the sciatic nerve.")
    elif report.cone_min_distance_mm >= s["cone_clearance_mm"]:
        lines.append(
            f"The line of force passes {report.force_line_min_distance_mm:.0f} mm from the sciatic nerve, and even the "
            f"edge of the {geometry.cone_half_angle_deg:.0f}-degree cone of acceptable angles stays "
            f"{report.cone_min_distance_mm:.0f} mm away."
        )
    else:
        lines.append(
            f"The line of force passes {report.force_line_min_distance_mm:.0f} mm from the sciatic nerve, but the edge "
            f"of the {geometry.cone_half_angle_deg:.0f}-degree cone comes within {report.cone_min_distance_mm:.0f} mm of it."
        )
    if not report.flagged:
        why = []
        if report.force_line_min_distance_mm >= margin:
            why.append(f"the pressure stays outside the {margin:.0f} mm safety margin around the nerve")
        if report.angle_from_normal_deg >= s["vertical_limit_deg"]:
            why.append("the push is oblique, so the nerve is not pressed straight against the bone behind it")
        else:
            why.append(
                f"pressing straight in is acceptable here because the nerve is more than "
                f"{s['vertical_caution_mm']:.0f} mm away"
            )
        lines.append("Safe as described: " + "; ".join(why) + ".")
    else:
        problems = []
        if report.too_close:
            problems.append(
                "the force reaches the danger zone around the sciatic nerve, where it can be compressed between "
                "your tool and the deep rotators and bone"
            )
        if report.too_vertical:
            problems.append(
                f"the push is too vertical ({report.angle_from_normal_deg:.0f} degrees from straight down, limit "
                f"{s['vertical_limit_deg']:.0f}) close to the nerve or the sciatic notch"
            )
        lines.append(
            "Not safe: " + "; ".join(problems) + ". Move the contact away from the nerve's course (between the sitting "
            "bone and the greater trochanter, and just below piriformis), use a broad moderate pressure and angle the "
            "force obliquely, away from the nerve."
        )
    if "sciatic_notch" in report.zones_entered and not report.too_vertical:
        lines.append("It passes near the sciatic notch: keep the pressure moderate and oblique there.")
    if not report.reaches_target and technique.depth["layer"] == "deep":
        lines.append("Note: at this depth the line does not yet reach the target layer.")
    return " ".join(lines)


__all__ = ["Crossing", "SafetyReport", "assess", "crossings_along", "explain"]
