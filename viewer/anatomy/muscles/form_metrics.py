"""Shape measures of the muscle display surfaces, shared by the tests and ``bench/bench_shapes.py``.

Limits (issue "atlas-quality muscles"): under 1% of a muscle's edges bend more than
40 degrees and none more than 90; volume within 15% of the reference; under 1% of its
vertices inside another muscle or a bone; every origin and insertion point of its cage
within 5 mm of the form. Knobs and waves along a belly (lumpy gemelli, a crumpled piriformis) bend
no edge sharply: :func:`lumpiness` finds them in the cross-sections along the muscle's centre line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.anatomy.bones import Surface
from viewer.anatomy.geometry import (
    dihedral_degrees,
    intervals,
    is_watertight,
    ray_hits,
    signed_volume,
    vertex_normals,
    winding_number,
)
from viewer.anatomy.kinematics import LegPose
from viewer.anatomy.muscles.build import RIGHT_BONES, RightMuscle
from viewer.anatomy.muscles.distance_field import DistanceGrid, distance_grid
from viewer.types import FloatArray, IntArray

CREASE_DEGREES = 40.0
MAX_CREASE_SHARE = 0.01
FOLD_DEGREES = 90.0
VOLUME_TOLERANCE = 0.15
MAX_INSIDE_SHARE = 0.01
INSIDE_TOLERANCE_MM = 1.0  # shared boundaries: a vertex counts as inside only this far past its neighbour's face
ATTACHMENT_REACH_MM = 5.0
GRID_SPACING_MM = 1.5
LUMP_STATION_MM = 1.0  # cross-sections this far apart along the centre line
LUMP_WINDOW_MM = 15.0  # a section's radius is compared with a quadratic fitted over this much of the line about it
LUMP_ENDS = 0.1  # share of the centre line left out at each end (attachments spread onto bone there)
MAX_LUMP = 0.04  # a section's radius stands at most this share of the belly radius off its trend
IN_BONE_MM = 2.0  # a posed form deeper than this in a bone counts as in it (beyond the obstacle grids' 2 mm lattice)

THERAPIST_POSES = [  # the positions the techniques are taught in
    LegPose(hip_flexion=90, knee_flexion=90),
    LegPose(hip_flexion=45, hip_abduction=40, hip_rotation=20, knee_flexion=90),  # frog
    LegPose(hip_flexion=10, hip_abduction=-25, hip_rotation=-35),  # external rotation with adduction
    LegPose(knee_flexion=90, hip_rotation=40),  # prone, knee 90, internal rotation
]
MOTION_POSES = {  # the therapist positions, and the fans' worst corner of the pose grid, by label
    "flexion 90 knee 90": THERAPIST_POSES[0],
    "frog": THERAPIST_POSES[1],
    "external rotation with adduction": THERAPIST_POSES[2],
    "prone knee 90 internal rotation": THERAPIST_POSES[3],
    "90/45/45": LegPose(hip_flexion=90, hip_abduction=45, hip_rotation=45),
}


@dataclass(frozen=True)
class FormMeasures:
    """One muscle's form measured against the limits."""

    name: str
    vertices: int
    closed: bool
    crease_share: float  # edges bending more than CREASE_DEGREES
    max_bend_degrees: float
    volume_cm3: float
    reference_cm3: float | None
    inside_share: float  # vertices inside another muscle or a bone
    attachment_mm: float  # farthest cage origin/insertion point from the form

    @property
    def volume_ratio(self) -> float | None:
        """Volume over the published reference volume, or None without a reference."""
        return None if self.reference_cm3 is None else self.volume_cm3 / self.reference_cm3

    def failures(self) -> list[str]:
        """The limits this form misses, in words (empty when it passes)."""
        problems = []
        if not self.closed:
            problems.append("not closed")
        if self.crease_share >= MAX_CREASE_SHARE:
            problems.append(f"{self.crease_share:.1%} of edges bend over {CREASE_DEGREES:.0f} degrees")
        if self.max_bend_degrees > FOLD_DEGREES:
            problems.append(f"an edge bends {self.max_bend_degrees:.0f} degrees")
        ratio = self.volume_ratio
        if ratio is not None and abs(ratio - 1) > VOLUME_TOLERANCE:
            problems.append(f"volume {ratio:.0%} of the reference")
        if self.inside_share >= MAX_INSIDE_SHARE:
            problems.append(f"{self.inside_share:.1%} of vertices inside another structure")
        if self.attachment_mm > ATTACHMENT_REACH_MM:
            problems.append(f"an attachment point {self.attachment_mm:.1f} mm from the form")
        return problems


def crease_share(vertices: FloatArray, faces: IntArray, degrees: float = CREASE_DEGREES) -> float:
    """Share (0..1) of the interior edges of a (n, 3) / (m, 3) mesh bending more than ``degrees``."""
    bends = dihedral_degrees(np.asarray(vertices, float), np.asarray(faces))
    return float((bends > degrees).mean()) if len(bends) else 0.0


def bone_depths(
    posed: dict[str, FloatArray], grids: dict[str, object], side: str, thigh: FloatArray, shank: FloatArray
) -> dict[str, FloatArray]:
    """Each posed form's depth (mm, positive inside) in the nearest bone it enters.

    Parameters
    ----------
    posed : dict of str to (n, 3) array
        Posed form vertices of one side's muscles, by structure name.
    grids : dict
        The packed bone distance grids (``pose_grids.load_pose_grids``).
    side : str
        ``"right"`` or ``"left"``.
    thigh, shank : (4, 4) array
        The side's segment transforms.

    Returns
    -------
    dict of str to (n,) array
    """
    from viewer.anatomy.pose_space import obstacles

    carried = obstacles(grids, side, thigh, shank).values()
    return {
        name: -np.min([grid.sample((vertices - m[:3, 3]) @ m[:3, :3])[0] for grid, m in carried], axis=0)
        for name, vertices in posed.items()
    }


def volume_ratio(rest: FloatArray, posed: FloatArray, faces: IntArray) -> float:
    """Posed enclosed volume over rest volume (1 = held); ``rest`` and ``posed`` (n, 3) share ``faces``."""
    return signed_volume(posed, faces) / signed_volume(rest, faces)


def overlap_share(vertices: FloatArray, others: list[tuple[FloatArray, IntArray]]) -> float:
    """Share (0..1) of (n, 3) ``vertices`` inside any of the closed surfaces ``others`` ((vertices, faces) pairs)."""
    inside = np.zeros(len(vertices), bool)
    for other_vertices, other_faces in others:
        low, high = other_vertices.min(axis=0), other_vertices.max(axis=0)
        near = np.flatnonzero(~inside & np.all((vertices >= low) & (vertices <= high), axis=1))
        if len(near):
            inside[near] = winding_number(other_vertices, other_faces, vertices[near]) > 0.5
    return float(inside.mean()) if len(vertices) else 0.0


def section_area(vertices: FloatArray, faces: IntArray, origin: FloatArray, normal: FloatArray) -> float:
    """Area (mm2) of the cut of a closed (n, 3) / (m, 3) surface by the plane (origin, unit normal): the loop nearest origin.

    Each triangle crossing the plane gives a segment; segments sharing a cut edge form loops, and the
    loop passing nearest ``origin`` is the section (a curved muscle may be cut twice by one plane).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    height = (np.asarray(vertices, float) - origin) @ normal
    above = height[faces] > 0
    triangles = faces[above.any(axis=1) & ~above.all(axis=1)]
    if not len(triangles):
        return 0.0
    ends, keys = [], []  # per crossed triangle, its two cut edges: the cut point and the edge's key
    for a, b in ((0, 1), (1, 2), (2, 0)):
        first, second = triangles[:, a], triangles[:, b]
        cut = (height[first] > 0) != (height[second] > 0)
        t = height[first] / np.where(cut, height[first] - height[second], 1.0)
        ends.append(vertices[first] + t[:, None] * (vertices[second] - vertices[first]))
        keys.append(np.where(cut, np.minimum(first, second) * len(vertices) + np.maximum(first, second), -1))
    ends, keys = np.stack(ends, axis=1), np.stack(keys, axis=1)
    pick = np.argsort(keys < 0, axis=1, kind="stable")[:, :2]  # the two cut edges of each triangle
    rows = np.arange(len(triangles))[:, None]
    start, stop = ends[rows, pick][:, 0] - origin, ends[rows, pick][:, 1] - origin
    names, index = np.unique(keys[rows, pick], return_inverse=True)
    index = index.reshape(-1, 2)
    links = coo_matrix((np.ones(len(index)), (index[:, 0], index[:, 1])), shape=(len(names), len(names)))
    loop = connected_components(links, directed=False)[1][index[:, 0]]
    nearest = loop[np.argmin(np.linalg.norm(start + stop, axis=1))]
    start, stop = start[loop == nearest], stop[loop == nearest]
    return float(0.5 * abs(np.cross(start, stop) @ normal).sum())  # each segment wound with its triangle: abs once


def section_radii(surface: Surface, line: FloatArray) -> FloatArray:
    """Equivalent radius sqrt(area / pi) (mm) of the surface's cross-sections along a (k, 3) centre line, (k',).

    Sections every :data:`LUMP_STATION_MM` perpendicular to the line, leaving out :data:`LUMP_ENDS` at each end.
    """
    from scipy.ndimage import gaussian_filter1d

    from viewer.anatomy.geometry import arc_length, resample, tangents

    count = max(int(arc_length(line)[-1] / LUMP_STATION_MM), 8)
    stations = resample(line, count)
    directions = tangents(gaussian_filter1d(stations, sigma=3.0 / LUMP_STATION_MM, axis=0, mode="nearest"))
    keep = slice(int(LUMP_ENDS * count), count - int(LUMP_ENDS * count))
    areas = [section_area(surface.vertices, surface.faces, p, n) for p, n in zip(stations[keep], directions[keep], strict=True)]
    return np.sqrt(np.asarray(areas) / np.pi)


def lumpiness(surface: Surface, line: FloatArray) -> float:
    """How far the cross-sections along the (k, 3) centre line bulge from their trend, as a share of the belly.

    A knob or a wave along the belly shows as a section whose equivalent radius stands off the quadratic
    fitted to the radii over :data:`LUMP_WINDOW_MM` about it (a Savitzky-Golay filter); the largest such
    step over the largest fitted radius. A smooth spindle or a tapering belly follows its fit closely (a
    spindle 8 mm thick and 60 mm long 0.002, with a 2 mm ring-shaped knob 0.064).
    """
    from scipy.signal import savgol_filter

    radii = section_radii(surface, line)
    window = min(int(LUMP_WINDOW_MM / LUMP_STATION_MM) | 1, (len(radii) - 1) | 1)
    trend = savgol_filter(radii, window, polyorder=2, mode="interp")
    return float(np.abs(radii - trend).max() / trend.max())


def crease_measures(surface: Surface) -> tuple[float, float]:
    """(share of edges bending more than CREASE_DEGREES, largest bend in degrees)."""
    bends = dihedral_degrees(surface.vertices, surface.faces)
    return float((bends > CREASE_DEGREES).mean()), float(bends.max())


def solid_grids(solids: dict[str, Surface]) -> dict[str, DistanceGrid]:
    """Signed-distance grids of closed surfaces (for the inside test)."""
    return {
        name: distance_grid(solid.vertices, solid.faces, spacing=GRID_SPACING_MM, margin=4 * GRID_SPACING_MM)
        for name, solid in solids.items()
    }


def inside_share(surface: Surface, others: dict[str, DistanceGrid]) -> float:
    """Share of the surface's vertices more than INSIDE_TOLERANCE_MM inside any of ``others``."""
    normals = vertex_normals(surface.vertices, surface.faces)
    probes = surface.vertices - INSIDE_TOLERANCE_MM * normals  # a shared face puts vertices on the neighbour's skin
    inside = np.zeros(len(probes), bool)
    for grid in others.values():
        high = grid.origin + grid.spacing * (np.array(grid.values.shape) - 1)
        near = np.all((probes > grid.origin) & (probes < high), axis=1)
        if near.any():
            inside[near] |= grid.distance(probes[near]) < 0
    return float(inside.mean())


def attachment_distance(surface: Surface, muscle: RightMuscle) -> float:
    """Farthest of the cage's origin and insertion points from the form's surface (mm)."""
    from scipy.spatial import cKDTree

    ends = np.concatenate([muscle.fibres[:, 0], muscle.fibres[:, -1]])
    distance, _ = cKDTree(surface.vertices).query(ends)
    return float(distance.max())


def thickness_at(surface: Surface, muscle: RightMuscle, u: float, s: float, reach_mm: float = 200.0) -> float:
    """Thickness (mm) of a form at its cage's sheet coordinates (u, s), 0..1 each.

    Lines through the cage's mid-sheet point there, along the sheet's normal and tilted from it by
    up to 45 degrees, are cut by the form; the thickness is the shortest piece of line inside the
    form around the point (the shortest chord, so a sheet curling at a border is not measured
    lengthwise). 0 when no line through the point meets the form.

    Parameters
    ----------
    surface : the closed form, vertices (n, 3) mm and faces (m, 3).
    muscle : its cage, whose (n_u, n_s) mid-sheet gives the point and the normal.
    """
    from viewer.anatomy.muscles.forms import mid_sheet
    from viewer.anatomy.muscles.sheet import sheet_normals

    sheet = mid_sheet(muscle)
    n_u, n_s = sheet.shape[:2]
    i, j = round(u * (n_u - 1)), round(s * (n_s - 1))
    point, normal = sheet[i, j], sheet_normals(sheet)[i, j]
    side = np.cross(normal, [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 1.0, 0.0])
    side /= np.linalg.norm(side)
    other = np.cross(normal, side)
    tilts, turns = np.meshgrid(np.radians([0, 15, 30, 45]), np.radians(np.arange(0, 180, 30)), indexing="ij")
    tilt, turn = tilts.ravel()[:, None], turns.ravel()[:, None]
    directions = np.cos(tilt) * normal + np.sin(tilt) * (np.cos(turn) * side + np.sin(turn) * other)
    chords = []
    for hits in ray_hits(surface.vertices, surface.faces, point - reach_mm * directions, directions):
        pieces = [(entry, exit_) for entry, exit_ in intervals(hits) if entry <= reach_mm <= exit_]
        chords += [exit_ - entry for entry, exit_ in pieces]
    return float(min(chords)) if chords else 0.0


def measure_forms(
    forms: dict[str, Surface], built: list[RightMuscle], bones: dict[str, Surface]
) -> dict[str, FormMeasures]:
    """Every form measured; each muscle's inside share counts the other muscles and the right-side bones."""
    grids = solid_grids({**{name: bones[name] for name in RIGHT_BONES if name in bones}, **forms})
    result = {}
    for muscle in built:
        name = muscle.spec.name
        surface = forms[name]
        crease, bend = crease_measures(surface)
        reference = muscle.spec.thickness.get("target_volume_cm3")
        others = {key: grid for key, grid in grids.items() if key != name}
        result[name] = FormMeasures(
            name=name,
            vertices=len(surface.vertices),
            closed=is_watertight(surface.faces),
            crease_share=crease,
            max_bend_degrees=bend,
            volume_cm3=signed_volume(surface.vertices, surface.faces) / 1000.0,
            reference_cm3=None if reference is None else float(reference),
            inside_share=inside_share(surface, others),
            attachment_mm=attachment_distance(surface, muscle),
        )
    return result


def format_table(measures: dict[str, FormMeasures]) -> str:
    """A plain-text table, one muscle per row."""
    header = f"{'muscle':22} {'verts':>6} {'closed':>6} {'>40deg':>7} {'max deg':>7} {'cm3':>6} {'ref':>5} {'vol%':>5} {'inside':>7} {'attach':>7}"
    rows = [header, "-" * len(header)]
    for m in measures.values():
        ratio = "-" if m.volume_ratio is None else f"{m.volume_ratio:.0%}"
        reference = "-" if m.reference_cm3 is None else f"{m.reference_cm3:.0f}"
        rows.append(
            f"{m.name:22} {m.vertices:6d} {'yes' if m.closed else 'NO':>6} {m.crease_share:7.2%} {m.max_bend_degrees:7.1f}"
            f" {m.volume_cm3:6.1f} {reference:>5} {ratio:>5} {m.inside_share:7.2%} {m.attachment_mm:6.1f}mm"
        )
    return "\n".join(rows)
