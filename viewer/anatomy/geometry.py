"""The viewer's one set of general mesh and polyline geometry, in numpy.

Vectors row by row, 4x4 rigid transforms, ray casting against triangle meshes,
inside tests (generalised winding number), face and vertex normals, enclosed volume and closure, and polylines (arc length,
even resampling, tangents). Everything specific to one structure (nerve tubes,
muscle sheets, the skin fit) lives with that structure and builds on these.

All coordinates are millimetres in the pelvis frame unless a caller says
otherwise; meshes are (n_vertices, 3) float vertices and (n_faces, 3) integer
faces wound outward.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from viewer.types import FloatArray, IntArray

# --- vectors and transforms ---------------------------------------------------------------------


def unit(vectors: FloatArray) -> FloatArray:
    """Normalise the last axis.

    Parameters
    ----------
    vectors : (..., 3) array

    Returns
    -------
    (..., 3) array
        Unit vectors; zero vectors stay zero.
    """
    vectors = np.asarray(vectors, dtype=float)
    norm = length(vectors)[..., None]
    return vectors / np.where(norm > 0, norm, 1.0)


def dot(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise dot product over the last axis, (..., 3) x (..., 3) -> (...)."""
    return np.einsum("...i,...i->...", a, b)


def cross(a: FloatArray, b: FloatArray, axis: int = -1) -> FloatArray:
    """Cross product of (..., 3) arrays along ``axis`` (the last by default, row by row) -> same shape.

    The components are spelled out: cheaper than ``np.cross`` on small arrays, and with ``axis=0`` on
    coordinate rows (3, n) every step runs on contiguous memory.
    """
    ax, ay, az = np.moveaxis(a, axis, 0)
    bx, by, bz = np.moveaxis(b, axis, 0)
    return np.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=axis)


def length(vectors: FloatArray) -> FloatArray:
    """Euclidean length over the last axis, (..., 3) -> (...)."""
    return np.sqrt(dot(vectors, vectors))


def apply(transform: FloatArray, points: FloatArray) -> FloatArray:
    """Apply a (4, 4) homogeneous transform to (n, 3) points -> (n, 3)."""
    points = np.asarray(points, dtype=float)
    return points @ transform[:3, :3].T + transform[:3, 3]


# --- rays ------------------------------------------------------------------------------------------

EDGE_TOLERANCE = 1e-3  # barycentric slack in ray_hits (a few micrometres on these meshes)
DUPLICATE_HIT = 0.01  # hits closer than this along a ray (mm for a unit direction) are one crossing


class RayMesh:
    """A triangle mesh made ready for many rays: its bounds, triangle edges, centroids and normals, each computed
    once, when first needed (a mesh met by no ray's bounding box never has its edges computed).

    Parameters
    ----------
    vertices : (n_vertices, 3) array
    faces : (n_faces, 3) int array
    """

    def __init__(self, vertices: FloatArray, faces: IntArray) -> None:
        self.vertices = np.asarray(vertices, dtype=float)
        self.faces = np.asarray(faces)

    @cached_property
    def bounds(self) -> tuple[FloatArray, FloatArray]:
        """(lowest (3,), highest (3,)) corner of the box round the vertices."""
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    @cached_property
    def _edges(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(first corner, edge to the second, edge to the third), each (n_faces, 3)."""
        tri = self.vertices[self.faces]
        return tri[:, 0], tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]

    @cached_property
    def centroids(self) -> FloatArray:
        """(n_faces, 3) the centre of each face."""
        return self.vertices[self.faces].mean(axis=1)

    @cached_property
    def _spheres(self) -> tuple[FloatArray, FloatArray]:
        """(squared length of each centroid, (n_faces,); radius of the sphere round each face from its centroid,
        grown by the barycentric slack of :meth:`hits`, (n_faces,)): a hit in the slack, weights of the corners
        down to -EDGE_TOLERANCE, lies within (1 + 6 EDGE_TOLERANCE) times the farthest corner's distance."""
        reach = np.linalg.norm(self.vertices[self.faces] - self.centroids[:, None], axis=2).max(axis=1)
        return dot(self.centroids, self.centroids), reach * (1.0 + 10 * EDGE_TOLERANCE) + 1e-6

    def _faces_near(self, point: FloatArray, radius: FloatArray | float, direction: FloatArray | None = None):
        """Indices of the faces whose centroid may lie within ``radius`` of ``point`` (3,), or of the line through
        it along unit ``direction`` (3,): a cheap superset (one product with the centroids), to test exactly."""
        squared, _reach = self._spheres
        axes = np.stack([point, direction]) if direction is not None else point[None]
        products = self.centroids @ axes.T  # (n_faces, 1 or 2)
        distance2 = squared - 2 * products[:, 0] + point @ point
        if direction is not None:
            distance2 = distance2 - (products[:, 1] - point @ direction) ** 2
        slack = 1e-6 * (squared + point @ point) + 1e-9  # rounding of the expanded squares
        return np.flatnonzero(distance2 <= (radius + 1e-6) ** 2 + slack)

    @cached_property
    def face_normals(self) -> FloatArray:
        """(n_faces, 3) face normals scaled by twice the face area (:func:`face_normals`)."""
        return face_normals(self.vertices, self.faces)

    def may_meet(self, origin: FloatArray, direction: FloatArray, slack: float = 1.0) -> bool:
        """Whether the ray ``origin + t * direction`` (t >= 0; (3,) each) meets the bounding box grown by ``slack``."""
        lo, hi = self.bounds
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = (lo - slack - origin) / direction, (hi + slack - origin) / direction
        tmin = np.nanmax(np.minimum(t1, t2))
        tmax = np.nanmin(np.maximum(t1, t2))
        return bool(tmax >= max(tmin, 0.0))

    def hits(self, origins: FloatArray, directions: FloatArray) -> list[FloatArray]:
        """Every crossing of each ray with the mesh: :func:`ray_hits`, with this mesh's edges reused."""
        origins = np.atleast_2d(np.asarray(origins, dtype=float))
        directions = np.atleast_2d(np.asarray(directions, dtype=float))
        directions = np.broadcast_to(directions, origins.shape)
        every_corner, every_edge1, every_edge2 = self._edges
        reach = self._spheres[1]
        result = []
        for origin, direction in zip(origins, directions, strict=False):
            # only the faces whose sphere the ray's line passes through can be crossed
            norm = float(np.sqrt(direction @ direction))
            line = direction / norm if norm > 0 else direction
            near = self._faces_near(origin, reach, line) if norm > 0 else np.arange(len(self.faces))
            corner, edge1, edge2 = every_corner[near], every_edge1[near], every_edge2[near]
            pvec = np.cross(direction, edge2)
            det = np.einsum("ij,ij->i", edge1, pvec)
            safe = np.where(np.abs(det) > 1e-12, det, np.inf)
            tvec = origin - corner
            u = np.einsum("ij,ij->i", tvec, pvec) / safe
            qvec = np.cross(tvec, edge1)
            v = (qvec @ direction) / safe
            t = np.einsum("ij,ij->i", qvec, edge2) / safe
            valid = (u >= -EDGE_TOLERANCE) & (v >= -EDGE_TOLERANCE) & (u + v <= 1 + EDGE_TOLERANCE) & (t > 1e-9)
            found = np.sort(t[valid])
            if len(found) > 1:  # one crossing found on two triangles that share an edge or a vertex: count it once
                found = found[np.concatenate([[True], np.diff(found) > DUPLICATE_HIT])]
            result.append(found)
        return result

    def normal_near(self, point: FloatArray, radius: float = 10.0, facing: FloatArray | None = None) -> FloatArray:
        """Area-weighted outward unit normal (3,) of the faces whose centres lie within ``radius`` of ``point`` (3,).

        (The nearest face's where none does.) ``facing`` (3,), the direction of a ray that met the surface
        there, keeps only the faces turned towards the ray: the side it met.
        """
        point = np.asarray(point, dtype=float)
        candidates = self._faces_near(point, radius)
        distance = np.linalg.norm(self.centroids[candidates] - point, axis=1)
        near = candidates[distance < radius]
        if not len(near):
            distance = np.linalg.norm(self.centroids - point, axis=1)
            near = distance == distance.min()
        normals = self.face_normals[near]
        if facing is not None:
            met = normals @ np.asarray(facing, dtype=float) < 0
            normals = normals[met] if met.any() else normals
        return unit(normals.sum(axis=0))


def ray_hits(vertices: FloatArray, faces: IntArray, origins: FloatArray, directions: FloatArray) -> list[FloatArray]:
    """Every crossing of each ray with a triangle mesh (Moller-Trumbore).

    A hair of barycentric slack (:data:`EDGE_TOLERANCE`) keeps a ray through a vertex or along an
    edge (a landmark is a mesh vertex) from slipping between the triangles that share it; the
    crossing this finds on two or more triangles is counted once (hits within :data:`DUPLICATE_HIT`).
    Many rays cast one by one at the same mesh: :class:`RayMesh` (its edges computed once).

    Parameters
    ----------
    vertices : (n_vertices, 3) array
    faces : (n_faces, 3) int array
    origins : (n_rays, 3) or (3,) array
    directions : (n_rays, 3) or (3,) array
        Need not be unit: distances are in units of each direction's length.

    Returns
    -------
    list of (n_hits,) arrays
        Sorted distances t > 0 along each ray (origin + t * direction).
    """
    return RayMesh(vertices, faces).hits(origins, directions)


def first_hits(vertices: FloatArray, faces: IntArray, origins: FloatArray, directions: FloatArray) -> FloatArray:
    """Distance (mm) along each ray to its first crossing of a triangle mesh; inf where it misses.

    Parameters
    ----------
    vertices : (n_vertices, 3) array
    faces : (n_faces, 3) int array
    origins : (n_rays, 3) array
    directions : (n_rays, 3) array
        Normalised here: the distance is along the unit direction.

    Returns
    -------
    (n_rays,) array
    """
    directions = unit(np.atleast_2d(np.asarray(directions, dtype=float)))
    hits = ray_hits(vertices, faces, origins, directions)
    return np.array([found[0] if len(found) else np.inf for found in hits])


def ray_hit_distance(
    vertices: FloatArray, faces: np.ndarray, origins: FloatArray, direction: FloatArray, chunk: int = 2_000_000
) -> FloatArray:
    """Distance along one ``direction`` from each origin to the first triangle hit (inf if none); Moller-Trumbore.

    The batched form of :func:`first_hits` for many rays sharing a direction (all rays against all triangles at
    once, ``chunk`` ray-triangle pairs at a time), exact: no edge slack.

    Parameters
    ----------
    vertices : (n_vertices, 3) array
    faces : (n_faces, 3) int array
    origins : (n_rays, 3) array
    direction : (3,) array
        Normalised here: the distance is along the unit direction.

    Returns
    -------
    (n_rays,) array
    """
    origins = np.asarray(origins, dtype=float).reshape(-1, 3)
    direction = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    tri = np.asarray(vertices, dtype=float)[faces]
    # a triangle whose shadow along the rays lies beside every origin's cannot be hit: left out (the origins of a
    # landmark's hole search cover a few square centimetres of a bone of tens of thousands of triangles)
    across = np.linalg.svd(direction[None])[2][1:]  # (2, 3): unit vectors perpendicular to the rays
    shadow, spots = tri @ across.T, origins @ across.T  # (m, 3, 2), (r, 2)
    margin = 1e-3  # mm: a ray grazing a triangle's edge is still tested
    tri = tri[
        np.all(shadow.max(axis=1) >= spots.min(axis=0) - margin, axis=1)
        & np.all(shadow.min(axis=1) <= spots.max(axis=0) + margin, axis=1)
    ]
    edge1, edge2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    pvec = np.cross(direction, edge2)
    det = np.einsum("ij,ij->i", edge1, pvec)
    usable = np.abs(det) > 1e-12
    edge1, edge2, pvec, det, corner = edge1[usable], edge2[usable], pvec[usable], det[usable], tri[usable, 0]
    result = np.full(len(origins), np.inf)
    if len(det) == 0:  # no triangle lies across any ray: nothing is hit
        return result
    step = max(1, chunk // max(len(det), 1))
    for start in range(0, len(origins), step):
        tvec = origins[start : start + step, None, :] - corner[None]
        u = np.einsum("rtj,tj->rt", tvec, pvec) / det
        qvec = np.cross(tvec, edge1[None])
        v = (qvec @ direction) / det
        t = np.einsum("rtj,tj->rt", qvec, edge2) / det
        valid = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        result[start : start + step] = np.where(valid, t, np.inf).min(axis=1)
    return result


def intervals(hits: FloatArray) -> list[tuple[float, float]]:
    """Pair a ray's sorted crossings of a closed surface into (entry, exit) intervals.

    Parameters
    ----------
    hits : (n_hits,) array
        Sorted distances along the ray (:func:`ray_hits`); an odd last hit is dropped.
    """
    hits = np.asarray(hits, dtype=float)
    if len(hits) > 1:  # near-duplicate hits come from rays through shared edges; drop them
        keep = np.concatenate([[True], np.diff(hits) > 1e-6])
        hits = hits[keep]
    return [(float(hits[i]), float(hits[i + 1])) for i in range(0, len(hits) - 1, 2)]


# --- inside a closed mesh ---------------------------------------------------------------------------


def winding_number(vertices: FloatArray, faces: np.ndarray, points: FloatArray, chunk: int = 2_000_000) -> FloatArray:
    """Generalised winding number of each point: about 1 inside a closed outward mesh, 0 outside.

    Robust to small defects (a gap or a doubled face moves it a little, not across 0.5). Plain numpy, ``chunk``
    point-triangle pairs at a time: trimesh's proximity queries would need optional packages.

    Parameters
    ----------
    vertices : (n_vertices, 3) array
    faces : (n_faces, 3) int array
    points : (n_points, 3) array

    Returns
    -------
    (n_points,) array
    """
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    corners = np.asarray(vertices, dtype=float)[faces].transpose(1, 2, 0).copy()  # (3 corners, 3 axes, n_faces)
    result = np.zeros(len(points))
    step = max(1, chunk // max(len(faces), 1))
    for start in range(0, len(points), step):
        p = points[start : start + step].T[:, :, None]  # (3 axes, chunk, 1)
        # each corner relative to each point, axis by axis: (3, chunk, n_faces), every step on contiguous rows
        a, b, c = (corner[:, None, :] - p for corner in corners)
        la, lb, lc = (np.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) for v in (a, b, c))
        bc = cross(b, c, axis=0)
        det = a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2]
        denominator = (
            la * lb * lc
            + (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) * lc
            + (b[0] * c[0] + b[1] * c[1] + b[2] * c[2]) * la
            + (c[0] * a[0] + c[1] * a[1] + c[2] * a[2]) * lb
        )
        result[start : start + step] = np.arctan2(det, denominator).sum(axis=1) / (2 * np.pi)
    return result


def inside(vertices: FloatArray, faces: np.ndarray, points: FloatArray) -> np.ndarray:
    """(n_points,) bool: the (n_points, 3) ``points`` inside the closed (n_vertices, 3) / (n_faces, 3) mesh."""
    return winding_number(vertices, faces, points) > 0.5


# --- normals, volume, closure ----------------------------------------------------------------------


def face_normals(vertices: FloatArray, faces: IntArray) -> FloatArray:
    """Face normals scaled by twice the face area, (n_faces, 3) (outward for outward winding)."""
    vertices, faces = np.asarray(vertices, dtype=float), np.asarray(faces)
    first = vertices[faces[:, 0]]
    return cross(vertices[faces[:, 1]] - first, vertices[faces[:, 2]] - first)  # half np.cross's time per pose step


def vertex_normals(vertices: FloatArray, faces: IntArray) -> FloatArray:
    """Area-weighted unit vertex normals, (n_vertices, 3); outward for outward-wound faces.

    A vertex no face uses gets a zero normal.
    """
    vertices = np.asarray(vertices, dtype=float)
    weighted = face_normals(vertices, faces)
    normals = np.zeros_like(vertices)
    for k in range(3):
        for axis in range(3):
            normals[:, axis] += np.bincount(faces[:, k], weights=weighted[:, axis], minlength=len(vertices))
    return unit(normals)


def signed_volume(vertices: FloatArray, faces: IntArray) -> float:
    """Enclosed volume (mm^3) of a closed (n_vertices, 3) / (n_faces, 3) mesh by the divergence theorem.

    Positive for outward-facing triangles, negative for inward ones.
    """
    tri = np.asarray(vertices, dtype=float)[faces]
    return float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0)


class ClosedVolumes:
    """Volumes of several closed triangle meshes sharing one vertex array, in one float32 pass.

    Parameters
    ----------
    faces
        (m, 3) vertex indices, the meshes' triangles one mesh after another.
    starts
        (n_meshes,) index of each mesh's first triangle.
    """

    def __init__(self, faces: np.ndarray, starts: np.ndarray) -> None:
        self.corners = [np.ascontiguousarray(faces[:, c]) for c in range(3)]
        self.starts = starts

    def __call__(self, points: FloatArray) -> FloatArray:
        """(n_meshes,) signed volumes (mm^3) with the vertices at ``points`` (n, 3).

        Coordinates are gathered one axis at a time (much faster than gathering rows). In float32 a small
        muscle's volume (30 cm^3) within 20 cm of the origin is off by a few mm^3, a ten-thousandth.
        """
        x, y, z = np.ascontiguousarray(points.T, dtype=np.float32)
        first, second, third = self.corners
        ax, ay, az = x[first], y[first], z[first]
        bx, by, bz = x[second], y[second], z[second]
        cx, cy, cz = x[third], y[third], z[third]
        terms = ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx)
        return np.add.reduceat(terms.astype(np.float64), self.starts) / 6.0


def is_watertight(faces: IntArray) -> bool:
    """Whether every edge of (n_faces, 3) faces is used exactly twice, once in each direction.

    That is: the surface is closed and consistently wound.
    """
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    n = int(faces.max()) + 1
    directed = edges[:, 0].astype(np.int64) * n + edges[:, 1]
    if len(np.unique(directed)) != len(directed):
        return False
    reverse = edges[:, 1].astype(np.int64) * n + edges[:, 0]
    return bool(np.isin(reverse, directed).all())


def self_crossings(
    vertices: FloatArray, faces: IntArray, chunk: int = 500_000, among: np.ndarray | None = None
) -> IntArray:
    """The pairs of triangles of one mesh that pass through each other (a surface crossing itself).

    Two triangles that share no vertex cross when an edge of one passes through the other (Moller-Trumbore
    on the segment); candidates come from a k-d tree of the triangles' centres within reach of each edge.

    Parameters
    ----------
    vertices : (n, 3) array
    faces : (m, 3) int array
    chunk : int
        Candidate (edge, triangle) pairs tested at a time (memory).
    among : (m,) bool array, optional
        Only the pairs with at least one of these faces (the same pairs as all of them, filtered so; faster where
        they are few).

    Returns
    -------
    (k, 2) int array
        Sorted, unique (smaller, larger) face indices of the crossing pairs.
    """
    from itertools import chain

    from scipy.spatial import cKDTree

    vertices = np.asarray(vertices, dtype=float)
    faces = np.asarray(faces, dtype=np.int64)
    edges, owners = edge_faces(faces)
    corners = vertices[faces]
    centres = corners.mean(axis=1)
    reach = np.linalg.norm(corners - centres[:, None], axis=2).max(axis=1)
    starts, ends = vertices[edges[:, 0]], vertices[edges[:, 1]]
    middles, halves = (starts + ends) / 2, np.linalg.norm(ends - starts, axis=1) / 2
    chosen = np.ones(len(faces), dtype=bool) if among is None else np.asarray(among, dtype=bool)
    on_chosen = chosen[owners[:, 0]] | ((owners[:, 1] >= 0) & chosen[np.maximum(owners[:, 1], 0)])
    edge_of, face_of = [], []
    sizes = np.ceil(np.log2(np.maximum(reach, 1e-3))).astype(int)  # faces of like size searched together
    for size in np.unique(sizes):
        group = np.flatnonzero(sizes == size)
        # an edge of a chosen face is tried against every face, any other edge against the chosen faces only
        for asking, faces_asked in (
            (np.flatnonzero(on_chosen), group),
            (np.flatnonzero(~on_chosen), group[chosen[group]]),
        ):
            if not len(asking) or not len(faces_asked):
                continue
            near = cKDTree(centres[faces_asked]).query_ball_point(
                middles[asking], halves[asking] + reach[faces_asked].max()
            )
            counts = np.fromiter(map(len, near), dtype=np.int64, count=len(near))
            edge_of.append(np.repeat(asking, counts))
            face_of.append(faces_asked[np.fromiter(chain.from_iterable(near), dtype=np.int64, count=int(counts.sum()))])
    edge_of = np.concatenate(edge_of) if edge_of else np.zeros(0, np.int64)
    face_of = np.concatenate(face_of) if face_of else np.zeros(0, np.int64)
    apart = ~(faces[face_of] == edges[edge_of, 0:1]).any(axis=1) & ~(faces[face_of] == edges[edge_of, 1:2]).any(axis=1)
    edge_of, face_of = edge_of[apart], face_of[apart]
    found = []
    for begin in range(0, len(edge_of), chunk):
        e, f = edge_of[begin : begin + chunk], face_of[begin : begin + chunk]
        origin, direction = starts[e], ends[e] - starts[e]
        tri = corners[f]
        edge1, edge2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
        pvec = np.cross(direction, edge2)
        det = dot(edge1, pvec)
        safe = np.where(np.abs(det) > 1e-12, det, np.inf)
        tvec = origin - tri[:, 0]
        u = dot(tvec, pvec) / safe
        qvec = np.cross(tvec, edge1)
        v = dot(direction, qvec) / safe
        t = dot(edge2, qvec) / safe
        hit = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0) & (t < 1)
        found.append(np.column_stack([e[hit], f[hit]]))
    hits = np.vstack(found) if found else np.zeros((0, 2), np.int64)
    pairs = np.vstack([np.column_stack([owners[hits[:, 0], side], hits[:, 1]]) for side in (0, 1)])
    pairs = pairs[(pairs[:, 0] >= 0) & (pairs[:, 0] != pairs[:, 1])]
    pairs = pairs[chosen[pairs[:, 0]] | chosen[pairs[:, 1]]]
    return np.unique(np.sort(pairs, axis=1), axis=0)


def edge_faces(faces: IntArray) -> tuple[IntArray, IntArray]:
    """Each edge of a mesh and the (up to two) faces on it.

    Returns
    -------
    edges : (e, 2) int array
        Sorted vertex pairs, unique.
    owners : (e, 2) int array
        The faces on each edge; -1 where an open edge has one face only (the first column always holds one).
    """
    every = np.sort(np.vstack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    owner = np.tile(np.arange(len(faces)), 3)
    edges, first, inverse = np.unique(every, axis=0, return_index=True, return_inverse=True)
    owners = np.full((len(edges), 2), -1, dtype=np.int64)
    owners[:, 0] = owner[first]
    second = owner != owners[inverse.ravel(), 0]
    owners[inverse.ravel()[second], 1] = owner[second]
    return edges, owners


def edge_bends(vertices: FloatArray, faces: IntArray) -> tuple[FloatArray, IntArray]:
    """Bend at each edge shared by two triangles.

    Parameters
    ----------
    vertices : (n, 3) float array
    faces : (m, 3) int array

    Returns
    -------
    degrees : (k,) float array
        Angle between the normals of the two triangles at each shared edge.
    edges : (k, 2) int array
        The edge's two vertices (sorted).
    """
    normals = unit(face_normals(vertices, faces))
    edges = np.sort(np.vstack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    owner = np.tile(np.arange(len(faces)), 3)
    order = np.lexsort(edges.T[::-1])
    edges, owner = edges[order], owner[order]
    pair = np.all(edges[1:] == edges[:-1], axis=1)
    a, b = owner[:-1][pair], owner[1:][pair]
    return np.degrees(np.arccos(np.clip((normals[a] * normals[b]).sum(axis=1), -1, 1))), edges[:-1][pair]


def dihedral_degrees(vertices: FloatArray, faces: IntArray) -> FloatArray:
    """(k,) angle in degrees between the normals of the two triangles at each edge they share."""
    return edge_bends(vertices, faces)[0]


def subdivide(vertices: FloatArray, faces: IntArray) -> tuple[FloatArray, IntArray]:
    """Split every triangle into four at its edge midpoints (a shared midpoint once, so a closed mesh stays closed).

    Parameters
    ----------
    vertices : (n, 3) float array
    faces : (m, 3) int array

    Returns
    -------
    vertices : (n + e, 3) float array
        The old vertices, then one midpoint per edge.
    faces : (4 m, 3) int array
    """
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    unique, inverse = np.unique(edges, axis=0, return_inverse=True)
    middle = len(vertices) + inverse.reshape(3, -1).T  # (m, 3): midpoints of edges 01, 12, 20
    points = np.concatenate([vertices, vertices[unique].mean(axis=1)])
    a, b, c = faces.T
    ab, bc, ca = middle.T
    new = np.stack([np.stack(f, axis=1) for f in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))]).reshape(-1, 3)
    return points, new


def cubic_root(samples: FloatArray, values: list[float], target: float, bounds: tuple[float, float], near: float):
    """The x within ``bounds`` nearest ``near`` where the cubic through four (samples, values) equals ``target``.

    None when it has no such root. Volumes of a mesh whose vertices move linearly in x are exactly cubic
    in x, so four samples pin the fit down.

    Parameters
    ----------
    samples : (4,) array
    values : list of 4 floats
    """
    cubic = np.polyfit(samples, values, 3)
    cubic[-1] -= target
    roots = [r.real for r in np.roots(cubic) if abs(r.imag) < 1e-9 and bounds[0] <= r.real <= bounds[1]]
    return float(min(roots, key=lambda r: abs(r - near))) if roots else None


# --- polylines ----------------------------------------------------------------------------------------


def arc_length(polyline: FloatArray) -> FloatArray:
    """Cumulative arc length (mm) at each point of an (n, 3) polyline, (n,), starting at 0."""
    steps = np.linalg.norm(np.diff(np.asarray(polyline, dtype=float), axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def polyline_lengths(polylines: FloatArray) -> FloatArray:
    """Length (mm) of each polyline in an (n, samples, 3) array, (n,)."""
    return np.linalg.norm(np.diff(polylines, axis=1), axis=2).sum(axis=1)


def resample(polyline: FloatArray, count: int) -> FloatArray:
    """``count`` points evenly spaced by arc length along an (n, 3) polyline, (count, 3); ends kept."""
    polyline = np.asarray(polyline, dtype=float)
    lengths = arc_length(polyline)
    targets = np.linspace(0.0, lengths[-1], count)
    return np.column_stack([np.interp(targets, lengths, polyline[:, k]) for k in range(3)])


def tangents(polyline: FloatArray) -> FloatArray:
    """Unit tangents of a polyline (n, 3), or of a stack of equally long polylines (..., n, 3); same shape.

    Central differences inside, one-sided at the ends (as ``np.gradient``, which costs more per call).
    """
    points = np.asarray(polyline, dtype=float)
    if points.shape[-2] < 2:
        return np.zeros_like(points)
    step = points[..., 1:, :] - points[..., :-1, :]
    ends = (step[..., :1, :], step[..., -1:, :])
    return unit(np.concatenate([ends[0], 0.5 * (step[..., 1:, :] + step[..., :-1, :]), ends[1]], axis=-2))


def nearest_polyline(points: FloatArray, polylines: FloatArray) -> IntArray:
    """For each of (n, 3) points, the index of the polyline in (m, samples, 3) it lies nearest, (n,).

    Nearest by the polylines' sample points (used to colour a muscle's vertices by fibre).
    """
    from scipy.spatial import cKDTree

    n_samples = polylines.shape[1]
    _, index = cKDTree(polylines.reshape(-1, 3)).query(points)
    return (index // n_samples).astype(np.int64)
