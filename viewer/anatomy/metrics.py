"""Cheap closed-surface measurements in numpy (no trimesh import on the hot path)."""

from __future__ import annotations

import numpy as np

from viewer.anatomy.lagrange import FloatArray, IntArray


def cubic_root(samples: FloatArray, values: list[float], target: float, bounds: tuple[float, float], near: float):
    """The x within ``bounds`` nearest ``near`` where the cubic through four (samples, values) equals ``target``.

    None when it has no such root. Volumes of a mesh whose vertices move linearly in x are exactly cubic
    in x, so four samples pin the fit down.
    """
    cubic = np.polyfit(samples, values, 3)
    cubic[-1] -= target
    roots = [r.real for r in np.roots(cubic) if abs(r.imag) < 1e-9 and bounds[0] <= r.real <= bounds[1]]
    return float(min(roots, key=lambda r: abs(r - near))) if roots else None


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


def vertex_normals(vertices: FloatArray, faces: IntArray) -> FloatArray:
    """Area-weighted unit vertex normals (for smooth shading of a re-posed muscle, per frame)."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    face_normals = np.cross(b - a, c - a)
    normals = np.zeros_like(vertices)
    for k in range(3):
        for axis in range(3):
            normals[:, axis] += np.bincount(faces[:, k], weights=face_normals[:, axis], minlength=len(vertices))
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.where(lengths > 0, lengths, 1.0)


def nearest_fibre_of_vertices(vertices: FloatArray, fibres: FloatArray) -> IntArray:
    """For each vertex, the index of the fibre polyline it lies nearest (to colour by fibre)."""
    from scipy.spatial import cKDTree

    n_samples = fibres.shape[1]
    tree = cKDTree(fibres.reshape(-1, 3))
    _, index = tree.query(vertices)
    return (index // n_samples).astype(np.int64)


def crease_share(vertices: FloatArray, faces: IntArray, degrees: float = 40.0) -> float:
    """Share of the interior edges of a triangle mesh where the surface bends more than ``degrees``.

    Parameters
    ----------
    vertices
        (n, 3) positions.
    faces
        (m, 3) consistently wound triangles; an edge shared by exactly two of them is interior.

    The bend at an edge is the angle between the normals of its two triangles (0 for a flat surface).
    """
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    normals = np.cross(b - a, c - a)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    owner = np.tile(np.arange(len(faces)), 3)
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    edges, owner = edges[order], owner[order]
    paired = np.flatnonzero(np.all(edges[1:] == edges[:-1], axis=1))
    if len(paired) == 0:
        return 0.0
    cosine = np.einsum("ij,ij->i", normals[owner[paired]], normals[owner[paired + 1]])
    return float(np.mean(cosine < np.cos(np.radians(degrees))))
