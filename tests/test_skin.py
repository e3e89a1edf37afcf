"""The skin surface: shipped asset, enclosure, thickness, surface landmarks, rebuild."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
from viewer.anatomy.metrics import is_watertight, signed_volume
from viewer.anatomy.skin import (
    SkinError,
    SkinParameters,
    inside,
    load_skin,
    ray_hits,
    region_limits,
    skin_landmarks,
)
from viewer.io.ply import read_ply


@pytest.fixture(scope="module")
def skin():
    return load_skin()


@pytest.fixture(scope="module")
def limits():
    return region_limits(load_landmarks(), SkinParameters())


def in_region(points, limits, margin=20.0):
    bottom, top = limits
    return (points[:, 1] > bottom + margin) & (points[:, 1] < top - margin)


def test_skin_is_a_modest_closed_outward_surface(skin):
    assert 5_000 < len(skin.faces) < 60_000
    assert is_watertight(skin.faces)
    volume_litres = signed_volume(skin.vertices, skin.faces) / 1e6
    assert 8 < volume_litres < 40  # hip region of an adult, iliac crest to mid-thigh


def test_skin_spans_the_region_on_both_sides(skin, limits):
    bottom, top = limits
    assert skin.vertices[:, 1].min() == pytest.approx(bottom, abs=6)
    assert skin.vertices[:, 1].max() == pytest.approx(top, abs=6)
    assert skin.vertices[:, 2].min() < -150 and skin.vertices[:, 2].max() > 150


def test_skin_encloses_muscles_and_bones_in_the_region(scene, skin, limits):
    for kind in ("muscle", "fascia", "bone"):
        points = np.vstack([scene.structures[n].vertices for n in scene.names(kind)])
        points = points[in_region(points, limits)]
        share = inside(points, skin).mean()
        assert share > 0.99, f"only {share:.2%} of {kind} vertices in the region lie inside the skin"


def test_thickness_over_the_buttock_and_over_bone(scene, skin):
    maximus = scene.structures["gluteus_maximus_right"].vertices
    # the buttock: the most posterior part of gluteus maximus, measured straight back
    back = maximus[maximus[:, 0] < maximus[:, 0].min() + 3]
    depth = ray_hits(back, np.tile([-1.0, 0, 0], (len(back), 1)), skin.vertices, skin.faces)
    assert np.all(np.isfinite(depth))
    assert 10 <= np.median(depth) <= 25, f"buttock fat {np.median(depth):.1f} mm"
    landmarks = skin_landmarks(skin)
    assert landmarks["skin_sacrum"].depth_mm < np.median(depth)  # the sacral crest lies closer under the skin


def test_surface_landmarks_lie_on_the_skin_outside_bone(skin):
    landmarks = skin_landmarks(skin)
    expected = {f"skin_{n}_{s}" for n in ("psis", "iliac_crest", "greater_trochanter", "ischial_tuberosity")
                for s in ("right", "left")} | {"skin_sacrum", "skin_coccyx"}  # fmt: skip
    assert set(landmarks) == expected
    surface = pv.PolyData(skin.vertices, np.hstack([np.full((len(skin.faces), 1), 3), skin.faces]).ravel())
    for landmark in landmarks.values():
        _, closest = surface.find_closest_cell(landmark.skin_point, return_closest_point=True)
        gap = np.linalg.norm(np.asarray(closest) - landmark.skin_point)  # to the surface, not its nearest vertex
        assert gap < 1.0, f"{landmark.name} is {gap:.1f} mm off the skin"
        assert 3.0 < landmark.depth_mm < 90.0, f"{landmark.name}: {landmark.depth_mm:.1f} mm deep"
    for short in ("psis", "iliac_crest", "greater_trochanter", "ischial_tuberosity"):
        right = landmarks[f"skin_{short}_right"].skin_point
        left = landmarks[f"skin_{short}_left"].skin_point * np.array([1, 1, -1])
        assert np.linalg.norm(right - left) < 12.0, f"{short} not symmetric"  # the atlas bones differ by ~3 mm
    assert abs(landmarks["skin_sacrum"].skin_point[2]) < 1e-6
    trochanter = landmarks["skin_greater_trochanter_right"]
    assert trochanter.skin_point[2] > load_bone_surfaces()["femur_right"].vertices[:, 2].max()


def test_missing_skin_names_the_file(asset_copy):
    load_skin.cache_clear()
    try:
        (asset_copy / "meshes" / "skin.ply").unlink()
        with pytest.raises(SkinError, match=r"skin\.ply.*build_skin"):
            load_skin()
    finally:
        load_skin.cache_clear()


def test_rebuild_matches_the_committed_skin(tmp_path, skin):
    from scipy.spatial import cKDTree

    from viewer.tools.build_skin import build

    stats = build(tmp_path)
    vertices, faces = read_ply(tmp_path / "skin.ply")
    assert stats["watertight"] and len(faces) == stats["triangles"]
    there = cKDTree(skin.vertices).query(vertices)[0]
    back = cKDTree(vertices).query(skin.vertices)[0]
    assert max(np.percentile(there, 99), np.percentile(back, 99)) < 2.5, (
        "the rebuilt skin differs from assets/meshes/skin.ply (bones or muscles changed?): "
        "regenerate with python -m viewer.tools.build_skin"
    )
    header = (tmp_path / "skin.ply").read_bytes()[:2048]
    assert b"comment parameters" in header and b"inputs sha256" in header
