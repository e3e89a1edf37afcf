"""Shape report of the posed muscle display forms at the therapist positions (right side).

Usage: PYTHONPATH=. python bench/bench_posed_forms.py [muscle ...]  (from the checkout root)
Poses the forms as the scene does (the baked pose space when it is current, else the solver) at each of
``form_metrics.MOTION_POSES`` and prints, per muscle and pose: the share of edges bending over 40 degrees
(the limit is 1%), the largest bend, the volume over rest and the share of the form deeper than 2 mm in a bone.
Pass ``--solver`` to pose with the solver instead of the pose space.
"""

from __future__ import annotations

import sys

import numpy as np

from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import dihedral_degrees
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.muscles import MusclePoser, build_muscles
from viewer.anatomy.muscles.form_metrics import IN_BONE_MM, MOTION_POSES, bone_depths, crease_share, volume_ratio
from viewer.anatomy.muscles.forms_posing import FormDeformer
from viewer.anatomy.muscles.pose_grids import load_pose_grids
from viewer.model.structure_builders import muscle_deformer


def main(argv: list[str]) -> None:
    solver = "--solver" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    muscles = build_muscles()
    deformer = FormDeformer(MusclePoser(muscles), muscles) if solver else muscle_deformer(muscles)
    grids, landmarks = load_pose_grids(load_bone_surfaces()), load_landmarks()
    names = [n for n in muscles if n.endswith("_right") and (not wanted or any(w in n for w in wanted))]
    print(f"{'muscle':<26}{'pose':<34}{'crease':>8}{'bend':>7}{'volume':>8}{'in bone':>9}")
    for label, pose in MOTION_POSES.items():
        legs = {"right": pose, "left": LegPose()}
        moves = segment_transforms(legs, landmarks)
        posed = {n: p.vertices for n, p in deformer.pose(moves, legs).items() if n in names}
        depths = bone_depths(posed, grids, "right", moves["thigh_right"], moves["shank_right"])
        for name in names:
            faces = muscles[name].form.faces
            print(
                f"{name.removesuffix('_right'):<26}{label:<34}"
                f"{crease_share(posed[name], faces):>8.2%}{dihedral_degrees(posed[name], faces).max():>7.0f}"
                f"{volume_ratio(muscles[name].form.vertices, posed[name], faces):>8.3f}"
                f"{float(np.mean(depths[name] > IN_BONE_MM)):>9.2%}"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
