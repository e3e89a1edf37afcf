"""Actions are validated data; the timeline plays them onto the scene like a demonstration."""

from __future__ import annotations

import json

import pytest

from viewer.io.annotations import AnnotationError
from viewer.model.actions import Timeline, load_actions

REQUIRED = {
    "hip_flexion_extension", "hip_abduction_adduction", "hip_rotation", "frog_position",
    "prone_knee90_internal_rotation", "sidelying_hip_flexion", "external_rotation_adduction_stretch",
}  # fmt: skip


def test_every_required_action_is_defined_with_text_and_source():
    actions = load_actions()
    assert set(actions) >= REQUIRED
    for action in actions.values():
        assert action.description and action.source and action.title
    frog = actions["frog_position"].keyframes[-1].pose
    assert (
        frog.hip_abduction > 20 and frog.hip_flexion > 20 and frog.hip_rotation > 0
    )  # abducted, flexed, internally rotated
    lever = actions["prone_knee90_internal_rotation"].keyframes[-1].pose
    assert lever.knee_flexion == 90 and lever.hip_rotation > 0
    assert actions["sidelying_hip_flexion"].keyframes[-1].pose.hip_flexion >= 90
    stretch = actions["external_rotation_adduction_stretch"].keyframes[-1].pose
    assert stretch.hip_rotation < 0 and stretch.hip_abduction < 0


def test_timeline_eases_between_keyframes(bones_scene):
    action = load_actions()["hip_rotation"]
    timeline = Timeline(bones_scene, action)
    timeline.seek(1.0)  # halfway to 45 degrees of internal rotation: smoothstep gives exactly half
    assert bones_scene.pose("right").hip_rotation == pytest.approx(22.5)
    timeline.seek(0.5)
    assert 0 < bones_scene.pose("right").hip_rotation < 22.5 / 2  # eased: slow start
    assert bones_scene.pose("left").hip_rotation == 0  # the action moves the right leg only


def test_play_advance_pause_loop_and_step(bones_scene):
    timeline = Timeline(bones_scene, load_actions()["hip_abduction_adduction"])
    states = []
    timeline.state_changed.connect(states.append)
    timeline.play()
    timeline.advance(2.0)
    assert bones_scene.pose("right").hip_abduction == pytest.approx(45)
    timeline.set_speed(2.0)
    timeline.advance(10.0)  # runs past the end: stops there
    assert not timeline.playing and timeline.time == timeline.action.duration
    assert states == [True, False]
    timeline.loop = True
    timeline.play()  # at the end and looping: carries on from the start
    timeline.advance(1.0)  # 2 s of action at double speed
    assert timeline.time == pytest.approx(2.0) and timeline.playing
    timeline.step(-1)
    assert not timeline.playing and timeline.time == pytest.approx(1.75)


def test_side_override_moves_both_legs(bones_scene):
    timeline = Timeline(bones_scene, load_actions()["sidelying_hip_flexion"])
    timeline.side_override = "both"
    timeline.seek(100)
    assert bones_scene.pose("left").hip_flexion == bones_scene.pose("right").hip_flexion == 110


def test_timeline_poses_both_legs_in_one_update(bones_scene):
    updates = []
    bones_scene.pose_changed.connect(updates.append)
    timeline = Timeline(bones_scene, load_actions()["hip_flexion_extension"])
    timeline.side_override = "both"
    timeline.seek(2.5)
    assert len(updates) == 1


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda a: a["actions"][1]["keyframes"][1]["pose"].update(hip_flexion=170), "actions[1].keyframes[1].pose"),
        (lambda a: a["actions"][1]["keyframes"][1]["pose"].update(hip_twist=5), "actions[1].keyframes[1].pose"),
        (lambda a: a["actions"][1]["keyframes"][2].update(t=0.5), "actions[1].keyframes[2].t"),
        (lambda a: a["actions"][2].pop("source"), "actions[2]"),
        (lambda a: a["actions"].append(dict(a["actions"][0])), "actions[8].id"),
    ],
)
def test_bad_action_files_name_the_file_and_field(asset_copy, change, field):
    path = asset_copy / "annotations" / "actions.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    load_actions.cache_clear()
    try:
        with pytest.raises(AnnotationError) as error:
            load_actions(asset_copy / "annotations")
    finally:
        load_actions.cache_clear()
    assert "actions.json" in str(error.value) and f"field '{field}" in str(error.value)


def test_rotation_is_played_internal_then_external_and_named_so():
    actions = load_actions()
    rotation = actions["hip_rotation"]
    assert rotation.played_angle() == "hip_rotation"
    phases = rotation.phases()
    assert [p.name for p in phases] == ["internal rotation", "external rotation"]
    assert phases[0].start < 0.1 and abs(phases[0].end - 4.0) < 0.02 and abs(phases[1].start - 4.0) < 0.02
    assert abs(phases[1].end - 8.0) < 0.02
    assert [p.name for p in actions["hip_abduction_adduction"].phases()] == ["abduction", "adduction"]
    assert [p.name for p in actions["hip_flexion_extension"].phases()] == ["flexion", "extension"]
    lever = actions["prone_knee90_internal_rotation"]
    assert lever.played_angle() == "hip_rotation" and lever.phases()[0].start > 1.4  # the knee bends first
    assert "flexion" not in actions["hip_abduction_adduction"].movements()  # 10 degrees is not a flexion
    assert set(actions["frog_position"].movements()) >= {"flexion", "abduction", "internal rotation"}


def test_one_angle_over_many_times_is_the_pose_at_each_time():
    """``angle_at`` (how phases and quiz questions sample an action) eases exactly as ``pose_at`` does."""
    import numpy as np

    for action in load_actions().values():
        keyframes = [frame.time for frame in action.keyframes]
        times = np.r_[np.linspace(-0.5, action.duration + 0.5, 301), keyframes]
        for angle in ("hip_flexion", "hip_abduction", "hip_rotation", "knee_flexion"):
            expected = [action.pose_at(float(t)).as_dict()[angle] for t in times]
            assert action.angle_at(times, angle).tolist() == expected, (action.id, angle)
