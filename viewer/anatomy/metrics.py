"""Cheap closed-surface measurements in numpy (no trimesh import on the hot path)."""

from __future__ import annotations

import numpy as np

from viewer.anatomy.lagrange import FloatArray, IntArray


def signed_volume(vertices: FloatArray, faces: IntArray) -> float:
    """Enclosed volume (mm^3) by the divergence theorem; positive for outward-facing triangles."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def is_watertight(faces: IntArray) -> bool:
    """Every edge used exactly twice, once in each direction (closed and consistently wound)."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    n = int(faces.max()) + 1
    directed = edges[:, 0].astype(np.int64) * n + edges[:, 1]
    if len(np.unique(directed)) != len(directed):
        return False
    reverse = edges[:, 1].astype(np.int64) * n + edges[:, 0]
    return bool(np.isin(reverse, directed).all())


def polyline_lengths(polylines: FloatArray) -> FloatArray:
    """Length of each polyline in an (n, samples, 3) array."""
    return np.linalg.norm(np.diff(polylines, axis=1), axis=2).sum(axis=1)
