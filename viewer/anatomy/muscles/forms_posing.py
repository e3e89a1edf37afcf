"""The muscles' display forms at a pose: their cages posed by any muscle deformer, the forms carried along.

One place turns posed cages into posed forms, so every consumer of the scene (render, sections,
probe, skin enclosure, overlaps, techniques) sees the forms. All muscles of both sides are carried
by one block-diagonal sparse product; lengths still come from the cage fibres, untouched.

A cage holds its volume (the pose space thickens it), but a form bound to a folded cage can still
lose some. When the deformer is made, every form is posed at the PROBE_POSES (the corners of the
joint ranges and the therapist positions); the forms that stray there more than HOLD_TOLERANCE
from their rest volume are measured at every pose and thickened back away from their anchors on the
cage by one secant step, as the pose space settles its cages (measuring every form at every pose
would cost more than carrying them).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sparse

from viewer.anatomy.bones import SIDES, load_landmarks
from viewer.anatomy.geometry import signed_volume
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.muscles.binding import Binding
from viewer.anatomy.muscles.posing import PosedMuscle
from viewer.anatomy.posed import Deformer
from viewer.types import FloatArray

HOLD_TOLERANCE = 0.05  # a form whose volume strays more than this share from rest is thickened or thinned
HOLD_PROBE = 1.1  # thickening used to measure a form's volume response
HOLD_RANGE = (0.67, 1.5)  # how far holding may thicken or thin a form
PROBE_POSES = [
    LegPose(hip_flexion=flexion, hip_abduction=abduction, hip_rotation=rotation)
    for flexion in (-20, 120)
    for abduction in (-30, 45)
    for rotation in (-45, 45)
] + [
    LegPose(hip_flexion=90, knee_flexion=90),
    LegPose(hip_flexion=45, hip_abduction=40, hip_rotation=20, knee_flexion=90),  # frog
    LegPose(hip_flexion=10, hip_abduction=-25, hip_rotation=-35),  # external rotation with adduction
    LegPose(knee_flexion=90, hip_rotation=40),  # prone, knee 90, internal rotation
]


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
        # one product per pose: [M | U] @ [d; V d] for all muscles at once (block-diagonal, float32: ample for mm)
        self.basis = _blocks([sparse.csr_matrix(m.binding.basis) for m in bound]).astype(np.float32)
        self.surface_map = sparse.hstack(
            [_blocks([m.binding.matrix for m in bound]), _blocks([m.binding.affine for m in bound])], format="csr"
        ).astype(np.float32)
        self.form_rows = _offsets([len(m.form.vertices) for m in bound])
        self.cage_rows = _offsets([len(m.vertices) for m in bound])
        self.bindings: list[Binding] = [m.binding for m in bound]
        self.faces = [m.form.faces for m in bound]
        self.rest_volumes = [signed_volume(m.form.vertices, m.form.faces) for m in bound]
        self.held: set[int] = set()
        self.held = self._straying(PROBE_POSES) if bound else set()

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
        cages = np.concatenate([posed[n].vertices for n in self.names])
        moved = (cages - self.rest_cage).astype(np.float32)
        forms = self.rest_form + self.surface_map @ np.concatenate([moved, self.basis @ moved])
        for k, name in enumerate(self.names):
            form = forms[self.form_rows[k] : self.form_rows[k + 1]]
            rows = slice(self.cage_rows[k], self.cage_rows[k + 1])
            if k in self.held and moved[rows].any():  # a muscle of a leg at rest keeps its rest volume
                form = self._hold(k, form, cages[rows])
            posed[name] = PosedMuscle(form, posed[name].fibres, self.bindings[k].posed_fibre_lines(form))
        return posed

    def _straying(self, probes: list[LegPose]) -> set[int]:
        """The forms whose carried volume strays more than HOLD_TOLERANCE at any probe pose (both legs posed)."""
        landmarks = load_landmarks()
        straying = set()
        for pose in probes:
            legs = dict.fromkeys(SIDES, pose)
            posed = self.pose(segment_transforms(legs, landmarks), legs)
            for k, name in enumerate(self.names):
                if abs(signed_volume(posed[name].vertices, self.faces[k]) / self.rest_volumes[k] - 1) > HOLD_TOLERANCE:
                    straying.add(k)
        reset = getattr(self.cages, "reset", None)
        if reset is not None:  # a warm-starting solver begins from anatomical position, as if never probed
            reset()
        return straying

    def _hold(self, k: int, form: FloatArray, cage: FloatArray) -> FloatArray:
        """The form thickened or thinned to its rest volume if it strayed (one secant step), else as it is."""
        rest, faces = self.rest_volumes[k], self.faces[k]
        volume = enclosed_volume(form, faces)
        if abs(volume / rest - 1.0) <= HOLD_TOLERANCE:
            return form
        anchors = self.bindings[k].anchor_matrix @ cage
        gain = enclosed_volume(Binding.thickened(form, anchors, HOLD_PROBE), faces) - volume
        if gain <= 0:  # a fold answers thickening by losing volume: leave it
            return form
        factor = float(np.clip(1.0 + (HOLD_PROBE - 1.0) * (rest - volume) / gain, *HOLD_RANGE))
        return Binding.thickened(form, anchors, factor)


def enclosed_volume(vertices: FloatArray, faces: np.ndarray) -> float:
    """:func:`~viewer.anatomy.geometry.signed_volume` written out per coordinate (np.cross costs more per frame)."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return float(
        (
            a[:, 0] * (b[:, 1] * c[:, 2] - b[:, 2] * c[:, 1])
            + a[:, 1] * (b[:, 2] * c[:, 0] - b[:, 0] * c[:, 2])
            + a[:, 2] * (b[:, 0] * c[:, 1] - b[:, 1] * c[:, 0])
        ).sum()
        / 6.0
    )


def _stack(arrays: list[FloatArray]) -> FloatArray:
    return np.concatenate(arrays) if arrays else np.zeros((0, 3))


def _blocks(matrices: list) -> sparse.csr_matrix:
    return sparse.block_diag(matrices, format="csr") if matrices else sparse.csr_matrix((0, 0))


def _offsets(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
