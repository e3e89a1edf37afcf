"""Choosing a technique poses, peels and draws it; the CLI lists and renders techniques."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import pyvista as pv
from imaging import read_png
from test_cli import run_main

from viewer.model.history import History
from viewer.model.layers import PeelState
from viewer.model.technique_session import TechniqueSession
from viewer.render.technique_view import TechniqueView


@pytest.fixture()
def session(fresh_scene):
    peel = PeelState()
    return TechniqueSession(fresh_scene, History(fresh_scene, peel), peel)


def test_choosing_poses_peels_and_shows_the_danger_zones(session):
    scene = session.scene
    events = []
    session.changed.connect(events.append)
    session.choose("rotators_prone_knee90", "right")
    assert events == ["rotators_prone_knee90"]
    assert scene.pose("right").knee_flexion == 90 and scene.pose("right").hip_rotation > 0
    assert scene.pose("left").knee_flexion == 0
    assert not scene.is_visible("skin") and not scene.is_visible("iliotibial_band_right")  # peeled to maximus
    assert (
        scene.is_visible("gluteus_maximus_right") and scene.opacity("gluteus_maximus_right") < 0.5
    )  # ghosted: force goes through it
    assert scene.is_visible("sciatic_nerve_gluteal_zone_right") and not scene.is_visible(
        "sciatic_nerve_gluteal_zone_left"
    )
    geometry, report, _zones = session.result()
    assert geometry.tool == "elbow" and not report.flagged
    assert 30 <= report.angle_to_surface_deg <= 70  # oblique, not vertical
    assert report.crossings[0].structure == "gluteus_maximus_right"


def test_techniques_for_a_muscle(session):
    ids = {t.id for t in session.techniques_for("piriformis_left")}
    assert "rotators_prone_knee90" in ids and "frog_position_medius_minimus" not in ids


def test_overlay_drawn_and_cleared(session):
    plotter = pv.Plotter(off_screen=True, window_size=[400, 300])
    view = TechniqueView(plotter, session)
    session.choose("maximus_free_to_slide", "left")
    assert {"tool", "approach", "cone"} <= set(view.overlay.actors)
    session.clear()
    assert not view.overlay.actors
    plotter.close()


def test_techniques_json_lists_every_technique_with_its_safety_check(capsys):
    from viewer.cli import main

    assert main(["techniques", "--json", "--side", "right"]) == 0  # in this process (test_cli runs the entry point)
    report = json.loads(capsys.readouterr().out)
    ids = {t["id"] for t in report["techniques"]}
    assert {"rotators_prone_knee90", "rotators_side_lying", "self_foam_roller", "self_ball_chair"} <= ids
    assert {v["id"] for v in report["nerve_variants"]} >= {"usual", "divided_fibular_through_piriformis"}
    assert isinstance(report["danger_margin_mm"], float) and report["danger_margin_mm"] == 15.0
    for technique in report["techniques"]:
        check = technique["safety"]["right"]
        if technique["id"] == "rotators_prone_knee90":  # ROTATOR_GAP in test_techniques
            assert technique["id"] in ids and check["explanation"]
            continue
        assert not check["flagged"], (technique["id"], check["explanation"])
        assert check["crossings"] and check["explanation"]
        assert technique["sources"] and not any(".txt" in s for s in technique["sources"])
        # the words and the JSON are the same numbers, and safe means at least the margin away
        assert check["danger_margin_mm"] == report["danger_margin_mm"]
        assert check["nerve_distance_mm"] >= check["danger_margin_mm"]
        distance = f"{check['nerve_distance_mm']:.1f}".removesuffix(".0")
        assert f"the nearest approach, {distance} mm, is outside the 15 mm danger margin" in check["explanation"]
        structures = [c["structure"] for c in check["crossings"]]
        assert all(a != b for a, b in itertools.pairwise(structures)), structures


def test_scene_danger_margin_is_a_number_from_the_start(fresh_scene):
    assert fresh_scene.danger_margin_mm == 15.0


def test_export_renders_a_technique(tmp_path, capsys):
    plain, drawn = tmp_path / "plain.png", tmp_path / "drawn.png"
    assert run_main(capsys, "export", "--peel", "2", "--size", "480x360", "--out", str(plain))[0] == 0
    code, err = run_main(capsys, "export", "--technique", "rotators_prone_knee90", "--size", "480x360", "--out", str(drawn))
    assert code == 0, err
    assert abs(read_png(plain).astype(int) - read_png(drawn).astype(int)).mean() > 3
    code, err = run_main(capsys, "export", "--technique", "nope", "--out", str(tmp_path / "x.png"))
    assert code != 0 and "unknown id" in err and not (tmp_path / "x.png").exists()


def shown_state(session) -> dict:
    """Everything choosing a technique may change: visibility, opacity, peel, ghosting, pose, technique."""
    scene, peel = session.scene, session.peel
    return {
        "visible": {n: scene.is_visible(n) for n in scene.names()},
        "opacity": {n: scene.opacity(n) for n in scene.names()},
        "peel": (peel.depth, peel.ghost),
        "pose": (scene.pose("right"), scene.pose("left")),
        "technique": session.active.id if session.active else None,
    }


def test_undo_after_choosing_a_technique_restores_the_exact_earlier_state(session):
    session.history.set_pose("left", hip_flexion=20.0)
    session.history.set_opacity("gluteus_medius_right", 0.6)
    before = shown_state(session)
    session.choose("rotators_prone_knee90", "right")
    chosen = shown_state(session)
    assert chosen != before and chosen["technique"] == "rotators_prone_knee90"
    events = []
    session.changed.connect(events.append)
    assert session.history.undo()
    assert shown_state(session) == before  # maximus not left ghosted, zones not left shown, pose back
    assert events and events[-1] is None
    assert session.history.redo()
    assert shown_state(session) == chosen


def test_pose_and_colour_mode_are_undone_and_a_drag_is_one_step(session):
    history, scene = session.history, session.scene
    for degrees in (5.0, 10.0, 15.0):
        history.set_pose("right", merge=True, hip_flexion=degrees)
    history.set_colour_mode("stretch")
    assert history.undo() and scene.colour_mode == "anatomy"
    assert history.undo() and scene.pose("right").hip_flexion == 0.0
    assert not history.can_undo


def test_the_safety_check_measures_the_scenes_own_posed_nerve_and_zones(session, monkeypatch):
    """The technique's check reads the nerve and danger zones the scene shows at this pose: nothing is built or
    posed again, and the verdict is the one a freshly built and posed nerve gives."""
    import viewer.anatomy.nerve as nerve_module
    import viewer.anatomy.nerve_posing as posing_module
    from viewer.techniques.context import context_from_scene
    from viewer.techniques.geometry import technique_geometry
    from viewer.techniques.safety import assess

    scene = session.scene
    session.choose("rotators_prone_knee90", "right")
    fresh = context_from_scene(scene, "right", nerve=nerve_module.build_nerve("right", scene.nerve_variant))
    calls = []
    for module, name in ((nerve_module, "build_nerve"), (nerve_module, "build_nerves"), (posing_module, "pose_nerves")):
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))
    _geometry, report, zones = session.result()
    context = context_from_scene(scene, "right")
    assert calls == []  # neither built nor posed again
    assert context.nerve_vertices is scene.vertices("sciatic_nerve_right")  # the very tube drawn
    assert zones is scene.danger_zones("right")  # built once for this pose
    np.testing.assert_allclose(context.nerve_vertices, fresh.nerve_vertices, atol=1e-9)
    for shown, built in zip(zones, fresh.zones, strict=True):
        assert shown.id == built.id
        np.testing.assert_allclose(shown.vertices, built.vertices, atol=1e-9)
    expected = assess(session.active, technique_geometry(session.active, fresh), fresh)
    assert report.summary() == expected.summary()
    scene.set_pose("right", hip_flexion=scene.pose("right").hip_flexion + 10)
    assert scene.danger_zones("right") is not zones  # a new pose: the zones move with the nerve
