"""How far posed muscle forms stand out of the posed skins, at the poses the skin's enclosure tests check hardest.

Usage: PYTHONPATH=. python bench/bench_skin_cover.py [muscle ...] [--solver]  (from the checkout root)
Poses the right side's forms as the scene does (the baked pose space when it is current, else the solver; ``--solver``
forces the solver) and each body's skin with its committed correctives, and prints per muscle and pose: the form's
volume over rest, its share of edges bending over 40 degrees, and per body the number of its vertices outside the
skin when grown 2 mm along their normals (the posed enclosure tests' growth) and the farthest a vertex lies outside
(mm, to the nearest skin vertex). A form changed without the correctives rebuilt over it shows here how much the
correctives will have to lift: the skin tests then read the rebuilt table.
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.spatial import cKDTree

from viewer.anatomy.body_skin import BODIES
from viewer.anatomy.bones import Surface, load_landmarks
from viewer.anatomy.geometry import vertex_normals
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.muscles import MusclePoser, build_muscles
from viewer.anatomy.muscles.form_metrics import crease_share, volume_ratio
from viewer.anatomy.muscles.forms_posing import FormDeformer
from viewer.anatomy.skin import inside, load_skin_asset
from viewer.anatomy.skin_correctives import load_correctives
from viewer.anatomy.skinning import SkinDeformer
from viewer.model.structure_builders import muscle_deformer

GROWTH_MM = 2.0  # the posed enclosure tests' growth (tests/test_skin.py: 3 mm less a 1 mm tolerance)
POSES = {  # hip flexion / abduction / rotation (knee): the worst grid nodes, full flexion, between the nodes
    "90/45/45": LegPose(hip_flexion=90, hip_abduction=45, hip_rotation=45),
    "flexion 90 knee 90": LegPose(hip_flexion=90, knee_flexion=90),
    "frog": LegPose(hip_flexion=45, hip_abduction=40, hip_rotation=20, knee_flexion=90),
    "120/0/0": LegPose(hip_flexion=120),
    "120/45/45": LegPose(hip_flexion=120, hip_abduction=45, hip_rotation=45),
    "100/20/20": LegPose(hip_flexion=100, hip_abduction=20, hip_rotation=20),
    "105/-15/45": LegPose(hip_flexion=105, hip_abduction=-15, hip_rotation=45),
}


def outside(form: np.ndarray, faces: np.ndarray, skin: Surface) -> tuple[int, float]:
    """Vertices of a form (n, 3) outside the skin when grown GROWTH_MM, and the farthest one outside (mm)."""
    grown = form + GROWTH_MM * vertex_normals(form, faces)
    out = ~inside(form, skin)
    distance = cKDTree(skin.vertices).query(form[out])[0] if out.any() else np.zeros(1)
    return int((~inside(grown, skin)).sum()), float(distance.max())


def main(argv: list[str]) -> None:
    wanted = [a for a in argv if not a.startswith("--")] or ["tensor_fasciae_latae"]
    muscles = build_muscles()
    deformer = FormDeformer(MusclePoser(muscles), muscles) if "--solver" in argv else muscle_deformer(muscles)
    names = [n for n in muscles if n.endswith("_right") and any(w in n for w in wanted)]
    skins = {}
    for body in BODIES:
        asset = load_skin_asset(body)
        skins[body] = (
            asset.surface.faces,
            SkinDeformer("skin", asset.surface.vertices, {}, asset.weights, load_correctives(body)),
        )
    landmarks = load_landmarks()
    print(
        f"{'muscle':<24}{'pose':<20}{'volume':>7}{'crease':>8}" + "".join(f"{b + ' out':>13}{'mm':>6}" for b in skins)
    )
    for label, pose in POSES.items():
        legs = {"right": pose, "left": LegPose()}
        moves = segment_transforms(legs, landmarks)
        posed = deformer.pose(moves, legs)
        bodies = {b: Surface(d.pose(moves, legs)["skin"].vertices, faces) for b, (faces, d) in skins.items()}
        for name in names:
            form, faces = posed[name].vertices, muscles[name].form.faces
            line = f"{name.removesuffix('_right'):<24}{label:<20}"
            line += f"{volume_ratio(muscles[name].form.vertices, form, faces):>7.3f}{crease_share(form, faces):>8.2%}"
            for skin in bodies.values():
                count, farthest = outside(form, faces, skin)
                line += f"{count:>13}{farthest:>6.1f}"
            print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
