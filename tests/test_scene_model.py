"""The scene model: Qt-free, announces its changes, and poses the legs like a real hip."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from viewer.anatomy.kinematics import PoseError


def test_model_and_cli_import_without_qt_or_plotting():
    code = (
        "import sys, viewer.model.scene, viewer.cli, viewer.anatomy.kinematics;"
        "s = viewer.model.scene.build_scene(); s.set_pose(hip_flexion=30); s.describe();"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyvistaqt', 'pyvista.plotting', 'vtkmodules'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_visibility_opacity_selection_emit_once_per_change(fresh_scene):
    seen = []
    fresh_scene.visibility_changed.connect(lambda *a: seen.append(("visible", *a)))
    fresh_scene.opacity_changed.connect(lambda *a: seen.append(("opacity", *a)))
    fresh_scene.selection_changed.connect(lambda *a: seen.append(("select", *a)))
    fresh_scene.set_visible("sacrum", False)
    fresh_scene.set_visible("sacrum", False)  # no change, no signal
    fresh_scene.set_opacity("femur_right", 0.4)
    fresh_scene.select("femur_right")
    assert seen == [("visible", "sacrum", False), ("opacity", "femur_right", 0.4), ("select", "femur_right")]
    assert not fresh_scene.is_visible("sacrum")
    with pytest.raises(KeyError):
        fresh_scene.set_visible("no_such_bone", True)


def test_pose_signal_and_validation(fresh_scene):
    poses = []
    fresh_scene.pose_changed.connect(poses.append)
    fresh_scene.set_pose("right", hip_flexion=45)
    assert len(poses) == 1 and poses[0]["right"].hip_flexion == 45 and poses[0]["left"].hip_flexion == 0
    with pytest.raises(PoseError, match="hip_flexion=150"):
        fresh_scene.set_pose(hip_flexion=150)
    with pytest.raises(PoseError, match="unknown pose key"):
        fresh_scene.set_pose(hip_twist=10)
    assert fresh_scene.pose("right").hip_flexion == 45  # a refused pose changes nothing
    fresh_scene.reset_pose()
    assert fresh_scene.pose("right").hip_flexion == 0 and len(poses) == 2


def _knee(scene, side):
    lm = scene.landmarks()
    return (lm[f"medial_epicondyle_{side}"] + lm[f"lateral_epicondyle_{side}"]) / 2


@pytest.mark.parametrize("side", ["right", "left"])
def test_hip_angles_move_the_knee_the_anatomical_way(bones_scene, side):
    lateral = 1 if side == "right" else -1
    rest_knee = _knee(bones_scene, side)
    bones_scene.set_pose(side, hip_flexion=90)
    knee = _knee(bones_scene, side)
    hip = bones_scene.landmarks()[f"femoral_head_centre_{side}"]
    assert knee[0] - hip[0] > 350 and abs(knee[1] - hip[1]) < 20  # thigh horizontal, pointing forward
    bones_scene.set_pose(side, hip_flexion=0, hip_abduction=30)
    assert lateral * (_knee(bones_scene, side)[2] - rest_knee[2]) > 150  # abduction swings the knee out
    bones_scene.set_pose(side, hip_abduction=0, hip_rotation=30)
    gt_rest = bones_scene.landmarks_rest[f"greater_trochanter_{side}"]
    gt = bones_scene.landmarks()[f"greater_trochanter_{side}"]
    assert gt[0] > gt_rest[0] + 15  # internal rotation swings the greater trochanter forwards (away from the sacrum)
    np.testing.assert_allclose(bones_scene.landmarks()[f"femoral_head_centre_{side}"], hip, atol=1e-9)


def test_knee_flexion_moves_the_shank_back(bones_scene):
    ankle_rest = bones_scene.vertices("tibia_fibula_right")[:, 1].argmin()
    before = bones_scene.vertices("tibia_fibula_right")[ankle_rest].copy()
    bones_scene.set_pose("right", knee_flexion=90)
    after = bones_scene.vertices("tibia_fibula_right")[ankle_rest]
    assert after[0] < before[0] - 250  # the ankle swings posteriorly
    np.testing.assert_allclose(bones_scene.vertices("femur_right"), bones_scene.structures["femur_right"].vertices)


def test_describe_reports_every_structure(scene):
    report = scene.describe()
    assert report["units"] == "mm" and report["frame"]["x"] == "anterior"
    assert set(report["structures"]) >= {"hip_bone_right", "hip_bone_left", "sacrum", "femur_right", "patella_left"}
    femur = report["structures"]["femur_right"]
    assert femur["kind"] == "bone" and femur["watertight"] and femur["triangles"] > 1000 and femur["volume_cm3"] > 300


def test_a_raising_slot_is_logged_and_the_later_slots_still_run(caplog):
    """Like Qt: a listener that fails (the info panel on the skin, once) must not freeze the length table."""
    from viewer.model.events import Signal

    signal, seen = Signal("pose_changed"), []

    def broken(value):
        raise KeyError(value)

    signal.connect(broken)
    signal.connect(seen.append)
    with caplog.at_level("ERROR", logger="viewer.model.events"):
        signal.emit("skin")
    assert seen == ["skin"]
    assert [type(e) for e in signal.errors] == [KeyError]
    assert "pose_changed" in caplog.text and "broken" in caplog.text and "KeyError" in caplog.text
    signal.emit("femur_right")
    assert seen == ["skin", "femur_right"] and len(signal.errors) == 1


def test_every_structure_names_its_layer_as_layers_json_does(scene):
    from viewer.model.layers import load_layers

    layers = load_layers()
    described = scene.describe()["structures"]
    for name, structure in scene.structures.items():
        layer = scene.layer_of(name)
        if structure.kind == "danger":
            assert layer is None and structure.layer == len(layers)  # overlays last, in no layer
            continue
        assert structure.layer_name == layer.name == layers[structure.layer].name
        assert described[name]["layer"] == layer.name
    assert scene.layer_of("gluteus_maximus_right").display_name == "Gluteus maximus"
    assert scene.structures["tensor_fasciae_latae_left"].layer_name == "fascia_lata"  # not "superficial"


@pytest.mark.parametrize(
    ("fraction", "decimals", "text"),
    [(0.153, 1, "+15.3%"), (-0.0004, 1, "0.0%"), (-0.0, 1, "0.0%"), (-0.0006, 1, "\u22120.1%"), (-0.2, 0, "\u221220%")],
)
def test_percentages_never_read_minus_zero(fraction, decimals, text):
    from viewer.model.units import signed_percent

    assert signed_percent(fraction, decimals) == text


def test_what_if_lengths_leave_the_live_scene_alone(fresh_scene):
    from viewer.anatomy.kinematics import LegPose

    fresh_scene.set_pose("right", hip_flexion=40.0)
    live = {n: fresh_scene.vertices(n) for n in fresh_scene.names("muscle")}
    copies = {n: v.copy() for n, v in live.items()}
    lengths = fresh_scene.lengths_at({"right": LegPose(hip_flexion=90.0)}, ["piriformis_right"])
    assert lengths["piriformis_right"] != fresh_scene.length_mm("piriformis_right")  # another pose, measured
    for name in live:  # the live posed geometry was neither recomputed nor moved
        assert fresh_scene.vertices(name) is live[name]
        assert np.array_equal(live[name], copies[name])


def test_neighbours_are_found_once_whatever_the_pose(fresh_scene):
    first = fresh_scene.neighbours("piriformis_right")
    fresh_scene.set_pose("right", hip_flexion=30.0)
    assert fresh_scene.neighbours("piriformis_right") is first  # pose-independent: not measured again
    assert "gluteus_maximus_right" in first.over
