"""Named landmarks make anatomical sense in the ISB pelvis frame (X anterior, Y superior, Z right)."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
from viewer.anatomy.frame import fit_sphere

SIDES = ["right", "left"]
REQUIRED = [
    "asis", "psis", "ischial_spine", "ischial_tuberosity", "greater_trochanter", "lesser_trochanter",
    "femoral_head_centre", "medial_epicondyle", "lateral_epicondyle", "gerdys_tubercle", "greater_sciatic_notch",
]  # fmt: skip


@pytest.fixture(scope="module")
def lm():
    return load_landmarks()


def test_required_landmarks_exist_on_both_sides(lm):
    for name in REQUIRED:
        for side in SIDES:
            assert f"{name}_{side}" in lm
    assert "pubic_symphysis" in lm and "sacral_apex" in lm


def test_frame_origin_and_axes(lm):
    np.testing.assert_allclose((lm["asis_right"] + lm["asis_left"]) / 2, 0, atol=1e-6)
    assert lm["asis_right"][2] > 0 > lm["asis_left"][2]
    assert abs(lm["asis_right"][0]) < 1e-6 and abs(lm["asis_right"][1]) < 1e-6


@pytest.mark.parametrize("side", SIDES)
def test_pelvic_landmarks_in_anatomical_order(lm, side):
    assert lm[f"asis_{side}"][0] > lm[f"psis_{side}"][0] + 100  # ASIS well anterior to PSIS
    assert lm[f"ischial_tuberosity_{side}"][1] < lm[f"ischial_spine_{side}"][1] - 30  # tuberosity below spine
    assert lm[f"greater_sciatic_notch_{side}"][1] > lm[f"ischial_spine_{side}"][1]
    assert lm[f"greater_sciatic_notch_{side}"][1] < lm[f"psis_{side}"][1]
    assert lm["pubic_symphysis"][1] < 0 and abs(lm["pubic_symphysis"][2]) < 5


@pytest.mark.parametrize("side", SIDES)
def test_femoral_landmarks_in_anatomical_order(lm, side):
    sign = 1 if side == "right" else -1
    head, gt, lt = lm[f"femoral_head_centre_{side}"], lm[f"greater_trochanter_{side}"], lm[f"lesser_trochanter_{side}"]
    assert sign * gt[2] > sign * head[2] + 30  # greater trochanter lateral to the head
    assert lt[1] < head[1] - 30 and sign * lt[2] < sign * gt[2]  # lesser trochanter lower and medial
    lateral, medial = lm[f"lateral_epicondyle_{side}"], lm[f"medial_epicondyle_{side}"]
    assert sign * lateral[2] > sign * medial[2] + 50
    gerdy = lm[f"gerdys_tubercle_{side}"]
    assert gerdy[1] < lateral[1] and sign * gerdy[2] > sign * medial[2]
    for name, point in lm.items():
        if name.endswith(side) and name != f"pubic_tubercle_{side}":
            assert sign * point[2] > 0, f"{name} on the wrong side"


def test_adult_sizes(lm):
    inter_asis = np.linalg.norm(lm["asis_right"] - lm["asis_left"])
    assert 200 < inter_asis < 280  # adult inter-ASIS distance, mm
    thigh = np.linalg.norm(lm["femoral_head_centre_right"] - lm["lateral_epicondyle_right"])
    assert 350 < thigh < 480


@pytest.mark.parametrize("side", SIDES)
def test_femoral_head_sphere_and_seat(lm, side):
    surfaces = load_bone_surfaces()
    femur = surfaces[f"femur_{side}"].vertices
    centre = lm[f"femoral_head_centre_{side}"]
    head_points = femur[np.linalg.norm(femur - centre, axis=1) < 26]
    refit, radius = fit_sphere(head_points[np.abs(np.linalg.norm(head_points - centre, axis=1) - 23) < 3])
    assert 20 < radius < 28  # adult femoral head radius, mm
    np.testing.assert_allclose(refit, centre, atol=3)
    # the head is centred in its own acetabulum, and no pelvic bone reaches into the head
    assert np.linalg.norm(centre - lm[f"acetabulum_centre_{side}"]) < 2
    hip_bone = surfaces[f"hip_bone_{side}"].vertices
    nearest = np.linalg.norm(hip_bone - centre, axis=1).min()
    assert radius < nearest < radius + 8  # a thin joint space all round, as cartilage leaves
