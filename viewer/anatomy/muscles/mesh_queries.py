"""Exact inside tests and ray hits on triangle meshes, in plain numpy.

trimesh's proximity and ray queries need optional packages (rtree, embree) the
project does not depend on; these two small vectorised routines are enough to
measure layering and penetration.
"""

from __future__ import annotations

import numpy as np

from viewer.types import FloatArray


def winding_number(vertices: FloatArray, faces: np.ndarray, points: FloatArray, chunk: int = 2_000_000) -> FloatArray:
    """Generalised winding number (about 1 inside a closed outward mesh, 0 outside), robust to small defects."""
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    tri = np.asarray(vertices, dtype=float)[faces]
    result = np.zeros(len(points))
    step = max(1, chunk // max(len(tri), 1))
    for start in range(0, len(points), step):
        p = points[start : start + step, None, None, :]
        a, b, c = (tri[None, :, k, :] - p[:, :, 0, :] for k in range(3))
        la, lb, lc = (np.linalg.norm(v, axis=-1) for v in (a, b, c))
        det = np.einsum("...i,...i", a, np.cross(b, c))
        denominator = (
            la * lb * lc
            + np.einsum("...i,...i", a, b) * lc
            + np.einsum("...i,...i", b, c) * la
            + np.einsum("...i,...i", c, a) * lb
        )
        result[start : start + step] = np.arctan2(det, denominator).sum(axis=1) / (2 * np.pi)
    return result


def inside(vertices: FloatArray, faces: np.ndarray, points: FloatArray) -> np.ndarray:
    """True for points inside a closed mesh."""
    return winding_number(vertices, faces, points) > 0.5


def ray_hit_distance(
    vertices: FloatArray, faces: np.ndarray, origins: FloatArray, direction: FloatArray, chunk: int = 2_000_000
) -> FloatArray:
    """Distance along ``direction`` from each origin to the first triangle hit (inf if none); Moller-Trumbore."""
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
