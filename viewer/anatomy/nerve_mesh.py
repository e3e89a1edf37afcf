"""Small geometry helpers for the nerve, its danger zone and technique safety checks.

Plain numpy/scipy (no rtree or embree): every ray hit along a line, signed
distance to a set of closed surfaces from a k-d tree of surface samples, and
closed elliptic tubes along a polyline.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.spatial import cKDTree

FloatArray = np.ndarray


def unit(vectors: FloatArray) -> FloatArray:
    """Normalise the last axis (zero vectors stay zero)."""
    vectors = np.asarray(vectors, dtype=float)
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norm, out=np.zeros_like(vectors), where=norm > 0)


def ray_hits(vertices: FloatArray, faces: np.ndarray, origins: FloatArray, directions: FloatArray) -> list[FloatArray]:
    """Every crossing of each ray with a triangle mesh: sorted distances (t > 0) per ray (Moller-Trumbore).

    ``origins`` and ``directions`` are (n, 3) (or (3,) for one ray); directions need not be unit,
    distances are in units of the direction's length.
    """
    origins = np.atleast_2d(np.asarray(origins, dtype=float))
    directions = np.atleast_2d(np.asarray(directions, dtype=float))
    directions = np.broadcast_to(directions, origins.shape)
    tri = np.asarray(vertices, dtype=float)[faces]
    edge1, edge2, corner = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], tri[:, 0]
    result = []
    for origin, direction in zip(origins, directions, strict=False):
        pvec = np.cross(direction, edge2)
        det = np.einsum("ij,ij->i", edge1, pvec)
        safe = np.where(np.abs(det) > 1e-12, det, np.inf)
        tvec = origin - corner
        u = np.einsum("ij,ij->i", tvec, pvec) / safe
        qvec = np.cross(tvec, edge1)
        v = (qvec @ direction) / safe
        t = np.einsum("ij,ij->i", qvec, edge2) / safe
        valid = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9)
        result.append(np.sort(t[valid]))
    return result


def intervals(hits: FloatArray) -> list[tuple[float, float]]:
    """Pair sorted crossings of a closed surface into (entry, exit) intervals; an odd last hit is dropped."""
    hits = np.asarray(hits, dtype=float)
    # near-duplicate hits come from rays through shared edges; drop them
    if len(hits) > 1:
        keep = np.concatenate([[True], np.diff(hits) > 1e-6])
        hits = hits[keep]
    return [(float(hits[i]), float(hits[i + 1])) for i in range(0, len(hits) - 1, 2)]


def face_normals(vertices: FloatArray, faces: np.ndarray) -> FloatArray:
    tri = np.asarray(vertices, dtype=float)[faces]
    return np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])


def vertex_normals(vertices: FloatArray, faces: np.ndarray) -> FloatArray:
    """Area-weighted outward vertex normals (faces wound outward)."""
    normals = np.zeros((len(vertices), 3))
    cross = face_normals(vertices, faces)
    for k in range(3):
        np.add.at(normals, faces[:, k], cross)
    return unit(normals)


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

    def signed_distance(self, query: FloatArray, limit: float = np.inf) -> tuple[FloatArray, FloatArray]:
        """(signed distance, outward normal of the nearest surface) for (n, 3) points.

        Points with no surface sample within ``limit`` get +inf and a zero normal (fast early exit).
        """
        query = np.asarray(query, dtype=float)
        _, index = self.tree.query(query, distance_upper_bound=limit)
        found = index < len(self.points)
        safe = np.where(found, index, 0)
        normal = np.where(found[:, None], self.normals[safe], 0.0)
        distance = np.einsum("ij,ij->i", query - self.points[safe], normal)
        return np.where(found, distance, np.inf), normal


def resample(polyline: FloatArray, count: int) -> FloatArray:
    """``count`` points evenly spaced by arc length along a polyline."""
    polyline = np.asarray(polyline, dtype=float)
    lengths = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(polyline, axis=0), axis=1))])
    targets = np.linspace(0.0, lengths[-1], count)
    return np.column_stack([np.interp(targets, lengths, polyline[:, k]) for k in range(3)])


def arc_length(polyline: FloatArray) -> FloatArray:
    """Cumulative arc length at each point (starts at 0)."""
    steps = np.linalg.norm(np.diff(np.asarray(polyline, dtype=float), axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def tangents(polyline: FloatArray) -> FloatArray:
    return unit(np.gradient(np.asarray(polyline, dtype=float), axis=0))


def section_frames(centreline: FloatArray, depth_hint: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(depth axis, width axis) per point: the depth axis is ``depth_hint`` made perpendicular to the tangent."""
    tangent = tangents(centreline)
    hint = np.broadcast_to(np.asarray(depth_hint, dtype=float), tangent.shape)
    depth = unit(hint - np.einsum("ij,ij->i", hint, tangent)[:, None] * tangent)
    width = unit(np.cross(tangent, depth))
    return depth, width


def turning_angles(polyline: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(angle in radians, bend radius in mm) at each interior point of a polyline, shape (n - 2,).

    The radius is the mean length of the two segments meeting there over the angle between them:
    the radius of the circle a smooth curve through the points would follow.
    """
    steps = np.diff(np.asarray(polyline, dtype=float), axis=0)
    length = np.linalg.norm(steps, axis=1)
    direction = unit(steps)
    angle = np.arccos(np.clip(np.einsum("ij,ij->i", direction[:-1], direction[1:]), -1.0, 1.0))
    radius = 0.5 * (length[:-1] + length[1:]) / np.maximum(angle, 1e-12)
    return angle, radius


def limit_bend(polyline: FloatArray, min_radius_mm: float, iterations: int = 400) -> FloatArray:
    """The polyline with every bend eased until its radius is at least ``min_radius_mm`` (ends kept).

    Points at too sharp a bend (and their neighbours, more gently) move towards the midpoint of
    their neighbours; straight and gently curved stretches are left where they are.
    """
    line = np.asarray(polyline, dtype=float).copy()
    for _ in range(iterations):
        _, radius = turning_angles(line)
        excess = np.clip(min_radius_mm / np.maximum(radius, 1e-9) - 1.0, 0.0, 1.0)
        if not excess.any():
            break
        weight = np.zeros(len(line))
        weight[1:-1] = 0.5 * np.minimum(1.0, 0.2 + excess)
        weight[1:-1] *= excess > 0
        weight[1:-1] = np.maximum(weight[1:-1], 0.5 * (np.roll(weight, 1) + np.roll(weight, -1))[1:-1] * 0.6)
        line[1:-1] += weight[1:-1, None] * (0.5 * (line[:-2] + line[2:]) - line[1:-1])
    return line


def transported_frames(centreline: FloatArray, first_normal: FloatArray) -> FloatArray:
    """Rotation-minimising (parallel-transport) unit normals along a polyline, (n, 3).

    ``first_normal`` (made perpendicular to the first tangent) is carried along by the double
    reflection method (Wang et al. 2008, ACM Trans Graph 27:2): the frame turns only as much as the
    tangent does, never about the curve itself.
    """
    points = np.asarray(centreline, dtype=float)
    tangent = tangents(points)
    first = np.asarray(first_normal, dtype=float)
    normal = [unit(first - (first @ tangent[0]) * tangent[0]).tolist()]
    # plain floats: a few dozen tiny steps, where numpy's per-call cost would dominate
    steps, tangent_rows = np.diff(points, axis=0).tolist(), tangent.tolist()
    for (sx, sy, sz), (tx, ty, tz), (nx, ny, nz) in zip(steps, tangent_rows[:-1], tangent_rows[1:], strict=True):
        rx, ry, rz = normal[-1]
        c1 = sx * sx + sy * sy + sz * sz
        if c1 > 1e-18:
            k = 2.0 * (sx * rx + sy * ry + sz * rz) / c1
            rx, ry, rz = rx - k * sx, ry - k * sy, rz - k * sz
            k = 2.0 * (sx * tx + sy * ty + sz * tz) / c1
            vx, vy, vz = nx - (tx - k * sx), ny - (ty - k * sy), nz - (tz - k * sz)
            c2 = vx * vx + vy * vy + vz * vz
            if c2 > 1e-18:
                k = 2.0 * (vx * rx + vy * ry + vz * rz) / c2
                rx, ry, rz = rx - k * vx, ry - k * vy, rz - k * vz
        normal.append((rx, ry, rz))
    normal = np.asarray(normal)
    return unit(normal - np.einsum("ij,ij->i", normal, tangent)[:, None] * tangent)


def angle_about(reference: FloatArray, vectors: FloatArray, axes: FloatArray) -> FloatArray:
    """Signed angle (radians) from ``reference`` to ``vectors`` about ``axes``, row by row (n, 3) -> (n,)."""
    sine = np.einsum("ij,ij->i", np.cross(reference, vectors), axes)
    return np.arctan2(sine, np.einsum("ij,ij->i", reference, vectors))


def rotate_about(vectors: FloatArray, axes: FloatArray, angle: FloatArray) -> FloatArray:
    """Rotate each row of ``vectors`` about the unit row of ``axes`` by ``angle`` (Rodrigues)."""
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    along = np.einsum("ij,ij->i", axes, vectors)[:, None] * axes
    return vectors * cos + np.cross(axes, vectors) * sin + along * (1.0 - cos)


def tube_vertices(
    centreline: FloatArray, half_width: FloatArray, half_thickness: FloatArray,
    depth_axis: FloatArray, width_axis: FloatArray, sides: int = 20, cap_rings: int = 0,
) -> FloatArray:
    """The vertices of :func:`tube` alone (what posing needs each frame), same arguments and order."""
    centreline = np.asarray(centreline, dtype=float)
    half_width = np.asarray(half_width, dtype=float)
    half_thickness = np.asarray(half_thickness, dtype=float)
    n = len(centreline)
    angle = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    tangent = tangents(centreline)
    # cap rings: the start's (from the body outwards), then the end's; then the two poles
    phi = np.linspace(0.0, 0.5 * np.pi, cap_rings + 2)[1:-1]
    ends = (0, n - 1)
    outward = np.array([-tangent[0], tangent[-1]])
    length = np.maximum(half_width[[0, -1]], half_thickness[[0, -1]])
    reach = np.concatenate([np.outer(length, np.sin(phi)), length[:, None] * (1.0 if cap_rings else 0.0)], axis=1)
    centres = np.vstack([centreline, (centreline[[0, -1], None] + reach[..., None] * outward[:, None]).reshape(-1, 3)])
    shrink = np.concatenate([np.ones(n), np.tile(np.concatenate([np.cos(phi), [0.0]]), 2)])
    owner = np.concatenate([np.arange(n), np.repeat(ends, cap_rings + 1)])
    a, h = half_width[owner] * shrink, half_thickness[owner] * shrink
    ring = (
        centres[:, None, :]
        + (a[:, None] * np.cos(angle))[..., None] * width_axis[owner][:, None, :]
        + (h[:, None] * np.sin(angle))[..., None] * depth_axis[owner][:, None, :]
    )
    rings = n + 2 * cap_rings
    poles = ring[[n + cap_rings, n + 2 * cap_rings + 1], 0]
    order = np.concatenate([np.arange(n), n + np.arange(cap_rings), n + cap_rings + 1 + np.arange(cap_rings)])
    return np.vstack([ring[order].reshape(rings * sides, 3), poles])


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
    if _signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    return vertices, faces


def _signed_volume(vertices: FloatArray, faces: np.ndarray) -> float:
    tri = vertices[faces]
    return float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0)


def sphere(centre: FloatArray, radius: float, resolution: int = 24) -> tuple[FloatArray, np.ndarray]:
    """Closed UV sphere (outward faces)."""
    lat = np.linspace(0, np.pi, resolution // 2 + 1)[1:-1]
    lon = np.linspace(0, 2 * np.pi, resolution, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    ring = np.stack([np.sin(la) * np.cos(lo), np.cos(la), np.sin(la) * np.sin(lo)], -1).reshape(-1, 3)
    vertices = np.vstack([[0, 1, 0], ring, [0, -1, 0]]) * radius + np.asarray(centre, dtype=float)
    rows, cols = len(lat), resolution
    faces = []
    for j in range(cols):
        faces.append([0, 1 + (j + 1) % cols, 1 + j])
    for i in range(rows - 1):
        for j in range(cols):
            a, b = 1 + i * cols + j, 1 + i * cols + (j + 1) % cols
            faces += [[a, b, a + cols], [b, b + cols, a + cols]]
    bottom = len(vertices) - 1
    base = 1 + (rows - 1) * cols
    for j in range(cols):
        faces.append([bottom, base + j, base + (j + 1) % cols])
    faces = np.asarray(faces, dtype=np.int64)
    if _signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    return vertices, faces


def point_polyline_distance(points: FloatArray, polyline: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(distance, index + fraction along the polyline) of the closest polyline point to each point."""
    points = np.atleast_2d(np.asarray(points, dtype=float))
    a = np.asarray(polyline, dtype=float)[:-1]
    ab = np.diff(np.asarray(polyline, dtype=float), axis=0)
    denom = np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12)
    t = np.clip(np.einsum("pij,ij->pi", points[:, None, :] - a[None], ab) / denom, 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    d = np.linalg.norm(points[:, None, :] - closest, axis=-1)
    k = d.argmin(axis=1)
    rows = np.arange(len(points))
    return d[rows, k], k + t[rows, k]


def interpolate_at(values: FloatArray, position: FloatArray) -> FloatArray:
    """Values along a polyline at fractional indices (linear)."""
    values = np.asarray(values, dtype=float)
    position = np.clip(np.asarray(position, dtype=float), 0, len(values) - 1)
    low = np.minimum(np.floor(position).astype(int), len(values) - 2)
    frac = position - low
    if values.ndim == 1:
        return values[low] * (1 - frac) + values[low + 1] * frac
    return values[low] * (1 - frac)[:, None] + values[low + 1] * frac[:, None]


def segment_points(start: FloatArray, end: FloatArray, step_mm: float = 1.0) -> FloatArray:
    """Points every ``step_mm`` along a segment (both ends included)."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    count = max(2, int(np.ceil(np.linalg.norm(end - start) / step_mm)) + 1)
    return start + np.linspace(0.0, 1.0, count)[:, None] * (end - start)
