"""CPU time of the scene's pose update per slider step, in total, per deformer and per stage.

Usage: PYTHONPATH=. python bench/bench_stages.py [--frames N]

Builds the scene as the window does (muscle forms on their cages, nerves with their danger zones, skin)
and sweeps the legs smoothly, the way a slider drag or an animation does: first both legs moving (the
pose panel's default, "Both legs"), then the right leg alone with the left held in a pose. Times are CPU
milliseconds of the process (``time.process_time``): on a machine shared with other work, wall time
measures the other work too. Per stage, the functions doing the work are timed by a profiler that also
counts CPU time (its overhead inflates them, Python-heavy ones most; the totals and each deformer alone are
timed without it).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's viewer, not an installed one
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pose import sweep

from viewer.anatomy.kinematics import LegPose
from viewer.model.scene import build_scene

# (label, module path suffix, function names "a|b"): the stages of one pose update
STAGES = [
    ("muscles: skinning of the cages", "pose_space.py", "apply"),
    ("muscles: pose-space corrections", "pose_space.py", "_correct"),
    ("muscles: cage volume hold", "pose_space.py", "hold"),
    ("muscles: cages kept out of bone", "pose_space.py", "_clear"),
    ("muscles: live-held cages settled", "pose_space.py", "settle"),
    ("muscles: forms carried (sparse map + affine)", "forms_posing.py", "mapped"),
    ("muscles: form volume hold", "forms_posing.py", "apply"),
    ("muscles: forms (all of the above after the cages)", "forms_posing.py", "carry"),
    ("muscles: all", "forms_posing.py", "pose"),
    ("nerves and danger zones", "nerves.py", "pose"),
    ("skin: pose correctives", "skin_correctives.py", "offsets_at|leg_offsets"),
    ("skin: all", "skinning.py", "pose"),
]


def leg_sweeps(frames: int) -> dict[str, list[dict[str, LegPose]]]:
    """Both legs moving (the left a step behind the right), and the right leg alone (the left held)."""
    angles = sweep(frames)
    lagging = angles[frames // 7 :] + angles[: frames // 7]
    held = LegPose(hip_flexion=30, hip_abduction=10, hip_rotation=-15, knee_flexion=45)
    return {
        "both legs moving": [
            {"right": LegPose(**a), "left": LegPose(**b)} for a, b in zip(angles, lagging, strict=True)
        ],
        "right leg moving, left held": [{"right": LegPose(**a), "left": held} for a in angles],
    }


def step_times(scene, steps: list[dict[str, LegPose]]) -> np.ndarray:
    """CPU milliseconds of each ``set_leg_poses`` (after one untimed warm-up step)."""
    scene.set_leg_poses(steps[-1])
    times = []
    for legs in steps:
        start = time.process_time()
        scene.set_leg_poses(legs)
        times.append(1000 * (time.process_time() - start))
    return np.array(times)


def deformer_times(scene, steps: list[dict[str, LegPose]]) -> dict[str, float]:
    """Median CPU milliseconds per step of each of the scene's deformers alone, over the same steps (unprofiled)."""
    from viewer.anatomy.kinematics import segment_transforms

    transforms = [{"pelvis": np.eye(4), **segment_transforms(legs, scene.landmarks_rest)} for legs in steps]
    medians = {}
    for role, deformer in scene._deformers.items():
        deformer.pose(transforms[-1], steps[-1])
        times = []
        for legs, transform in zip(steps, transforms, strict=True):
            start = time.process_time()
            deformer.pose(transform, legs)
            times.append(1000 * (time.process_time() - start))
        medians[role] = float(np.median(times))
    return medians


def stage_times(scene, steps: list[dict[str, LegPose]]) -> dict[str, float]:
    """Mean CPU milliseconds per step spent in each of STAGES (cumulative, profiled)."""
    scene.set_leg_poses(steps[-1])
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for legs in steps:
        scene.set_leg_poses(legs)
    profile.disable()
    stats = pstats.Stats(profile).stats  # {(file, line, function): (calls, _, total, cumulative, callers)}
    found = {}
    for label, module, function in STAGES:
        names = function.split("|")  # callers before callees: a stage's cumulative time counts each call once
        seconds = max(
            (sum(v[3] for (file, _line, name), v in stats.items() if file.endswith(module) and name == one))
            for one in names
        )
        found[label] = 1000 * seconds / len(steps)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="slider steps per sweep")
    args = parser.parse_args()
    scene = build_scene()
    for label, steps in leg_sweeps(args.frames).items():
        times = step_times(scene, steps)
        print(
            f"{label}: pose update (set_leg_poses) CPU median {np.median(times):.2f} ms, "
            f"p95 {np.percentile(times, 95):.2f} ms over {len(steps)} steps"
        )
        for role, ms in deformer_times(scene, steps).items():
            print(f"    {role + ' (deformer alone, median, unprofiled)':52s} {ms:6.2f} ms")
        for stage, ms in stage_times(scene, steps).items():
            print(f"    {stage:52s} {ms:6.2f} ms")


if __name__ == "__main__":
    main()
