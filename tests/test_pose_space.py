"""The baked pose space: current with the shipped muscles, faithful to the solver, and a pure function of the pose."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from viewer.anatomy.bones import load_landmarks
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.muscles import MusclePoser, build_muscles
from viewer.anatomy.pose_space import POSE_SPACE_FILE, grid_axes, load_pose_space
from viewer.model.scene import build_scene
from viewer.model.structure_builders import muscle_deformer

# Poses between grid nodes on every axis (the grid steps are 10, 7.5 and 7.5 degrees).
OFF_GRID = [
    {"hip_flexion": 35, "hip_abduction": 11, "hip_rotation": -17},
    {"hip_flexion": 83, "hip_abduction": -13, "hip_rotation": 29},
    {"hip_flexion": -8, "hip_abduction": 26, "hip_rotation": 41},
    {"hip_flexion": 113, "hip_abduction": 33, "hip_rotation": -38},
]


@pytest.fixture(scope="module")
def muscles():
    return build_muscles()


@pytest.fixture(scope="module")
def space(muscles):
    return load_pose_space(muscles)


def transforms(sides=("right", "left"), **angles):
    pose = LegPose(**angles)
    return segment_transforms({side: pose for side in sides}, load_landmarks())


def test_the_shipped_table_was_baked_from_these_muscles_and_bones(space):
    assert space is not None, "the shipped pose space is missing or stale: run python -m viewer.tools.bake_poses"


def test_the_grid_spans_every_joint_range_end_to_end():
    flexion, abduction, rotation = grid_axes()
    assert (flexion[0], flexion[-1], abduction[0], abduction[-1], rotation[0], rotation[-1]) == (
        -20,
        120,
        -30,
        45,
        -45,
        45,
    )


@pytest.mark.parametrize("angles", OFF_GRID, ids=lambda a: "/".join(str(v) for v in a.values()))
def test_between_grid_nodes_the_shapes_follow_the_solver(space, muscles, angles):
    solver = MusclePoser(muscles)
    legs = transforms(**angles)
    solver.pose(legs)
    solved = solver.pose(legs)
    baked = space.pose(legs)
    distances = np.concatenate([np.linalg.norm(baked[n].vertices - solved[n].vertices, axis=1) for n in muscles])
    assert distances.mean() < 0.6 and np.percentile(distances, 95) < 2.0, (
        distances.mean(),
        np.percentile(distances, 95),
    )
    for name in muscles:  # the solver's own walk steps leave a few tenths of a percent of roughness
        assert abs(baked[name].length_mm() / solved[name].length_mm() - 1) < 0.03, name


def test_the_scene_shows_the_same_pose_however_it_was_reached(fresh_scene):
    """A sweep of slider steps, a what-if length curve and a detour through other poses end where a jump does."""
    target = {"hip_flexion": 47.0, "hip_abduction": -12.0, "hip_rotation": -31.0, "knee_flexion": 60.0}
    names = [n for n in fresh_scene.names() if fresh_scene.structures[n].kind in ("muscle", "nerve")]
    fresh_scene.set_pose("right", **target)
    jumped = {name: fresh_scene.vertices(name).copy() for name in names}
    fresh_scene.reset_pose()
    for flexion in np.linspace(0.0, 110.0, 12):  # up past the target and back down, as a dragged slider does
        fresh_scene.set_pose("right", hip_flexion=float(flexion), knee_flexion=100.0)
    fresh_scene.lengths_at({"right": LegPose(hip_rotation=45.0)}, ["piriformis_right"])
    fresh_scene.set_pose("right", hip_abduction=40.0, hip_rotation=45.0)
    fresh_scene.set_pose("right", **target)
    for name in names:
        np.testing.assert_allclose(fresh_scene.vertices(name), jumped[name], atol=1e-6, err_msg=name)


def test_moving_one_leg_leaves_the_other_sides_muscles_at_rest(space, muscles):
    posed = space.pose(transforms(sides=("right",), hip_flexion=70, hip_rotation=30))
    for name, muscle in muscles.items():
        if muscle.side == "left":
            np.testing.assert_array_equal(posed[name].vertices, muscle.vertices)
        else:
            assert np.abs(posed[name].vertices - muscle.vertices).max() > 5.0, name


def test_the_iliotibial_band_end_rides_with_the_shank(space, muscles):
    legs = transforms(hip_flexion=60, knee_flexion=110)
    end = space.pose(legs)["iliotibial_band_right"].fibres[:, -1]
    shank = legs["shank_right"]
    expected = muscles["iliotibial_band_right"].fibres[:, -1] @ shank[:3, :3].T + shank[:3, 3]
    assert np.linalg.norm(end - expected, axis=1).max() < 1.5


def test_the_scene_plays_the_baked_table_not_the_slow_fallback():
    scene = build_scene()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        scene.set_pose("right", hip_rotation=30)
    assert scene.length_change("piriformis_right") > 0.05


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_a_missing_or_unreadable_table_falls_back_to_the_solver_with_a_warning(asset_copy, muscles, damage):
    table = asset_copy / "meshes" / POSE_SPACE_FILE
    if damage == "missing":
        table.unlink()
    else:
        table.write_bytes(b"not a numpy archive")
    with pytest.warns(RuntimeWarning, match="bake_poses"):
        deformer = muscle_deformer(muscles)
    assert isinstance(deformer.cages, MusclePoser)  # the forms ride on the solver's cages


def test_the_scene_hands_the_joint_angles_to_the_pose_space(fresh_scene, monkeypatch):
    """The table is looked up by the angles the user set, not by angles recovered from the matrices."""
    import viewer.anatomy.pose_space as pose_space
    from viewer.anatomy.posed import PosedShape

    recovered = pose_space.leg_pose_from_transforms
    fresh_scene.set_pose("right", hip_flexion=35.0, knee_flexion=40.0)
    by_matrices = fresh_scene.vertices("piriformis_right").copy()
    fresh_scene.reset_pose()

    def not_needed(*_args):
        raise AssertionError("the angles were recovered from the transforms")

    monkeypatch.setattr(pose_space, "leg_pose_from_transforms", not_needed)
    fresh_scene.set_pose("right", hip_flexion=35.0, knee_flexion=40.0)
    assert np.abs(fresh_scene.vertices("piriformis_right") - by_matrices).max() < 1e-3  # the same shape
    assert all(isinstance(p, PosedShape) for p in fresh_scene._posed.values())  # one typed result
    assert recovered is not not_needed


def test_the_bake_compresses_a_low_rank_table_exactly_and_keeps_no_more_components_than_it_needs():
    from viewer.tools.bake_poses import principal_components

    rng = np.random.default_rng(5)
    table = (rng.normal(size=(40, 3)) @ rng.normal(size=(3, 90)) * 4.0 + rng.normal(size=90)).astype(np.float32)
    mean, basis, scores = principal_components(table, most=32)
    assert basis.shape == (3, 90) and scores.shape == (40, 3)  # rank 3: three components, not 32
    np.testing.assert_allclose(mean + scores @ basis, table, atol=1e-3)
    _, capped, _ = principal_components(table, most=2)
    assert len(capped) == 2


def test_the_rods_rebuilt_from_their_measured_sections_are_the_solvers(muscles):
    """The pose space stores what the solver's rods are (each section's centre, rotation, swelling and thickening):
    rebuilt from those, the fibres of the gemelli and of the tensor fasciae latae (a spindle, its sections shortened
    along the rod and widened across it) are the solved ones and so are their faces, but for the few vertices the
    solver lifted out of bone afterwards (their correction goes through the components)."""
    from viewer.anatomy.pose_rods import RodReplay
    from viewer.anatomy.pose_space import Skinning, side_layout

    solver = MusclePoser(muscles)
    legs = transforms(hip_flexion=90, hip_abduction=-20, hip_rotation=40)
    solved = solver.pose(legs)
    names, rest, weights = side_layout(muscles, "right")
    replay = RodReplay(muscles, names)
    assert sorted(replay.names) == [
        "inferior_gemellus_right",
        "superior_gemellus_right",
        "tensor_fasciae_latae_right",
    ]
    skinned = Skinning(rest, weights).apply(legs["thigh_right"], legs["shank_right"])
    scale = {n: solver.scale[solver.slices[n]].reshape(solver.shapes[n]) for n in replay.names}
    rebuilt = skinned.copy()
    replay.build(rebuilt, *replay.measure(skinned, solved, solver.rod_turns, scale))
    start = 0
    for name in names:
        count = len(muscles[name].vertices) // 2
        if name in replay.names:
            rows = rebuilt[start : start + 3 * count]
            np.testing.assert_allclose(rows[2 * count :], solved[name].fibres.reshape(-1, 3), atol=1e-9)
            off = np.linalg.norm(rows[: 2 * count] - solved[name].vertices, axis=1)
            assert np.mean(off < 1e-9) > 0.9, name
        else:  # the other muscles are left skinned
            np.testing.assert_array_equal(rebuilt[start : start + 3 * count], skinned[start : start + 3 * count])
        start += 3 * count


def test_a_lift_out_of_bone_spreads_along_its_fibre_halving_sample_by_sample():
    from viewer.anatomy.pose_space import spread_lifts

    neighbours = np.array([[1, 2, 3, 4, -1], [-1, 0, 1, 2, 3]])  # one fibre of five samples
    rows, lifts = spread_lifts(np.array([2]), np.array([[0.0, 0.0, 2.0]]), neighbours, 2)
    assert rows.tolist() == [0, 1, 2, 3, 4]
    assert lifts[:, 2].tolist() == [0.5, 1.0, 2.0, 1.0, 0.5]
    rows, lifts = spread_lifts(np.array([0, 1]), np.array([[0.0, 0.0, 4.0], [0.0, 0.0, 1.0]]), neighbours, 1)
    assert rows.tolist() == [0, 1, 2] and lifts[:, 2].tolist() == [4.0, 2.0, 0.5]  # the longer lift wins
