"""Signed-distance grids of closed meshes, sampled by trilinear lookup.

Muscles are kept off bones and off deeper muscles by pushing fibre points out
along the gradient of a signed distance. Exact point-to-mesh distance is far too
slow for thousands of points per relaxation step, so each obstacle is voxelised
once (parity of ray crossings along Z) and turned into a signed distance with a
Euclidean distance transform. Lookups are then a few vectorised interpolations.
Negative values are inside the mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from viewer.types import FloatArray

_JITTER = (1.234567e-3, 2.345678e-3)  # keeps column rays off mesh edges and vertices


@dataclass(frozen=True)
class DistanceGrid:
    """Signed distance (mm) on a regular grid, with its gradient, in the frame the mesh was given in."""

    origin: FloatArray  # (3,) position of voxel (0, 0, 0)
    spacing: float
    values: FloatArray  # (nx, ny, nz)
    gradient: FloatArray  # (3, nx, ny, nz)

    def _coordinates(self, points: FloatArray) -> tuple[FloatArray, FloatArray]:
        index = (np.asarray(points, dtype=float).reshape(-1, 3) - self.origin) / self.spacing
        upper = np.array(self.values.shape, dtype=float) - 1
        clamped = np.clip(index, 0, upper)
        outside = np.linalg.norm((index - clamped) * self.spacing, axis=1)
        return clamped.T, outside

    def distance(self, points: FloatArray) -> FloatArray:
        """Signed distance at each point; points beyond the grid get at least their distance to it."""
        shape = np.shape(points)[:-1]
        coordinates, outside = self._coordinates(points)
        inside_grid = ndimage.map_coordinates(self.values, coordinates, order=1, mode="nearest")
        return (inside_grid + outside).reshape(shape)

    def direction(self, points: FloatArray) -> FloatArray:
        """Unit gradient of the distance (the way out of the obstacle) at each point."""
        shape = np.shape(points)
        coordinates, _ = self._coordinates(points)
        grad = np.stack(
            [ndimage.map_coordinates(g, coordinates, order=1, mode="nearest") for g in self.gradient], axis=1
        )
        norm = np.linalg.norm(grad, axis=1, keepdims=True)
        return (grad / np.maximum(norm, 1e-9)).reshape(shape)


def inside_voxels(vertices: FloatArray, faces: np.ndarray, origin: FloatArray, spacing: float, shape) -> np.ndarray:
    """Boolean occupancy of a closed mesh: a voxel is inside if a +Z ray from below crosses the surface an odd number of times."""
    return (_column_crossings(vertices, faces, origin, spacing, shape, signed=False) % 2).astype(bool)


def winding_voxels(vertices: FloatArray, faces: np.ndarray, origin: FloatArray, spacing: float, shape) -> np.ndarray:
    """Winding number (int array of ``shape``) of a closed, outward-facing mesh at each voxel.

    A +Z ray from below counts +1 where it enters through a face and -1 where it leaves. Unlike parity,
    a surface folded through itself still reads inside (2) under its double layer, and 0 only where no
    layer covers the voxel.
    """
    return _column_crossings(vertices, faces, origin, spacing, shape, signed=True)


def _column_crossings(
    vertices: FloatArray, faces: np.ndarray, origin: FloatArray, spacing: float, shape, signed: bool
) -> np.ndarray:
    """(nx, ny, nz) crossings of the +Z voxel column rays below each voxel: a count, or entries minus exits."""
    nx, ny, nz = shape
    tri = vertices[faces]  # (m, 3, 3)
    col_x = origin[0] + spacing * np.arange(nx) + _JITTER[0]
    col_y = origin[1] + spacing * np.arange(ny) + _JITTER[1]
    lo = np.clip(np.ceil((tri[:, :, :2].min(axis=1) - origin[:2] - _JITTER) / spacing), 0, [nx, ny]).astype(int)
    hi = np.clip(np.floor((tri[:, :, :2].max(axis=1) - origin[:2] - _JITTER) / spacing), -1, [nx - 1, ny - 1]).astype(
        int
    )
    counts = np.maximum(hi - lo + 1, 0)
    per_triangle = counts[:, 0] * counts[:, 1]
    owner = np.repeat(np.arange(len(tri)), per_triangle)
    local = np.arange(per_triangle.sum()) - np.repeat(np.cumsum(per_triangle) - per_triangle, per_triangle)
    ix = lo[owner, 0] + local % np.maximum(counts[owner, 0], 1)
    iy = lo[owner, 1] + local // np.maximum(counts[owner, 0], 1)
    a, b, c = tri[owner, 0], tri[owner, 1], tri[owner, 2]
    px, py = col_x[ix], col_y[iy]
    det = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    safe = np.where(np.abs(det) < 1e-12, 1e-12, det)
    w1 = ((px - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (py - a[:, 1])) / safe
    w2 = ((b[:, 0] - a[:, 0]) * (py - a[:, 1]) - (px - a[:, 0]) * (b[:, 1] - a[:, 1])) / safe
    hit = (np.abs(det) >= 1e-12) & (w1 >= 0) & (w2 >= 0) & (w1 + w2 <= 1)
    z = a[hit, 2] + w1[hit] * (b[hit, 2] - a[hit, 2]) + w2[hit] * (c[hit, 2] - a[hit, 2])
    first_inside = np.clip(np.ceil((z - origin[2]) / spacing), 0, nz).astype(int)
    crossings = np.zeros((nx, ny, nz + 1), dtype=np.int32)
    step = np.where(det[hit] < 0, 1, -1) if signed else 1  # a face turned down (outward normal -Z) is entered
    np.add.at(crossings, (ix[hit], iy[hit], first_inside), step)
    return np.cumsum(crossings, axis=2)[:, :, :nz]


def distance_grid(vertices: FloatArray, faces: np.ndarray, spacing: float = 2.0, margin: float = 40.0) -> DistanceGrid:
    """Voxelise a closed mesh over its bounding box plus ``margin`` and return its signed-distance grid."""
    vertices = np.asarray(vertices, dtype=float)
    origin = vertices.min(axis=0) - margin
    shape = tuple(int(n) for n in np.ceil((vertices.max(axis=0) + margin - origin) / spacing) + 1)
    inside = inside_voxels(vertices, np.asarray(faces), origin, spacing, shape)
    outside_distance = ndimage.distance_transform_edt(~inside) * spacing
    inside_distance = ndimage.distance_transform_edt(inside) * spacing
    values = np.where(inside, -(inside_distance - spacing / 2), outside_distance - spacing / 2)
    gradient = np.stack(np.gradient(values, spacing))
    return DistanceGrid(origin=origin, spacing=spacing, values=values, gradient=gradient)


def union_distance(grids: list[DistanceGrid], points: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distance to the nearest of several obstacles and the way out of that one."""
    points = np.asarray(points, dtype=float)
    distances = np.stack([grid.distance(points) for grid in grids])
    nearest = distances.argmin(axis=0)
    directions = np.zeros(points.shape)
    for index, grid in enumerate(grids):
        chosen = nearest == index
        if chosen.any():
            directions[chosen] = grid.direction(points[chosen])
    return distances.min(axis=0), directions
