"""Bony impingement: combinations of angles inside the ranges that would still drive a femur into the pelvis."""

from __future__ import annotations

import json

import numpy as np
import pytest

from viewer.anatomy.bones import SIDES, load_bone_surfaces, load_landmarks
from viewer.anatomy.impingement import HEAD_MARGIN_MM, OVERLAP_MM, ImpingementCheck
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.muscles.distance_field import distance_grid
from viewer.cli import main
from viewer.model.actions import load_actions

ISCHIOFEMORAL = {"hip_flexion": -20, "hip_abduction": -30, "hip_rotation": -45}  # extended, adducted, turned out
FEMOROACETABULAR = {"hip_flexion": 120, "hip_abduction": -30, "hip_rotation": 45}  # flexed, adducted, turned in


@pytest.fixture(scope="module")
def check():
    return ImpingementCheck()


def transforms(**angles: float) -> dict[str, np.ndarray]:
    return segment_transforms(LegPose(**angles), load_landmarks())


def test_anatomical_position_and_every_action_keyframe_are_free(check):
    """The actions people play are poses a living hip takes: no keyframe drives a femur into the pelvis."""
    assert check.check(transforms()) == []
    for action in load_actions().values():
        for keyframe in action.keyframes:
            posed = segment_transforms(keyframe.pose, load_landmarks())
            assert check.check(posed) == [], (action.id, keyframe.pose)


@pytest.mark.parametrize("angles, site", [(ISCHIOFEMORAL, "ischiofemoral"), (FEMOROACETABULAR, "femoroacetabular")])
def test_impinging_corners_are_named_on_both_sides(check, angles, site):
    found = check.check(transforms(**angles))
    assert sorted(f.side for f in found) == sorted(SIDES)
    for impingement in found:
        assert impingement.site.startswith(site) and impingement.depth_mm > 5.0
        assert site in impingement.message() and "mm of overlap" in impingement.message()


def test_reported_depth_is_the_overlap_of_the_bone_meshes(check):
    """Measured independently: posed femur vertices (outside the head) against the hip bone's own distance grid."""
    bones = load_bone_surfaces()
    hip = distance_grid(bones["hip_bone_right"].vertices, bones["hip_bone_right"].faces)
    head = load_landmarks()["femoral_head_centre_right"]
    femur = bones["femur_right"].vertices
    femur = femur[np.linalg.norm(femur - head, axis=1) > HEAD_MARGIN_MM]
    for angles in (ISCHIOFEMORAL, FEMOROACETABULAR, {"hip_rotation": -45}, {"hip_flexion": 90}):
        thigh = transforms(**angles)["thigh_right"]
        overlap = -hip.distance(femur @ thigh[:3, :3].T + thigh[:3, 3]).min()
        found = [f for f in check.check(transforms(**angles)) if f.side == "right"]
        if overlap > OVERLAP_MM + 0.5:
            assert found and found[0].depth_mm == pytest.approx(overlap, abs=1.0), angles
        elif overlap < OVERLAP_MM - 0.5:
            assert not found, angles


def test_inspect_reports_and_warns(capsys):
    pose = ",".join(f"{k}={v}" for k, v in FEMOROACETABULAR.items())
    assert main(["inspect", "--json", "--pose", pose, "--side", "right"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert [entry["side"] for entry in report["impingement"]] == ["right"]
    assert report["impingement"][0]["site"].startswith("femoroacetabular")
    assert "warning: right hip: bony impingement" in captured.err
