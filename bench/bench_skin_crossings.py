"""Where the posed skin passes through itself: crossing triangle pairs of both bodies at the therapist positions.

Usage: PYTHONPATH=. python bench/bench_skin_crossings.py [female|male ...]  (from the checkout root)
Poses each body's skin as the scene does (dual-quaternion skinning plus its pose correctives and the thighs' contact; the right leg moves)
and prints, per pose, the pairs of triangles that pass through each other (:func:`geometry.self_crossings`), split by
where the first face of the pair lies on the rest skin: the perineum (within 40 mm of the midline, below the pubic
symphysis), the inner thigh (the rest of the medial half between the thighs), the knee (below 100 mm above the
epicondyles' mean height) and elsewhere.
"""

from __future__ import annotations

import sys

import numpy as np

from viewer.anatomy.body_skin import BODIES
from viewer.anatomy.bones import load_landmarks
from viewer.anatomy.geometry import self_crossings
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.muscles.form_metrics import MOTION_POSES
from viewer.anatomy.skin import load_skin_asset
from viewer.anatomy.skin_contact import ThighContact
from viewer.anatomy.skin_correctives import load_correctives
from viewer.anatomy.skinning import SkinDeformer

POSES = {
    "rest": LegPose(),
    **MOTION_POSES,
    "flexion 90 abduction 45": LegPose(hip_flexion=90, hip_abduction=45),
    "flexion 90 abduction 45 knee 90": LegPose(hip_flexion=90, hip_abduction=45, knee_flexion=90),
    "flexion 120": LegPose(hip_flexion=120),
}


def regions(rest: np.ndarray, faces: np.ndarray, landmarks: dict) -> dict[str, np.ndarray]:
    """(m,) bool per region of the rest skin's faces (by their centres)."""
    centre = rest[faces].mean(axis=1)
    knee = np.mean([landmarks[f"{n}_epicondyle_{s}"][1] for n in ("lateral", "medial") for s in ("right", "left")])
    pubis = landmarks["pubic_symphysis"][1]
    knee_region = centre[:, 1] < knee + 100.0
    perineum = ~knee_region & (np.abs(centre[:, 2]) < 40.0) & (centre[:, 1] < pubis)
    inner = ~knee_region & ~perineum & (np.abs(centre[:, 2]) < 85.0) & (centre[:, 1] < pubis)
    return {
        "perineum": perineum,
        "inner thigh": inner,
        "knee": knee_region,
        "elsewhere": ~(perineum | inner | knee_region),
    }


def main(argv: list[str]) -> None:
    landmarks = load_landmarks()
    for body in argv or BODIES:
        asset = load_skin_asset(body)
        faces = asset.surface.faces
        contact = ThighContact(asset.surface.vertices, asset.surface.faces, asset.weights, landmarks)
        deformer = SkinDeformer("skin", asset.surface.vertices, {}, asset.weights, load_correctives(body), contact)
        where = regions(asset.surface.vertices, faces, landmarks)
        print(f"{body}: {'pose':<34}{'pairs':>7}" + "".join(f"{name:>13}" for name in where))
        for label, pose in POSES.items():
            legs = {"right": pose, "left": LegPose()}
            posed = deformer.pose(segment_transforms(legs, landmarks), legs)["skin"].vertices
            pairs = self_crossings(posed, faces)
            counts = [int((mask[pairs[:, 0]] | mask[pairs[:, 1]]).sum()) for mask in where.values()]
            print(f"{'':<8}{label:<34}{len(pairs):>7}" + "".join(f"{c:>13}" for c in counts))


if __name__ == "__main__":
    main(sys.argv[1:])
