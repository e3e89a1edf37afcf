"""The sciatic nerve, its danger zones and the skin as scene structures that follow the pose."""

from __future__ import annotations

import json

import numpy as np
from test_cli import run_cli

from viewer.anatomy.metrics import is_watertight, signed_volume


def test_nerves_and_zones_are_closed_structures(scene):
    for side in ("right", "left"):
        nerve = scene.structures[f"sciatic_nerve_{side}"]
        assert nerve.kind == "nerve" and is_watertight(nerve.faces) and signed_volume(nerve.vertices, nerve.faces) > 0
        assert "85" in nerve.info["variant"]  # the usual course, with its prevalence
        for zone in (f"sciatic_nerve_gluteal_zone_{side}", f"sciatic_notch_zone_{side}"):
            assert scene.structures[zone].kind == "danger" and is_watertight(scene.structures[zone].faces)
            assert not scene.is_visible(zone)  # overlays start hidden


def test_inspect_reports_the_posed_nerve_centreline():
    rest = json.loads(run_cli("inspect", "--json").stdout)["structures"]["sciatic_nerve_right"]
    flexed = json.loads(run_cli("inspect", "--json", "--pose", "hip_flexion=90").stdout)["structures"][
        "sciatic_nerve_right"
    ]
    rest_line, flexed_line = np.array(rest["centreline"]), np.array(flexed["centreline"])
    assert rest_line.shape == flexed_line.shape and rest_line.shape[1] == 3
    np.testing.assert_allclose(rest_line[0], flexed_line[0], atol=2)  # the exit from the pelvis stays
    assert flexed_line[-1, 0] - rest_line[-1, 0] > 100  # the thigh part swings forward with the thigh


def test_skin_and_nerve_follow_the_thigh(fresh_scene):
    skin_rest = fresh_scene.vertices("skin").copy()
    fresh_scene.set_pose("right", hip_flexion=60)
    skin = fresh_scene.vertices("skin")
    moved = np.linalg.norm(skin - skin_rest, axis=1)
    right_thigh = (skin_rest[:, 2] > 60) & (skin_rest[:, 1] < -200)
    above_pelvis = skin_rest[:, 1] > 20
    assert np.median(moved[right_thigh]) > 80 and np.median(moved[above_pelvis]) < 2


def test_variant_switch_replaces_the_nerve(fresh_scene):
    replaced = []
    fresh_scene.structures_replaced.connect(replaced.extend)
    before = len(fresh_scene.structures["sciatic_nerve_right"].vertices)
    fresh_scene.set_nerve_variant("divided_fibular_through_piriformis")
    assert fresh_scene.nerve_variant == "divided_fibular_through_piriformis"
    assert "sciatic_nerve_right" in replaced and len(fresh_scene.structures["sciatic_nerve_right"].vertices) > before
    assert "10" in fresh_scene.structures["sciatic_nerve_left"].info["variant"]


def test_caution_area_lies_over_the_nerve_on_the_buttock(scene):
    mask = scene.caution_mask()
    skin = scene.structures["skin"].vertices
    assert 0.01 < mask.mean() < 0.3
    marked = skin[mask]
    assert (marked[:, 0] < -60).mean() > 0.9  # on the back of the body
    lm = scene.landmarks_rest
    low = lm["ischial_tuberosity_right"][1] - 80
    high = lm["greater_sciatic_notch_right"][1] + 60
    assert ((marked[:, 1] > low) & (marked[:, 1] < high)).mean() > 0.9  # at the level of the gluteal course


def test_danger_margin_widens_the_zone_and_the_safety_check_follows(fresh_scene):
    from viewer.model.technique_session import TechniqueSession

    zone = "sciatic_nerve_gluteal_zone_right"
    before = signed_volume(fresh_scene.vertices(zone), fresh_scene.structures[zone].faces)
    session = TechniqueSession(fresh_scene)
    session.choose("rotators_prone_knee90", "right", layers=False)
    assert not session.result()[1].too_close
    fresh_scene.set_danger_margin(55.0)  # the line of force passes about 47 mm from the nerve
    assert signed_volume(fresh_scene.vertices(zone), fresh_scene.structures[zone].faces) > 1.5 * before
    assert session.result()[1].too_close  # the same approach now ends inside the wider margin
