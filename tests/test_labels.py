"""Labels with leader lines, landmark pins and attachment areas (off-screen rendering)."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from viewer.render.attachments import (
    INSERTION_COLOUR,
    ORIGIN_COLOUR,
    AttachmentArea,
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


def test_attachment_scalars_paint_each_area_on_its_own_bone_and_insertion_wins(scene):
    areas = model_attachment_areas(scene, "gluteus_medius_right")
    origin = next(a for a in areas if a.role == "origin")
    insertion = next(a for a in areas if a.role == "insertion")
    hip = attachment_scalars(areas, origin.bone, len(scene.structures[origin.bone].vertices))
    assert np.array_equal(np.flatnonzero(hip), np.unique(origin.vertex_ids)) and set(hip[origin.vertex_ids]) == {1}
    femur = attachment_scalars(areas, insertion.bone, len(scene.structures[insertion.bone].vertices))
    assert np.array_equal(np.flatnonzero(femur), np.unique(insertion.vertex_ids)) and set(femur[insertion.vertex_ids]) == {2}
    # where an origin and an insertion share vertices (a muscle crossing one bone), the insertion is painted
    shared = insertion.vertex_ids[: max(1, len(insertion.vertex_ids) // 2)]
    overlapping = AttachmentArea(origin.muscle, "origin", insertion.bone, shared, origin.points, origin.faces)
    both = attachment_scalars([insertion, overlapping], insertion.bone, len(femur))
    assert set(both[shared]) == {2}
    assert attachment_scalars([overlapping], insertion.bone, len(femur))[shared].tolist() == [1] * len(shared)


def test_selecting_a_muscle_paints_two_colours_and_a_legend(view, fresh_scene):
    attachments = AttachmentView(view.plotter, fresh_scene)
    fresh_scene.select("gluteus_medius_right")
    colours = {tuple(np.round(actor.prop.color.float_rgb, 3)) for actor in attachments._actors}
    expected = {tuple(np.round(pv.Color(c).float_rgb, 3)) for c in (ORIGIN_COLOUR, INSERTION_COLOUR)}
    assert colours == expected and view.plotter.legend is not None
    fresh_scene.select("femur_right")  # bones have no fibres
    assert not attachments._actors and view.plotter.legend is None


# --- only what is seen, sized for the output ---------------------------------------------------------------
def test_far_side_is_the_side_turned_away_in_lateral_views():
    from viewer.render.labels import far_side
    from viewer.render.views import VIEWS

    assert far_side(VIEWS["right"].direction) == "left" and far_side(VIEWS["left"].direction) == "right"
    assert far_side(VIEWS["posterior"].direction) is None and far_side(VIEWS["posterolateral_right"].direction) is None


def test_layout_keeps_clear_of_reserved_boxes():
    anchors = np.array([[300.0, 40.0], [700.0, 30.0], [700.0, 700.0]])
    sizes = np.tile([[120.0, 24.0]], (3, 1))
    caption, legend = Box(560, 8, 792, 80), Box(8, 650, 300, 792)
    boxes = layout_labels(anchors, sizes, (800, 800), model_box=(300, 0, 500, 800), margin=8, obstacles=[caption, legend])
    assert boxes is not None and len(boxes) == len(anchors)  # every label placed: the check below is not vacuous
    for box in boxes:
        assert not box.overlaps(caption, gap=7) and not box.overlaps(legend, gap=7)


def test_text_sizes_rule():
    from viewer.render.labels import print_text_sizes, screen_text_sizes

    assert screen_text_sizes(768, 2.0).min_font_px >= 0.025 * 768  # presentation: 2.5 % of the height at least
    a4 = print_text_sizes(2480)  # A4 width at 300 dpi
    assert a4.min_font_px >= 33 and a4.line_px >= 2  # 8 pt and a 2 px leader when printed
    assert abs(print_text_sizes(1200, dpi=300).font_px - a4.font_px) <= 1  # the dpi, when given, decides


def labelled_export(scene, view, size, landmarks=True, technique=None, stretch=False):
    """An off-screen SceneView set up as ``export_png`` does (print text sizes), labels on."""
    from viewer.render.technique_view import TechniqueView

    plotter = pv.Plotter(off_screen=True, window_size=list(size))
    scene_view = SceneView(plotter, scene)
    scene_view.set_print()
    scene_view.set_view(view)
    technique_view = None
    if technique is not None:
        technique_view = TechniqueView(plotter, technique, text_sizes=scene_view.text_sizes)
        scene_view.labels.obstacles.append(technique_view.caption_boxes)
    if stretch:
        scene.set_colour_mode("stretch")
    scene_view.set_pins(landmarks)
    scene_view.set_labels(True)
    return plotter, scene_view, technique_view


def rendered_label_boxes(scene_view):
    """Boxes of the label text actors as VTK draws them, after a real render."""
    from viewer.render.labels import text_box

    scene_view.plotter.render()
    return {
        key: text_box(actor, scene_view.plotter.renderer)
        for key, actor in scene_view.labels.text_actors.items()
        if actor.GetVisibility()
    }


def test_right_view_names_only_the_near_side_and_the_pins_seen(fresh_scene):
    plotter, scene_view, _ = labelled_export(fresh_scene, "right", (600, 450))
    shown = {key: scene_view.labels.text_actors[key].GetInput() for key in rendered_label_boxes(scene_view)}
    plotter.close()
    assert shown, "nothing labelled"
    assert not [k for k in shown if k.endswith("_left")], shown  # no far-side structure or pin
    assert "pin:asis_right" in shown  # the right ASIS shows beside the iliotibial band
    texts = [t.casefold() for t in shown.values()]
    assert len(texts) == len(set(texts)), "a name given twice"


def test_posterior_view_does_not_name_the_hidden_asis_nor_the_sacrum_twice(fresh_scene):
    plotter, scene_view, _ = labelled_export(fresh_scene, "posterior", (600, 450))
    shown = {key: scene_view.labels.text_actors[key].GetInput() for key in rendered_label_boxes(scene_view)}
    plotter.close()
    assert not {"pin:asis_right", "pin:asis_left"} & set(shown)  # the ASIS face forward, behind the hip bones
    assert sum(text == "Sacrum" for text in shown.values()) == 1


def test_posterior_view_names_both_psis(fresh_scene):
    plotter, scene_view, _ = labelled_export(fresh_scene, "posterior", (600, 450))
    shown = set(rendered_label_boxes(scene_view))
    plotter.close()
    assert "pin:psis_right" in shown and "pin:psis_left" in shown  # the dimples of Venus are seen from behind


def test_pin_names_without_structure_labels_are_only_those_seen(fresh_scene):
    plotter = pv.Plotter(off_screen=True, window_size=[600, 450])
    scene_view = SceneView(plotter, fresh_scene)
    scene_view.set_pins(True)
    shown = set(rendered_label_boxes(scene_view))
    plotter.close()
    assert "pin:psis_right" in shown and not {"pin:asis_right", "pin:asis_left"} & shown
    assert all(key.startswith("pin:") for key in shown)


def test_presentation_labels_are_a_fortieth_of_the_height(fresh_scene):
    plotter = pv.Plotter(off_screen=True, window_size=[1024, 768])
    scene_view = SceneView(plotter, fresh_scene)
    scene_view.set_label_scale(2.0)
    scene_view.set_labels(True)
    boxes = rendered_label_boxes(scene_view)
    fonts = {scene_view.labels.text_actors[k].GetTextProperty().GetFontSize() for k in boxes}
    plotter.close()
    assert boxes and min(fonts) >= 0.025 * 768
    assert min(b.y1 - b.y0 for b in boxes.values()) >= 0.025 * 768
    assert_apart_and_inside(list(boxes.values()), 1024, 768)
    assert all(b.x0 >= 1 and b.y0 >= 1 and b.x1 <= 1023 and b.y1 <= 767 for b in boxes.values())  # off the edge


def test_a4_export_text_bar_and_leaders_are_print_sized(fresh_scene):
    fresh_scene.set_pose("both", hip_rotation=30)
    # half of A4 at 300 dpi, printed at 300 dpi (a full 2480x3508 window is bigger than the test display)
    plotter, scene_view, _ = labelled_export(fresh_scene, "posterior", (1240, 1754), landmarks=False, stretch=True)
    scene_view.set_print(dpi=300)
    scene_view.labels.update()
    boxes = rendered_label_boxes(scene_view)
    labels = scene_view.labels
    fonts = [labels.text_actors[k].GetTextProperty().GetFontSize() for k in boxes]
    line_width = labels._lines.GetProperty().GetLineWidth()
    bar = scene_view._colour_bar
    pieces = bar.boxes()  # ramp, title, ticks as drawn
    title, ticks = pieces[1], pieces[2:]
    title_font = bar.title_actor.GetTextProperty().GetFontSize()
    plotter.close()
    assert boxes and min(fonts) >= 33 and line_width >= 2  # 8 pt and 2 px when printed on A4 at 300 dpi
    assert title_font >= 33 and min(t.y1 - t.y0 for t in ticks) >= 33
    assert not any(title.overlaps(t) for t in ticks) and not title.overlaps(pieces[0])
    for box in boxes.values():  # labels keep clear of the colour bar
        assert not any(box.overlaps(piece) for piece in pieces)


def test_technique_caption_never_under_a_label(fresh_scene):
    from viewer.model.history import History
    from viewer.model.layers import PeelState
    from viewer.model.technique_session import TechniqueSession

    peel = PeelState()
    session = TechniqueSession(fresh_scene, History(fresh_scene, peel), peel)
    session.choose("rotators_prone_knee90", "right")
    plotter, scene_view, technique_view = labelled_export(fresh_scene, "posterior", (600, 450), technique=session)
    boxes = rendered_label_boxes(scene_view)
    caption = technique_view.caption_boxes()
    plotter.close()
    assert boxes and caption
    assert caption[0].x1 <= 599 and caption[0].y0 >= 1  # off the picture edge
    assert not any(box.overlaps(caption[0]) for box in boxes.values())
    assert not [k for k in boxes if k == "gluteus_maximus_right"]  # the see-through layer is a ghost, not named
