"""Cross-sections: a clipping plane, and the capped section it cuts through each closed structure (Qt-free).

A :class:`SectionPlane` has an origin and a unit normal that points towards the viewer: everything on
the normal's side is cut away, and the section is looked at along ``-normal``. The presets follow the
conventions students meet in CT and MRI and in the cross-sectional atlases:

- ``transverse@y=Y``: a horizontal cut, the part above kept and seen from below (anterior up, the
  body's right on the viewer's left);
- ``sagittal@z=Z``: the part lateral to the cut removed, seen from that side;
- ``coronal@x=X``: the part behind the cut removed, seen from behind;
- ``X,Y,Z:NX,NY,NZ``: any point and normal (the normal's side removed).

:func:`section_caps` slices every closed surface with the plane into closed loops and fills them:
one triangulation of the whole section (Delaunay over the loops, resampled finely), each triangle
given to the structure that holds it (bone before nerve before the deeper muscles before the skin,
so overlapping sections never fight), bone with a cortical rim and the skin with its dermis over the fat.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import Delaunay, cKDTree

from viewer.types import FloatArray

PRESET_AXES = {"transverse": ("y", 1), "sagittal": ("z", 2), "coronal": ("x", 0)}
SAMPLE_MM = 1.0  # loops are resampled this finely before the section is triangulated
RIM_MM = {"bone": 2.5, "skin": 2.0}  # cortical bone; the dermis over the subcutaneous fat
# The skin encloses the body; deeper than the subcutaneous fat (18 mm over the buttock and thigh, see
# viewer.anatomy.skin) it holds what the atlas does not model (pelvic organs, adductors, iliopsoas...).
FAT_MM = 18.0
RIM, BODY, UNMODELLED = 0, 1, 2  # the zones of a cut face
KIND_PRIORITY = {"bone": 0, "nerve": 1, "muscle": 2, "fascia": 2, "skin": 9}  # who owns overlapping section
NOT_CAPPED = ("danger",)  # overlays, not tissue
HOLLOW_KINDS = ("bone", "skin")  # sections that may have true holes (a foramen, the gap between the legs)


class SectionError(ValueError):
    """A section that cannot be parsed or placed: the message names what is wrong."""


@dataclass(frozen=True)
class SectionPlane:
    """A cut: keeps the half-space ``(p - origin) . normal <= 0``, seen along ``-normal``."""

    origin: FloatArray  # (3,) mm
    normal: FloatArray  # (3,) unit, towards the viewer (the side cut away)
    kind: str = "free"  # transverse, sagittal, coronal or free

    @property
    def up(self) -> FloatArray:
        """Which way is up on the screen: anterior for transverse cuts, superior otherwise."""
        return np.array([1.0, 0.0, 0.0]) if abs(self.normal[1]) > 0.9 else np.array([0.0, 1.0, 0.0])

    def basis(self) -> tuple[FloatArray, FloatArray]:
        """(e1, e2): in-plane unit axes (e1 = screen right, e2 = screen up when seen along ``-normal``)."""
        e2 = self.up - self.up.dot(self.normal) * self.normal
        e2 /= np.linalg.norm(e2)
        return np.cross(e2, self.normal), e2

    def signed_distance(self, points: FloatArray) -> FloatArray:
        """(n,) distance of points from the plane, positive on the side cut away."""
        return (np.asarray(points, dtype=float) - self.origin) @ self.normal

    def moved(self, offset_mm: float) -> SectionPlane:
        """The same cut moved along its normal (into the body for negative offsets)."""
        return SectionPlane(self.origin + offset_mm * self.normal, self.normal, self.kind)

    @property
    def offset_mm(self) -> float:
        """The preset's coordinate (``y`` of a transverse cut...), or the distance from the origin for free cuts."""
        if self.kind in PRESET_AXES:
            return float(self.origin[PRESET_AXES[self.kind][1]])
        return float(self.origin @ self.normal)

    def describe(self) -> str:
        """The plane in words, e.g. ``transverse section at y = -90 mm``."""
        if self.kind in PRESET_AXES:
            return f"{self.kind} section at {PRESET_AXES[self.kind][0]} = {self.offset_mm:g} mm"
        point = ", ".join(f"{v:g}" for v in np.round(self.origin, 1))
        normal = ", ".join(f"{v:g}" for v in np.round(self.normal, 3))
        return f"section through ({point}) with normal ({normal})"


def preset_plane(kind: str, offset_mm: float) -> SectionPlane:
    """A transverse, sagittal or coronal cut at ``offset_mm`` along its axis (see the module notes)."""
    if kind not in PRESET_AXES:
        raise SectionError(f"section kind must be one of {', '.join(PRESET_AXES)} or a point:normal, not {kind!r}")
    axis = PRESET_AXES[kind][1]
    origin = np.zeros(3)
    origin[axis] = offset_mm
    normal = {
        "transverse": (0.0, -1.0, 0.0),
        "sagittal": (0.0, 0.0, 1.0 if offset_mm >= 0 else -1.0),
        "coronal": (-1.0, 0.0, 0.0),
    }[kind]
    return SectionPlane(origin, np.array(normal), kind)


def _numbers(text: str, what: str, count: int) -> FloatArray:
    try:
        values = np.array([float(v) for v in text.split(",")])
    except ValueError:
        values = np.array([])
    if values.shape != (count,) or not np.isfinite(values).all():
        raise SectionError(f"{what} must be {count} numbers separated by commas, not {text!r}")
    return values


def parse_section(text: str) -> SectionPlane:
    """``transverse@y=-90``, ``sagittal@z=60``, ``coronal@x=-80`` or ``X,Y,Z:NX,NY,NZ`` -> a plane."""
    text = text.strip()
    if "@" in text:
        kind, _, where = text.partition("@")
        kind = kind.strip().lower()
        if kind not in PRESET_AXES:
            raise SectionError(f"section kind must be one of {', '.join(PRESET_AXES)}, not {kind!r}")
        axis, _, value = where.partition("=")
        expected = PRESET_AXES[kind][0]
        if axis.strip().lower() != expected:
            raise SectionError(f"a {kind} section is placed by {expected}, e.g. {kind}@{expected}=-90, not {where!r}")
        return preset_plane(kind, float(_numbers(value, f"{kind} section {expected}", 1)[0]))
    point, sep, normal = text.partition(":")
    if not sep:
        raise SectionError(
            f"section must look like transverse@y=-90, sagittal@z=60, coronal@x=-80 or X,Y,Z:NX,NY,NZ, not {text!r}"
        )
    origin, direction = _numbers(point, "section point", 3), _numbers(normal, "section normal", 3)
    if np.linalg.norm(direction) < 1e-9:
        raise SectionError("section normal must not be zero")
    return SectionPlane(origin, direction / np.linalg.norm(direction), "free")


# --- slicing -------------------------------------------------------------------------------------
def slice_loops(vertices: FloatArray, faces: np.ndarray, plane: SectionPlane) -> list[FloatArray]:
    """The closed loops (each (k, 3), not repeating its first point) a plane cuts from a closed surface.

    Each crossing point lies on a mesh edge and is shared by the two triangles of that edge, so the
    segments chain into loops exactly; vertices on the plane count as on the kept side.
    """
    vertices = np.asarray(vertices, dtype=float)
    above = plane.signed_distance(vertices) > 0
    distance = plane.signed_distance(vertices)
    crossing = faces[above[faces].any(axis=1) & ~above[faces].all(axis=1)]
    if not len(crossing):
        return []
    edges = np.stack([crossing[:, [0, 1]], crossing[:, [1, 2]], crossing[:, [2, 0]]], axis=1)  # (m, 3, 2)
    cut = above[edges[..., 0]] != above[edges[..., 1]]  # exactly two per triangle
    pairs = np.sort(edges[cut].reshape(-1, 2, 2), axis=2)  # (m, 2 edges, 2 vertices)
    keys, index = np.unique(pairs.reshape(-1, 2), axis=0, return_inverse=True)
    index = index.reshape(-1, 2)
    a, b = vertices[keys[:, 0]], vertices[keys[:, 1]]
    da, db = distance[keys[:, 0]], distance[keys[:, 1]]
    points = a + (da / (da - db))[:, None] * (b - a)
    neighbours: list[list[int]] = [[] for _ in range(len(keys))]
    for i, j in index:
        neighbours[i].append(j)
        neighbours[j].append(i)
    unused = np.ones(len(keys), dtype=bool)
    loops = []
    for start in range(len(keys)):
        if not unused[start]:
            continue
        loop, previous, current = [start], -1, start
        unused[start] = False
        while True:
            options = [n for n in neighbours[current] if n != previous and unused[n]]
            if not options:
                break
            previous, current = current, options[0]
            unused[current] = False
            loop.append(current)
        if len(loop) >= 3:
            loops.append(points[loop])
    return loops


def _resample_loop(loop: FloatArray, step: float) -> FloatArray:
    """A closed 2D loop with points added so no edge is longer than ``step``."""
    closed = np.vstack([loop, loop[:1]])
    out = []
    for a, b in itertools.pairwise(closed):
        count = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        out.append(a + np.linspace(0.0, 1.0, count, endpoint=False)[:, None] * (b - a))
    return np.vstack(out)


def inside_any_loop(points: FloatArray, loops: list[FloatArray]) -> np.ndarray:
    """(n,) bool: 2D points that some loop winds around (nonzero rule, loop by loop).

    A soft-tissue mesh folded onto itself still fills: its cut may be one loop that goes round twice
    (piriformis and the superior gemellus in a sagittal cut), where the even-odd rule would leave
    only the strip between the two turns.
    """
    inside = np.zeros(len(points), dtype=bool)
    for loop in loops:
        inside |= _winding_numbers(points, [loop]) != 0
    return inside


def inside_loops(points: FloatArray, loops: list[FloatArray]) -> np.ndarray:
    """(n,) bool: 2D points inside the region the loops bound (even-odd rule: a loop inside a loop is a hole)."""
    return _winding_numbers(points, loops, signed=False) % 2 == 1


def _winding_numbers(points: FloatArray, loops: list[FloatArray], signed: bool = True) -> np.ndarray:
    """(n,) int: how often the loops wind around each 2D point (``signed=False``: how often a ray crosses them)."""
    points = np.asarray(points, dtype=float)
    inside = np.zeros(len(points), dtype=int)
    if not loops:
        return inside
    starts = np.vstack(loops)
    ends = np.vstack([np.roll(loop, -1, axis=0) for loop in loops])
    lo, hi = starts.min(axis=0), starts.max(axis=0)
    candidates = np.flatnonzero(((points >= lo) & (points <= hi)).all(axis=1))
    for chunk in np.array_split(candidates, max(1, len(candidates) // 4000 + 1)):
        x, y = points[chunk, 0][:, None], points[chunk, 1][:, None]
        straddle = (starts[:, 1] > y) != (ends[:, 1] > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            cross_x = starts[:, 0] + (y - starts[:, 1]) * (ends[:, 0] - starts[:, 0]) / (ends[:, 1] - starts[:, 1])
        crossed = straddle & (x < cross_x)
        if signed:  # upward crossings count +1, downward -1
            crossed = crossed * np.where(ends[:, 1] > starts[:, 1], 1, -1)
        inside[chunk] = crossed.sum(axis=1)
    return inside


def _inner_offset(loop: FloatArray, region: list[FloatArray], depth: float) -> FloatArray:
    """Points ``depth`` inside a loop's region along its inward normals (only those that land inside)."""
    tangent = np.roll(loop, -1, axis=0) - np.roll(loop, 1, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    candidates = np.vstack([loop + depth * normal, loop - depth * normal])
    boundary = cKDTree(np.vstack([_resample_loop(r, SAMPLE_MM / 4) for r in region]))
    near_depth = np.abs(boundary.query(candidates)[0] - depth) < 0.35 * depth
    keep = near_depth & inside_loops(candidates, region)
    return candidates[keep]


@dataclass
class SectionCap:
    """The filled section of one structure, on the plane."""

    structure: str
    vertices: FloatArray  # (n, 3) on the plane
    faces: np.ndarray  # (m, 3)
    zone: np.ndarray  # (m,) RIM (cortical bone, dermis), BODY (the tissue itself), UNMODELLED (deep in the skin)
    loops: list[FloatArray]  # the structure's section outlines, each (k, 3)
    anchors: FloatArray  # (3, 3) points well inside the section (its own tissue), for its label
    area_mm2: float

    @property
    def anchor(self) -> FloatArray:
        """A point (3,) on the cut, where its label points."""
        return self.anchors[0]


def section_caps(
    plane: SectionPlane, surfaces: Iterable[tuple[str, str, FloatArray, np.ndarray]]
) -> dict[str, SectionCap]:
    """Fill the section of each closed surface.

    Parameters
    ----------
    plane : the cut.
    surfaces : (name, kind, vertices (n, 3), faces (m, 3)) of each structure, in scene order; kinds
        ``bone``, ``nerve``, ``muscle``, ``fascia``, ``skin`` (deeper structures own overlaps).

    Returns
    -------
    The caps of the structures the plane cuts, by name, in the order given.
    """
    e1, e2 = plane.basis()
    order, loops2d, loops3d, kinds = [], {}, {}, {}
    for name, kind, vertices, faces in surfaces:
        if kind in NOT_CAPPED:
            continue
        loops = slice_loops(vertices, faces, plane)
        if loops:
            order.append(name)
            kinds[name] = kind
            loops3d[name] = loops
            loops2d[name] = [np.stack([(loop - plane.origin) @ e1, (loop - plane.origin) @ e2], axis=1) for loop in loops]
    if not order:
        return {}
    samples = [_resample_loop(loop, SAMPLE_MM) for name in order for loop in loops2d[name]]
    for name in order:
        for depth in (RIM_MM.get(kinds[name]), FAT_MM if kinds[name] == "skin" else None):
            if depth is not None:
                samples.extend(_inner_offset(loop, loops2d[name], depth) for loop in loops2d[name])
    points = np.unique(np.round(np.vstack(samples), 3), axis=0)
    triangles = Delaunay(points).simplices
    centroids = points[triangles].mean(axis=1)
    owner = np.full(len(triangles), -1)
    priority = sorted(range(len(order)), key=lambda k: KIND_PRIORITY.get(kinds[order[k]], 5))
    for k in priority:
        free = owner < 0
        inside = inside_loops if kinds[order[k]] in HOLLOW_KINDS else inside_any_loop
        owner[np.flatnonzero(free)[inside(centroids[free], loops2d[order[k]])]] = k
    caps = {}
    to_3d = plane.origin + points[:, :1] * e1 + points[:, 1:] * e2
    for k, name in enumerate(order):
        faces = triangles[owner == k]
        if not len(faces):
            continue
        boundary = cKDTree(np.vstack([_resample_loop(loop, SAMPLE_MM / 4) for loop in loops2d[name]]))
        depth = boundary.query(centroids[owner == k])[0]
        zone = np.where(depth < RIM_MM.get(kinds[name], 0.0), RIM, BODY)
        if kinds[name] == "skin":
            zone[depth >= FAT_MM] = UNMODELLED
        used, faces = np.unique(faces, return_inverse=True)
        faces = faces.reshape(-1, 3)
        corners = points[used][faces]
        (ax, ay), (bx, by) = (corners[:, 1] - corners[:, 0]).T, (corners[:, 2] - corners[:, 0]).T
        areas = 0.5 * np.abs(ax * by - ay * bx)
        # label where the tissue itself is widest (in the fat for the skin: midway through it)
        score = np.where(zone == BODY, depth if kinds[name] != "skin" else -np.abs(depth - FAT_MM / 2), -np.inf)
        if not np.isfinite(score).any():
            score = depth
        best = centroids[owner == k][np.argsort(-score, kind="stable")[:3]]
        best = np.vstack([best, np.repeat(best[:1], 3 - len(best), axis=0)])
        caps[name] = SectionCap(
            structure=name, vertices=to_3d[used], faces=faces, zone=zone, loops=loops3d[name],
            anchors=plane.origin + best[:, :1] * e1 + best[:, 1:] * e2, area_mm2=float(areas.sum()),
        )
    return caps


def scene_section(scene, plane: SectionPlane, names: Iterable[str] | None = None) -> dict[str, SectionCap]:
    """The caps of a scene's structures at its current pose (default: every structure)."""
    names = list(scene.structures) if names is None else list(names)
    return section_caps(
        plane,
        ((n, scene.structures[n].kind, scene.vertices(n), scene.structures[n].faces) for n in names),
    )


__all__ = [
    "BODY",
    "FAT_MM",
    "RIM",
    "UNMODELLED",
    "SectionCap",
    "SectionError",
    "SectionPlane",
    "inside_any_loop",
    "inside_loops",
    "parse_section",
    "preset_plane",
    "scene_section",
    "section_caps",
    "slice_loops",
]
