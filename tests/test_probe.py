"""The depth probe: the column of tissues under a point, measured by the safety check's own routine."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial import cKDTree

from viewer.cli import main
from viewer.model.probe import ProbeError, parse_point, probe, probe_technique

TECHNIQUES = ("rotators_prone_knee90", "maximus_itb_border", "self_ball_chair")


@pytest.fixture(scope="module")
def posed():
    """A scene of its own, with a technique session (the tests choose techniques, which pose it)."""
    from viewer.model.history import History
    from viewer.model.layers import PeelState
    from viewer.model.scene import build_scene
    from viewer.model.technique_session import TechniqueSession

    scene = build_scene()
    peel = PeelState()
    return scene, TechniqueSession(scene, History(scene, peel), peel)


@pytest.mark.parametrize("technique", TECHNIQUES)
@pytest.mark.parametrize("side", ["right", "left"])
def test_probe_along_a_technique_gives_the_safety_checks_numbers(posed, technique, side):
    scene, session = posed
    session.choose(technique, side)
    _geometry, report, _zones = session.result()
    column = probe_technique(scene, session)
    assert [(c.structure, c.entry_mm, c.exit_mm, c.bone) for c in report.crossings] == [
        (layer.structure, layer.entry_mm, layer.exit_mm, layer.bone) for layer in column.layers
    ]
    assert column.reach_mm == report.pressure_depth_mm
    assert column.bone == report.stopped_by
    assert column.nerve_distance_mm == report.force_line_min_distance_mm
    assert column.side == side


def test_probe_over_the_trochanter_lists_skin_fat_then_bone_at_measured_depths(scene):
    result = probe(scene, parse_point("greater_trochanter_right", scene))
    assert result.surface == "skin" and result.side == "right"
    first = result.layers[0]
    assert (first.structure, first.entry_mm) == ("skin", 0.0)
    # the skin and fat end where the first structure under them begins
    assert first.exit_mm == result.layers[1].entry_mm
    entries = [layer.entry_mm for layer in result.layers]
    assert entries == sorted(entries)
    assert result.bone == "femur_right" and result.layers[-1].structure == "femur_right"
    # the reported bone depth is where the needle really meets the femur's surface (to 0.1 mm)
    tip = result.point + result.bone_depth_mm * result.direction
    assert cKDTree(scene.vertices("femur_right")).query(tip)[0] < 1.5
    # ... and the probe passes through the landmark it was aimed at
    landmark = scene.landmarks()["greater_trochanter_right"]
    offset = landmark - result.point
    assert np.linalg.norm(offset - offset.dot(result.direction) * result.direction) < 0.5


def test_probe_on_the_buttock_finds_the_nerve_it_passes_through(scene):
    result = probe(scene, np.array([-100.0, -60.0, 40.0]), direction=np.array([1.0, 0.0, 0.0]))
    assert result.point[0] < -150  # started on the skin of the buttock, where the line enters it
    names = [layer.structure for layer in result.layers]
    assert names[:2] == ["skin", "gluteus_maximus_right"]
    assert "sciatic_nerve_right" in names
    assert result.nerve_entry_depth_mm is not None and result.nerve_distance_mm < 0
    # the nerve's distance is measured: the point that deep is inside the nerve
    from viewer.anatomy.nerve import build_nerve
    from viewer.techniques.context import context_from_scene

    context = context_from_scene(scene, "right", nerve=build_nerve("right", scene.nerve_variant))
    deepest = result.point + result.nerve_nearest_depth_mm * result.direction
    assert context.nerve_distance(deepest[None])[0] < 0


def test_probe_follows_the_pose(fresh_scene):
    point = parse_point("greater_trochanter_right", fresh_scene)
    rest = probe(fresh_scene, point)
    fresh_scene.set_pose("right", hip_abduction=30)
    moved = parse_point("greater_trochanter_right", fresh_scene)
    abducted = probe(fresh_scene, moved)
    assert np.linalg.norm(abducted.point - rest.point) > 10  # the skin over the trochanter moved with it
    assert abducted.bone == "femur_right"
    tip = abducted.point + abducted.bone_depth_mm * abducted.direction
    assert cKDTree(fresh_scene.vertices("femur_right")).query(tip)[0] < 1.5


def test_probe_cli_json_is_the_same_column(capsys, scene):
    assert main(["probe", "--at", "greater_trochanter_right", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    result = probe(scene, parse_point("greater_trochanter_right", scene))
    assert [(e["structure"], e["entry_mm"], e["exit_mm"]) for e in printed["layers"]] == [
        (layer.structure, layer.entry_mm, layer.exit_mm) for layer in result.layers
    ]
    assert printed["bone_depth_mm"] == result.bone_depth_mm
    assert printed["nerve_distance_mm"] == result.nerve_distance_mm
    assert printed["layers"][0]["name"] == "Skin and subcutaneous fat"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "nowhere"], "must be a landmark"),
        (["--at=1,2"], "must be a landmark"),
        (["--at=0,0,0", "--direction", "0,0,0"], "not all zero"),
        (["--at=0,0,0", "--technique", "nope"], "unknown id"),
        (["--at=0,0,0", "--depth", "-5"], "--depth"),
    ],
)
def test_bad_probe_input_is_one_clear_line(capsys, args, message):
    with pytest.raises(SystemExit):
        main(["probe", *args])
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_probe_rejects_a_point_that_is_not_three_numbers(scene):
    with pytest.raises(ProbeError, match="three finite"):
        probe(scene, np.array([np.nan, 0.0, 0.0]))
