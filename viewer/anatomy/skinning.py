"""Let the skin follow the thighs: linear blend skinning by distance to the bones.

The skin is built once in anatomical position. Each skin vertex gets a weight
for its thigh from how much nearer it lies to that femur than to the pelvis,
with a smooth blend around the hip, so flexing or rotating a leg carries the
buttock and thigh surface with it instead of leaving the femur poking out.
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
    """Poses one skin-like surface (``name``) from the segment transforms (linear blend skinning).

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
        self._homogeneous = np.hstack([self.rest, np.ones((len(self.rest), 1))])

    def pose(self, transforms: dict[str, FloatArray], poses: dict[str, LegPose] | None = None) -> dict[str, PosedShape]:
        vertices = self.rest.copy()
        for segment, weight in self.weights.items():
            if segment not in transforms:
                continue
            moved = self._homogeneous @ transforms[segment][:3].T
            vertices += weight[:, None] * (moved - self.rest)
        return {self.name: PosedShape(vertices)}
