"""Time one full muscle re-pose (all muscles, both sides) over a sweep of poses.

Usage: python bench/bench_pose.py [--frames N]
Prints median and 95th percentile milliseconds per pose call, plus start-up time, for the baked
pose space the app plays and for the solver it was baked from. The sweep moves both legs smoothly
through flexion, abduction, rotation and knee flexion, the way an animation does.
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
    args = parser.parse_args()
    landmarks = load_landmarks()
    muscles = build_muscles()
    poses = [transforms(landmarks, angles) for angles in sweep(args.frames)]
    print(f"muscles: {len(muscles)}  frames: {len(poses)}")
    for label, make in (
        ("pose space (the app)", lambda: load_pose_space(muscles)),
        ("solver", lambda: MusclePoser(muscles)),
    ):
        start = time.perf_counter()
        deformer = make()
        startup = time.perf_counter() - start
        if deformer is None:
            print(f"{label}: no current table (run python -m viewer.tools.bake_poses)")
            continue
        deformer.pose(poses[0])
        times = []
        for pose in poses:
            start = time.perf_counter()
            deformer.pose(pose)
            times.append((time.perf_counter() - start) * 1000)
        times = np.array(times)
        print(
            f"{label}: start-up {startup * 1000:.0f} ms; "
            f"pose update median {np.median(times):.2f} ms, p95 {np.percentile(times, 95):.2f} ms"
        )


if __name__ == "__main__":
    main()
