"""Labels with leader lines, landmark pins and attachment areas (off-screen rendering)."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from viewer.render.attachments import (
    INSERTION_COLOUR,
    ORIGIN_COLOUR,
    AttachmentView,
    attachment_scalars,
    model_attachment_areas,
)
from viewer.render.labels import Box, StructureLabels, font_size_for, layout_labels
from viewer.render.landmark_pins import LandmarkPins, load_pins, pin_positions
from viewer.render.scene_view import SceneView


def assert_apart_and_inside(boxes, width, height):
    for i, a in enumerate(boxes):
        assert a.inside(width, height), f"{a} leaves the {width}x{height} window"
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), f"{a} overlaps {b}"


# --- pure layout -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_layout_never_overlaps_and_stays_in_the_window(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 30))
    width, height = 1280, 800
    anchors = rng.uniform([400, 50], [880, 750], size=(n, 2))
    anchors[: n // 3, 1] = 400 + rng.normal(0, 5, n // 3)  # a crowd at one height
    sizes = np.c_[rng.uniform(80, 260, n), np.full(n, 24.0)]
    boxes = layout_labels(anchors, sizes, (width, height), model_box=(400, 50, 880, 750))
    assert boxes is not None and len(boxes) == n
    assert_apart_and_inside(boxes, width, height)
    for box, anchor in zip(boxes, anchors, strict=True):  # each label sits on its anchor's side
        assert (box.x1 <= 400) == (anchor[0] < 640)


def test_layout_reports_when_labels_cannot_fit():
    anchors = np.tile([[500.0, 150.0]], (40, 1))
    assert layout_labels(anchors, np.tile([[100.0, 30.0]], (40, 1)), (800, 300)) is None


def test_overlap_predicate():
    assert Box(0, 0, 10, 10).overlaps(Box(5, 5, 15, 15))
    assert not Box(0, 0, 10, 10).overlaps(Box(10, 0, 20, 10))


def test_font_scales_with_window_height():
    assert font_size_for(300) < font_size_for(800) < font_size_for(1200) <= 30
    assert font_size_for(1200) >= 24  # legible from the back of a classroom


# --- rendered labels -----------------------------------------------------------------------------------
@pytest.fixture()
def view(fresh_scene):
    plotter = pv.Plotter(off_screen=True, window_size=[1000, 700])
    scene_view = SceneView(plotter, fresh_scene)
    yield scene_view
    plotter.close()


def test_rendered_labels_do_not_overlap_and_follow_the_camera(view, fresh_scene):
    labels = StructureLabels(view, enabled=True)
    width, height = view.plotter.window_size
    assert len(labels.boxes) >= 10
    assert "gluteus_maximus_right" in labels.boxes and "gluteus_minimus_right" not in labels.boxes  # hidden under medius
    assert_apart_and_inside(list(labels.boxes.values()), width, height)
    for name, box in labels.boxes.items():  # leader target on the label's side of the screen
        anchor = labels.anchors[name]
        assert (anchor[0] >= box.x1) or (anchor[0] <= box.x0), name
    before = dict(labels.anchors)
    view.set_view("right")
    labels.update()
    assert labels.anchors.keys() != before.keys() or labels.anchors != before
    assert_apart_and_inside(list(labels.boxes.values()), width, height)
    labels.set_enabled(False)
    assert not labels.boxes and not any(a.GetVisibility() for a in labels.text_actors.values())


def test_labels_skip_hidden_and_ghosted_structures(view, fresh_scene):
    for name in fresh_scene.names():
        if name.startswith(("gluteus_maximus", "iliotibial", "tensor")):
            fresh_scene.set_visible(name, False)
    fresh_scene.set_opacity("gluteus_medius_right", 0.15)
    labels = StructureLabels(view, enabled=True)
    assert not any(n.startswith("gluteus_maximus") for n in labels.boxes)
    assert "gluteus_medius_right" not in labels.boxes and "gluteus_medius_left" in labels.boxes
    assert "piriformis_right" in labels.boxes  # uncovered once maximus is gone


def test_labels_in_a_small_window_still_fit(fresh_scene):
    plotter = pv.Plotter(off_screen=True, window_size=[420, 300])
    labels = StructureLabels(SceneView(plotter, fresh_scene), enabled=True)
    assert labels.boxes
    assert_apart_and_inside(list(labels.boxes.values()), 420, 300)
    plotter.close()


# --- landmark pins ---------------------------------------------------------------------------------------
def test_pins_exist_for_each_palpable_landmark(scene):
    names = {pin.name for pin in load_pins()}
    for landmark in ("asis", "psis", "iliac_crest", "greater_trochanter", "ischial_tuberosity"):
        assert {f"{landmark}_right", f"{landmark}_left"} <= names
    assert {"sacrum", "coccyx"} <= names
    positions = pin_positions(scene)
    assert set(positions) == names
    np.testing.assert_allclose(positions["psis_right"], scene.landmarks()["psis_right"])
    np.testing.assert_allclose(positions["coccyx"], scene.landmarks()["sacral_apex"])
    sacrum = scene.structures["sacrum"].vertices
    assert np.linalg.norm(sacrum - positions["sacrum"], axis=1).min() < 1e-6  # on the bone
    assert positions["sacrum"][0] < sacrum[:, 0].mean() and abs(positions["sacrum"][2]) < 15  # its dorsal midline


def test_pins_follow_the_pose_and_hide(view, fresh_scene):
    pins = LandmarkPins(view.plotter, fresh_scene, visible=True)
    assert pins.visible and len(pins._actors) == 2
    before = pins.positions["greater_trochanter_right"].copy()
    fresh_scene.set_pose("right", hip_abduction=30)
    assert np.linalg.norm(pins.positions["greater_trochanter_right"] - before) > 5
    np.testing.assert_allclose(pins.positions["psis_right"], fresh_scene.landmarks()["psis_right"])
    pins.set_visible(False)
    assert not pins._actors and "__landmark_pins" not in view.plotter.actors


# --- attachment areas --------------------------------------------------------------------------------------
def areas_by(scene, muscle):
    return {(a.role, a.bone): a for a in model_attachment_areas(scene, muscle)}


def test_maximus_arises_from_pelvis_and_inserts_on_the_femur(scene):
    areas = areas_by(scene, "gluteus_maximus_right")
    origin_bones = {bone for role, bone in areas if role == "origin"}
    insertion_bones = {bone for role, bone in areas if role == "insertion"}
    assert origin_bones and origin_bones <= {"hip_bone_right", "sacrum"}
    assert insertion_bones == {"femur_right"}  # the rest of its fibres end in the iliotibial band, not bone
    insertion = areas["insertion", "femur_right"]
    assert insertion.centre[1] < scene.landmarks()["greater_trochanter_right"][1]  # gluteal tuberosity, below the GT


def test_medius_inserts_at_the_greater_trochanter(scene):
    areas = areas_by(scene, "gluteus_medius_left")
    assert set(areas) == {("origin", "hip_bone_left"), ("insertion", "femur_left")}
    gap = np.linalg.norm(areas["insertion", "femur_left"].centre - scene.landmarks()["greater_trochanter_left"])
    assert gap < 25, f"medius insertion {gap:.0f} mm from the greater trochanter"
    assert areas["origin", "hip_bone_left"].centre[1] > scene.landmarks()["greater_trochanter_left"][1] + 60


def test_patches_lie_on_their_bones(scene):
    from scipy.spatial import cKDTree

    for area in model_attachment_areas(scene, "piriformis_right"):
        bone = scene.structures[area.bone]
        tree = cKDTree(bone.vertices)
        longest = np.linalg.norm(np.diff(bone.vertices[bone.faces], axis=1), axis=2).max()
        assert tree.query(area.points)[0].max() <= longest  # within one bone triangle of a bone vertex
        labels = attachment_scalars([area], area.bone, len(bone.vertices))
        assert set(np.unique(labels)) <= {0, 1, 2}


def test_selecting_a_muscle_paints_two_colours_and_a_legend(view, fresh_scene):
    attachments = AttachmentView(view.plotter, fresh_scene)
    fresh_scene.select("gluteus_medius_right")
    colours = {tuple(np.round(actor.prop.color.float_rgb, 3)) for actor in attachments._actors}
    expected = {tuple(np.round(pv.Color(c).float_rgb, 3)) for c in (ORIGIN_COLOUR, INSERTION_COLOUR)}
    assert colours == expected and view.plotter.legend is not None
    fresh_scene.select("femur_right")  # bones have no fibres
    assert not attachments._actors and view.plotter.legend is None
