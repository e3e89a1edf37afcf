"""Let the skin follow the thighs: dual-quaternion blend skinning.

The skin is built once in anatomical position with per-vertex weights for each
thigh and shank (the MakeHuman rig's, or from how much nearer a vertex lies to
that femur than to the pelvis), so flexing or rotating a leg carries the
buttock and thigh surface with it instead of leaving the femur poking out. The
segments' rigid motions are blended as dual quaternions rather than as
matrices: a vertex shared by the pelvis and a thigh flexed 120 degrees keeps
its distance from the hip instead of collapsing halfway towards it, so the
buttock stays over the ischium and gluteus maximus in full flexion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from viewer.anatomy.bones import SIDES, Surface
from viewer.anatomy.geometry import cross
from viewer.anatomy.kinematics import LegPose, segment_bones
from viewer.anatomy.leg_memo import LegMemo
from viewer.anatomy.posed import PosedShape
from viewer.types import FloatArray

if TYPE_CHECKING:
    from viewer.anatomy.skin_contact import ThighContact
    from viewer.anatomy.skin_correctives import SkinCorrectives

BLEND_WIDTH_MM = 25.0  # how gradually the weight passes from pelvis to thigh


def thigh_weights(vertices: FloatArray, bones: dict[str, Surface]) -> dict[str, FloatArray]:
    """Per-vertex weight (0..1) of each thigh, from distances to the femur and the pelvic bones."""
    from scipy.spatial import cKDTree

    pelvis_bones = dict.fromkeys(name for side in SIDES for name in segment_bones("pelvis", side))
    pelvis = np.vstack([bones[name].vertices for name in pelvis_bones])
    to_pelvis, _ = cKDTree(pelvis).query(vertices)
    weights = {}
    for side in SIDES:
        (femur,) = segment_bones("thigh", side)
        to_femur, _ = cKDTree(bones[femur].vertices).query(vertices)
        weights[side] = 1.0 / (1.0 + np.exp(-(to_pelvis - to_femur) / (BLEND_WIDTH_MM / 4)))
    total = weights["right"] + weights["left"]
    over = total > 1.0  # a vertex cannot belong to both thighs more than fully
    for side in SIDES:
        weights[side][over] /= total[over]
    return weights


class SkinDeformer:
    """Poses one skin-like surface (``name``) from the segment transforms (dual-quaternion skinning).

    ``weights`` maps segment names (``thigh_right``, ``shank_left``, ...) to
    per-vertex weights; the pelvis takes the rest. Without them each thigh's
    weight comes from the distances to the bones (:func:`thigh_weights`).
    ``correctives`` (:class:`~viewer.anatomy.skin_correctives.SkinCorrectives`),
    when given, reshape the rest surface by the hip angles before it is skinned; ``contact``
    (:class:`~viewer.anatomy.skin_contact.ThighContact`), when given, presses the skinned thighs flat
    against each other where they meet.
    """

    def __init__(
        self,
        name: str,
        rest: FloatArray,
        bones: dict[str, Surface],
        weights: dict[str, FloatArray] | None = None,
        correctives: SkinCorrectives | None = None,
        contact: ThighContact | None = None,
    ) -> None:
        self.name = name
        self.contact = contact
        self.rest = np.asarray(rest, dtype=float)
        self.correctives = correctives
        if weights is None:
            weights = {f"thigh_{side}": w for side, w in thigh_weights(self.rest, bones).items()}
        self.weights = weights
        self._segments = list(weights)
        self._weight_rows = np.array([weights[s] for s in self._segments])  # (segments, n)
        self._holds = self._weight_rows > 1e-6  # which vertices each segment moves at all
        self._rest_rows = np.ascontiguousarray(self.rest.T)  # (3, n)
        self._latest_offsets: LegMemo[tuple | None] = LegMemo()  # by side: hip angles as last time, the correction

    def pose(self, transforms: dict[str, FloatArray], poses: dict[str, LegPose] | None = None) -> dict[str, PosedShape]:
        """The surface carried by the segments (dual-quaternion blend, see :func:`dual_quaternion_blend`)."""
        # segments at rest move nothing; segments moved alike (a thigh and its straight shank) blend as one
        moved: list[FloatArray] = []
        groups = np.zeros((len(self._segments), len(self._segments)))  # segment -> moved group
        for index, segment in enumerate(self._segments):
            transform = transforms.get(segment)
            if transform is None or _same(transform, np.eye(4)):
                continue
            group = next((i for i, t in enumerate(moved) if _same(t, transform)), len(moved))
            if group == len(moved):
                moved.append(transform)
            groups[index, group] = 1.0
        rest_rows = self._rest_rows
        corrections = [self._leg_offsets(side, pose) for side, pose in (poses or {}).items()]
        corrections = [leg for leg in corrections if leg is not None]
        if corrections:  # pose-space correction of the rest shape, then skinned like it
            rest_rows = rest_rows.copy()
            for rows, offsets in corrections:
                rest_rows[:, rows] += offsets.T
        if not moved:
            return {self.name: PosedShape(np.ascontiguousarray(rest_rows.T))}
        carried = self._holds[groups.any(axis=1)].any(axis=0)  # the others stay with the pelvis
        weights = groups[:, : len(moved)].T @ self._weight_rows
        if carried.mean() > 0.8:  # most of the skin: blend it all, no gather or scatter (weight 0 moves nothing)
            vertices = np.ascontiguousarray(_blend_rows(rest_rows, weights, moved).T)
        else:
            vertices = np.ascontiguousarray(rest_rows.T)
            vertices[carried] = _blend_rows(rest_rows[:, carried], weights[:, carried], moved).T
        if self.contact is not None:
            self.contact.apply(vertices, transforms)
        return {self.name: PosedShape(vertices)}

    def _leg_offsets(self, side: str, pose: LegPose) -> tuple[np.ndarray, FloatArray] | None:
        """One leg's pose correction (skin rows, (m, 3) offsets), or None; a leg at the same hip and knee angles as
        in the previous pose reuses its correction."""
        if self.correctives is None:
            return None
        correctives = self.correctives
        angles = (pose.hip_flexion, pose.hip_abduction, pose.hip_rotation, pose.knee_flexion)
        return self._latest_offsets.get(side, angles, lambda: correctives.leg_offsets(side, pose))


def _same(a: FloatArray, b: FloatArray) -> bool:
    return bool(np.abs(a - b).max() < 1e-9)


def rotation_quaternion(rotation: FloatArray) -> FloatArray:
    """Unit quaternion (w, x, y, z), w >= 0, of a 3x3 rotation matrix (Shepperd's method: the largest pivot)."""
    r = rotation
    trace = np.trace(r)
    pivot = int(np.argmax([trace, r[0, 0], r[1, 1], r[2, 2]]))
    if pivot == 0:
        s = 2.0 * np.sqrt(1.0 + trace)
        q = np.array([s / 4, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s])
    else:
        i, j, k = pivot - 1, pivot % 3, (pivot + 1) % 3
        s = 2.0 * np.sqrt(1.0 + r[i, i] - r[j, j] - r[k, k])
        q = np.empty(4)
        q[0] = (r[k, j] - r[j, k]) / s
        q[1 + i] = s / 4
        q[1 + j] = (r[j, i] + r[i, j]) / s
        q[1 + k] = (r[k, i] + r[i, k]) / s
    return -q if q[0] < 0 else q


def dual_quaternion(transform: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Unit dual quaternion (real, dual parts, each (4,) as w, x, y, z) of a rigid 4x4 transform.

    The real part lies in the identity's (the pelvis's) hemisphere, so blends with it take the short way round.
    """
    real = rotation_quaternion(transform[:3, :3])
    t = transform[:3, 3]
    dual = 0.5 * np.concatenate([[-t @ real[1:]], real[0] * t + np.cross(t, real[1:])])  # (0, t) * real / 2
    return real, dual


def dual_quaternion_blend(rest: FloatArray, weights: FloatArray, transforms: list[FloatArray]) -> FloatArray:
    """Dual-quaternion skinning: rest (n, 3) moved by the per-vertex blend of rigid ``transforms``.

    ``weights`` (n, k) are the weights of the k transforms; the rest (one minus their sum) stays with the
    pelvis (the identity). Unlike a linear blend, which pulls a vertex shared by the pelvis and a thigh
    flexed 120 degrees halfway towards the hip centre, the blended rigid motion keeps its distance to the
    joint, so the buttock stays over the ischium in full flexion. Returns (n, 3).
    """
    return _blend_rows(np.ascontiguousarray(rest.T), np.ascontiguousarray(weights.T), transforms).T


def _blend_rows(rest: FloatArray, weights: FloatArray, transforms: list[FloatArray]) -> FloatArray:
    """:func:`dual_quaternion_blend` on coordinate rows: rest (3, n), weights (k, n) -> (3, n).

    Rows keep every elementwise step on contiguous memory (the skin is posed on every frame of a motion).
    """
    parts = [dual_quaternion(t) for t in transforms]
    real = np.array([p[0] for p in parts]).T @ weights  # (4, n)
    dual = np.array([p[1] for p in parts]).T @ weights
    real[0] += np.clip(1.0 - weights.sum(axis=0), 0.0, None)  # the pelvis: the identity (1, 0, 0, 0)
    scale = 1.0 / np.sqrt((real * real).sum(axis=0))
    real *= scale
    dual *= scale
    w, v = real[0], real[1:]
    twist = cross(v, rest, axis=0)
    twist += w * rest
    moved = rest + 2.0 * cross(v, twist, axis=0)
    moved += 2.0 * (w * dual[1:] - dual[0] * v + cross(v, dual[1:], axis=0))
    return moved
