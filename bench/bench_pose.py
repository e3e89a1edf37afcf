"""Time one full muscle re-pose (all muscles, both sides) over a sweep of poses, and the nerves with their zones.

Usage: python bench/bench_pose.py [--frames N] [--skip-solver]
Prints median and 95th percentile CPU milliseconds per pose call, plus start-up time, for the baked
pose space the app plays and for the solver it was baked from. The sweep moves both legs smoothly
through flexion, abduction, rotation and knee flexion, the way an animation does.

Then, per nerve variant, the sciatic nerves of both sides with their danger zones (the scene's
nerve deformer) and the nerve posing alone (``pose_nerve`` per side; the zones take the rest).
Each nerve pose is timed right after the pose space's at the same pose, and the ratio of the two
medians is printed too: on a machine busy with other work it says more than the milliseconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from viewer.anatomy.bones import load_landmarks
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.muscles import MusclePoser, build_muscles
from viewer.anatomy.pose_space import load_pose_space


def sweep(frames: int) -> list[dict[str, float]]:
    t = np.linspace(0, 2 * np.pi, frames)
    return [
        {
            "hip_flexion": 50 + 70 * np.sin(a),
            "hip_abduction": 7 + 37 * np.sin(2 * a),
            "hip_rotation": 45 * np.sin(3 * a),
            "knee_flexion": 65 - 65 * np.cos(a),
        }
        for a in t
    ]


def transforms(landmarks, angles) -> dict[str, np.ndarray]:
    return segment_transforms(LegPose(**angles), landmarks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--skip-solver", action="store_true", help="time the baked pose space and the nerves only")
    args = parser.parse_args()
    landmarks = load_landmarks()
    muscles = build_muscles()
    poses = [transforms(landmarks, angles) for angles in sweep(args.frames)]
    print(f"muscles: {len(muscles)}  frames: {len(poses)}")
    makers = [("pose space (the app)", lambda: load_pose_space(muscles)), ("solver", lambda: MusclePoser(muscles))]
    for label, make in makers[: 1 if args.skip_solver else 2]:
        start = time.perf_counter()
        deformer = make()
        startup = time.perf_counter() - start
        if deformer is None:
            print(f"{label}: no current table (run python -m viewer.tools.bake_poses)")
            continue
        times = pose_times(deformer, poses)
        print(
            f"{label}: start-up {startup * 1000:.0f} ms; "
            f"pose update median {np.median(times):.2f} ms, p95 {np.percentile(times, 95):.2f} ms"
        )
    bench_nerves(load_pose_space(muscles), poses)


def pose_times(deformer, poses: list[dict[str, np.ndarray]]) -> np.ndarray:
    """Milliseconds of each ``deformer.pose`` call over ``poses`` (after one untimed warm-up pose)."""
    deformer.pose(poses[0])
    return np.array([_timed(deformer.pose, pose) for pose in poses])


def _timed(function, *args) -> float:
    """CPU milliseconds of one call (wall time would count the other work of a shared machine too)."""
    start = time.process_time()
    function(*args)
    return (time.process_time() - start) * 1000


def bench_nerves(muscle_deformer, poses: list[dict[str, np.ndarray]]) -> None:
    """Nerves + zones of both sides per variant, each pose timed next to the muscles' at the same pose."""
    from viewer.anatomy.nerve import build_nerves
    from viewer.anatomy.nerve_posing import pose_nerve
    from viewer.model.nerves import NerveDeformer, variant_choices

    if muscle_deformer is None:
        return
    for variant, _name, _percent in variant_choices():
        nerves = build_nerves(variant)
        deformer = NerveDeformer(nerves)
        full = [{"pelvis": np.eye(4), **pose} for pose in poses]
        deformer.pose(full[0])
        muscles, both, alone = [], [], []
        for pose in full:
            muscles.append(_timed(muscle_deformer.pose, pose))
            both.append(_timed(deformer.pose, pose))
            alone.append(sum(_timed(pose_nerve, nerve, pose) for nerve in nerves.values()))
        muscle_ms, both_ms, alone_ms = np.median(muscles), np.median(both), np.median(alone)
        print(
            f"nerves + zones, both sides ({variant}): median {both_ms:.2f} ms, p95 {np.percentile(both, 95):.2f} ms "
            f"= {both_ms / muscle_ms:.2f} x the muscles' {muscle_ms:.2f} ms; "
            f"nerve posing alone {alone_ms:.2f} ms ({alone_ms / muscle_ms:.2f} x)"
        )


if __name__ == "__main__":
    main()
