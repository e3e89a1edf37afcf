"""The thighs' contact: where the legs meet, each thigh's skin is pressed flat against the other's."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.anatomy.body_skin import BODIES
from viewer.anatomy.bones import load_landmarks
from viewer.anatomy.geometry import self_crossings
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.skin import load_skin_asset
from viewer.anatomy.skin_contact import ThighContact, nearest_on_polyline
from viewer.anatomy.skin_correctives import load_correctives
from viewer.anatomy.skinning import SkinDeformer

CROSSED = LegPose(hip_flexion=10.0, hip_abduction=-25.0, hip_rotation=-35.0)  # external rotation with adduction


def posed(body: str, legs: dict[str, LegPose], contact: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rest vertices, faces, posed vertices) of a body's skin, with or without the thighs' contact."""
    landmarks, asset = load_landmarks(), load_skin_asset(body)
    rest, faces = asset.surface.vertices, asset.surface.faces
    press = ThighContact(rest, faces, asset.weights, landmarks) if contact else None
    deformer = SkinDeformer("skin", rest, {}, asset.weights, load_correctives(body), press)
    return rest, faces, deformer.pose(segment_transforms(legs, landmarks), legs)["skin"].vertices


def test_nearest_on_polyline():
    line = np.array([[0.0, 0.0, 0.0], [0.0, -10.0, 0.0], [10.0, -10.0, 0.0]])
    points = np.array([[3.0, 5.0, 0.0], [-2.0, -4.0, 0.0], [6.0, -13.0, 4.0]])
    distance, nearest = nearest_on_polyline(points, line)
    np.testing.assert_allclose(nearest, [[0.0, 0.0, 0.0], [0.0, -4.0, 0.0], [6.0, -10.0, 0.0]])
    np.testing.assert_allclose(distance, [np.hypot(3.0, 5.0), 2.0, 5.0])


@pytest.mark.parametrize("body", BODIES)
def test_thighs_pressed_together_do_not_pass_through_each_other(body):
    """External rotation with adduction carries the right knee onto the left: the skins crossed in 1035 (female) and
    962 (male) pairs of triangles, 126 and 170 of them along the inner thighs. Pressed flat against each other along
    the surface midway between the legs' axes: 370 and 370, none and 5 along the inner thighs (what is left lies
    at the perineum, which neither leg carries, and at the caps of the cut below the knees)."""
    legs = {"right": CROSSED, "left": LegPose()}
    rest, faces, free = posed(body, legs, contact=False)
    _, _, pressed = posed(body, legs, contact=True)
    landmarks = load_landmarks()
    knee = np.mean([landmarks[f"{n}_epicondyle_{s}"][1] for n in ("lateral", "medial") for s in ("right", "left")])
    centre = rest[faces].mean(axis=1)
    thighs = (centre[:, 1] > knee + 100.0) & (centre[:, 1] < landmarks["pubic_symphysis"][1])
    thighs &= np.abs(centre[:, 2]) > 40.0  # not the perineum
    before, after = self_crossings(free, faces), self_crossings(pressed, faces)
    inner = int((thighs[after[:, 0]] | thighs[after[:, 1]]).sum())
    assert len(after) < 0.5 * len(before), f"{len(after)} crossing pairs in the {body} skin, {len(before)} unpressed"
    assert inner <= 8, f"the {body} inner thighs still pass through each other in {inner} pairs of triangles"


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize(
    "pose", [LegPose(), LegPose(hip_flexion=90.0, knee_flexion=90.0), LegPose(hip_flexion=120.0)], ids=str
)
def test_legs_apart_are_not_pressed(body, pose):
    """Where the legs do not meet (at rest the thighs touch at the crotch, flexed they are apart), nothing moves."""
    legs = {"right": pose, "left": LegPose()}
    _, _, free = posed(body, legs, contact=False)
    _, _, pressed = posed(body, legs, contact=True)
    assert np.abs(pressed - free).max() < 0.5
