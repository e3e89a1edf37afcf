"""The muscles' display forms at a pose: their cages posed by any muscle deformer, the forms carried along.

One place turns posed cages into posed forms, so every consumer of the scene (render, sections,
probe, skin enclosure, overlaps, techniques) sees the forms. All muscles of both sides are carried
by one block-diagonal sparse product; lengths still come from the cage fibres, untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sparse

from viewer.anatomy.kinematics import LegPose
from viewer.anatomy.muscles.posing import PosedMuscle
from viewer.anatomy.posed import Deformer

FloatArray = np.ndarray


class FormDeformer:
    """Wraps a cage deformer (pose space or solver): its posed cages become posed forms and fibre lines.

    Parameters
    ----------
    cages
        The deformer posing the cages (``MuscleGeometry.vertices``), e.g. :class:`~viewer.anatomy.pose_space.PoseSpace`.
    muscles
        The muscles by structure name; those with a ``form`` and ``binding`` are carried.
    """

    def __init__(self, cages: Deformer, muscles: Mapping) -> None:
        self.cages = cages
        self.names = [n for n, m in muscles.items() if m.form is not None and m.binding is not None]
        bound = [muscles[n] for n in self.names]
        self.rest_cage = _stack([m.vertices for m in bound])
        self.rest_form = _stack([m.form.vertices for m in bound])
        self.rest_lines = _stack([m.binding.fibre_lines.reshape(-1, 3) for m in bound])
        # one product per pose: [M | U] @ [d; V d] for all muscles at once (block-diagonal)
        self.basis = _blocks([sparse.csr_matrix(m.binding.basis) for m in bound])
        self.surface_map = sparse.hstack(
            [_blocks([m.binding.matrix for m in bound]), _blocks([m.binding.affine for m in bound])], format="csr"
        )
        self.line_map = sparse.hstack(
            [_blocks([m.binding.fibre_matrix for m in bound]), _blocks([m.binding.fibre_affine for m in bound])],
            format="csr",
        )
        self.form_rows = _offsets([len(m.form.vertices) for m in bound])
        self.line_rows = _offsets([m.binding.fibre_lines.shape[0] * m.binding.fibre_lines.shape[1] for m in bound])
        self.line_shapes = [m.binding.fibre_lines.shape for m in bound]

    def __getattr__(self, name: str):
        """Everything else (warm start, reset, grids...) is the cage deformer's."""
        if name == "cages":
            raise AttributeError(name)
        return getattr(self.cages, name)

    def pose(
        self, transforms: Mapping[str, FloatArray], poses: Mapping[str, LegPose] | None = None
    ) -> dict[str, PosedMuscle]:
        """Every muscle at the pose: form vertices, the cage fibres (lengths) and the fibre lines on the form."""
        posed = dict(self.cages.pose(transforms, poses))
        if not self.names:
            return posed
        moved = np.concatenate([posed[n].vertices for n in self.names]) - self.rest_cage
        augmented = np.concatenate([moved, self.basis @ moved])
        forms = self.rest_form + self.surface_map @ augmented
        lines = self.rest_lines + self.line_map @ augmented
        for k, name in enumerate(self.names):
            posed[name] = PosedMuscle(
                forms[self.form_rows[k] : self.form_rows[k + 1]],
                posed[name].fibres,
                lines[self.line_rows[k] : self.line_rows[k + 1]].reshape(self.line_shapes[k]),
            )
        return posed


def _stack(arrays: list[FloatArray]) -> FloatArray:
    return np.concatenate(arrays) if arrays else np.zeros((0, 3))


def _blocks(matrices: list) -> sparse.csr_matrix:
    return sparse.block_diag(matrices, format="csr") if matrices else sparse.csr_matrix((0, 0))


def _offsets(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
