# STAND-IN: replaced by work/forms at merge
"""Rest display surfaces of the right-side muscles (stand-in: each cage subdivided and smoothed).

The real forms (label volume, rounded bellies and tendons) come from another branch; this stand-in
keeps the same signature so the binding and the scene can be developed against any closed surface
near its cage.
"""

from __future__ import annotations

import numpy as np

from viewer.anatomy.bones import Surface
from viewer.anatomy.muscles.binding import taubin
from viewer.anatomy.muscles.build import RightMuscle

FloatArray = np.ndarray
SUBDIVISIONS = 1
SMOOTHING = 15


def subdivide(vertices: FloatArray, faces: np.ndarray) -> tuple[FloatArray, np.ndarray]:
    """Split every triangle into four at its edge midpoints (shared midpoints once: stays closed)."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    unique, inverse = np.unique(edges, axis=0, return_inverse=True)
    middle = len(vertices) + inverse.reshape(3, -1).T  # (m, 3): midpoints of edges 01, 12, 20
    points = np.concatenate([vertices, vertices[unique].mean(axis=1)])
    a, b, c = faces.T
    ab, bc, ca = middle.T
    new = np.stack([np.stack(f, axis=1) for f in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))]).reshape(-1, 3)
    return points, new


def build_forms(built: list[RightMuscle], bones: dict[str, Surface]) -> dict[str, Surface]:
    """Rest display surfaces of the right-side muscles, keyed by spec name ("piriformis", ...)."""
    forms = {}
    for muscle in built:
        vertices, faces = np.asarray(muscle.vertices, float), np.asarray(muscle.faces, np.int64)
        for _ in range(SUBDIVISIONS):
            vertices, faces = subdivide(vertices, faces)
        forms[muscle.spec.name] = Surface(taubin(vertices, faces, SMOOTHING), faces)
    return forms
