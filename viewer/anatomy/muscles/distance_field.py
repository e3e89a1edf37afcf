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
    inside = np.zeros(shape, dtype=bool)
    box, crossings = _crossings_in_box(vertices, faces, origin, spacing, shape, signed=False)
    if crossings is not None:
        parity = (crossings % 2).astype(bool)
        inside[box] = parity
        _fill_above(inside, box, parity[:, :, -1])
    return inside


def winding_voxels(vertices: FloatArray, faces: np.ndarray, origin: FloatArray, spacing: float, shape) -> np.ndarray:
    """Winding number (int array of ``shape``) of a closed, outward-facing mesh at each voxel.

    A +Z ray from below counts +1 where it enters through a face and -1 where it leaves. Unlike parity,
    a surface folded through itself still reads inside (2) under its double layer, and 0 only where no
    layer covers the voxel. (A few voxels of a large grid: :func:`winding_at`.)
    """
    box, crossings = _crossings_in_box(vertices, faces, origin, spacing, shape, signed=True)
    winding = np.zeros(shape, dtype=np.int64)
    if crossings is not None:
        winding[box] = crossings
        _fill_above(winding, box, crossings[:, :, -1])
    return winding


def _fill_above(grid: np.ndarray, box: tuple[slice, slice, slice], top: np.ndarray) -> None:
    """Carry the columns' last value (``top``, (bx, by)) on above the box to the top of ``grid``, where nonzero.

    A closed mesh's columns end at 0 crossings (mod 2); a ray grazing an edge may not, and then reads so on up.
    """
    if top.any():
        grid[box[0], box[1], box[2].stop :] = top[:, :, None]


def _column_crossings(
    vertices: FloatArray,
    faces: np.ndarray,
    origin: FloatArray,
    spacing: float,
    shape,
    region: tuple[slice, slice, slice] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where the +Z voxel column rays cross the mesh: (ix, iy, the first voxel above the crossing, whether the
    face is turned down (entered)), each (k,), for the columns and voxels of ``region`` (the whole grid if None;
    a crossing below the region counts from its lowest voxel, one above it is left out)."""
    nx, ny, nz = shape
    (x0, x1), (y0, y1), (z0, z1) = ((0, n) for n in shape) if region is None else ((r.start, r.stop) for r in region)
    tri = vertices[faces]  # (m, 3, 3)
    col_x = origin[0] + spacing * np.arange(nx) + _JITTER[0]
    col_y = origin[1] + spacing * np.arange(ny) + _JITTER[1]
    lo = np.clip(np.ceil((tri[:, :, :2].min(axis=1) - origin[:2] - _JITTER) / spacing), [x0, y0], [x1, y1]).astype(int)
    hi = np.clip(np.floor((tri[:, :, :2].max(axis=1) - origin[:2] - _JITTER) / spacing), [x0 - 1, y0 - 1], [x1 - 1, y1 - 1])
    hi = hi.astype(int)
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
    within = first_inside < z1  # a crossing above the grid's (region's) top voxel counts for none of its voxels
    return ix[hit][within], iy[hit][within], np.maximum(first_inside[within], z0), det[hit][within] < 0


def _crossings_in_box(
    vertices: FloatArray, faces: np.ndarray, origin: FloatArray, spacing: float, shape, signed: bool
) -> tuple[tuple[slice, slice, slice], np.ndarray | None]:
    """Crossings of the +Z voxel column rays below each voxel (a count, or entries minus exits), in the mesh's box.

    Only the voxels from the mesh's lowest to its highest crossing, in the columns it covers, are computed
    (the grid may be far larger than one mesh): below the box every count is 0, above it each column keeps
    its last value. Returns the box as slices of the (nx, ny, nz) grid and the (bx, by, bz) int counts in it,
    or ``None`` for the counts when no column ray meets the mesh inside the grid.
    """
    ix, iy, first_inside, entered = _column_crossings(vertices, faces, origin, spacing, shape)
    if not len(first_inside):
        return (slice(0, 0),) * 3, None
    low = np.array([ix.min(), iy.min(), first_inside.min()])
    size = np.array([ix.max(), iy.max(), first_inside.max()]) - low + 1
    flat = np.ravel_multi_index((ix - low[0], iy - low[1], first_inside - low[2]), tuple(size))
    if signed:  # a face turned down (outward normal -Z) is entered
        step = np.where(entered, 1.0, -1.0)
        crossings = np.bincount(flat, weights=step, minlength=int(np.prod(size))).round().astype(np.int64)
    else:
        crossings = np.bincount(flat, minlength=int(np.prod(size))).astype(np.int64)
    box = tuple(slice(int(start), int(start + n)) for start, n in zip(low, size, strict=True))
    return box, np.cumsum(crossings.reshape(tuple(size)), axis=2)


def winding_at(
    vertices: FloatArray, faces: np.ndarray, origin: FloatArray, spacing: float, shape, voxels: np.ndarray
) -> np.ndarray:
    """The winding numbers :func:`winding_voxels` gives at some of its voxels, (k,) int, for ``voxels`` (k, 3) int
    inside the grid: the signed crossings below each voxel in its column, summed from the crossings alone
    (no grid: a few points ask about a few voxels of a large grid)."""
    voxels = np.asarray(voxels, dtype=np.int64).reshape(-1, 3)
    if not len(voxels):
        return np.zeros(0, dtype=np.int64)
    region = tuple(slice(int(a), int(b) + 1) for a, b in zip(voxels.min(axis=0), voxels.max(axis=0), strict=True))
    ix, iy, first_inside, entered = _column_crossings(vertices, faces, origin, spacing, shape, region)
    nz = int(shape[2]) + 1
    keys = (ix.astype(np.int64) * int(shape[1]) + iy) * nz + first_inside
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    total = np.concatenate([[0], np.cumsum(np.where(entered[order], 1, -1))])  # entries minus exits, key by key
    column = (voxels[:, 0] * int(shape[1]) + voxels[:, 1]) * nz
    below = np.searchsorted(keys, column + voxels[:, 2], side="right")
    return total[below] - total[np.searchsorted(keys, column, side="left")]


def near_distance(occupied: np.ndarray, reach: int) -> FloatArray:
    """Euclidean distance (voxels) of each voxel to the nearest ``occupied`` one, exact up to ``reach`` voxels.

    What :func:`scipy.ndimage.distance_transform_edt` of ``~occupied`` gives wherever that is at most
    ``reach``, to the last bit (both are the root of a sum of squared whole offsets); farther voxels get a
    value in (``reach``, ``reach + 1``]. The separable minimum over offsets of at most ``reach`` per axis
    costs a few passes over the grid instead of a feature transform, for the callers that only ask which
    places lie near a solid.

    Parameters
    ----------
    occupied : (nx, ny, nz) bool array
    reach : int
        Voxels; at least 1.
    """
    cap = (reach + 1) ** 2
    squared = np.where(occupied, 0, cap).astype(np.int32)
    for axis in range(3):
        nearest = squared.copy()
        length = squared.shape[axis]
        for offset in range(1, min(reach, length - 1) + 1):
            before = tuple(slice(0, length - offset) if a == axis else slice(None) for a in range(3))
            after = tuple(slice(offset, length) if a == axis else slice(None) for a in range(3))
            np.minimum(nearest[before], squared[after] + offset * offset, out=nearest[before])
            np.minimum(nearest[after], squared[before] + offset * offset, out=nearest[after])
        squared = nearest
    return np.sqrt(np.minimum(squared, cap).astype(float))


def inside_depth(occupied: np.ndarray, reach: int = 10) -> FloatArray:
    """Euclidean distance (voxels) of each ``occupied`` voxel to the nearest free one (0 on the free ones).

    What :func:`scipy.ndimage.distance_transform_edt` of ``occupied`` gives, to the last bit, for less: only
    the box round the occupied voxels and one free layer about it is transformed (a free voxel beyond that
    layer is never nearer than the layer's voxel on the way to it), and where no voxel lies deeper than
    ``reach`` voxels (muscles and bones a few voxels thick) by :func:`near_distance`, without the feature
    transform.

    Parameters
    ----------
    occupied : (nx, ny, nz) bool array
    reach : int
        Voxels; at least 1.
    """
    depth = np.zeros(occupied.shape)
    where = np.nonzero(occupied)
    if not len(where[0]):
        return depth
    box = tuple(
        slice(max(int(index.min()) - 1, 0), min(int(index.max()) + 2, size))
        for index, size in zip(where, occupied.shape, strict=True)
    )
    solid = occupied[box]
    near = near_distance(~solid, reach)
    depth[box] = near if near.max() <= reach else ndimage.distance_transform_edt(solid)
    return depth


def distance_grid(vertices: FloatArray, faces: np.ndarray, spacing: float = 2.0, margin: float = 40.0) -> DistanceGrid:
    """Voxelise a closed mesh over its bounding box plus ``margin`` and return its signed-distance grid."""
    vertices = np.asarray(vertices, dtype=float)
    origin = vertices.min(axis=0) - margin
    shape = tuple(int(n) for n in np.ceil((vertices.max(axis=0) + margin - origin) / spacing) + 1)
    inside = inside_voxels(vertices, np.asarray(faces), origin, spacing, shape)
    outside_distance = ndimage.distance_transform_edt(~inside) * spacing
    inside_distance = inside_depth(inside) * spacing
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
