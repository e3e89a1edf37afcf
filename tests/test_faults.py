"""Faults a user can cause end in one line and the right exit code, never a traceback or a NaN shown as right."""

from __future__ import annotations

import errno
import json

import pytest

from viewer.cli import entry, errors, main, output, window


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inspect", "--pose", "hip_flexion=10,hip_flexion=20"], "pose key 'hip_flexion' given twice"),
        (["export", "--out", "x.png", "--isolate", ""], "must name a structure"),
        (["export", "--out", "x.png", "--isolate", "  "], "must name a structure"),
        (["--screenshot", "x.jpg"], "--screenshot must name a .png file"),
        (["--screenshot", "/no/such/folder/x.png"], "output folder does not exist"),
    ],
)
def test_bad_arguments_are_usage_errors(argv, message, capsys, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")  # the argument check comes before any window
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_screenshot_naming_a_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "shots.png"
    folder.mkdir()
    with pytest.raises(SystemExit) as exit_:
        main(["--screenshot", str(folder)])
    assert exit_.value.code == 2 and "names a folder" in capsys.readouterr().err


def test_out_naming_a_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "picture.png"
    folder.mkdir()
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--out", str(folder)])
    assert exit_.value.code == 2 and "is a folder" in capsys.readouterr().err


def test_no_display_is_one_line_and_exit_1(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(window.sys, "platform", "linux")
    assert main([]) == 1
    error = _one_line_error(capsys)
    assert error.startswith("glute-viewer: error: no display found") and "python -m viewer export" in error


def test_display_problem_only_without_any_display():
    assert window.display_problem("linux", {}) is not None
    assert window.display_problem("linux", {"DISPLAY": ":1"}) is None
    assert window.display_problem("linux", {"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert window.display_problem("linux", {"QT_QPA_PLATFORM": "offscreen"}) is None
    assert window.display_problem("darwin", {}) is None


def _raising(error: BaseException):
    def run(_args):
        raise error

    return run


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/full/x.png"), 1, "/full/x.png: no space left on the device"),
        (PermissionError(errno.EACCES, "Permission denied", "/ro/x.png"), 1, "/ro/x.png: Permission denied"),
        (OSError(errno.ENAMETOOLONG, "File name too long", "/tmp/" + "a" * 300 + ".png"), 1, "File name too long"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_os_errors_and_ctrl_c_are_one_line(monkeypatch, capsys, error, code, message):
    monkeypatch.setattr(entry, "run_inspect", _raising(error))
    assert main(["inspect"]) == code
    assert message in _one_line_error(capsys)


def test_broken_pipe_is_quiet_with_the_shell_code(monkeypatch, capsys):
    monkeypatch.setattr(entry, "run_inspect", _raising(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    assert main(["inspect"]) == 141
    assert capsys.readouterr().err == ""


def test_a_missing_skin_mesh_is_one_line(monkeypatch, capsys):
    from viewer.anatomy.skin import SkinError

    monkeypatch.setattr(entry, "run_inspect", _raising(SkinError("/a/skin.ply: skin mesh not found")))
    assert main(["inspect"]) == 1
    assert _one_line_error(capsys) == "glute-viewer: error: /a/skin.ply: skin mesh not found"


def test_a_real_bug_still_shows_its_traceback(monkeypatch):
    monkeypatch.setattr(entry, "run_inspect", _raising(ZeroDivisionError("bug")))
    with pytest.raises(ZeroDivisionError):
        main(["inspect"])


def test_inspect_json_never_prints_nan(monkeypatch, capsys):
    from viewer.model.scene import SceneModel

    original = SceneModel.describe

    def with_nan(self, **kwargs):
        report = original(self, **kwargs)
        next(iter(report["structures"].values()))["volume_cm3"] = float("nan")
        return report

    monkeypatch.setattr(SceneModel, "describe", with_nan)
    assert main(["inspect", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "NaN" not in captured.out
    assert "volume_cm3' is nan, not a finite number; nothing printed" in captured.err


def test_print_json_is_strict(capsys):
    output.print_json({"a": [1.5, None]})
    assert json.loads(capsys.readouterr().out) == {"a": [1.5, None]}
    with pytest.raises(errors.CommandFailed, match=r"'b\[0\]' is inf"):
        output.print_json({"b": [float("inf")]})


def test_a_nan_safety_number_is_flagged_never_safe():
    from dataclasses import replace

    from viewer.techniques.safety import SafetyReport

    fields = {f: 0 for f in SafetyReport.__dataclass_fields__}
    report = SafetyReport(**{**fields, "crossings": [], "zones_entered": [], "too_vertical": False,
                             "angle_from_normal_deg": 45.0, "nerve_distance_mm": 50.0, "danger_margin_mm": 15.0})
    assert not report.flagged
    assert replace(report, nerve_distance_mm=float("nan")).flagged
    assert replace(report, angle_from_normal_deg=float("nan")).flagged


def test_a_nan_approach_angle_is_refused(scene):
    from viewer.techniques.context import context_from_scene
    from viewer.techniques.geometry import technique_geometry
    from viewer.techniques.library import load_techniques

    technique = next(iter(load_techniques().values()))
    with pytest.raises(ValueError, match="angle to the surface nan"):
        technique_geometry(technique, context_from_scene(scene, "right"), angle_to_surface_deg=float("nan"))


def test_a_broken_actions_file_stops_the_cli_too(asset_copy, capsys):
    path = asset_copy / "annotations" / "actions.json"
    data = json.loads(path.read_text())
    data["actions"][0]["keyframes"] = "none"
    path.write_text(json.dumps(data))
    assert main(["techniques"]) == 1
    assert "actions.json: field 'actions[0].keyframes'" in _one_line_error(capsys)


def test_an_unknown_bone_blames_bones_json(asset_copy, capsys):
    path = asset_copy / "annotations" / "bones.json"
    data = json.loads(path.read_text())
    data["bones"][1]["name"] = "humerus"
    path.write_text(json.dumps(data))
    assert main(["inspect", "--json"]) == 1
    error = _one_line_error(capsys)
    assert "bones.json: field 'bones[1]': no mesh humerus" in error


def test_a_landmark_off_its_bone_blames_landmarks_json(asset_copy, capsys):
    path = asset_copy / "annotations" / "landmarks.json"
    data = json.loads(path.read_text())
    data["landmarks"]["asis_right"]["position"] = [0, 0, 0]
    path.write_text(json.dumps(data))
    assert main(["inspect", "--json"]) == 1
    error = _one_line_error(capsys)
    assert "/landmarks.json: field 'landmarks.asis_right.position'" in error and "derived" not in error
