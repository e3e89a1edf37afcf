"""Is a technique safe at this pose? Computed from its geometry, not asserted.

What the check measures, once, in the words the explanation uses:

- **Where the pressure goes.** The line of force runs from the contact point along the approach
  direction down to the technique's working depth, and stops earlier where it first meets bone
  (pressure stops there). Each ray on the edge of the cone of acceptable angles is cut the same way.
- **How close it comes to the nerve.** The nearest distance from that cut line and that cut cone to
  the sciatic nerve's surface (:func:`viewer.techniques.geometry.nerve_clearance`). This one number,
  rounded to 0.1 mm, is ``nerve_distance_mm``; it is negative only when the pressure passes through
  the nerve (the words then say so, with the depth, and never print a negative distance).
- **The verdict.** Compared with the danger margin (``danger_zones.json``, 15 mm, or the scene's
  margin): ``nerve_distance_mm >= danger_margin_mm`` or the approach is flagged as reaching into the
  danger zone. An approach is also flagged when it is too vertical (less than ``vertical_limit_deg``
  from straight down) while the line of force comes within ``vertical_caution_mm`` of the nerve or
  enters the sciatic notch zone: the nerve can then be pressed straight against the bone behind it.

Crossings list the structures along the line of force, in order and each once (repeated hits of the
same structure a few millimetres apart are one crossing), down to the working depth and ending with
the bone that stops the pressure, if one does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from viewer.anatomy.geometry import RayMesh, intervals
from viewer.anatomy.nerve_zones import safety_settings
from viewer.techniques.context import TechniqueContext, bone_names
from viewer.techniques.geometry import NerveClearance, TechniqueGeometry, nerve_clearance, pressure_depth
from viewer.techniques.library import Technique
from viewer.types import FloatArray

RAY_LENGTH_MM = 150.0
MERGE_GAP_MM = 3.0  # hits of one structure closer than this are one crossing (a wavy surface grazed twice)


@dataclass(frozen=True)
class Crossing:
    structure: str
    entry_mm: float  # depth below the contact point along the line of force
    exit_mm: float  # may lie beyond the working depth
    bone: bool = False  # a bone: the pressure stops at its entry


@dataclass
class SafetyReport:
    """The check's result; every distance is rounded to 0.1 mm once, and the words print these numbers."""

    technique_id: str
    side: str
    angle_from_normal_deg: float
    working_depth_mm: float
    pressure_depth_mm: float  # how deep the line of force reaches: the working depth or the first bone
    stopped_by: str | None  # the bone that stops the line of force before the working depth
    crossings: list[Crossing]
    reaches_target: bool  # a target structure is entered where the pressure reaches (+5 mm)
    force_line_min_distance_mm: float  # nearest approach of the line of force to the nerve surface
    cone_min_distance_mm: float  # nearest approach of the cone's edge
    nerve_distance_mm: float  # the smaller of the two: the number the verdict compares with the margin
    nearest_on: str  # "line" or "cone": which gives nerve_distance_mm
    nearest_depth_mm: float  # depth along that ray of the nearest point
    nearest_branch: str  # display name of the nerve branch nearest to the pressure
    nearest_branch_passes_through: tuple[str, ...]  # muscles that branch pierces in this variant
    zone_entry_depth_mm: float | None  # shallowest depth that comes within the margin (None: never)
    nerve_entry_depth_mm: float | None  # shallowest depth inside the nerve (None: never)
    danger_margin_mm: float
    zones_entered: list[str]
    too_vertical: bool
    explanation: str = ""
    settings: dict = field(default_factory=dict, repr=False)

    @property
    def angle_to_surface_deg(self) -> float:
        """Angle of the line of force to the skin (degrees; 90 is straight in)."""
        return 90.0 - self.angle_from_normal_deg

    @property
    def too_close(self) -> bool:
        """The pressure reaches into the danger margin around the nerve."""
        return not self.nerve_distance_mm >= self.danger_margin_mm  # written so that NaN counts as too close

    @property
    def flagged(self) -> bool:
        """Too vertical, too close, or measured with a number that is not finite (never "safe" by accident)."""
        measured = (self.angle_from_normal_deg, self.nerve_distance_mm, self.danger_margin_mm)
        return self.too_vertical or self.too_close or not all(np.isfinite(measured))

    def summary(self) -> dict:
        """The verdict and the numbers it uses, as JSON-ready values."""
        return {
            "technique": self.technique_id,
            "side": self.side,
            "angle_to_surface_deg": round(self.angle_to_surface_deg, 1),
            "working_depth_mm": self.working_depth_mm,
            "pressure_depth_mm": self.pressure_depth_mm,
            "pressure_stops_at": self.stopped_by,
            "force_line_min_distance_mm": self.force_line_min_distance_mm,
            "cone_min_distance_mm": self.cone_min_distance_mm,
            "nerve_distance_mm": self.nerve_distance_mm,
            "nearest_on": self.nearest_on,
            "nearest_depth_mm": self.nearest_depth_mm,
            "nearest_branch": self.nearest_branch,
            "zone_entry_depth_mm": self.zone_entry_depth_mm,
            "nerve_entry_depth_mm": self.nerve_entry_depth_mm,
            "danger_margin_mm": self.danger_margin_mm,
            "zones_entered": list(self.zones_entered),
            "too_vertical": self.too_vertical,
            "too_close": self.too_close,
            "flagged": self.flagged,
        }


def _merged(found: list[Crossing]) -> list[Crossing]:
    """One crossing per structure passage: a hit of the structure just crossed, or within
    :data:`MERGE_GAP_MM` of its previous hit, extends that crossing."""
    merged: list[Crossing] = []
    for crossing in sorted(found, key=lambda c: (c.entry_mm, c.exit_mm)):
        previous = next((k for k in range(len(merged) - 1, -1, -1) if merged[k].structure == crossing.structure), None)
        if previous is not None and (
            previous == len(merged) - 1 or crossing.entry_mm - merged[previous].exit_mm < MERGE_GAP_MM
        ):
            old = merged[previous]
            merged[previous] = Crossing(old.structure, old.entry_mm, max(old.exit_mm, crossing.exit_mm), old.bone)
        else:
            merged.append(crossing)
    return merged


def crossings_along(
    structures: Mapping[str, RayMesh | tuple[FloatArray, np.ndarray]],
    start: FloatArray,
    direction: FloatArray,
    length: float,
    bones: frozenset[str] | set[str] = frozenset(),
) -> list[Crossing]:
    """The structures the line from ``start`` crosses, in order and each once, entered within ``length``.

    The list ends at the first structure named in ``bones`` (the pressure stops there), which is
    included. Exits are the true exits, looked for up to :data:`RAY_LENGTH_MM`. ``structures`` maps names to
    :class:`RayMesh` or (vertices (n, 3), faces (m, 3)) pairs; ``start`` and ``direction`` are (3,).
    """
    origin = start - 2.0 * direction  # catch the surface the contact sits on
    found = []
    for name, mesh in structures.items():
        mesh = mesh if isinstance(mesh, RayMesh) else RayMesh(*mesh)
        hits = mesh.hits(origin, direction)[0] - 2.0
        pairs = intervals(hits)
        if len(hits) % 2 == 1:  # started inside (e.g. the contact sits exactly on the surface)
            pairs = [(0.0, float(hits[0])), *intervals(hits[1:])]
        for entry, exit_ in pairs:
            if exit_ > 0 and entry < length + 0.05:  # a bone met at exactly the depth it stops the pressure
                found.append(Crossing(name, round(max(entry, 0.0), 1), round(exit_, 1), name in bones))
    crossings = _merged(found)
    first_bone = next((k for k, c in enumerate(crossings) if c.bone), None)
    return crossings if first_bone is None else crossings[: first_bone + 1]


@dataclass(frozen=True)
class TissueColumn:
    """What lies under a point along one ray: the structures crossed, where bone stops it, the nerve's distance.

    The one measurement behind the safety check's line of force and the depth probe.
    """

    start: FloatArray  # (3,) where the column starts (the contact, or the probed point)
    direction: FloatArray  # (3,) unit, into the body
    depth_mm: float  # how deep it was asked to go
    reach_mm: float  # how deep it goes: ``depth_mm``, or less where it first meets bone
    stopped_by: str | None  # the bone met before ``depth_mm`` (None: none)
    crossings: list[Crossing]  # in order, each once, ending with that bone if one stops it
    nerve: NerveClearance  # distance to the nerve surface every millimetre from 0 to ``reach_mm``


def tissue_column(context: TechniqueContext, start: FloatArray, direction: FloatArray, depth_mm: float) -> TissueColumn:
    """The column of tissue under ``start`` along ``direction`` (normalised here), down to ``depth_mm`` or bone.

    The crossings include the sciatic nerve when the ray passes through it; distances are in mm.
    """
    start = np.asarray(start, dtype=float)
    direction = np.asarray(direction, dtype=float)
    direction = direction / np.linalg.norm(direction)
    reach, stopped_by = pressure_depth(context, start, direction, depth_mm)
    meshes = {**context.ray_meshes, context.nerve.name: RayMesh(context.nerve_vertices, context.nerve.faces)}
    crossings = crossings_along(meshes, start, direction, reach, bone_names())
    line = nerve_clearance(context, start, direction, reach)
    return TissueColumn(start, direction, float(depth_mm), reach, stopped_by, crossings, line)


def _mm(value: float) -> float:
    """A distance as reported: to 0.1 mm (never -0.0)."""
    return round(float(value), 1) + 0.0


def assess(
    technique: Technique, geometry: TechniqueGeometry, context: TechniqueContext, settings: dict | None = None
) -> SafetyReport:
    """The safety report of a technique's geometry at the context's pose (margin: ``context.margin_mm``)."""
    settings = settings or safety_settings()
    contact, direction = geometry.contact, geometry.direction
    column = tissue_column(context, contact, direction, geometry.working_depth_mm)
    reach, stopped_by, crossings, line = column.reach_mm, column.stopped_by, column.crossings, column.nerve
    targets = {f"{t}_{context.side}" for t in technique.targets}
    reaches = any(c.structure in targets and c.entry_mm <= reach + 5.0 for c in crossings)

    cone: list[tuple[FloatArray, NerveClearance]] = []
    for ray in geometry.cone_rays(int(settings["cone_rays"])):
        cone.append((ray, nerve_clearance(context, contact, ray, pressure_depth(context, contact, ray, reach)[0])))
    line_distance = _mm(line.nearest_mm)
    cone_distance = _mm(min(c.nearest_mm for _ray, c in cone))
    on_cone = cone_distance < line_distance
    ray, nearest = min(cone, key=lambda rc: rc[1].nearest_mm) if on_cone else (direction, line)
    nearest_point = contact + nearest.nearest_depth_mm * ray
    branch = context.nerve.branches[0] if context.nerve.branches else None
    if len(context.nerve.branches) > 1:
        vertex = int(np.argmin(np.linalg.norm(context.nerve_vertices - nearest_point, axis=1)))
        branch = next(b for b in context.nerve.branches if b.vertex_slice.start <= vertex < b.vertex_slice.stop)

    margin = _mm(context.margin_mm)
    every_ray = [line, *(c for _ray, c in cone)]

    def shallowest(distance: float) -> float | None:
        depths = [d for d in (c.first_within(distance) for c in every_ray) if d is not None]
        return _mm(min(depths)) if depths else None

    nerve_distance = min(line_distance, cone_distance)
    line_points = contact + line.depths_mm[:, None] * direction
    entered = [z.id for z in context.zones if z.kind != "nerve_margin" and z.contains(line_points).any()]
    if nerve_distance < margin:
        entered = [z.id for z in context.zones if z.kind == "nerve_margin"] + entered
    vertical = geometry.angle_from_normal_deg < settings["vertical_limit_deg"]
    near_nerve = line_distance < settings["vertical_caution_mm"]
    in_notch = any(z.kind == "sphere" and z.id in entered for z in context.zones)
    report = SafetyReport(
        technique_id=technique.id, side=context.side, angle_from_normal_deg=geometry.angle_from_normal_deg,
        working_depth_mm=_mm(geometry.working_depth_mm), pressure_depth_mm=_mm(reach), stopped_by=stopped_by,
        crossings=crossings, reaches_target=reaches, force_line_min_distance_mm=line_distance,
        cone_min_distance_mm=cone_distance, nerve_distance_mm=nerve_distance, nearest_on="cone" if on_cone else "line",
        nearest_depth_mm=_mm(nearest.nearest_depth_mm), nearest_branch=branch.display_name if branch else "sciatic nerve",
        nearest_branch_passes_through=tuple(branch.passes_through) if branch else (),
        zone_entry_depth_mm=shallowest(margin), nerve_entry_depth_mm=shallowest(0.0), danger_margin_mm=margin,
        zones_entered=entered, too_vertical=bool(vertical and (near_nerve or in_notch)), settings=dict(settings),
    )
    report.explanation = explain(technique, geometry, report)
    return report


def _name(structure: str) -> str:
    return structure.removesuffix("_right").removesuffix("_left").replace("_", " ")


def _number(value: float) -> str:
    """A distance as the words print it: the reported value, without a trailing .0."""
    return f"{value:.1f}".removesuffix(".0")


def _nerve(report: SafetyReport) -> str:
    """The nerve, naming the nearest part when the nerve is divided."""
    part = report.nearest_branch.lower()
    return "the sciatic nerve" if part == "sciatic nerve" else f"the sciatic nerve ({part})"


def _crossing_words(crossing: Crossing, reach: float) -> str:
    if crossing.bone:
        return f"{_name(crossing.structure)} at {_number(crossing.entry_mm)} mm, where the pressure stops"
    if crossing.exit_mm > reach:
        return f"{_name(crossing.structure)} (from {_number(crossing.entry_mm)} mm, still in it at {_number(reach)} mm)"
    return f"{_name(crossing.structure)} ({_number(crossing.entry_mm)}-{_number(crossing.exit_mm)} mm)"


def _approach_words(report: SafetyReport, cone_half_angle_deg: float) -> str:
    """How close the line of force and its cone come to the nerve: the reported numbers, never negative."""
    line = (
        f"The line of force passes through {_nerve(report)}"
        if report.force_line_min_distance_mm < 0
        else f"The line of force comes no closer than {_number(report.force_line_min_distance_mm)} mm to the sciatic nerve"
    )
    cone = (
        f"the edge of its {cone_half_angle_deg:.0f}-degree cone of acceptable angles passes through the nerve"
        if report.cone_min_distance_mm < 0
        else f"the edge of its {cone_half_angle_deg:.0f}-degree cone of acceptable angles no closer than "
        f"{_number(report.cone_min_distance_mm)} mm"
    )
    where = "the cone's edge" if report.nearest_on == "cone" else "the line of force"
    nearest = (
        f"it enters the nerve {_number(report.nerve_entry_depth_mm)} mm deep"
        if report.nerve_distance_mm < 0
        else f"the nearest point is on {where}, {_number(report.nearest_depth_mm)} mm deep"
    )
    return f"{line}, and {cone}; {nearest}."


def _variant_words(report: SafetyReport) -> str:
    if not report.nearest_branch_passes_through:
        return ""
    pierced = " and ".join(report.nearest_branch_passes_through).replace("_", " ")
    return (
        f" In this nerve variant the part of the nerve nearest to the pressure, the {report.nearest_branch.lower()}, "
        f"passes through {pierced} instead of below it."
    )


def explain(technique: Technique, geometry: TechniqueGeometry, report: SafetyReport) -> str:
    """Plain-language reasons why this approach is or is not safe, with the report's own numbers."""
    s = report.settings
    margin, tool = _number(report.danger_margin_mm), technique.tool.replace("_", " ")
    lines = [
        f"{technique.title} ({report.side} side): the {tool} {'meet' if tool.endswith('s') else 'meets'} the body on "
        f"{_name(geometry.surface_structure)} and {'push' if tool.endswith('s') else 'pushes'} at {report.angle_to_surface_deg:.0f} degrees to the surface "
        f"({report.angle_from_normal_deg:.0f} degrees from straight down), to a working depth of "
        f"{_number(report.working_depth_mm)} mm.",
    ]
    if report.crossings:
        lines.append(
            "Along the line of force it passes through "
            + ", ".join(_crossing_words(c, report.pressure_depth_mm) for c in report.crossings)
            + "."
        )
    lines.append(
        "The check follows the line of force and the edge of its cone down to the working depth, or to the "
        "first bone, where pressure stops, and measures how close they come to the sciatic nerve."
    )
    lines.append(_approach_words(report, geometry.cone_half_angle_deg))
    if not report.flagged:
        why = [
            f"the nearest approach, {_number(report.nerve_distance_mm)} mm, is outside the {margin} mm danger margin "
            f"around the nerve"
        ]
        if report.angle_from_normal_deg >= s["vertical_limit_deg"]:
            why.append("the push is oblique, so the nerve is not pressed straight against the bone behind it")
        else:
            why.append(
                f"pressing straight in is acceptable here because the line of force stays "
                f"{_number(report.force_line_min_distance_mm)} mm from the nerve, more than "
                f"{_number(s['vertical_caution_mm'])} mm"
            )
        lines.append("Safe as described: " + "; ".join(why) + ".")
    else:
        problems = []
        if report.too_close and report.nerve_distance_mm < 0:
            where = "the line of force" if report.force_line_min_distance_mm < 0 else "the edge of the cone"
            problems.append(
                f"{where} passes through {_nerve(report)} "
                f"{_number(report.nerve_entry_depth_mm)} mm deep, where it can be compressed against the deep "
                f"rotators and bone"
            )
        elif report.too_close:
            where = "the edge of the cone" if report.nearest_on == "cone" else "the line of force"
            problems.append(
                f"{where} comes within {_number(report.nerve_distance_mm)} mm of {_nerve(report)}, less than the {margin} mm danger margin: it reaches into the "
                f"danger zone from {_number(report.zone_entry_depth_mm)} mm deep, where the nerve can be compressed "
                f"between your tool and the deep rotators and bone"
            )
        if report.too_vertical:
            near = (
                "while the line of force runs into the nerve"
                if report.force_line_min_distance_mm < 0
                else f"while the line of force comes within {_number(report.force_line_min_distance_mm)} mm of the nerve "
                f"(closer than {_number(s['vertical_caution_mm'])} mm)"
                if report.force_line_min_distance_mm < s["vertical_caution_mm"]
                else "over the sciatic notch"
            )
            problems.append(
                f"the push is too vertical ({report.angle_from_normal_deg:.0f} degrees from straight down, limit "
                f"{s['vertical_limit_deg']:.0f}) {near}"
            )
        lines.append(
            "Flagged: " + "; ".join(problems) + "." + _variant_words(report) + " Move the contact away from the "
            "nerve's course (between the sitting bone and the greater trochanter, and just below piriformis), use a "
            "broad moderate pressure and angle the force obliquely, away from the nerve."
        )
    if "sciatic_notch" in report.zones_entered and not report.too_vertical:
        lines.append("It passes near the sciatic notch: keep the pressure moderate and oblique there.")
    if not report.reaches_target and technique.depth["layer"] == "deep":
        lines.append("Note: at this depth the line does not yet reach the target layer.")
    return " ".join(lines)


__all__ = [
    "MERGE_GAP_MM",
    "Crossing",
    "SafetyReport",
    "TissueColumn",
    "assess",
    "crossings_along",
    "explain",
    "tissue_column",
]
