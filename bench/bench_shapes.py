"""Shape report of the right-side muscle forms, at rest and in motion (issue 15).

Usage: python bench/bench_shapes.py [--quick] [--timing N]

Per muscle: the share of form edges bending more than 40 degrees at rest and the worst share over
the pose grid and the therapist positions (with the pose it happens at), the volume ratio worst/rest
(posed volume over rest volume, the one farthest from 1), the share of vertices inside another muscle
at rest (sampled; no tolerance, so vertices on a shared boundary count about half: bench_forms.py counts with
form_metrics.INSIDE_TOLERANCE_MM), the share more than BONE_TOLERANCE_MM inside a bone at the worst pose, and the attachment distance (the
largest, over the two ends, of the smallest distance from the form's end vertices to bone).
Then the time to pose every muscle of both sides: the cages alone (pose space) and the forms carried
by them (what the scene does).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's viewer, not an installed one

from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.muscles import build_muscles
from viewer.anatomy.muscles.form_metrics import crease_share, overlap_share, volume_ratio
from viewer.anatomy.muscles.forms_posing import FormDeformer
from viewer.anatomy.muscles.pose_grids import load_pose_grids
from viewer.model.structure_builders import cage_deformer
from viewer.paths import annotations_dir

GRID = {"hip_flexion": (-20, 0, 30, 60, 90, 120), "hip_abduction": (-30, 0, 45), "hip_rotation": (-45, 0, 45)}
QUICK_GRID = {"hip_flexion": (0, 90), "hip_abduction": (0,), "hip_rotation": (-45, 45)}
OVERLAP_SAMPLES = 400  # vertices per muscle tested against the other muscles (winding numbers are costly)
BONE_TOLERANCE_MM = 1.0  # the obstacle grids' interpolation error: what the cages' own bone test allows too
END_FRACTION = 0.02  # along-fibre fraction, from the form's own first and last, counted as its origin or insertion end


def therapist_positions() -> dict[str, LegPose]:
    """The last keyframe of every position in actions.json, the extremes of every movement, and flexion 90 knee 90."""
    document = json.loads((annotations_dir() / "actions.json").read_text(encoding="utf-8"))
    poses = {"flexion 90, knee 90": LegPose(hip_flexion=90, knee_flexion=90)}
    for action in document["actions"]:
        for number, frame in enumerate(action["keyframes"]):
            if frame["pose"]:
                poses[f"{action['id']}#{number}"] = LegPose(**frame["pose"])
    return poses


def pose_grid(quick: bool) -> dict[str, LegPose]:
    grid = QUICK_GRID if quick else GRID
    return {
        f"F{f} A{a} R{r}": LegPose(hip_flexion=f, hip_abduction=a, hip_rotation=r)
        for f, a, r in itertools.product(*grid.values())
    }


def bone_distance(grids: dict, points: np.ndarray, transforms: dict[str, np.ndarray]) -> np.ndarray:
    """Signed distance (mm, negative inside) from right-side points to the nearest bone at a pose."""
    nearest = np.full(len(points), np.inf)
    for name, segment in (("pelvis", None), ("femur_right", "thigh_right"), ("tibia_right", "shank_right")):
        matrix = np.eye(4) if segment is None else transforms[segment]
        distance, _ = grids[name].sample((points - matrix[:3, 3]) @ matrix[:3, :3])
        nearest = np.minimum(nearest, distance)
    return nearest


def attachment_mm(muscle, grids: dict) -> float:
    """The larger of the origin's and the insertion's smallest end-vertex distance to bone (mm)."""
    along = muscle.fibre_uv[:, 1]
    distance = bone_distance(grids, muscle.form.vertices, {"thigh_right": np.eye(4), "shank_right": np.eye(4)})
    ends = [distance[along <= along.min() + END_FRACTION], distance[along >= along.max() - END_FRACTION]]
    return max(float(np.abs(end).min()) for end in ends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 4-pose grid instead of 54 poses")
    parser.add_argument("--timing", type=int, default=200, help="poses timed for the pose update (0: none)")
    args = parser.parse_args()
    landmarks = load_landmarks()
    muscles = build_muscles()
    right = {n: m for n, m in muscles.items() if m.side == "right"}
    grids = load_pose_grids(load_bone_surfaces())
    cages = cage_deformer(muscles)
    forms = FormDeformer(cages, muscles)
    poses = {**pose_grid(args.quick), **therapist_positions()}
    rest_crease = {n: crease_share(m.form.vertices, m.form.faces) for n, m in right.items()}
    worst = {n: (rest_crease[n], "rest", 1.0, "rest", 0.0) for n in right}
    for label, pose in poses.items():
        legs = {"right": pose, "left": LegPose()}
        transforms = segment_transforms(legs, landmarks)
        posed = forms.pose(transforms, legs)
        for name, muscle in right.items():
            vertices = posed[name].vertices
            crease, crease_pose, ratio, ratio_pose, inside = worst[name]
            share = crease_share(vertices, muscle.form.faces)
            held = volume_ratio(muscle.form.vertices, vertices, muscle.form.faces)
            in_bone = float((bone_distance(grids, vertices, transforms) < -BONE_TOLERANCE_MM).mean())
            if share > crease:
                crease, crease_pose = share, label
            if abs(held - 1) > abs(ratio - 1):
                ratio, ratio_pose = held, label
            worst[name] = (crease, crease_pose, ratio, ratio_pose, max(inside, in_bone))
    print(f"{len(poses)} poses ({len(pose_grid(args.quick))} grid nodes + therapist positions), right side")
    header = f"{'muscle':28s} {'crease rest':>11s} {'worst':>6s} {'at':24s} {'vol worst':>9s} {'at':24s}"
    print(header + f" {'overlap':>7s} {'in bone':>7s} {'attach mm':>9s}")
    for name, muscle in right.items():
        crease, crease_pose, ratio, ratio_pose, in_bone = worst[name]
        others = [(m.form.vertices, m.form.faces) for n, m in right.items() if n != name]
        step = max(1, len(muscle.form.vertices) // OVERLAP_SAMPLES)
        overlap = overlap_share(muscle.form.vertices[::step], others)
        print(
            f"{muscle.spec.name:28s} {rest_crease[name]:11.3f} {crease:6.3f} {crease_pose:24s} {ratio:9.3f} "
            f"{ratio_pose:24s} {overlap:7.3f} {in_bone:7.3f} {attachment_mm(muscle, grids):9.1f}"
        )
    if args.timing:
        time_pose_update(cages, forms, landmarks, args.timing)


def time_pose_update(cages, forms, landmarks, frames: int) -> None:
    """Median and 95th percentile ms of one pose of every muscle, both legs moving (as bench_pose sweeps)."""
    from bench_pose import pose_times, sweep

    poses = [segment_transforms(LegPose(**angles), landmarks) for angles in sweep(frames)]
    for label, deformer in (("cages (pose space)", cages), ("forms carried by the cages (the scene)", forms)):
        times = pose_times(deformer, poses)
        print(
            f"pose update, all muscles both sides, {label}: median {np.median(times):.2f} ms, "
            f"p95 {np.percentile(times, 95):.2f} ms"
        )


if __name__ == "__main__":
    main()
