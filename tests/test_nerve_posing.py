"""Fast nerve posing: the same nerve and zones as the straightforward computation, for less work.

The oracle is ``tests/nerve_reference.py``: the per-branch, per-ring posing as it was before it
was made fast. Speed itself is reported by ``bench/bench_pose.py``, not asserted here.
"""

from __future__ import annotations

import numpy as np
import pytest
from nerve_reference import pose_nerve as reference_pose
from nerve_reference import zone_vertices as reference_zones

from viewer.anatomy.bones import load_landmarks
from viewer.anatomy.geometry import signed_volume
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.nerve import build_nerve, build_nerves
from viewer.anatomy.nerve_mesh import SurfaceField
from viewer.anatomy.nerve_posing import pose_nerve
from viewer.model.nerves import NerveDeformer

DIVIDED = "divided_fibular_through_piriformis"
TOLERANCE_MM = 0.05
POSES = {
    "flexed 90": {"right": LegPose(hip_flexion=90), "left": LegPose(hip_flexion=-10)},
    "frog": {"right": LegPose(45, 40, 20, 90), "left": LegPose(30, -20, -40, 60)},
    "side-lying": {"right": LegPose(hip_flexion=110, knee_flexion=100), "left": LegPose(hip_rotation=40)},
    "extended, abducted": {"right": LegPose(-15, 35, -40, 0), "left": LegPose(115, 0, 45, 120)},
}


@pytest.fixture(scope="module")
def landmarks():
    return load_landmarks()


@pytest.mark.parametrize("variant", ["usual", DIVIDED])
def test_scene_deformer_gives_the_reference_nerve_and_zones(variant, landmarks):
    nerves = build_nerves(variant)
    deformer = NerveDeformer(nerves)
    for name, legs in POSES.items():
        transforms = {"pelvis": np.eye(4), **segment_transforms(legs, landmarks)}
        posed = deformer.pose(transforms)
        for structure, nerve in nerves.items():
            vertices, line = reference_pose(nerve, transforms)
            assert np.abs(posed[structure].vertices - vertices).max() < TOLERANCE_MM, (name, structure)
            assert np.abs(posed[structure].centreline - line).max() < TOLERANCE_MM, (name, structure)
            for zone_id, zone_vertices in reference_zones(nerve, nerve.posed_centrelines(line)).items():
                fast = posed[f"{zone_id}_zone_{nerve.side}"].vertices
                assert fast.shape == zone_vertices.shape and np.abs(fast - zone_vertices).max() < TOLERANCE_MM, (
                    name,
                    zone_id,
                )


def test_a_nerve_whose_thigh_did_not_move_keeps_its_shapes_and_the_other_is_posed_afresh(landmarks):
    nerves = build_nerves("usual")
    deformer = NerveDeformer(nerves)
    held = LegPose(hip_flexion=60, hip_rotation=-20)
    steps = [{"right": LegPose(hip_flexion=20), "left": held}, {"right": LegPose(95, 20, 30, 90), "left": held}]
    before, after = (deformer.pose({"pelvis": np.eye(4), **segment_transforms(legs, landmarks)}) for legs in steps)
    transforms = {"pelvis": np.eye(4), **segment_transforms(steps[1], landmarks)}
    for structure, nerve in nerves.items():
        vertices, line = reference_pose(nerve, transforms)
        assert np.abs(after[structure].vertices - vertices).max() < TOLERANCE_MM, structure
        assert np.abs(after[structure].centreline - line).max() < TOLERANCE_MM, structure
        zones = [name for name in after if name.endswith(f"_zone_{nerve.side}")]
        assert zones
        for zone_id, zone_vertices in reference_zones(nerve, nerve.posed_centrelines(line)).items():
            assert np.abs(after[f"{zone_id}_zone_{nerve.side}"].vertices - zone_vertices).max() < TOLERANCE_MM
        kept = nerve.side == "left"  # its thigh did not move: the very arrays of the previous pose
        assert (after[structure].vertices is before[structure].vertices) == kept, structure
        if kept:
            assert all(after[z].vertices is before[z].vertices for z in zones), structure


def test_posed_left_nerve_keeps_its_outward_faces_and_does_not_jump():
    """The mirrored left nerve's sections were rebuilt right-handed when posed: inside out, vertices jumping 15 mm."""
    for side in ("right", "left"):
        nerve = build_nerve(side)
        turn = np.eye(4)
        turn[:3, :3] = [[np.cos(0.01), -np.sin(0.01), 0], [np.sin(0.01), np.cos(0.01), 0], [0, 0, 1]]
        vertices, _ = pose_nerve(nerve, {f"thigh_{side}": turn})
        assert signed_volume(vertices, nerve.faces) > 0, side
        # a 0.6 degree turn about the origin carries nothing in the nerve more than about 4 mm
        assert np.linalg.norm(vertices - nerve.vertices, axis=1).max() < 5.0, side


def test_bone_fields_are_searched_only_for_rings_that_may_be_near_bone(landmarks, monkeypatch):
    """Rings still at rest relative to a bone, or far from it, are not looked up in the k-d tree at each pose."""
    nerve = build_nerve("right")
    asked = []
    search = SurfaceField.signed_distance

    def counting(self, query, limit=np.inf):
        asked.append(len(query))
        return search(self, query, limit)

    monkeypatch.setattr(SurfaceField, "signed_distance", counting)
    for legs in POSES.values():
        pose_nerve(nerve, {"pelvis": np.eye(4), **segment_transforms(legs, landmarks)})
    rings = len(nerve.centreline)
    every_ring_each_time = len(POSES) * 2 * 2 * rings  # poses x bone fields x rounds
    assert sum(asked) < 0.25 * every_ring_each_time, f"{sum(asked)} of {every_ring_each_time} ring look-ups"


def test_gap_bound_is_a_lower_bound_of_the_distance_to_the_bone(landmarks):
    field = build_nerve("right")._bone_fields["pelvis"]
    rng = np.random.default_rng(3)
    points = field.points.mean(axis=0) + rng.normal(scale=120.0, size=(5000, 3))
    points[:1000] = field.points[rng.integers(len(field.points), size=1000)] + rng.normal(scale=4.0, size=(1000, 3))
    true_gap, _ = field.tree.query(points)
    bound = field.gap_bound(points)
    assert (bound <= true_gap + 1e-9).all()
    close = true_gap < 20
    assert np.median(true_gap[close] - bound[close]) < 8.0, "tight enough to rule out most far rings"
