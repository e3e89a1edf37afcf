"""Bake ``assets/meshes/muscle_pose_space.npz``: the solver's muscle shapes over the hip's range.

Run ``python -m viewer.tools.bake_poses`` after the muscles, the bones or the solver change (a test
fails with this advice when the shipped table's key no longer matches). It solves every node of the
hip-angle grid with :class:`~viewer.anatomy.muscles.MusclePoser` (a few minutes), compresses the
corrections per muscle by principal components, solves the volume-holding factors of the replayed
shapes and reports how closely the compressed table reproduces the solved nodes. The viewer only
reads and replays the table (:mod:`viewer.anatomy.pose_space`); the key and the stored layout are
defined there.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from viewer.anatomy.bones import SIDES, load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import cubic_root, signed_volume
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.muscles import MuscleGeometry, MusclePoser, build_muscles
from viewer.anatomy.muscles.posing import blend_weights
from viewer.anatomy.muscles.spindle import SPINDLES
from viewer.anatomy.pose_rods import ROD_PARTS, ROD_RMS_MM, RodReplay
from viewer.anatomy.pose_space import (
    COMPONENT_BUDGET,
    COMPONENT_RANGE,
    COMPONENT_RMS_MM,
    HELD_RATIO,
    OBSTACLES,
    Skinning,
    grid_axes,
    knee_axis,
    obstacles,
    pose_space_key,
    shape_rows,
    shipped_path,
    side_layout,
    thickening_rows,
)
from viewer.cache import atomic_write
from viewer.types import FloatArray


def _corrections(
    poser: MusclePoser,
    layouts: dict,
    replays: dict[str, RodReplay],
    transforms: dict[str, FloatArray],
    nearest: dict[str, FloatArray],
) -> tuple[dict[str, FloatArray], dict[str, list[FloatArray]]]:
    """Solved shape minus skinned shape of every muscle at one pose (a jump from rest, settled once), and the rods.

    A rod (:mod:`viewer.anatomy.pose_rods`) is rebuilt from its measured sections first: its correction is the
    solved shape minus the rebuilt one, and its sections' parameters come back by name (in ROD_PARTS order).
    ``nearest`` keeps, per muscle and bone, each surface vertex's smallest distance to that bone so far.
    """
    poser.reset()
    poser.pose(transforms)
    result = poser.pose(transforms)
    for side in SIDES:
        for name in layouts[side][0]:
            vertices = result[name].vertices
            for bone, (grid, matrix) in obstacles(
                poser.grids, side, transforms[f"thigh_{side}"], transforms[f"shank_{side}"]
            ).items():
                distance, _ = grid.sample((vertices - matrix[:3, 3]) @ matrix[:3, :3])
                np.minimum(nearest[name][bone], distance, out=nearest[name][bone])
    corrections, rods = {}, {}
    scale = {name: poser.scale[poser.slices[name]].reshape(poser.shapes[name]) for name in poser.rod_turns}
    for side, (names, rest, weights) in layouts.items():
        skinned = Skinning(rest, weights).apply(transforms[f"thigh_{side}"], transforms[f"shank_{side}"])
        replay = replays[side]
        parameters = replay.measure(skinned, result, poser.rod_turns, scale)
        replay.build(skinned, *parameters)
        rods.update(replay.split(*parameters))
        start = 0
        for name in names:
            solved = shape_rows(result[name].vertices, result[name].fibres)
            corrections[name] = (solved - skinned[start : start + len(solved)]).ravel()
            start += len(solved)
    return corrections, rods


def bake_pose_space(
    muscles: dict[str, MuscleGeometry],
    landmarks: dict[str, FloatArray],
    poser: MusclePoser,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, FloatArray]:
    """Solve every hip grid node and knee node, and compress the hip corrections per muscle."""
    axes = grid_axes()
    shape = tuple(len(a) for a in axes)
    nodes = int(np.prod(shape))
    knees = knee_axis()
    layouts = {side: side_layout(muscles, side) for side in SIDES}
    replays = {side: RodReplay(muscles, layouts[side][0]) for side in SIDES}
    tables = {name: np.empty((nodes, 3 * len(m.vertices) // 2 * 3), np.float32) for name, m in muscles.items()}
    rod_tables: dict[str, list[list[FloatArray]]] = {}
    nearest = {name: {bone: np.full(len(m.vertices), np.inf) for bone in OBSTACLES} for name, m in muscles.items()}
    for node, (i, j, k) in enumerate(np.ndindex(shape)):
        pose = LegPose(hip_flexion=axes[0][i], hip_abduction=axes[1][j], hip_rotation=axes[2][k])
        corrections, rods = _corrections(poser, layouts, replays, segment_transforms(pose, landmarks), nearest)
        for name, correction in corrections.items():
            tables[name][node] = correction
        for name, parameters in rods.items():
            rod_tables.setdefault(name, []).append(parameters)
        if progress is not None:
            progress(node + 1, nodes + len(knees))
    arrays: dict[str, FloatArray] = {f"axis_{k}": axis for k, axis in enumerate(axes)}
    arrays["knee_axis"] = knees
    for name, parameters in rod_tables.items():
        for part, values in zip(ROD_PARTS, zip(*parameters, strict=True), strict=True):
            arrays[f"{name}__rod_{part}"] = np.array(values, np.float32)
    for name, table in tables.items():
        most = int(np.clip(COMPONENT_BUDGET // table.shape[1], *COMPONENT_RANGE))
        rms = ROD_RMS_MM if name in rod_tables else COMPONENT_RMS_MM
        mean, basis, scores = principal_components(table, most, rms)
        arrays[f"{name}__mean"], arrays[f"{name}__basis"], arrays[f"{name}__scores"] = mean, basis, scores
    # The knee moves only what rides with the shank: its corrections are solved with the hip neutral, kept
    # relative to the straight knee, and turned with the thigh when replayed.
    riding = [name for name, m in muscles.items() if blend_weights(m)[:, 2].max() > 0]
    knee_tables = {name: [] for name in riding}
    for count, angle in enumerate(knees):
        corrections, _ = _corrections(
            poser, layouts, replays, segment_transforms(LegPose(knee_flexion=angle), landmarks), nearest
        )
        for name in riding:
            knee_tables[name].append(corrections[name])
        if progress is not None:
            progress(nodes + count + 1, nodes + len(knees))
    for name, table in knee_tables.items():
        arrays[f"{name}__knee"] = (np.array(table) - table[0]).astype(np.float32)
    for name, by_bone in nearest.items():
        for bone, distance in by_bone.items():
            arrays[f"{name}__nearest_{bone}"] = np.clip(distance, -60.0, 60.0).astype(np.float16)
    for name, factors in _holding_factors(muscles, landmarks, arrays, layouts).items():
        arrays[f"{name}__holding"] = factors
    return arrays


def _holding_factors(
    muscles: dict[str, MuscleGeometry], landmarks: dict[str, FloatArray], arrays: dict[str, FloatArray], layouts: dict
) -> dict[str, FloatArray]:
    """Per muscle and grid node: the thickening factor that gives the replayed (compressed) shape its rest volume.

    The solver holds each volume only roughly and the compression loses a little more at the ends of the
    ranges; replaying applies this factor, interpolated like the shapes, instead of measuring every
    muscle at every frame. A spindle (the tensor fasciae latae) is rebuilt from its sections as the solver
    left it, its form's volume held by its own widening (``posing.SPINDLE_HOLD_STEPS``): thickened to its
    cage's rest volume instead (by 2.6-3.7% around the frog position), 1.47% of the band draped over it lay
    inside it there (0.71% on the solver and not held; :mod:`viewer.anatomy.pose_rods`).
    """
    axes = [arrays[f"axis_{k}"] for k in range(3)]
    shape = tuple(len(a) for a in axes)
    factors = {name: np.ones(int(np.prod(shape)), np.float32) for name in muscles}
    rest_volume = {name: signed_volume(m.vertices, m.faces) for name, m in muscles.items()}
    rods = {side: RodReplay(muscles, names, arrays) for side, (names, _, _) in layouts.items()}
    for node, (i, j, k) in enumerate(np.ndindex(shape)):
        pose = LegPose(hip_flexion=axes[0][i], hip_abduction=axes[1][j], hip_rotation=axes[2][k])
        transforms = segment_transforms(pose, landmarks)
        for side, (names, rest, weights) in layouts.items():
            skinned = Skinning(rest, weights).apply(transforms[f"thigh_{side}"], transforms[f"shank_{side}"])
            rods[side].place(skinned, np.array([node]), np.ones(1))
            start = 0
            for name in names:
                size = len(muscles[name].vertices) * 3 // 2  # vertices, then fibre samples
                if muscles[name].spec.name in SPINDLES:
                    start += size
                    continue
                correction = arrays[f"{name}__mean"] + arrays[f"{name}__scores"][node] @ arrays[f"{name}__basis"]
                rows = skinned[start : start + size] + correction.reshape(-1, 3)
                factors[name][node] = holding_factor(rows, muscles[name], rest_volume[name])
                start += size
    return factors


def principal_components(
    table: FloatArray, most: int, rms: float = COMPONENT_RMS_MM
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(mean, basis rows, scores) with ``table ~ mean + scores @ basis``, from the nodes' Gram matrix.

    As many components as it takes to bring the root-mean-square error below ``rms`` (mm), up to ``most``.
    """
    data = np.asarray(table, np.float64)
    mean = data.mean(axis=0)
    centred = data - mean
    values, vectors = np.linalg.eigh(centred @ centred.T)
    order = np.argsort(values)[::-1]
    values = np.maximum(values[order], 0.0)
    left = (values.sum() - np.cumsum(values)) / data.size  # mean squared error with the first k+1 kept
    count = min(int(np.searchsorted(-left, -(rms**2))) + 1, most, len(values))
    strength = np.sqrt(np.maximum(values[:count], 1e-12))
    basis = (vectors[:, order[:count]].T @ centred) / strength[:, None]
    scores = vectors[:, order[:count]] * strength
    return mean.astype(np.float32), basis.astype(np.float32), scores.astype(np.float32)




def holding_factor(rows: FloatArray, muscle: MuscleGeometry, rest_volume: float) -> float:
    """The thickening factor that gives one replayed muscle (its ``rows``) its rest volume, or 1 if none.

    The volume is a cubic in the factor, fitted exactly from four samples; the root nearest 1 within
    HELD_RATIO counts. A thick sheet round a tight bend (obturator internus at the lesser sciatic notch)
    can lose volume when thickened, because its far face folds at the bend: it has no such root and is
    left as replayed.
    """
    moved, anchor = thickening_rows(muscle)
    count = len(muscle.vertices)
    samples = np.array([0.5, 1.0, 1.5, 2.0])
    volumes = []
    for factor in samples:
        thicker = rows.copy()
        thicker[moved] = rows[anchor] + factor * (rows[moved] - rows[anchor])
        volumes.append(signed_volume(thicker[:count], muscle.faces))
    if volumes[2] <= volumes[1]:  # thickening would not add volume
        return 1.0
    factor = cubic_root(samples, volumes, rest_volume, HELD_RATIO, 1.0)
    return 1.0 if factor is None else factor




def write_pose_space(arrays: dict[str, FloatArray], key: str, path: Path) -> None:
    """Save compressed and atomically; the basis is the bulk, stored as float16 (a relative error of about 1e-3)."""
    packed = {name: (a.astype(np.float16) if name.endswith("__basis") else a) for name, a in arrays.items()}
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as handle:
            np.savez_compressed(handle, key=np.array(key), **packed)

    atomic_write(path, write)


def main(argv: list[str] | None = None) -> int:
    """Bake the pose space and write it (``--out`` or the shipped asset); prints progress and a summary."""
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
