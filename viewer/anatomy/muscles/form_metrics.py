"""Shape measures of muscle surfaces: creases, volume held, overlap (for the shape report and the tests).

Each measure is a small function of a triangle mesh (vertices (n, 3) mm, faces (m, 3) wound outward),
so the same numbers are printed by ``bench/bench_shapes.py`` and asserted by the tests.
"""

from __future__ import annotations

import numpy as np

from viewer.anatomy.metrics import signed_volume
from viewer.anatomy.muscles.mesh_queries import winding_number

FloatArray = np.ndarray
IntArray = np.ndarray
CREASE_DEGREES = 40.0  # an edge bending more than this is a crease (issue 15: under 1% per muscle)


def edge_bend_degrees(vertices: FloatArray, faces: IntArray) -> FloatArray:
    """Angle (degrees) between the normals of the two triangles at every interior edge, (n_edges,).

    0 on a flat stretch, 180 on a knife edge; edges with only one triangle are left out.
    """
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    normals = np.cross(b - a, c - a)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    owner = np.tile(np.arange(len(faces)), 3)
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    edges, owner = edges[order], owner[order]
    pair = np.flatnonzero((edges[1:] == edges[:-1]).all(axis=1))  # consecutive equal edges: one interior edge
    cosine = np.einsum("ij,ij->i", normals[owner[pair]], normals[owner[pair + 1]])
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def crease_share(vertices: FloatArray, faces: IntArray, degrees: float = CREASE_DEGREES) -> float:
    """Share (0..1) of interior edges bending more than ``degrees``."""
    bends = edge_bend_degrees(np.asarray(vertices, float), np.asarray(faces))
    return float((bends > degrees).mean()) if len(bends) else 0.0


def volume_ratio(rest: FloatArray, posed: FloatArray, faces: IntArray) -> float:
    """Posed enclosed volume over rest volume (1 = held)."""
    return signed_volume(posed, faces) / signed_volume(rest, faces)


def overlap_share(vertices: FloatArray, others: list[tuple[FloatArray, IntArray]]) -> float:
    """Share (0..1) of ``vertices`` inside any of the closed surfaces ``others`` ((vertices, faces) pairs)."""
    inside = np.zeros(len(vertices), bool)
    for other_vertices, other_faces in others:
        low, high = other_vertices.min(axis=0), other_vertices.max(axis=0)
        near = np.flatnonzero(~inside & np.all((vertices >= low) & (vertices <= high), axis=1))
        if len(near):
            inside[near] = winding_number(other_vertices, other_faces, vertices[near]) > 0.5
    return float(inside.mean()) if len(vertices) else 0.0


__all__ = ["CREASE_DEGREES", "crease_share", "edge_bend_degrees", "overlap_share", "volume_ratio"]
