"""Creases a strained cage prints on the broad gluteal fans, smoothed away at a pose where they appear.

A form is carried by its cage with a smooth displacement (:mod:`viewer.anatomy.muscles.binding`), but where
the cage is squeezed, sheared or folded (gluteus maximus' deep face wrapping the ischial tuberosity at
flexion 90, medius' and minimus' bellies bunched by flexion with abduction) the small bumps of the rest
surface are squeezed sideways while the muscle thickens: their slopes grow, and the cells' piecewise maps
kink. The form wrinkles: at flexion 90 with abduction 45 and rotation 45, 3% of medius' and 6% of minimus'
edges bent more than 40 degrees, most of them flat at rest. Smoothing the displacement more when binding is
linear and cannot tell a squeeze from a rest bump (16 Taubin passes instead of 4 left these shares as they were).

So at a pose the carried forms are looked at: a vertex whose umbrella Laplacian (its offset from the mean of
its neighbours, in units of its mean edge length) grew by more than BEND_GROWTH over its rest value lies on a
new crease; it and a ring around it are smoothed in place by a few Taubin passes (which keep the volume), the
weight fading over the ring. A form at rest, or moved rigidly, has its rest Laplacians and is not touched.
All relaxed forms of a leg are looked at with one sparse product, and only the creased rows are smoothed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sparse

from viewer.anatomy.geometry import length
from viewer.anatomy.muscles.binding import TAUBIN, umbrella_operator
from viewer.types import FloatArray, IntArray

RELAXED = ("gluteus_maximus", "gluteus_medius", "gluteus_minimus")  # forms whose creases are smoothed at a pose
BEND_GROWTH = 0.05  # a vertex's Laplacian grew by this share of its mean edge length: on a crease (fully at twice)
RING = 2  # umbrella steps widening the smoothed region around a crease
PASSES = 6  # Taubin pairs smoothing it


class CreaseRelax:
    """Smooths away, at a pose, the creases on some of one leg's carried forms (see the module docstring).

    Parameters
    ----------
    rows : sequence of int arrays
        Per relaxed form, its rows in the leg's stacked forms.
    rest_forms : sequence of (n_k, 3) float arrays
        Those forms at rest.
    faces : sequence of (m_k, 3) int arrays
        Their triangles, indexing each form's own vertices.
    """

    def __init__(self, rows: Sequence[IntArray], rest_forms: Sequence[FloatArray], faces: Sequence[IntArray]) -> None:
        self.rows = np.concatenate([np.asarray(r, np.int64) for r in rows])
        self.mean = sparse.block_diag(
            [umbrella_operator(np.asarray(f, np.int64), len(v)) for v, f in zip(rest_forms, faces, strict=True)],
            format="csr",
        )
        rest = np.concatenate([np.asarray(v, float) for v in rest_forms])
        self.edge_mm = np.concatenate(
            [
                _mean_edge_lengths(np.asarray(v, float), np.asarray(f, np.int64))
                for v, f in zip(rest_forms, faces, strict=True)
            ]
        )
        self.rest_bend = self._bend(rest)

    def _bend(self, vertices: FloatArray) -> FloatArray:
        """(n,) each vertex's offset from its neighbours' mean, in its rest mean edge lengths."""
        return length(self.mean @ vertices - vertices) / self.edge_mm

    def apply(self, forms: FloatArray) -> None:
        """Smooth, in place, the creases of the relaxed forms among the leg's stacked ``forms`` (n, 3)."""
        points = forms[self.rows]
        growth = self._bend(points) - self.rest_bend
        weight = np.clip(growth / BEND_GROWTH - 1.0, 0.0, 1.0)
        if not weight.any():
            return
        for _ in range(RING):
            weight = np.minimum(1.0, 2.0 * (self.mean @ weight))
        active = np.flatnonzero(weight > 0)
        mean, weight = self.mean[active], weight[active, None]
        for _ in range(PASSES):
            for factor in TAUBIN:
                points[active] += factor * weight * (mean @ points - points[active])
        forms[self.rows] = points


def _mean_edge_lengths(vertices: FloatArray, faces: IntArray) -> FloatArray:
    """(n,) mean length of the edges at each vertex (each edge counted once per triangle it borders)."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    lengths = length(vertices[edges[:, 0]] - vertices[edges[:, 1]])
    total = np.bincount(edges.ravel(), np.repeat(lengths, 2), minlength=len(vertices))
    return total / np.maximum(np.bincount(edges.ravel(), minlength=len(vertices)), 1)
