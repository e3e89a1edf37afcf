"""A broad fan's cage at a pose, solved as-rigid-as-possible so that its cells bend and bulge instead of folding.

A fan's cage is its (u, s) fibre sheet (the deep face) and a top face laid off it by the thickness, sample
by sample: offsets turned with the segments (or along the posed sheet frame), each fibre thickened by its
own shortening, the volume held, pushed out of bone. Over a fan 3 to 8 cm thick that shortens to half its
length and thickens two-fold, these per-sample choices disagree from one sample to the next, the top face
comes out lumpy and sheared, its cells collapse or turn over and the form bound to them creases. Here
every cell of the cage (the hexahedron between the two faces over one (u, s) grid cell) instead wants to
be its rest shape stretched along the fibre (evenly, as much as its fibres shortened or lengthened),
across it (as much as its deep face did) and through the thickness (the pose's thickening), then turned
as it best fits (a local rotation). Both faces are the least-squares compromise of all cells, the deep
face drawn to the posed sheet and both held at the attachments (the first and last sample of every fibre,
where the rounded ends of the form hang): one prefactored sparse solve per round, the as-rigid-as-possible
scheme of Sorkine and Alexa 2007 ("As-rigid-as-possible surface modeling", Symposium on Geometry
Processing). So a shortened belly bulges evenly. Drawn firmly to its sheet, it does not open a fold of the
sheet itself that is sharper than the belly is thick (the top face over it still turns over there); medius,
whose sheet folds over near its insertion (flexion 90 with abduction and rotation 45, the frog position), is
drawn lightly (``DEEP_PULLS``), so its cells round the fold (its form's largest bend in the frog position 177 -> 89
degrees).
The rotations are found by the quaternion iteration of Müller et al. 2016 ("A robust method to extract
the rotational part of deformations", Motion in Games), started from the rest orientation and carried from
round to round, so a cell that was laid off inside out is turned back the way it came rather than flipped.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sparse
from scipy.sparse.linalg import splu

from viewer.anatomy.muscles.binding import cell_corners
from viewer.types import FloatArray

SHELL_ROUNDS = 4  # local (rotations) / global (both faces) rounds per pose
ROTATION_STEPS = (8, 2)  # quaternion iterations in the first round and in each later (warm-started) round
DEEP_PULL = 1.0  # weight drawing each deep-face sample to the posed sheet, against the eight corners of a cell
# ... lighter for a fan whose sheet folds over (medius near its insertion at flexion 90, abduction 45, rotation 45 and
# in the frog position): its cells then unfold the deep face instead of following the sheet into the fold
DEEP_PULLS = {"gluteus_medius": 0.1}
ACROSS_RANGE = (0.5, 2.0)  # bounds of the across-fibre stretch a cell takes from its deep face


def _cell_frames(grid: FloatArray) -> FloatArray:
    """(n_cells, 3, 3) rows along the fibre, across it and normal of every cell of a (n_u, n_s, 3) grid."""
    along = 0.5 * (grid[:-1, 1:] - grid[:-1, :-1] + grid[1:, 1:] - grid[1:, :-1])
    across = 0.5 * (grid[1:, :-1] - grid[:-1, :-1] + grid[1:, 1:] - grid[:-1, 1:])
    along = along / (np.linalg.norm(along, axis=-1, keepdims=True) + 1e-12)
    normal = np.cross(across, along)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True) + 1e-12
    across = np.cross(along, normal)
    return np.stack([along, across, normal], axis=-2).reshape(-1, 3, 3)


def _across_lengths(grid: FloatArray) -> FloatArray:
    """(n_cells,) mean length of the two across-fibre edges of every cell of a (n_u, n_s, 3) grid."""
    across = np.linalg.norm(np.diff(grid, axis=0), axis=-1)
    return (0.5 * (across[:, :-1] + across[:, 1:])).ravel()


def quaternion_matrices(quaternions: FloatArray) -> FloatArray:
    """(n, 3, 3) rotation matrices of (n, 4) unit quaternions (w, x, y, z)."""
    w, x, y, z = quaternions.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=-2,
    )


def rotational_parts(matrices: FloatArray, quaternions: FloatArray, steps: int) -> FloatArray:
    """Refine (n, 4) unit quaternions towards the rotation that best matches each (n, 3, 3) matrix (a few steps
    follow a matrix that changed a little since the quaternions were found).

    The rotation R maximising trace(R^T A) (Müller et al. 2016): each step turns R about
    sum_i r_i x a_i (columns) by that vector's length over |sum_i r_i . a_i|; always a rotation, also
    for a matrix with a negative determinant (an inverted cell).
    """
    for _ in range(steps):
        products = np.matmul(quaternion_matrices(quaternions), matrices.transpose(0, 2, 1))  # R A^T
        turn = np.stack(  # sum over columns of r_i x a_i, read off the antisymmetric part of R A^T
            [
                products[:, 1, 2] - products[:, 2, 1],
                products[:, 2, 0] - products[:, 0, 2],
                products[:, 0, 1] - products[:, 1, 0],
            ],
            axis=1,
        )
        turn /= np.abs(np.trace(products, axis1=1, axis2=2))[:, None] + 1e-9
        angle = np.linalg.norm(turn, axis=1)
        axis = turn / np.maximum(angle, 1e-12)[:, None]
        half = 0.5 * angle[:, None]
        step = np.concatenate([np.cos(half), np.sin(half) * axis], axis=1)
        quaternions = _multiply(step, quaternions)
        quaternions /= np.linalg.norm(quaternions, axis=1, keepdims=True)
    return quaternions


def _multiply(p: FloatArray, q: FloatArray) -> FloatArray:
    """Hamilton products p q of (n, 4) quaternion arrays."""
    pw, pv = p[:, :1], p[:, 1:]
    qw, qv = q[:, :1], q[:, 1:]
    cross = np.stack(
        [
            pv[:, 1] * qv[:, 2] - pv[:, 2] * qv[:, 1],
            pv[:, 2] * qv[:, 0] - pv[:, 0] * qv[:, 2],
            pv[:, 0] * qv[:, 1] - pv[:, 1] * qv[:, 0],
        ],
        axis=1,
    )
    return np.concatenate([pw * qw - (pv * qv).sum(axis=1, keepdims=True), pw * qv + qw * pv + cross], axis=1)


class ElasticShell:
    """One fan's cage solved at a pose (see the module docstring).

    Parameters
    ----------
    lower, upper : (n_u, n_s, 3) float arrays
        The rest deep and top faces.
    deep_pull : float
        Weight drawing each deep-face sample to the posed sheet (``DEEP_PULLS`` by muscle).
    """

    def __init__(self, lower: FloatArray, upper: FloatArray, deep_pull: float = DEEP_PULL) -> None:
        n_u, n_s = lower.shape[:2]
        count = n_u * n_s
        self.shape = (n_u, n_s)
        self.corners = cell_corners(n_u, n_s)  # (n_cells, 8): deep face 0..count-1, top face count..2 count-1
        cage = np.concatenate([lower.reshape(-1, 3), upper.reshape(-1, 3)])
        cells = cage[self.corners]
        self.rest = cells - cells.mean(axis=1, keepdims=True)  # (n_cells, 8, 3) centred rest cells
        self.frames = _cell_frames(lower)
        self.rest_across = np.maximum(_across_lengths(lower), 1e-9)
        n_cells = len(self.corners)
        # centring: one row per (cell, corner), the corner minus its cell's mean
        rows = np.repeat(np.arange(8 * n_cells), 8)
        columns = np.repeat(self.corners, 8, axis=0).ravel()
        values = np.tile(np.eye(8) - 1.0 / 8.0, (n_cells, 1)).ravel()
        centring = sparse.csr_matrix((values, (rows, columns)), shape=(8 * n_cells, 2 * count))
        station = np.tile(np.arange(n_s), 2 * n_u)
        ends = (station == 0) | (station == n_s - 1)
        self.free, self.held = np.flatnonzero(~ends), np.flatnonzero(ends)
        self.centre_held, self.centre_free = centring[:, self.held].tocsr(), centring[:, self.free].tocsr()
        self.pull = np.where(self.free < count, deep_pull, 0.0)[:, None]
        system = self.centre_free.T @ self.centre_free + sparse.diags(self.pull[:, 0])
        self.factor = splu(system.tocsc())
        self.free_transposed = self.centre_free.T.tocsr()

    def pose(self, lower: FloatArray, upper: FloatArray, along: FloatArray, thickness: FloatArray) -> FloatArray:
        """Both faces, (2 n_u n_s, 3) (deep face first), for the posed sheet ``lower`` and a first guess of the top.

        Parameters
        ----------
        lower, upper : (n_u * n_s, 3) float arrays
            The posed sheet (the deep face as laid off) and the top face as laid off.
        along : (n_u,) float array
            Each fibre's posed length over its rest length: its cells shorten or lengthen evenly.
        thickness : (n_u * n_s,) float array
            The thickening wanted at every sample.
        """
        n_u, n_s = self.shape
        stretch = np.stack(
            [
                np.repeat(0.5 * (along[:-1] + along[1:]), n_s - 1),
                np.clip(_across_lengths(lower.reshape(n_u, n_s, 3)) / self.rest_across, *ACROSS_RANGE),
                thickness[self.corners[:, :4]].mean(axis=1),
            ],
            axis=1,
        )
        # each rest cell stretched in its own frame (along, across, normal): rows (8, 3) per cell
        maps = np.matmul(self.frames.transpose(0, 2, 1) * stretch[:, None, :], self.frames)
        targets = np.matmul(self.rest, maps)
        cage = np.concatenate([lower, upper])
        held = self.centre_held @ cage[self.held]
        pulled = self.pull * cage[self.free]
        quaternions = np.tile([1.0, 0.0, 0.0, 0.0], (len(targets), 1))  # from the rest orientation
        for round_ in range(SHELL_ROUNDS):
            cells = cage[self.corners]
            current = cells - cells.mean(axis=1, keepdims=True)
            covariance = np.matmul(current.transpose(0, 2, 1), targets)  # sum over corners of current x target
            steps = ROTATION_STEPS[0] if round_ == 0 else ROTATION_STEPS[1]
            quaternions = rotational_parts(covariance, quaternions, steps)
            wanted = np.matmul(targets, quaternion_matrices(quaternions).transpose(0, 2, 1)).reshape(-1, 3)
            cage[self.free] = self.factor.solve(self.free_transposed @ (wanted - held) + pulled)
        return cage
