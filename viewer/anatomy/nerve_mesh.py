"""Geometry of the nerve and its danger zone: tubes along a curve, bends, frames and a surface distance field.

Plain numpy/scipy (no rtree or embree): signed distance to a set of closed
surfaces from a k-d tree of surface samples, closed elliptic tubes along a
polyline with rotation-minimising frames, bend easing, and small polyline
queries. The general primitives (rays, normals, volume, resampling) are in
:mod:`viewer.anatomy.geometry`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import sparse
from scipy.ndimage import distance_transform_edt
from scipy.spatial import cKDTree

from viewer.anatomy.geometry import cross, dot, face_normals, signed_volume, tangents, unit, vertex_normals
from viewer.types import FloatArray


class SurfaceField:
    """Approximate signed distance to a union of closed surfaces (negative inside).

    Samples every vertex and face centroid with its outward normal; the distance
    is measured to the tangent plane of the nearest sample, which is accurate to
    a fraction of a millimetre on the smooth atlas surfaces.
    """

    def __init__(self, surfaces: Iterable[tuple[FloatArray, np.ndarray]]) -> None:
        points, normals = [], []
        for vertices, faces in surfaces:
            vertices = np.asarray(vertices, dtype=float)
            tri = vertices[faces]
            points += [vertices, tri.mean(axis=1)]
            normals += [vertex_normals(vertices, faces), unit(face_normals(vertices, faces))]
        self.points = np.vstack(points)
        self.normals = np.vstack(normals)
        self.tree = cKDTree(self.points)
        self._grid: tuple[FloatArray, tuple[int, int, int], FloatArray] | None = None  # see gap_bound

    GRID_CELL_MM = 4.0  # cell of the coarse grid behind gap_bound
    GRID_BORDER_CELLS = 5  # the grid reaches this many cells beyond the samples' bounding box

    def gap_bound(self, query: FloatArray) -> FloatArray:
        """A lower bound (mm) of the distance from (n, 3) points to the nearest surface sample, without a tree search.

        From a coarse grid made on first use (a distance transform of the cells holding samples):
        two points in cells ``d`` cells apart (centre to centre) are at least ``d - sqrt(3)`` cells
        apart, so the bound is within two cell diagonals of the true distance. Points beyond the grid
        are at least its border (:attr:`GRID_BORDER_CELLS` cells) away from every sample.
        """
        cell = self.GRID_CELL_MM
        if self._grid is None:
            border = self.GRID_BORDER_CELLS * cell
            low = self.points.min(axis=0) - border
            shape = tuple(np.ceil((self.points.max(axis=0) + border - low) / cell).astype(int))
            empty = np.ones(shape, dtype=bool)
            empty[tuple(np.floor((self.points - low) / cell).astype(int).T)] = False
            bound = np.maximum(distance_transform_edt(empty) - np.sqrt(3.0), 0.0) * cell
            # a point beyond the grid is looked up in the nearest border cell
            for axis in range(3):
                for end in (0, shape[axis] - 1):
                    face = np.take(bound, [end], axis=axis)
                    np.put_along_axis(bound, np.full(face.shape, end), np.minimum(face, border), axis)
            self._grid = (low, shape, bound.ravel())
        low, shape, bound = self._grid
        index = np.floor((np.asarray(query, dtype=float) - low) / cell).astype(int)
        return bound[np.ravel_multi_index(index.T, shape, mode="clip")]

    def signed_distance(self, query: FloatArray, limit: float = np.inf) -> tuple[FloatArray, FloatArray]:
        """(signed distance, outward normal of the nearest surface) for (n, 3) points.

        Points with no surface sample within ``limit`` get +inf and a zero normal (fast early exit).
        """
        query = np.asarray(query, dtype=float)
        _, index = self.tree.query(query, distance_upper_bound=limit)
        found = index < len(self.points)
        safe = np.where(found, index, 0)
        normal = self.normals[safe] * found[:, None]
        distance = np.einsum("ij,ij->i", query - self.points[safe], normal)
        return np.where(found, distance, np.inf), normal


def section_frames(
    centreline: FloatArray, depth_hint: FloatArray, tangent: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """(depth axis, width axis) per point: the depth axis is ``depth_hint`` made perpendicular to the tangent.

    Pass the centreline's ``tangent`` (:func:`tangents`) when it is at hand already.
    """
    tangent = tangents(centreline) if tangent is None else tangent
    hint = np.asarray(depth_hint, dtype=float)
    depth = unit(hint - dot(tangent, hint)[..., None] * tangent)
    width = unit(cross(tangent, depth))
    return depth, width


def turning_angles(polyline: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(angle in radians, bend radius in mm) at each interior point of a polyline, shape (n - 2,).

    The radius is the mean length of the two segments meeting there over the angle between them:
    the radius of the circle a smooth curve through the points would follow. A stack of equally
    long polylines (..., n, 3) gives (..., n - 2) each.
    """
    return _turning(np.moveaxis(np.asarray(polyline, dtype=float), -1, 0))


def _turning(line: FloatArray) -> tuple[FloatArray, FloatArray]:
    """:func:`turning_angles` of polylines stored component first, (3, ..., n): no length-3 inner loops."""
    steps = line[..., 1:] - line[..., :-1]
    length = np.sqrt((steps * steps).sum(axis=0))
    product = length[..., :-1] * length[..., 1:]
    cosine = (steps[..., :-1] * steps[..., 1:]).sum(axis=0) / np.where(product > 0, product, np.inf)
    angle = np.arccos(np.minimum(np.maximum(cosine, -1.0), 1.0))
    return angle, 0.5 * (length[..., :-1] + length[..., 1:]) / np.maximum(angle, 1e-12)


def limit_bend(polyline: FloatArray, min_radius_mm: float, iterations: int = 400) -> FloatArray:
    """The polyline with every bend eased until its radius is at least ``min_radius_mm`` (ends kept).

    Points at too sharp a bend (and their neighbours, more gently) move towards the midpoint of
    their neighbours; straight and gently curved stretches are left where they are. A stack of
    equally long polylines (..., n, 3) is eased together, each exactly as it would be alone (a
    polyline with no sharp bend left is moved by zero).
    """
    line = np.ascontiguousarray(np.moveaxis(np.asarray(polyline, dtype=float), -1, 0))  # (3, ..., n), a copy
    inner = line[..., 1:-1]  # a view: moving it moves the line
    weight = np.zeros(line.shape[1:])
    inner_weight = weight[..., 1:-1]
    for _ in range(iterations):
        _, radius = _turning(line)
        excess = min_radius_mm / np.maximum(radius, 1e-9) - 1.0
        sharp = excess > 0
        if not sharp.any():
            break
        inner_weight[...] = np.where(sharp, 0.5 * np.minimum(1.0, 0.2 + excess), 0.0)
        move = np.maximum(inner_weight, 0.5 * (weight[..., :-2] + weight[..., 2:]) * 0.6)
        inner += move * (0.5 * (line[..., :-2] + line[..., 2:]) - inner)
    return np.moveaxis(line, 0, -1)


def _reflections(vectors: FloatArray) -> FloatArray:
    """(..., 3, 3) reflections in the planes normal to ``vectors`` (the identity for near-zero vectors)."""
    square = dot(vectors, vectors)
    scale = np.divide(2.0, square, out=np.zeros_like(square), where=square > 1e-18)
    return np.eye(3) - scale[..., None, None] * vectors[..., :, None] * vectors[..., None, :]


def transported_frames(centreline: FloatArray, first_normal: FloatArray) -> FloatArray:
    """Rotation-minimising (parallel-transport) unit normals along a polyline, (n, 3).

    ``first_normal`` (made perpendicular to the first tangent) is carried along by the double
    reflection method (Wang et al. 2008, ACM Trans Graph 27:2): the frame turns only as much as the
    tangent does, never about the curve itself. Each step's two reflections form one rotation;
    the running products of those rotations are formed in log2(n) vectorised steps (a prefix
    scan), so a stack of equally long polylines (..., n, 3) with normals (..., 3) costs hardly
    more than one.
    """
    points = np.asarray(centreline, dtype=float)
    tangent = tangents(points)
    first = np.asarray(first_normal, dtype=float)
    start = unit(first - dot(first, tangent[..., 0, :])[..., None] * tangent[..., 0, :])
    step = points[..., 1:, :] - points[..., :-1, :]
    reflect_step = _reflections(step)
    reflected_tangent = np.einsum("...ij,...j->...i", reflect_step, tangent[..., :-1, :])
    rotation = _reflections(tangent[..., 1:, :] - reflected_tangent) @ reflect_step  # (..., n - 1, 3, 3)
    span = 1
    while span < rotation.shape[-3]:  # rotation[i] becomes the product of steps i, i - 1, ..., 0
        rotation[..., span:, :, :] = rotation[..., span:, :, :] @ rotation[..., :-span, :, :]
        span *= 2
    carried = np.einsum("...kij,...j->...ki", rotation, start)
    normal = np.concatenate([start[..., None, :], carried], axis=-2)
    return unit(normal - dot(normal, tangent)[..., None] * tangent)


def angle_about(reference: FloatArray, vectors: FloatArray, axes: FloatArray) -> FloatArray:
    """Signed angle (radians) from ``reference`` to ``vectors`` about ``axes``, row by row (..., 3) -> (...)."""
    return np.arctan2(dot(cross(reference, vectors), axes), dot(reference, vectors))


def rotate_about(vectors: FloatArray, axes: FloatArray, angle: FloatArray) -> FloatArray:
    """Rotate each row of ``vectors`` (..., 3) about the unit row of ``axes`` by ``angle`` (...) (Rodrigues)."""
    cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
    along = dot(axes, vectors)[..., None] * axes
    return vectors * cos + cross(axes, vectors) * sin + along * (1.0 - cos)


@dataclass(frozen=True)
class TubeTemplate:
    """Where each vertex of an elliptic tube sits in the frame of the centreline point it is placed from.

    Vertex ``k`` is ``centre[owner[k]] + local[k] @ (tangent, width axis, depth axis)[owner[k]]``:
    the section sizes, the cap shape and the vertex order (those of :func:`tube`) are fixed here
    once, so placing the tube along a new centreline is one sparse matrix product.
    """

    owner: np.ndarray  # (k,) centreline point each vertex is placed from
    local: FloatArray  # (k, 3) its coordinates along that point's tangent, width axis and depth axis
    points: int  # centreline points the template is placed along
    basis: sparse.csr_matrix = field(init=False, repr=False, compare=False)  # (k, 4 points), see place

    def __post_init__(self) -> None:
        k = len(self.owner)
        columns = self.owner[:, None] + self.points * np.arange(4)
        weights = np.column_stack([np.ones(k), self.local])
        basis = sparse.csr_matrix((weights.ravel(), (np.repeat(np.arange(k), 4), columns.ravel())), shape=(k, 4 * self.points))
        object.__setattr__(self, "basis", basis)

    @classmethod
    def of(
        cls, half_width: FloatArray, half_thickness: FloatArray, sides: int = 20, cap_rings: int = 0
    ) -> TubeTemplate:
        """The template of :func:`tube` with these section sizes ((n,) each)."""
        half_width = np.asarray(half_width, dtype=float)
        half_thickness = np.asarray(half_thickness, dtype=float)
        n = len(half_width)
        angle = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
        # cap rings: the start's (from the body outwards), then the end's; then the two poles
        phi = np.linspace(0.0, 0.5 * np.pi, cap_rings + 2)[1:-1]
        length = np.maximum(half_width[[0, -1]], half_thickness[[0, -1]])
        reach = np.concatenate([np.outer(length, np.sin(phi)), length[:, None] * (1.0 if cap_rings else 0.0)], axis=1)
        along = np.concatenate([np.zeros(n), -reach[0], reach[1]])  # the start cap reaches backwards
        shrink = np.concatenate([np.ones(n), np.tile(np.concatenate([np.cos(phi), [0.0]]), 2)])
        ring_owner = np.concatenate([np.arange(n), np.repeat((0, n - 1), cap_rings + 1)])
        a, h = half_width[ring_owner] * shrink, half_thickness[ring_owner] * shrink
        local = np.stack(
            np.broadcast_arrays(along[:, None], a[:, None] * np.cos(angle), h[:, None] * np.sin(angle)), axis=-1
        )  # (rings, sides, 3)
        poles = [n + cap_rings, n + 2 * cap_rings + 1]
        order = np.concatenate([np.arange(n), n + np.arange(cap_rings), n + cap_rings + 1 + np.arange(cap_rings)])
        owner = np.concatenate([np.repeat(ring_owner[order], sides), ring_owner[poles]])
        return cls(owner, np.vstack([local[order].reshape(-1, 3), local[poles, 0]]), n)

    @classmethod
    def join(cls, templates: Sequence[TubeTemplate]) -> TubeTemplate:
        """One template for several tubes whose centrelines are stacked, vertices in order."""
        offsets = np.concatenate([[0], np.cumsum([t.points for t in templates])[:-1]]).astype(int)
        return cls(
            np.concatenate([t.owner + o for t, o in zip(templates, offsets, strict=True)]),
            np.vstack([t.local for t in templates]),
            sum(t.points for t in templates),
        )

    def place(self, centreline: FloatArray, tangent: FloatArray, width_axis: FloatArray, depth_axis: FloatArray) -> FloatArray:
        """The (k, 3) vertices along a centreline with its per-point unit frame, (n, 3) each."""
        return self.basis @ np.concatenate([centreline, tangent, width_axis, depth_axis])


def tube_vertices(
    centreline: FloatArray, half_width: FloatArray, half_thickness: FloatArray,
    depth_axis: FloatArray, width_axis: FloatArray, sides: int = 20, cap_rings: int = 0,
) -> FloatArray:
    """The vertices of :func:`tube` alone, same arguments and order."""
    centreline = np.asarray(centreline, dtype=float)
    template = TubeTemplate.of(half_width, half_thickness, sides, cap_rings)
    return template.place(centreline, tangents(centreline), np.asarray(width_axis, float), np.asarray(depth_axis, float))


def tube(
    centreline: FloatArray,
    half_width: FloatArray,
    half_thickness: FloatArray,
    depth_axis: FloatArray,
    width_axis: FloatArray,
    sides: int = 20,
    cap_rings: int = 0,
) -> tuple[FloatArray, np.ndarray]:
    """Closed elliptic tube, faces wound outward.

    Vertices: ``sides`` per centreline ring (ring-major), then ``cap_rings`` shrinking rings at the
    start and at the end (a rounded, half-ellipsoid cap as long as the section is wide; none: flat
    caps), then one pole at each end.
    """
    vertices = tube_vertices(centreline, half_width, half_thickness, depth_axis, width_axis, sides, cap_rings)
    n = len(centreline)
    # every sequence of rings from pole to pole: start cap (outermost first), body, end cap
    start_cap = n * sides + np.arange(cap_rings)[::-1, None] * sides
    end_cap = (n + cap_rings) * sides + np.arange(cap_rings)[:, None] * sides
    order = np.vstack([start_cap, np.arange(n)[:, None] * sides, end_cap])[:, 0]
    jj = np.arange(sides)
    first, second = order[:-1, None], order[1:, None]
    a, b = first + jj, first + (jj + 1) % sides
    c, d = second + jj, second + (jj + 1) % sides
    faces = [np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)]
    start, end = len(vertices) - 2, len(vertices) - 1
    # caps wound like the side wall next to them (each ring edge used once in each direction)
    faces.append(np.column_stack([np.full(sides, start), order[0] + jj, order[0] + (jj + 1) % sides]))
    faces.append(np.column_stack([np.full(sides, end), order[-1] + (jj + 1) % sides, order[-1] + jj]))
    faces = np.vstack(faces).astype(np.int64)
    if signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    return vertices, faces


def sphere(centre: FloatArray, radius: float, resolution: int = 24) -> tuple[FloatArray, np.ndarray]:
    """Closed UV sphere (outward faces)."""
    vertices, faces = _unit_sphere(resolution)
    return vertices * radius + np.asarray(centre, dtype=float), faces.copy()


@lru_cache(maxsize=8)
def _unit_sphere(resolution: int) -> tuple[FloatArray, np.ndarray]:
    """The unit UV sphere about the origin (read-only arrays, made once per resolution)."""
    lat = np.linspace(0, np.pi, resolution // 2 + 1)[1:-1]
    lon = np.linspace(0, 2 * np.pi, resolution, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    ring = np.stack([np.sin(la) * np.cos(lo), np.cos(la), np.sin(la) * np.sin(lo)], -1).reshape(-1, 3)
    vertices = np.vstack([[0, 1, 0], ring, [0, -1, 0]]).astype(float)
    rows, cols = len(lat), resolution
    j = np.arange(cols)
    top = np.column_stack([np.zeros(cols, int), 1 + (j + 1) % cols, 1 + j])
    a = 1 + np.arange(rows - 1)[:, None] * cols + j
    b = 1 + np.arange(rows - 1)[:, None] * cols + (j + 1) % cols
    band = np.stack([np.stack([a, b, a + cols], -1), np.stack([b, b + cols, a + cols], -1)], axis=2).reshape(-1, 3)
    base = 1 + (rows - 1) * cols
    bottom = np.column_stack([np.full(cols, len(vertices) - 1), base + j, base + (j + 1) % cols])
    faces = np.vstack([top, band, bottom]).astype(np.int64)
    if signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    vertices.flags.writeable = False
    faces.flags.writeable = False
    return vertices, faces


def point_polyline_distance(points: FloatArray, polyline: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(distance, index + fraction along the polyline) of the closest polyline point to each point."""
    distance, position, _ = closest_on_polyline(points, polyline)
    return distance, position


def closest_on_polyline(points: FloatArray, polyline: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The closest point of a polyline to each point.

    Parameters
    ----------
    points : (n, 3) array
    polyline : (k, 3) array
        Its corners in order, k >= 2.

    Returns
    -------
    distance : (n,) array
    position : (n,) array
        Index + fraction along the polyline.
    closest : (n, 3) array
    """
    points = np.atleast_2d(np.asarray(points, dtype=float))
    a = np.asarray(polyline, dtype=float)[:-1]
    ab = np.diff(np.asarray(polyline, dtype=float), axis=0)
    denom = np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12)
    t = np.clip(np.einsum("pij,ij->pi", points[:, None, :] - a[None], ab) / denom, 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    d = np.linalg.norm(points[:, None, :] - closest, axis=-1)
    k = d.argmin(axis=1)
    rows = np.arange(len(points))
    return d[rows, k], k + t[rows, k], closest[rows, k]


def interpolate_at(values: FloatArray, position: FloatArray) -> FloatArray:
    """Values along a polyline at fractional indices (linear)."""
    values = np.asarray(values, dtype=float)
    position = np.clip(np.asarray(position, dtype=float), 0, len(values) - 1)
    low = np.minimum(np.floor(position).astype(int), len(values) - 2)
    frac = position - low
    if values.ndim == 1:
        return values[low] * (1 - frac) + values[low + 1] * frac
    return values[low] * (1 - frac)[:, None] + values[low + 1] * frac[:, None]
