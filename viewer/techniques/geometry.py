"""Where and how a technique meets the body at a pose.

From posed meshes, fibres and landmarks (a :class:`TechniqueContext`): the
contact point on the outer surface (the superficial-most structure on the line
of force), the approach vector (unit, into the body) at the stated angle to the
local surface and heading as stated, the cone of acceptable directions and the
stroke path traced along the named muscle's fibres and projected onto the outer
surface. Directions in the data are for the right side and mirrored for the left.

Where pressure goes (:func:`pressure_depth`: down a ray to the working depth or the first bone,
whichever comes first) and how close it comes to the sciatic nerve along the way
(:func:`nerve_clearance`) are measured here once, for the safety check and anything else that
probes a depth along a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from viewer.anatomy.geometry import RayMesh, resample, unit
from viewer.io.annotations import AnnotationError
from viewer.techniques.context import TechniqueContext
from viewer.techniques.library import Technique
from viewer.types import FloatArray

OUTSIDE_MM = 400.0
AIM_RAYS = 40  # deep work: most contacts tried (per search) while aiming the line of force through the anchor
AIM_STEP_MM = 30.0  # ... the first steps of that search over the surface
AIM_TOLERANCE_MM = 0.5  # ... and how close to the anchor the line must pass to stop early
AIM_REACH_MM = 150.0  # ... within this distance of the line along contact.from_direction through the anchor
OFF_SURFACE_MM = 100.0  # a contact off the surface the data names counts as missing the anchor by this much more


@dataclass
class TechniqueGeometry:
    technique_id: str
    side: str
    tool: str
    anchor: FloatArray  # the point the force line is aimed through (on or in the target)
    contact: FloatArray  # on the outer surface
    normal: FloatArray  # outward surface normal at the contact
    direction: FloatArray  # unit approach vector, into the body
    angle_from_normal_deg: float  # 0 = straight down into the surface (vertical)
    cone_half_angle_deg: float
    working_depth_mm: float
    stroke: FloatArray  # (k, 3) path on the outer surface
    surface_structure: str  # structure hit at the contact

    @property
    def angle_to_surface_deg(self) -> float:
        """Angle of the line of force to the skin (degrees; 90 is straight in)."""
        return 90.0 - self.angle_from_normal_deg

    @property
    def force_end(self) -> FloatArray:
        """Where the line of force ends (3,), the working depth below the contact."""
        return self.contact + self.working_depth_mm * self.direction

    def cone_rays(self, count: int = 16) -> FloatArray:
        """Unit directions on the boundary of the cone of acceptable angles."""
        e1 = unit(np.cross(self.direction, [0.0, 1.0, 0.0] if abs(self.direction[1]) < 0.9 else [1.0, 0.0, 0.0]))
        e2 = np.cross(self.direction, e1)
        alpha = np.radians(self.cone_half_angle_deg)
        phi = np.linspace(0, 2 * np.pi, count, endpoint=False)
        return unit(
            np.cos(alpha) * self.direction
            + np.sin(alpha) * (np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2)
        )


def _mirror(vector, side: str) -> FloatArray:
    vector = np.asarray(vector, dtype=float)
    return vector * np.array([1.0, 1.0, -1.0]) if side == "left" else vector


def first_hit(
    structures: Mapping[str, RayMesh | tuple[FloatArray, np.ndarray]], origin: FloatArray, direction: FloatArray
) -> tuple[float, str | None, FloatArray | None]:
    """(distance, structure, outward normal) of the first surface crossed by a ray (inf, None, None if none).

    ``structures`` maps names to meshes: :class:`RayMesh` (e.g. ``TechniqueContext.ray_meshes``: cast many
    rays at them at the cost of one) or (vertices (n, 3), faces (m, 3)) pairs. ``origin`` and ``direction`` are (3,).
    """
    best = (np.inf, None, None)
    direction = unit(direction)
    for name, mesh in structures.items():
        mesh = mesh if isinstance(mesh, RayMesh) else RayMesh(*mesh)
        if not mesh.may_meet(origin, direction):
            continue
        t = mesh.hits(origin, direction)[0]
        if len(t) and t[0] < best[0]:
            point = origin + t[0] * direction
            best = (float(t[0]), name, mesh.normal_near(point, facing=direction))
    return best


def surface_normal(
    vertices: FloatArray, faces: np.ndarray, point: FloatArray, radius: float = 10.0, facing: FloatArray | None = None
) -> FloatArray:
    """Area-weighted outward normal of the faces near a surface point (smooths faceting).

    ``facing`` (3,), the direction of a ray that met the surface there, keeps only the faces turned towards
    the ray: the side it met. On a thin closed sheet (the 2 mm iliotibial band) the faces of the far side
    lie within ``radius`` too, and their opposite normals all but cancel the near side's.
    """
    return RayMesh(vertices, faces).normal_near(point, radius, facing)


def pressure_depth(
    context: TechniqueContext, start: FloatArray, direction: FloatArray, working_depth_mm: float
) -> tuple[float, str | None]:
    """How deep pressure along a ray reaches: the working depth, or less where the ray first meets bone.

    Parameters
    ----------
    context : the posed structures (bones among them).
    start : (3,) the contact point.
    direction : (3,) the ray, into the body.
    working_depth_mm : how deep the technique works.

    Returns
    -------
    (depth in mm, the bone that stops it or None when the working depth is reached first)
    """
    t, bone, _normal = first_hit(context.bone_structures(), np.asarray(start, dtype=float), direction)
    return (float(t), bone) if t < working_depth_mm else (float(working_depth_mm), None)


@dataclass(frozen=True)
class NerveClearance:
    """Distance to the nerve surface sampled along one ray, from its start to the depth it reaches."""

    depths_mm: FloatArray  # (k,) depth of each sample below the start, ascending from 0
    distances_mm: FloatArray  # (k,) distance to the nerve surface there (< 0: inside the nerve)

    @property
    def nearest_mm(self) -> float:
        """The smallest distance (mm) from the line of force to the nerve."""
        return float(self.distances_mm.min())

    @property
    def nearest_depth_mm(self) -> float:
        """Depth (mm) along the line of force where it comes nearest the nerve."""
        return float(self.depths_mm[int(np.argmin(self.distances_mm))])

    def first_within(self, distance_mm: float) -> float | None:
        """The shallowest depth at which the ray comes closer than ``distance_mm`` to the nerve (None: never)."""
        inside = np.flatnonzero(self.distances_mm < distance_mm)
        return float(self.depths_mm[inside[0]]) if len(inside) else None


def nerve_clearance(
    context: TechniqueContext, start: FloatArray, direction: FloatArray, length_mm: float, step_mm: float = 1.0
) -> NerveClearance:
    """Distance to the posed nerve's surface every ``step_mm`` along ``start + t * direction``, 0 <= t <= length_mm.

    ``direction`` (3,) is normalised here; ``start`` is (3,).
    """
    count = max(2, int(np.ceil(length_mm / step_mm)) + 1)
    depths = np.linspace(0.0, float(length_mm), count)
    points = np.asarray(start, dtype=float) + depths[:, None] * unit(np.asarray(direction, dtype=float))
    return NerveClearance(depths, context.nerve_distance(points))


def mean_fibre(fibres: FloatArray, count: int = 200) -> FloatArray:
    """The muscle's middle line (mean of its fibres), resampled evenly origin -> insertion."""
    return resample(np.asarray(fibres, dtype=float).mean(axis=0), count)


def fibre_point(fibres: FloatArray, fraction: float) -> FloatArray:
    """The point (3,) at ``fraction`` (0 origin, 1 insertion) along the mean of (n, m, 3) ``fibres``."""
    line = mean_fibre(fibres)
    return line[round(np.clip(fraction, 0, 1) * (len(line) - 1))]


def _contact_along(
    structures: Mapping[str, RayMesh], point: FloatArray, line: FloatArray
) -> tuple[FloatArray, FloatArray, str] | None:
    """Where a line along ``line`` (3,) through ``point`` (3,) first meets a structure: (contact, normal, name)."""
    origin = point - OUTSIDE_MM * line
    t, hit, normal = first_hit(structures, origin, line)
    return None if hit is None else (origin + t * line, normal, hit)


def _near_line(structures: Mapping[str, RayMesh], point: FloatArray, line: FloatArray, reach: float) -> dict[str, RayMesh]:
    """The structures cut down to their triangles within ``reach`` mm of the line along ``line`` (3,) through
    ``point`` (3,), each with only the vertices those use (casting many rays near one line costs less)."""
    near = {}
    for name, mesh in structures.items():
        offset = mesh.centroids - point
        across = offset - np.outer(offset @ line, line)
        kept = mesh.faces[np.einsum("ij,ij->i", across, across) < reach * reach]
        if len(kept):
            used, local = np.unique(kept, return_inverse=True)
            near[name] = RayMesh(mesh.vertices[used], local.reshape(-1, 3))
    return near

def _aim_through(
    technique: Technique,
    context: TechniqueContext,
    structures: Mapping[str, RayMesh],
    target: FloatArray,
    view: FloatArray,
    angle: float,
    stated: str | None,
) -> tuple[FloatArray, FloatArray, str]:
    """The contact whose stated approach (``angle`` to its surface, leaning to the heading) passes through ``target``.

    Contacts are tried over the outer surface as seen along ``view`` (3,), and the one whose line
    misses ``target`` (3,) least wins (a Nelder-Mead search in the plane across ``view``). Following
    the line from one contact to the next instead runs away on a rounded surface (over the flexed
    buttock the contact walked round into the gluteal fold, 3.6 mm from the nerve, and prone it
    circled 60 mm off the anchor). Contacts off the ``stated`` surface, or whose line would have to
    leave the body to reach the target, count as missing it by :data:`OFF_SURFACE_MM` more.

    Returns
    -------
    (contact (3,), outward normal there (3,), structure met)
    """
    from scipy.optimize import minimize

    structures = _near_line(structures, target, view, AIM_REACH_MM)  # every ray tried stays within its reach
    plane = _search_plane(view, context.side)
    tried: dict[tuple[float, float], tuple[float, tuple[FloatArray, FloatArray, str]]] = {}

    def miss(shift: FloatArray) -> float:
        met = _contact_along(structures, target + shift @ plane, view)
        if met is None:  # worse than any contact, and worse the farther out (the bones of the two sides differ:
            return 2 * OFF_SURFACE_MM + float(np.linalg.norm(shift))  # a flat penalty sent the sides apart)
        contact, normal, hit = met
        direction = approach_direction(normal, _heading(technique, context, contact, target), angle)
        offset = target - contact
        along = float(offset @ direction)
        distance = float(np.linalg.norm(offset - along * direction)) + (OFF_SURFACE_MM if along < 0 else 0.0)
        distance += OFF_SURFACE_MM if stated is not None and hit != stated else 0.0
        tried[tuple(shift)] = (distance, met)
        return distance

    start = np.zeros(2)
    for step in (AIM_STEP_MM, AIM_STEP_MM / 3):  # a restart from the best so far leaves a collapsed simplex
        simplex = [start, start + np.array([step, 0.0]), start + np.array([0.0, step])]
        options = {"maxfev": AIM_RAYS, "initial_simplex": simplex, "xatol": AIM_TOLERANCE_MM, "fatol": AIM_TOLERANCE_MM}
        start = minimize(miss, start, method="Nelder-Mead", options=options).x
        if tried[tuple(start)][0] < AIM_TOLERANCE_MM:
            break
    return min(tried.values(), key=lambda entry: entry[0])[1]


def _search_plane(view: FloatArray, side: str) -> FloatArray:
    """(2, 3) orthonormal axes across the unit ``view`` (3,) in which contacts are sought, mirror images for the
    two sides: the search then takes the same steps on the left as on the right (axes built from the left's own
    view by cross products are mirrored with one axis reversed, and the local search found another contact there:
    side-lying, from below the buttock, 16.6 mm from the nerve where the right's line passes 47 mm from it)."""
    right_view = _mirror(view, side)
    across = unit(np.cross(right_view, [0.0, 1.0, 0.0] if abs(right_view[1]) < 0.9 else [1.0, 0.0, 0.0]))
    return np.stack([_mirror(across, side), _mirror(np.cross(right_view, across), side)])


def _anchor(technique: Technique, context: TechniqueContext) -> FloatArray:
    anchor = technique.contact["anchor"]
    side = context.side
    offset = _mirror(anchor.get("offset_mm", (0.0, 0.0, 0.0)), side)
    if "muscle" in anchor:
        return fibre_point(context.fibres[f"{anchor['muscle']}_{side}"], anchor["fibre_fraction"]) + offset
    total = sum(anchor["landmarks"].values())
    return sum(w * context.landmark(n) for n, w in anchor["landmarks"].items()) / total + offset


def _heading(technique: Technique, context: TechniqueContext, contact: FloatArray, anchor: FloatArray) -> FloatArray:
    heading = technique.approach["heading"]
    if "towards_landmark" in heading:
        return context.landmark(heading["towards_landmark"]) - anchor
    if "along_fibres" in heading:
        line = mean_fibre(context.fibres[f"{heading['along_fibres']}_{context.side}"])
        k = int(np.argmin(np.linalg.norm(line - anchor, axis=1)))
        k = min(max(k, 1), len(line) - 2)
        return line[k + 1] - line[k - 1]
    return _mirror(heading["direction"], context.side)


def approach_direction(normal: FloatArray, heading: FloatArray, angle_to_surface_deg: float) -> FloatArray:
    """Unit vector into the body at ``angle_to_surface_deg`` to the surface, leaning towards ``heading``."""
    normal = unit(normal)
    tangent = np.asarray(heading, dtype=float) - np.dot(heading, normal) * normal
    if np.linalg.norm(tangent) < 1e-9:
        tangent = np.cross(normal, [0.0, 1.0, 0.0] if abs(normal[1]) < 0.9 else [1.0, 0.0, 0.0])
    tangent = unit(tangent)
    tilt = np.radians(90.0 - angle_to_surface_deg)
    return unit(-np.cos(tilt) * normal + np.sin(tilt) * tangent)


def technique_geometry(
    technique: Technique,
    context: TechniqueContext,
    anchor: FloatArray | None = None,
    angle_to_surface_deg: float | None = None,
) -> TechniqueGeometry:
    """The technique's contact, approach, cone and stroke at the context's pose.

    ``anchor`` and ``angle_to_surface_deg`` override the data (to explore a variant, e.g. a
    vertical push placed right over the nerve). Deep work aims its line of force through the anchor
    (:func:`_aim_through`); otherwise the contact lies over the anchor, seen from ``contact.from_direction``.
    """
    structures = context.ray_meshes
    target = np.asarray(anchor, dtype=float) if anchor is not None else _anchor(technique, context)
    angle = float(technique.approach["angle_to_surface_deg"] if angle_to_surface_deg is None else angle_to_surface_deg)
    if not 0.0 <= angle <= 90.0:  # also refuses NaN, which would pass every later comparison
        raise ValueError(f"technique {technique.id}: angle to the surface {angle:g} is not 0 to 90 degrees")
    view = -unit(_mirror(technique.contact["from_direction"], context.side))
    stated = technique.sided(technique.contact["surface"], context.side) if "surface" in technique.contact else None
    straight_on = _contact_along(structures, target, view)
    if straight_on is None:
        raise AnnotationError(
            technique.path or technique.id,
            f"the line from contact.from_direction towards {np.round(target, 1)} meets no structure",
            "contact.anchor",
        )
    contact, normal, surface = straight_on
    if technique.depth["layer"] == "deep":  # the line of force passes through the anchor
        contact, normal, surface = _aim_through(technique, context, structures, target, view, angle, stated)
    direction = approach_direction(normal, _heading(technique, context, contact, target), angle)
    cos_angle = float(np.clip(np.dot(direction, -normal), -1.0, 1.0))
    stroke = stroke_path(technique, context, view)
    return TechniqueGeometry(
        technique_id=technique.id, side=context.side, tool=technique.tool, anchor=target, contact=contact,
        normal=normal, direction=direction, angle_from_normal_deg=float(np.degrees(np.arccos(cos_angle))),
        cone_half_angle_deg=float(technique.approach["cone_half_angle_deg"]),
        working_depth_mm=float(technique.approach["working_depth_mm"]), stroke=stroke, surface_structure=surface,
    )


def stroke_path(technique: Technique, context: TechniqueContext, direction: FloatArray, count: int = 24) -> FloatArray:
    """The stroke: the named muscle's middle fibre between the stated fractions, projected along
    ``direction`` (the side the practitioner works from, into the body) onto the outer surface,
    1 mm proud of it for drawing."""
    stroke = technique.stroke
    line = mean_fibre(context.fibres[f"{stroke['muscle']}_{context.side}"])
    fractions = np.linspace(stroke["from_fraction"], stroke["to_fraction"], count)
    points = line[np.round(fractions * (len(line) - 1)).astype(int)]
    projected = []
    for point in points:
        origin = point - OUTSIDE_MM * direction
        t, name, normal = first_hit(context.ray_meshes, origin, direction)
        projected.append(origin + t * direction + normal * 1.0 if name is not None else point)
    return np.array(projected)


__all__ = [
    "NerveClearance",
    "TechniqueGeometry",
    "approach_direction",
    "first_hit",
    "mean_fibre",
    "nerve_clearance",
    "pressure_depth",
    "stroke_path",
    "surface_normal",
    "technique_geometry",
]
