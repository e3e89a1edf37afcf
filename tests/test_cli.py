"""The command line: JSON inspection, headless export, and clear errors instead of tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from imaging import read_png, warm_share

from viewer.cli import main


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "viewer", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def run_main(capsys, *args: str) -> tuple[int, str]:
    """Run the command line in this process: (exit code, what it wrote to stderr)."""
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    return code, capsys.readouterr().err


def test_inspect_json_contract(capsys):
    assert main(["inspect", "--json", "--pose", "hip_flexion=90,hip_rotation=20"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"units", "frame", "pose", "landmarks", "structures"}
    assert report["pose"]["hip_flexion"] == 90 and report["pose"]["hip_rotation"] == 20
    assert report["pose"]["right"]["hip_flexion"] == 90 and report["pose"]["left"]["hip_flexion"] == 90
    for name in ("asis_right", "greater_trochanter_left", "ischial_tuberosity_right", "femoral_head_centre_right"):
        assert len(report["landmarks"][name]) == 3
    femur = report["structures"]["femur_right"]
    assert {"kind", "layer", "vertices", "triangles", "volume_cm3", "watertight"} <= set(femur)
    knee = np.mean(
        [report["landmarks"]["medial_epicondyle_right"], report["landmarks"]["lateral_epicondyle_right"]], axis=0
    )
    assert knee[0] > 300  # the posed landmarks are reported


def test_inspect_side_moves_one_leg(capsys):
    assert main(["inspect", "--json", "--pose", "hip_flexion=60", "--side", "left"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pose"]["left"]["hip_flexion"] == 60 and report["pose"]["right"]["hip_flexion"] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["inspect", "--pose", "hip_twist=10"], "unknown pose key"),
        (["inspect", "--pose", "hip_flexion=ninety"], "must be a number"),
        (["inspect", "--pose", "hip_flexion=170"], "outside the range"),
        (["export", "--view", "sideways", "--out", "x.png"], "invalid choice"),
        (["export", "--size", "big", "--out", "x.png"], "size must look like"),
        (["--frobnicate"], "unrecognized arguments"),
        (["export", "--opacity", "skin=2", "--out", "x.png"], "must be from 0 to 1"),
        (["export", "--opacity", "skin", "--out", "x.png"], "must look like name=0.5"),
    ],
)
def test_bad_input_is_a_usage_error_not_a_traceback(capsys, args, message):
    code, err = run_main(capsys, *args)  # an uncaught exception would fail the test here
    assert code == 2
    assert message in err and "usage:" in err


def test_the_module_entry_point_exits_with_mains_code():
    """One real ``python -m viewer`` run: the exit status and message reach the shell (the rest run in-process)."""
    result = run_cli("--frobnicate")
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr and "Traceback" not in result.stderr


def test_missing_mesh_names_the_file(asset_copy, capsys):
    (asset_copy / "meshes" / "femur_left.ply").unlink()
    code, err = run_main(capsys, "inspect", "--json")
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "femur_left.ply" in lines[0]


def test_corrupt_mesh_names_the_file(asset_copy, capsys):
    (asset_copy / "meshes" / "sacrum.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\ngarbage")
    code, err = run_main(capsys, "inspect")
    assert code == 1 and "sacrum.ply" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "content, field",
    [
        ("{ not json", "not valid JSON"),
        ('{"frame": {"units": "mm"}, "landmarks": {"asis_right": {"position": [1, 2]}}}', "landmarks.asis_right"),
    ],
)
def test_corrupt_landmarks_name_the_file_and_field(asset_copy, capsys, content, field):
    (asset_copy / "annotations" / "landmarks.json").write_text(content)
    code, err = run_main(capsys, "inspect")
    assert code == 1 and "landmarks.json" in err and field in err


def test_export_renders_the_bones(tmp_path, capsys):
    out = tmp_path / "posterior.png"
    code, err = run_main(capsys, "export", "--view", "posterior", "--size", "640x400", "--out", str(out))
    assert code == 0, err
    image = read_png(out)
    assert image.shape[:2] == (400, 640)
    assert warm_share(image) > 0.08  # ivory bone covers a real part of the picture


def test_export_peeled_and_labelled(tmp_path, capsys):
    full, peeled = tmp_path / "full.png", tmp_path / "peeled.png"
    assert run_main(capsys, "export", "--size", "480x360", "--out", str(full))[0] == 0
    code, err = run_main(capsys, "export", "--peel", "3", "--labels", "--size", "480x360", "--out", str(peeled))
    assert code == 0, err
    assert np.abs(read_png(full).astype(int) - read_png(peeled).astype(int)).mean() > 5


def test_export_rejects_bad_layer_requests(capsys, tmp_path):
    out = str(tmp_path / "x.png")
    code, err = run_main(capsys, "export", "--peel", "12", "--out", out)
    assert code == 2 and "--peel must be 0 to" in err
    code, err = run_main(capsys, "export", "--isolate", "zzzz", "--out", out)
    assert code == 2 and "no structure called" in err
    assert not (tmp_path / "x.png").exists()


def test_export_opacity_makes_the_skin_opaque(tmp_path, capsys):
    """``--opacity skin=1``: the body surface as a student palpates it, the muscles under it no longer seen through."""
    translucent, opaque, scene = tmp_path / "translucent.png", tmp_path / "opaque.png", tmp_path / "scene.json"
    assert run_main(capsys, "export", "--size", "480x360", "--out", str(translucent))[0] == 0
    code, err = run_main(
        capsys, "export", "--opacity", "skin=1", "--size", "480x360", "--out", str(opaque), "--save-scene", str(scene)
    )
    assert code == 0, err
    assert json.loads(scene.read_text())["structures"]["skin"]["opacity"] == 1.0

    def muscle_red(path) -> float:
        rgb = read_png(path)[..., :3].astype(int)
        return float(((rgb[..., 0] - rgb[..., 1] > 70) & (rgb[..., 0] - rgb[..., 2] > 70)).mean())

    assert muscle_red(translucent) > 0.05 and muscle_red(opaque) < 0.005, (muscle_red(translucent), muscle_red(opaque))
    code, err = run_main(capsys, "export", "--opacity", "nothing_at_all=1", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "--opacity: no structure called" in err


def test_export_stretch_colours_a_posed_scene(tmp_path, capsys):
    out = tmp_path / "stretch.png"
    code, err = run_main(
        capsys, "export", "--pose", "hip_rotation=30", "--color-by", "stretch", "--size", "480x360", "--out", str(out)
    )
    assert code == 0, err
    rgb = read_png(out)[..., :3].astype(int)
    reddish = (rgb[..., 0] - rgb[..., 2] > 60).mean()  # lengthened rotators and maximus
    assert reddish > 0.01
