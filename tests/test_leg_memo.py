"""The shared "same leg pose as last time" memo, and every pose stage reusing a leg that did not move."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from viewer.anatomy.kinematics import LegPose
from viewer.anatomy.leg_memo import LegMemo


@dataclass(frozen=True)
class _Angles:
    flexion: float


def _counting_memo():
    memo: LegMemo[str] = LegMemo()
    calls: list[str] = []

    def value(leg: str, inputs) -> str:
        def compute() -> str:
            calls.append(leg)
            return f"{leg}#{len(calls)}"

        return memo.get(leg, inputs, compute)

    return memo, calls, value


def test_the_same_inputs_hand_back_the_very_same_value():
    _memo, calls, value = _counting_memo()
    thigh = np.eye(4)
    first = value("right", (thigh, _Angles(30.0), None))
    assert value("right", (thigh.copy(), _Angles(30.0), None)) is first  # equal arrays, another object: a hit
    assert value("right", [thigh, _Angles(30.0), None]) is first  # a list of the same inputs as the tuple kept
    assert calls == ["right"]


@pytest.mark.parametrize(
    "changed",
    [
        (np.eye(4) * 2, _Angles(30.0), None),  # an array value
        (np.eye(4, dtype=np.float32), _Angles(30.0), None),  # an array's dtype
        (np.eye(4)[:3], _Angles(30.0), None),  # an array's shape
        (np.eye(4), _Angles(31.0), None),  # a dataclass field
        (np.eye(4), _Angles(30.0), 0.0),  # None -> a number
        (np.eye(4), _Angles(30.0)),  # one input fewer
        (np.eye(4), (30.0,), None),  # another type, though "equal" in spirit
    ],
)
def test_any_changed_input_computes_again(changed):
    _memo, calls, value = _counting_memo()
    first = value("right", (np.eye(4), _Angles(30.0), None))
    again = value("right", changed)
    assert calls == ["right", "right"] and again != first


def test_a_nan_never_matches_and_an_array_changed_in_place_is_seen():
    _memo, calls, value = _counting_memo()
    value("right", (np.array([np.nan, 1.0]),))
    value("right", (np.array([np.nan, 1.0]),))
    assert calls == ["right", "right"]  # NaN != NaN: computed afresh, never a stale hit
    thigh = np.eye(4)
    value("left", (thigh,))
    thigh[0, 3] = 5.0  # the caller moves its own array: the memo kept a copy, so this is a new input
    value("left", (thigh,))
    assert calls == ["right", "right", "left", "left"]


def test_legs_are_independent():
    memo, calls, value = _counting_memo()
    right = value("right", (np.eye(4),))
    left = value("left", (np.eye(4) * 3,))
    value("left", (np.eye(4) * 4,))  # the left leg moves ...
    assert value("right", (np.eye(4),)) is right  # ... the right keeps its value
    assert value("left", (np.eye(4) * 3,)) != left  # the left kept only its last inputs
    assert calls == ["right", "left", "left", "left"]
    assert memo.holds("right", (np.eye(4),)) and not memo.holds("nobody", (np.eye(4),))
    memo.forget()
    assert not memo.holds("right", (np.eye(4),))


def test_none_is_a_value_it_keeps():
    memo: LegMemo[None] = LegMemo()
    calls = []
    for _ in range(2):
        memo.get("right", (1.0,), lambda: calls.append(1))  # returns None
    assert calls == [1]


def _count(monkeypatch, owner, name: str, record) -> list:
    """Wrap ``owner.name`` so each call appends ``record(*args)`` to the returned list."""
    original = getattr(owner, name)
    calls: list = []

    def counted(*args, **kwargs):
        calls.append(record(*args, **kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_each_pose_stage_recomputes_the_moved_leg_only(fresh_scene, monkeypatch):
    """A step of the right leg with the left held: the pose-space lookup, the forms, the nerves and the skin's
    correction each work on the right leg alone; the same pose again (a length curve's point at the live pose)
    computes nothing."""
    import viewer.model.nerves as nerves_module
    from viewer.anatomy.muscles.forms_posing import LegForms
    from viewer.anatomy.pose_space import PoseSpace
    from viewer.anatomy.skin_correctives import SkinCorrectives

    held = LegPose(hip_flexion=30.0, hip_abduction=10.0, hip_rotation=-15.0, knee_flexion=45.0)
    fresh_scene.set_leg_poses({"right": LegPose(hip_flexion=20.0), "left": held})
    muscles = fresh_scene._deformers["muscles"]
    assert isinstance(muscles.cages, PoseSpace), "the shipped pose space is stale: this test needs it"
    left_muscles = [n for n in muscles.names if n.endswith("_left")]
    before = {n: fresh_scene.vertices(n) for n in [*left_muscles, "skin"]}

    lookups = _count(monkeypatch, PoseSpace, "_correct", lambda *a, **k: "leg")
    forms = _count(monkeypatch, LegForms, "_carried", lambda leg, *a: leg.names[0].rsplit("_", 1)[-1])
    nerves = _count(monkeypatch, nerves_module, "pose_nerves", lambda moved, *a: sorted(n.side for n in moved))
    skin = _count(monkeypatch, SkinCorrectives, "leg_offsets", lambda _self, side, pose: side)

    legs = {"right": LegPose(hip_flexion=40.0, hip_rotation=10.0), "left": held}
    fresh_scene.set_leg_poses(legs)
    assert (len(lookups), forms, nerves, skin) == (1, ["right"], [["right"]], ["right"])
    for name in left_muscles:  # the held leg's forms are the very arrays of the step before
        assert fresh_scene.vertices(name) is before[name], name
    assert fresh_scene.vertices("skin") is not before["skin"]  # one surface: the skin is blended afresh

    fresh_scene.lengths_at(legs, left_muscles[:1])  # every deformer posed again at the very same pose
    assert (len(lookups), forms, nerves, skin) == (1, ["right"], [["right"]], ["right"])  # nothing recomputed
