"""Massage danger zones around the sciatic nerve, as closed meshes and as distance functions.

Data in ``assets/annotations/danger_zones.json``: a margin around the nerve's
gluteal course and the sciatic notch endangerment site, plus the thresholds the
technique safety check uses. Zones are built from a (posed) nerve, so they move
with it. :func:`caution_area` marks points of a skin-like surface whose inward
line (or nearest distance) reaches a zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from viewer.anatomy.bones import SIDES, load_landmarks
from viewer.anatomy.geometry import tangents, unit
from viewer.anatomy.nerve import NerveGeometry, resolve_landmark
from viewer.anatomy.nerve_mesh import (
    TubeTemplate,
    interpolate_at,
    point_polyline_distance,
    section_frames,
    sphere,
    tube,
)
from viewer.io.annotations import AnnotationError, read_json, validate
from viewer.paths import annotations_dir
from viewer.types import FloatArray


def danger_zones_path() -> Path:
    """The danger zones' data file (``assets/annotations/danger_zones.json``)."""
    return annotations_dir() / "danger_zones.json"


def load_danger_zone_data(path: Path | None = None, landmarks: dict[str, FloatArray] | None = None) -> dict:
    """The validated data file; unknown landmarks or structures raise naming file and field."""
    path = path or danger_zones_path()
    data = validate(read_json(path), "danger_zones", path)
    landmarks = load_landmarks() if landmarks is None else landmarks
    seen = set()
    for index, zone in enumerate(data["zones"]):
        where = f"zones[{index}]"
        if zone["id"] in seen:
            raise AnnotationError(path, f"duplicate zone id '{zone['id']}'", f"{where}.id")
        seen.add(zone["id"])
        if zone["kind"] == "nerve_margin" and zone["structure"] != "sciatic_nerve":
            raise AnnotationError(path, f"unknown structure '{zone['structure']}'", f"{where}.structure")
        names = []
        if zone["kind"] == "nerve_margin":
            names = [(zone["from_level"]["landmark"], "from_level.landmark"), (zone["to_level"]["landmark"], "to_level.landmark")]
        else:
            names = [(name, f"landmarks.{name}") for name in zone["landmarks"]]
        for name, sub in names:
            if any(resolve_landmark(name, side, landmarks) is None for side in SIDES):
                raise AnnotationError(path, f"unknown landmark '{name}' (not in landmarks.json)", f"{where}.{sub}")
    return data


@dataclass
class DangerZone:
    """One closed zone volume on one side (mm, pelvis frame)."""

    id: str
    kind: str  # "nerve_margin" | "sphere"
    side: str
    display_name: str
    colour: str
    why: str
    sources: tuple[str, ...]
    vertices: FloatArray
    faces: np.ndarray
    margin_mm: float = 0.0  # nerve_margin: distance added to the nerve's half width
    centre: FloatArray | None = None  # sphere
    radius_mm: float = 0.0  # sphere
    _lines: list[tuple[FloatArray, FloatArray]] = field(default_factory=list, repr=False)  # (centreline, radius)

    def distance(self, points: FloatArray) -> FloatArray:
        """Signed distance to the zone's boundary (< 0 inside)."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        if self.kind == "sphere":
            return np.linalg.norm(points - self.centre, axis=1) - self.radius_mm
        best = np.full(len(points), np.inf)
        for line, radius in self._lines:
            d, at = point_polyline_distance(points, line)
            best = np.minimum(best, d - interpolate_at(radius, at))
        return best

    def contains(self, points: FloatArray) -> np.ndarray:
        """(n,) bool: which of the (n, 3) ``points`` lie inside the zone."""
        return self.distance(points) <= 0.0

    def within(self, points: FloatArray, limit_mm: float = 0.0) -> np.ndarray:
        """(n,) bool: ``distance(points) <= limit_mm``, measured only where it can hold.

        A point whose nearest centre-line vertex is farther than ``limit_mm`` plus the largest radius plus half
        the longest segment cannot be within the limit (the nearest point of a segment is at most half its
        length from one of its ends), so only the points nearer than that are measured, exactly as
        :meth:`distance` measures them: the same answer for the (m, 3) inward samples of a whole skin
        without measuring every sample against every segment.
        """
        points = np.atleast_2d(np.asarray(points, dtype=float))
        if self.kind == "sphere":
            return self.distance(points) <= limit_mm
        found = np.zeros(len(points), dtype=bool)
        for line, radius in self._lines:
            line = np.asarray(line, dtype=float)
            half_segment = 0.5 * float(np.linalg.norm(np.diff(line, axis=0), axis=1).max(initial=0.0))
            reach = limit_mm + float(np.max(radius)) + half_segment
            nearest_vertex, _ = cKDTree(line).query(points, distance_upper_bound=reach * (1 + 1e-9) + 1e-9)
            near = np.flatnonzero(np.isfinite(nearest_vertex))
            if len(near):
                d, at = point_polyline_distance(points[near], line)
                found[near] |= d - interpolate_at(radius, at) <= limit_mm
        return found


def _level(level: dict, side: str, landmarks: dict[str, FloatArray]) -> float:
    return float(landmarks[resolve_landmark(level["landmark"], side, landmarks)][1] + level.get("offset_mm", 0.0))


@dataclass(frozen=True)
class _MarginPiece:
    """The stretch of one branch a nerve-margin zone wraps, fixed at rest."""

    branch: int
    rows: np.ndarray  # (m,) consecutive ring indices of the branch
    radius: FloatArray  # (m,) zone radius per ring (the nerve's larger semi-axis plus the margin)
    hint: FloatArray  # (3,) the rest depth direction the zone's sections face
    template: TubeTemplate


class DangerZoneLayout:
    """The zones of one nerve with everything that does not depend on the pose worked out once.

    Which stretch of nerve each margin zone wraps, its radii, section template and faces, and
    the sphere zones at the rest landmarks; :meth:`zones` and :meth:`vertices` then place them
    along posed centrelines. ``margin_mm`` overrides the data file's margin around the nerve.
    The gluteal stretch of the nerve is chosen on the rest centreline (by level), so it is the
    same stretch of nerve at every pose.
    """

    def __init__(self, nerve: NerveGeometry, margin_mm: float | None = None, data: dict | None = None, sides: int = 24):
        data = data or load_danger_zone_data()
        self.nerve = nerve
        self.rest_landmarks = load_landmarks()
        self.zone_data = data["zones"]
        self.sides = sides
        self.pieces: dict[str, list[_MarginPiece]] = {}
        self.margins: dict[str, float] = {}
        self.faces: dict[str, np.ndarray] = {}
        self.spheres: dict[str, tuple[FloatArray, np.ndarray]] = {}  # at the rest landmarks
        for zone in self.zone_data:
            if zone["kind"] == "sphere":
                self.spheres[zone["id"]] = self._sphere(zone, self.rest_landmarks)
                continue
            margin = float(zone["margin_mm"] if margin_mm is None else margin_mm)
            pieces = self._pieces(zone, margin)
            if pieces:
                self.margins[zone["id"]] = margin
                self.pieces[zone["id"]] = pieces
                self.faces[zone["id"]] = self._faces(pieces)

    def _centre(self, zone: dict, landmarks: dict[str, FloatArray]) -> FloatArray:
        side = self.nerve.side
        flip = np.array([1.0, 1.0, -1.0]) if side == "left" else np.ones(3)
        total = sum(zone["landmarks"].values())
        centre = sum(w * landmarks[resolve_landmark(n, side, landmarks)] for n, w in zone["landmarks"].items()) / total
        return centre + np.asarray(zone.get("offset_mm", (0, 0, 0)), dtype=float) * flip

    def _sphere(self, zone: dict, landmarks: dict[str, FloatArray]) -> tuple[FloatArray, np.ndarray]:
        return sphere(self._centre(zone, landmarks), zone["radius_mm"])

    def _pieces(self, zone: dict, margin: float) -> list[_MarginPiece]:
        top = _level(zone["from_level"], self.nerve.side, self.rest_landmarks)
        bottom = _level(zone["to_level"], self.nerve.side, self.rest_landmarks)
        pieces = []
        for index, branch in enumerate(self.nerve.branches):
            rest_y = branch.centreline[:, 1]
            keep = np.flatnonzero((rest_y <= top) & (rest_y >= bottom))
            if len(keep) < 2:
                continue
            rows = np.arange(keep.min(), keep.max() + 1)
            radius = np.maximum(branch.half_width, branch.half_thickness)[rows] + margin
            template = TubeTemplate.of(radius, radius, self.sides)
            pieces.append(_MarginPiece(index, rows, radius, unit(branch.depth_axis[rows].mean(axis=0)), template))
        return pieces

    def _faces(self, pieces: list[_MarginPiece]) -> np.ndarray:
        """The zone's faces, wound outward (the section frames are right-handed at every pose)."""
        faces, offset = [], 0
        for piece in pieces:
            part = self.nerve.branches[piece.branch].centreline[piece.rows]
            depth, width = section_frames(part, piece.hint)
            v, f = tube(part, piece.radius, piece.radius, depth, width, sides=self.sides)
            faces.append(f + offset)
            offset += len(v)
        return np.vstack(faces)

    def vertices(self, centrelines: list[FloatArray] | None = None) -> dict[str, FloatArray]:
        """Each zone's vertices by zone id around the (posed, per branch) centrelines; spheres at rest."""
        lines = centrelines if centrelines is not None else self.nerve.centrelines
        out = {zone_id: vertices for zone_id, (vertices, _) in self.spheres.items()}
        for zone_id, pieces in self.pieces.items():
            out[zone_id] = np.vstack([self._place(piece, lines) for piece in pieces])
        return out

    def _place(self, piece: _MarginPiece, lines: list[FloatArray]) -> FloatArray:
        part = np.asarray(lines[piece.branch], dtype=float)[piece.rows]
        tangent = tangents(part)
        depth, width = section_frames(part, piece.hint, tangent)
        return piece.template.place(part, tangent, width, depth)

    def zones(self, centrelines: list[FloatArray] | None = None, landmarks: dict[str, FloatArray] | None = None) -> list[DangerZone]:
        """The zones as :class:`DangerZone`, around posed ``centrelines`` and spheres at posed ``landmarks``."""
        lines = centrelines if centrelines is not None else self.nerve.centrelines
        vertices = self.vertices(lines)
        zones = []
        for zone in self.zone_data:
            zone_id = zone["id"]
            common = dict(
                id=zone_id, kind=zone["kind"], side=self.nerve.side, display_name=zone["display_name"],
                colour=zone["colour"], why=zone["why"], sources=tuple(zone["sources"]),
            )
            if zone["kind"] == "sphere":
                v, f = self.spheres[zone_id] if landmarks is None else self._sphere(zone, landmarks)
                centre = self._centre(zone, self.rest_landmarks if landmarks is None else landmarks)
                zones.append(DangerZone(**common, vertices=v, faces=f.copy(), centre=centre, radius_mm=float(zone["radius_mm"])))
            elif zone_id in self.pieces:
                kept = [
                    (np.asarray(lines[p.branch], dtype=float)[p.rows], p.radius) for p in self.pieces[zone_id]
                ]
                zones.append(
                    DangerZone(
                        **common, vertices=vertices[zone_id], faces=self.faces[zone_id].copy(),
                        margin_mm=self.margins[zone_id], _lines=kept,
                    )
                )
        return zones


def build_danger_zones(
    nerve: NerveGeometry,
    centrelines: list[FloatArray] | None = None,
    landmarks: dict[str, FloatArray] | None = None,
    margin_mm: float | None = None,
    data: dict | None = None,
    sides: int = 24,
) -> list[DangerZone]:
    """The zones of ``nerve.side``; pass posed ``centrelines`` (per branch) and posed landmarks for a pose.

    ``margin_mm`` overrides the data file's margin around the nerve. To pose the same zones at
    many poses, keep a :class:`DangerZoneLayout` instead.
    """
    return DangerZoneLayout(nerve, margin_mm, data, sides).zones(centrelines, landmarks)


def caution_area(
    points_on_surface: FloatArray,
    zones: list[DangerZone],
    normals: FloatArray | None = None,
    depth_mm: float = 80.0,
    margin_mm: float = 0.0,
    step_mm: float = 2.0,
) -> np.ndarray:
    """Mask of surface points whose inward line (or nearest distance) reaches a danger zone.

    ``normals`` are outward unit normals; with them each point casts a line ``depth_mm`` inward
    (the way pressure would go) and is marked when any sample lies inside a zone. Without them
    (or in addition) a point is marked when it lies within ``margin_mm`` of a zone.
    """
    points = np.atleast_2d(np.asarray(points_on_surface, dtype=float))
    mask = np.zeros(len(points), dtype=bool)
    for zone in zones:
        mask |= zone.within(points, margin_mm)
        if normals is not None:
            inward = -unit(np.atleast_2d(np.asarray(normals, dtype=float)))
            steps = np.arange(0.0, depth_mm + 1e-9, step_mm)
            samples = points[:, None, :] + steps[None, :, None] * inward[:, None, :]
            inside = zone.within(samples.reshape(-1, 3)).reshape(len(points), len(steps))
            mask |= inside.any(axis=1)
    return mask


CAUTION_LEVEL = 0.5  # the caution area is where the smoothed field reaches this


def surface_adjacency(vertex_count: int, faces: np.ndarray) -> sparse.csr_matrix:
    """Symmetric vertex adjacency (1 where two vertices share an edge), (n, n) sparse."""
    faces = np.asarray(faces)
    rows = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2]])
    cols = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0]])
    graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(vertex_count, vertex_count)).tocsr()
    return ((graph + graph.T) > 0).astype(float).tocsr()


def surface_components(adjacency: sparse.csr_matrix, chosen: np.ndarray) -> list[np.ndarray]:
    """Vertex indices of each edge-connected piece of the ``chosen`` vertices, largest first."""
    index = np.flatnonzero(chosen)
    if len(index) == 0:
        return []
    _, label = connected_components(adjacency[index][:, index], directed=False)
    pieces = [index[label == k] for k in range(label.max() + 1)]
    return sorted(pieces, key=len, reverse=True)


def caution_region(
    mask: np.ndarray, vertices: FloatArray, faces: np.ndarray, groups: np.ndarray, blur_mm: float = 8.0
) -> FloatArray:
    """A smooth field over a surface (n,) in [0, 1] whose level :data:`CAUTION_LEVEL` outlines one region per group.

    ``mask`` (n,) marks the vertices from which pressure reaches a zone; it is blurred over the
    surface with a Gaussian of ``blur_mm`` (by distance, so the outline does not depend on how the
    surface is triangulated): isolated marks fade and gaps fill. Per group (e.g. the side of the
    body, ``groups`` (n,) labels) the field fades out where another group begins, and only the
    largest region above the level is kept, with its holes filled: one connected area with one
    closed outline per group.
    """
    vertices = np.asarray(vertices, dtype=float)
    tree = cKDTree(vertices)
    pairs = tree.sparse_distance_matrix(tree, 3.0 * blur_mm, output_type="coo_matrix")
    weight = sparse.csr_matrix(
        (np.exp(-0.5 * (pairs.data / blur_mm) ** 2), (pairs.row, pairs.col)), shape=pairs.shape
    ) + sparse.identity(len(vertices), format="csr")
    field_ = np.clip((weight @ np.asarray(mask, dtype=float)) / np.asarray(weight.sum(axis=1)).ravel(), 0.0, 1.0)
    # fade each group's area out where another group begins, so the areas never merge into one
    groups = np.asarray(groups)
    for group in np.unique(groups):
        mine = groups == group
        if mine.all():
            break
        gap, _ = cKDTree(vertices[~mine]).query(vertices[mine])
        field_[mine] *= np.clip(gap / blur_mm - 0.75, 0.0, 1.0)
    adjacency = surface_adjacency(len(mask), faces)
    inside = field_ >= CAUTION_LEVEL
    below, above = np.nextafter(CAUTION_LEVEL, 0.0), np.nextafter(CAUTION_LEVEL, 1.0)
    for group in np.unique(groups):
        mine = groups == group
        for stray in surface_components(adjacency, inside & mine)[1:]:
            field_[stray] = np.minimum(field_[stray], below)
        for hole in surface_components(adjacency, ~inside & mine)[1:]:
            field_[hole] = np.maximum(field_[hole], above)
    return field_


def safety_settings(data: dict | None = None) -> dict:
    """Thresholds of the technique safety check (from the data file)."""
    return dict((data or load_danger_zone_data())["safety"])


__all__ = [
    "DangerZone",
    "DangerZoneLayout",
    "build_danger_zones",
    "caution_area",
    "caution_region",
    "danger_zones_path",
    "load_danger_zone_data",
    "safety_settings",
    "surface_adjacency",
    "surface_components",
]
