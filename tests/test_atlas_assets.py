"""The bone meshes are the published atlas, evaluated correctly and reproducibly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from viewer.anatomy.bones import bone_specs, load_bone_surfaces, read_surface
from viewer.anatomy.geometry import is_watertight, signed_volume
from viewer.anatomy.lagrange import element_basis, sample_grid
from viewer.paths import assets_dir

BASES = ["quad_L3_L3", "quad_L4_L4", "quad_L4_L3", "simplex_L3_L3", "simplex_L4_L4"]


@pytest.mark.parametrize("name", BASES)
def test_basis_interpolates_its_nodes_and_sums_to_one(name):
    basis = element_basis(name)
    at_nodes = basis.evaluate(basis.nodes)
    np.testing.assert_allclose(at_nodes, np.eye(len(basis.nodes)), atol=1e-9)
    xi, _ = sample_grid(basis.is_triangle, 7)
    np.testing.assert_allclose(basis.evaluate(xi).sum(axis=1), 1.0, atol=1e-9)


@pytest.mark.parametrize("is_triangle", [False, True])
def test_sample_grid_triangles_are_counter_clockwise(is_triangle):
    xi, tris = sample_grid(is_triangle, 5)
    a, b, c = (xi[tris[:, k]] for k in range(3))
    cross = (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]
    assert (cross > 0).all()
    assert np.isclose((cross / 2).sum(), 1.0 if not is_triangle else 0.5)


def test_every_bone_is_closed_outward_and_adult_sized():
    surfaces = load_bone_surfaces()
    assert set(surfaces) == {s.name for s in bone_specs()}
    volumes = {}
    for name, surface in surfaces.items():
        assert is_watertight(surface.faces), name
        volumes[name] = signed_volume(surface.vertices, surface.faces) / 1000
        assert volumes[name] > 0, f"{name} faces point inwards"
    # closed-envelope volumes of adult bones (cm3): femur 300-700, hip bone 150-450, patella 8-30
    assert 300 < volumes["femur_right"] < 700
    assert 150 < volumes["hip_bone_right"] < 450
    assert 8 < volumes["patella_right"] < 30
    assert abs(volumes["hip_bone_right"] - volumes["hip_bone_left"]) / volumes["hip_bone_left"] < 0.05


def test_left_lower_limb_is_mirror_of_right():
    surfaces = load_bone_surfaces()
    right, left = surfaces["femur_right"].vertices, surfaces["femur_left"].vertices
    np.testing.assert_allclose(right[:, :2], left[:, :2], atol=1.0)  # same X/Y up to the seating shift
    assert (right[:, 2] > 0).all() and (left[:, 2] < 0).all()


def test_regenerated_assets_match_committed(tmp_path):
    pytest.importorskip("musculoskeletal", reason="needs the atlas package (test extra)")
    import shutil

    from viewer.tools.build_assets import main

    shutil.copytree(assets_dir() / "annotations", tmp_path / "annotations")
    assert main(["--out", str(tmp_path)]) == 0
    for spec in bone_specs():
        built = read_surface(tmp_path / "meshes" / f"{spec.name}.ply")
        committed = read_surface(assets_dir() / "meshes" / f"{spec.name}.ply")
        np.testing.assert_array_equal(built.faces, committed.faces, err_msg=spec.name)
        np.testing.assert_allclose(built.vertices, committed.vertices, atol=1e-3, err_msg=spec.name)
    built_landmarks = json.loads((tmp_path / "annotations" / "landmarks.json").read_text())
    committed_landmarks = json.loads((assets_dir() / "annotations" / "landmarks.json").read_text())
    assert built_landmarks == committed_landmarks
    provenance = json.loads((tmp_path / "meshes" / "PROVENANCE.json").read_text())
    assert provenance["package"] == "musculoskeletal-models" and provenance["version"] == "0.2.4"
    assert (assets_dir() / "meshes" / "LICENSE-MPL-2.0.txt").read_text().startswith("Mozilla Public License")
