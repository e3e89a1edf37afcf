"""Regenerate ``assets/meshes/muscle_pose_space.npz``: the solver's muscle shapes over the hip's range.

Run ``python -m viewer.tools.bake_poses`` after the muscles, the bones or the solver change (a test
fails with this advice when the shipped table's key no longer matches). It solves every node of the
hip-angle grid with :class:`~viewer.anatomy.muscles.MusclePoser` (a few minutes), compresses the
corrections and reports how closely the compressed table reproduces the solved nodes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
from viewer.anatomy.muscles import MusclePoser, build_muscles
from viewer.anatomy.pose_space import (
    bake_pose_space,
    pose_space_key,
    shipped_path,
    write_pose_space,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output file (default: the shipped asset)")
    args = parser.parse_args(argv)
    bones, landmarks = load_bone_surfaces(), load_landmarks()
    muscles = build_muscles(bones, landmarks)
    poser = MusclePoser(muscles, bones)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 250 == 0 or done == total:
            print(f"  {done}/{total} poses, {time.perf_counter() - started:.0f} s", flush=True)

    arrays = bake_pose_space(muscles, landmarks, poser, progress)
    path = args.out or shipped_path()
    write_pose_space(arrays, pose_space_key(bones, landmarks), path)
    components = sum(a.shape[0] for n, a in arrays.items() if n.endswith("__basis"))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {components} components over {len(muscles)} muscles)")
    for name in muscles:
        print(f"  {name}: {arrays[name + '__basis'].shape[0]} components")
    nodes = int(np.prod([len(arrays[f"axis_{k}"]) for k in range(3)]))
    print(f"{nodes} grid nodes solved in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
