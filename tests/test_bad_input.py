"""Bad data files: every number finite and sane, every mesh index and point in range, errors name file and field."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from viewer.io.annotations import AnnotationError, read_json
from viewer.io.ply import PlyError, read_ply


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"zones": [{"margin_mm": NaN}]}', "field 'zones[0].margin_mm': nan is not a finite number"),
        ('{"a": [1, Infinity]}', "field 'a[1]': inf is not a finite number"),
        ('{"a": {"b": -Infinity}}', "field 'a.b': -inf is not a finite number"),
        ('{"a": 1e999}', "field 'a': inf is not a finite number"),
        ('{"n": ' + "9" * 40 + "}", "field 'n': 9999"),
        ('{"n": ' + "9" * 5000 + "}", "not valid JSON (Exceeds the limit"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_non_finite_huge_and_deep_json_names_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "danger_zones.json"
    path.write_text(text)
    with pytest.raises(AnnotationError) as caught:
        read_json(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_ordinary_numbers_and_booleans_pass(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text('{"a": [1, -2.5, true, false, null, 0.0, 180]}')
    assert read_json(path) == {"a": [1, -2.5, True, False, None, 0.0, 180]}


def test_content_found_valid_is_not_checked_again_but_edited_content_is(monkeypatch, tmp_path):
    """Every scene built reads the same files: the schema check runs once per content, and never skips a change."""
    import jsonschema

    from viewer.io.annotations import load_annotation, validate

    checks = []
    real = jsonschema.Draft202012Validator

    def counting(schema):
        checks.append(schema)
        return real(schema)

    monkeypatch.setattr(jsonschema, "Draft202012Validator", counting)
    data = load_annotation("skin_tones")
    validate(data, "skin_tones", tmp_path / "skin_tones.json")
    validate(data, "skin_tones", tmp_path / "skin_tones.json")
    assert len(checks) <= 1  # at most the first (it may have been checked already in this process)
    broken = {**data, "tones": [{**data["tones"][0], "colour": 7}]}
    with pytest.raises(AnnotationError, match=r"skin_tones\.json: field 'tones\[0\]\.colour'"):
        validate(broken, "skin_tones", tmp_path / "skin_tones.json")
    with pytest.raises(AnnotationError):  # an error is found again, not remembered as valid
        validate(broken, "skin_tones", tmp_path / "skin_tones.json")


def test_nan_margin_in_the_shipped_zones_is_refused_not_used(asset_copy):
    """NaN once passed every range check and silently un-flagged a technique."""
    from viewer.anatomy.nerve_zones import load_danger_zone_data

    path = asset_copy / "annotations" / "danger_zones.json"
    path.write_text(path.read_text().replace('"margin_mm": 15.0', '"margin_mm": NaN', 1))
    assert "NaN" in path.read_text()
    with pytest.raises(AnnotationError, match=r"danger_zones\.json: field '.*margin_mm': nan"):
        load_danger_zone_data()


def _ply(path: Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    ).encode()
    body = np.asarray(vertices, "<f4").tobytes()
    body += b"".join(struct.pack("<B3i", 3, *face) for face in faces)
    path.write_bytes(header + body)
    return path


TETRA = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], float)
TETRA_FACES = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])


def test_a_good_mesh_reads(tmp_path):
    vertices, faces = read_ply(_ply(tmp_path / "ok.ply", TETRA, TETRA_FACES))
    np.testing.assert_allclose(vertices, TETRA)
    np.testing.assert_array_equal(faces, TETRA_FACES)


@pytest.mark.parametrize(
    ("vertex", "face", "message"),
    [
        ((20_000.0, 0, 0), None, "field 'vertex[1]'"),  # a femur vertex at 20 m once took 6 GiB of memory
        ((1e30, 0, 0), None, "field 'vertex[1]'"),
        ((np.nan, 0, 0), None, "field 'vertex[1]'"),
        (None, (0, 1, -1), "field 'face[2]'"),
        (None, (0, 1, -5_000_000), "field 'face[2]'"),
        (None, (0, 1, 4), "field 'face[2]'"),
    ],
)
def test_bad_points_and_indices_name_the_file_and_element(tmp_path, vertex, face, message):
    vertices, faces = TETRA.copy(), TETRA_FACES.copy()
    if vertex is not None:
        vertices[1] = vertex
    if face is not None:
        faces[2] = face
    path = _ply(tmp_path / "femur_right.ply", vertices, faces)
    with pytest.raises(PlyError) as caught:
        read_ply(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_a_bad_bone_vertex_stops_the_cli_with_one_line(asset_copy, capsys):
    from viewer.anatomy.bones import read_surface
    from viewer.cli import main

    path = asset_copy / "meshes" / "femur_right.ply"
    vertices, faces = read_surface(path).vertices, read_surface(path).faces
    vertices[100] = (20_000.0, 0.0, 0.0)
    _ply(path, vertices, faces)
    assert main(["inspect", "--json"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "femur_right.ply: field 'vertex[100]'" in error
