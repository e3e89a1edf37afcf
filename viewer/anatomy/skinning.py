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

import numpy as np

from viewer.anatomy.bones import SIDES, Surface
from viewer.anatomy.kinematics import LegPose
from viewer.anatomy.posed import PosedShape
from viewer.types import FloatArray

BLEND_WIDTH_MM = 25.0  # how gradually the weight passes from pelvis to thigh


def thigh_weights(vertices: FloatArray, bones: dict[str, Surface]) -> dict[str, FloatArray]:
    """Per-vertex weight (0..1) of each thigh, from distances to the femur and the pelvic bones."""
    from scipy.spatial import cKDTree

    pelvis = np.vstack([bones[name].vertices for name in ("hip_bone_right", "hip_bone_left", "sacrum")])
    to_pelvis, _ = cKDTree(pelvis).query(vertices)
    weights = {}
    for side in SIDES:
        to_femur, _ = cKDTree(bones[f"femur_{side}"].vertices).query(vertices)
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
    """

    def __init__(
        self, name: str, rest: FloatArray, bones: dict[str, Surface], weights: dict[str, FloatArray] | None = None
    ) -> None:
        self.name = name
        self.rest = np.asarray(rest, dtype=float)
        if weights is None:
            weights = {f"thigh_{side}": w for side, w in thigh_weights(self.rest, bones).items()}
        self.weights = weights

    def pose(self, transforms: dict[str, FloatArray], poses: dict[str, LegPose] | None = None) -> dict[str, PosedShape]:
        """The surface carried by the segments (dual-quaternion blend, see :func:`dual_quaternion_blend`)."""
        # segments at rest move nothing; segments moved alike (a thigh and its straight shank) blend as one
        moved: list[tuple[FloatArray, FloatArray]] = []
        for segment, weight in self.weights.items():
            transform = transforms.get(segment)
            if transform is None or np.allclose(transform, np.eye(4), atol=1e-9):
                continue
            same = next((i for i, (t, _) in enumerate(moved) if np.allclose(t, transform, atol=1e-9)), None)
            if same is None:
                moved.append((transform, weight))
            else:
                moved[same] = (transform, moved[same][1] + weight)
        vertices = self.rest.copy()
        if moved:
            weights = np.column_stack([w for _, w in moved])
            carried = weights.sum(axis=1) > 1e-6  # vertices only the pelvis holds stay where they are
            vertices[carried] = dual_quaternion_blend(
                self.rest[carried], weights[carried], [t for t, _ in moved]
            )
        return {self.name: PosedShape(vertices)}


def dual_quaternion(transform: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Unit dual quaternion (real, dual parts, each (4,) as w, x, y, z) of a rigid 4x4 transform."""
    from scipy.spatial.transform import Rotation

    x, y, z, w = Rotation.from_matrix(transform[:3, :3]).as_quat()
    real = np.array([w, x, y, z])
    if w < 0:  # the hemisphere of the identity (the pelvis), so blends with it take the short way round
        real = -real
    t = transform[:3, 3]
    # dual = 0.5 * (0, t) * real
    dual = 0.5 * np.array([
        -t @ real[1:],
        *(real[0] * t + np.cross(t, real[1:])),
    ])
    return real, dual


def dual_quaternion_blend(rest: FloatArray, weights: FloatArray, transforms: list[FloatArray]) -> FloatArray:
    """Dual-quaternion skinning: rest (n, 3) moved by the per-vertex blend of rigid ``transforms``.

    ``weights`` (n, k) are the weights of the k transforms; the rest (one minus their sum) stays with the
    pelvis (the identity). Unlike a linear blend, which pulls a vertex shared by the pelvis and a thigh
    flexed 120 degrees halfway towards the hip centre, the blended rigid motion keeps its distance to the
    joint, so the buttock stays over the ischium in full flexion. Returns (n, 3).
    """
    parts = [dual_quaternion(t) for t in transforms]
    reals = np.array([p[0] for p in parts])  # (k, 4)
    duals = np.array([p[1] for p in parts])
    pelvis = np.clip(1.0 - weights.sum(axis=1), 0.0, None)
    real = weights @ reals
    real[:, 0] += pelvis
    dual = weights @ duals
    norm = np.linalg.norm(real, axis=1, keepdims=True)
    real /= norm
    dual /= norm
    w, v = real[:, :1], real[:, 1:]
    d0, dv = dual[:, :1], dual[:, 1:]
    turned = rest + 2.0 * np.cross(v, np.cross(v, rest) + w * rest)
    return turned + 2.0 * (w * dv - d0 * v + np.cross(v, dv))
