"""The study tools in the real window (Xvfb): cross-sections, the depth probe and the self-test."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")




def frame(window):
    """Draw what is pending now and return the 3D view's pixels (rows top down)."""
    from PySide6.QtWidgets import QApplication

    window.scene_view.flush()
    QApplication.processEvents()  # the window's frame is drawn by the widget's paint
    return window.interactor.screenshot(return_img=True)


def pixel_at(image, window, point):
    x, y = window.scene_view.display_position(point)
    return image[image.shape[0] - 1 - y, x, :3].astype(int)


def test_transverse_preset_clips_and_caps_and_the_slider_moves_the_cut(window, qtbot):
    from PySide6.QtCore import Qt

    from viewer.render.section_view import CAP_ACTOR, OUTLINE_ACTOR, cap_colours

    model = window.model
    qtbot.keyClick(window, Qt.Key.Key_X)
    assert model.section is not None and model.section.kind == "transverse"
    assert {CAP_ACTOR, OUTLINE_ACTOR} <= set(window.scene_view.plotter.actors)
    assert model.section.origin[1] == pytest.approx(-90.0)
    assert window.scene_view.actors["femur_right"].mapper.GetClippingPlanes().GetNumberOfItems() == 1
    window.show_view("inferior")
    image = frame(window)
    caps = window.scene_view.section.caps
    for name in ("gluteus_maximus_right", "sciatic_nerve_right"):
        structure = model.structures[name]
        expected = cap_colours(structure.kind, structure.colour)[caps[name].zone[0]]
        assert np.abs(pixel_at(image, window, caps[name].anchor) - expected).max() <= 12, name
    assert "Transverse section at y = -90 mm" in window.section_panel.description.text()
    # the slider moves the plane along its normal
    window.section_panel.offset_slider.setValue(-60)
    assert model.section.origin[1] == pytest.approx(-60.0)
    assert window.scene_view.section.caps["femur_right"].area_mm2 != pytest.approx(caps["femur_right"].area_mm2)
    # free orientation: a tilt turns the normal away from vertical, through the same point
    window.section_panel.tilt_spins[0].setValue(20)
    assert model.section.kind == "free"
    assert np.degrees(np.arccos(-model.section.normal[1])) == pytest.approx(20.0, abs=0.01)
    qtbot.keyClick(window, Qt.Key.Key_X, Qt.KeyboardModifier.ShiftModifier)
    assert model.section is None and not window.section_panel.offset_slider.isEnabled()
    assert not window.scene_view.actors["femur_right"].mapper.GetClippingPlanes().GetNumberOfItems()
    # the caps leave the plotter (as every overlay turned off does: a hidden actor is still walked every frame)
    assert not {CAP_ACTOR, OUTLINE_ACTOR} & set(window.scene_view.plotter.actors)


def test_probe_click_on_the_buttock_lists_the_column_and_draws_the_needle(window, qtbot):
    from PySide6.QtCore import QPoint, Qt

    from viewer.model.probe import entry_point, probe
    from viewer.render.probe_view import NEEDLE_COLOUR

    model = window.model
    window.show_view("posterior")
    window.probe_action.setChecked(True)
    maximus = model.vertices("gluteus_maximus_right")
    x, y = window.scene_view.display_position(maximus.mean(axis=0))
    hit = window.probe_view.surface_at(x, y)
    assert hit is not None and hit[0] == "gluteus_maximus_right"  # the translucent skin is seen through
    on_skin = entry_point(model, "skin", hit[1], window.probe_view.view_ray(hit[1]))
    ratio = window.interactor.devicePixelRatioF()
    qtbot.mouseClick(
        window.interactor, Qt.MouseButton.LeftButton, pos=QPoint(round(x / ratio), round(window.interactor.height() - y / ratio))
    )
    assert model.selection is None  # probing does not select
    panel = window.probe_panel
    assert panel.result is not None
    assert np.linalg.norm(panel.result.point - on_skin) < 3.0  # on the skin where the click was (to a pixel)
    expected = probe(model, panel.result.point, surface="skin", snap=False)
    names = [model.structure_name(layer.structure) for layer in expected.layers]
    assert "Sciatic nerve (right)" in "".join(names) or expected.nerve_distance_mm > 0
    assert panel.table.rowCount() == len(expected.layers) >= 2
    for row, layer in enumerate(expected.layers):
        assert panel.table.item(row, 0).text().startswith(model.structure_name(layer.structure))
        assert panel.table.item(row, 1).text() == f"{layer.entry_mm:.1f}"
    assert panel.table.item(0, 0).text().startswith("Skin") and panel.table.item(1, 0).text().startswith("Gluteus maximus")
    assert f"{expected.nerve_distance_mm:.1f} mm" in panel.nerve_label.text() or "enters it" in panel.nerve_label.text()
    # the needle: blue pixels along its shaft, drawn over the tissue it passes through (seen from the side)
    window.show_view("right")
    image = frame(window)
    blue = np.array([int(NEEDLE_COLOUR[i : i + 2], 16) for i in (1, 3, 5)])
    shaft = [expected.point + depth * expected.direction for depth in (-10.0, 20.0, 50.0)]
    pixels = [
        (image.shape[0] - 1 - py - dy, px + dx)
        for px, py in (window.scene_view.display_position(p) for p in shaft)
        for dx in (-1, 0, 1)
        for dy in (-1, 0, 1)
    ]

    def needle_pixels(image):
        return sum(np.abs(image[row, column, :3].astype(int) - blue).max() <= 30 for row, column in pixels)

    assert needle_pixels(image) >= 3
    window.probe_panel.clear()
    assert needle_pixels(frame(window)) == 0
    window.probe_action.setChecked(False)


def test_quiz_ten_questions_scores_and_reviews_a_mistake_in_3d(window, qtbot):
    from viewer.model.quiz import check_answer, make_quiz

    model, quiz = window.model, window.quiz_panel
    quiz.start(3)
    assert len(quiz.questions) == 10
    assert [q.prompt for q in quiz.questions] == [q.prompt for q in make_quiz(model, seed=3)]
    wrong_at = None
    for number in range(10):
        question = quiz.question
        right = check_answer(model, question)
        if question.kind == "name":
            quiz.options.setCurrentRow(right)
            assert window.quiz_highlight.names == question.highlight  # asked about, shown in 3D, not named
            red, green, _blue = pixel_at(frame(window), window, model.vertices(question.highlight[0]).mean(axis=0))
            assert green > red + 60  # drawn green even when deep under the gluteus maximus
        if wrong_at is None and question.kind in ("click", "name"):
            wrong_at = number
            response = "sacrum" if question.kind == "click" else (right + 1) % len(question.options)
            before = quiz.score
            assert not quiz.answer(response)
            assert quiz.score == before
        elif question.kind == "click":
            assert quiz.awaiting_click
            before = quiz.score
            assert quiz.answer_click(right)
            assert quiz.score == before + 1
        else:
            before = quiz.score
            assert quiz.answer(right if question.kind != "name" else quiz.response())
            assert quiz.score == before + 1
        quiz.next_button.click()
    assert wrong_at is not None and quiz.score == 9
    assert "9 of 10" in quiz.prompt.text()
    assert quiz.review.count() == 1
    quiz.review.setCurrentRow(0)
    missed = quiz.questions[wrong_at]
    structure = missed.answer if missed.kind == "click" else missed.highlight[0]
    assert model.selection == structure
    assert window.quiz_highlight.names == [structure]
    assert model.structure_name(structure) in quiz.feedback.text()


def test_ctrl_drag_in_the_view_moves_the_cut_along_its_normal_and_the_slider_follows(window, qtbot):
    from PySide6.QtCore import QPoint, Qt

    model, view = window.model, window.interactor
    window.section_panel.set_preset("coronal")
    window.show_view("right")  # the coronal plane seen edge-on: its normal (towards -x) runs across the screen
    before = model.section
    assert before.origin[0] == pytest.approx(-80.0)
    camera = view.renderer.camera.position
    start = QPoint(view.width() // 2, view.height() // 2)
    # the screen direction of the normal, in widget pixels (y down)
    x0, y0 = window.scene_view.display_position(before.origin)
    x1, y1 = window.scene_view.display_position(before.origin + 10.0 * before.normal)
    ratio = view.devicePixelRatioF()
    step = np.array([x1 - x0, -(y1 - y0)]) / ratio
    end = start + QPoint(*np.round(4.0 * step).astype(int))  # about 40 mm along the normal
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, start)
    qtbot.mouseMove(view, start + QPoint(*np.round(2.0 * step).astype(int)))
    assert model.section is before  # no re-cut while dragging, only the clipping previewed
    qtbot.mouseMove(view, end)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, end)
    after = model.section
    moved = after.origin - before.origin
    assert np.allclose(np.cross(moved, before.normal), 0.0, atol=1e-9)  # along the normal only
    assert moved @ before.normal == pytest.approx(40.0, abs=3.0)
    assert np.allclose(after.normal, before.normal) and after.kind == "coronal"
    assert window.section_panel.offset_slider.value() == after.origin[0]  # the slider follows (whole mm)
    assert f"x = {after.origin[0]:.0f} mm" in window.section_panel.description.text()
    assert model.section is after  # the slider following does not re-cut
    assert view.renderer.camera.position == camera  # the drag did not rotate the view
    assert model.selection is None  # nor select
    assert window.scene_view.section.caps  # re-cut: caps at the new place
    cap = next(iter(window.scene_view.section.caps.values()))
    assert np.abs(after.signed_distance(cap.vertices)).max() < 1e-6
    # a tilted cut moves along its tilted normal; the slider reads where it crosses the x axis
    window.section_panel.tilt_spins[1].setValue(30)
    tilted = model.section
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, start)
    qtbot.mouseMove(view, end)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, end)
    moved = model.section.origin - tilted.origin
    assert np.allclose(np.cross(moved, tilted.normal), 0.0, atol=1e-9) and np.linalg.norm(moved) > 10.0
    crossing = np.array([window.section_panel.offset_slider.value(), 0.0, 0.0])
    assert abs(model.section.signed_distance(crossing[None])[0]) < 1.0
    # without Ctrl, a drag rotates as before and the cut stays
    kept = model.section
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert model.section is kept


def test_probe_the_techniques_line_of_force_from_the_panel(window, qtbot):
    from viewer.model.probe import probe_technique
    from viewer.render.probe_view import NEEDLE_COLOUR

    model, panel = window.model, window.probe_panel
    assert not panel.technique_button.isEnabled()
    window.techniques_panel.choose("rotators_prone_knee90")
    assert window.techniques.active is not None and panel.technique_button.isEnabled()
    panel.technique_button.click()
    expected = probe_technique(model, window.techniques)
    assert panel.result is not None
    assert np.allclose(panel.result.point, expected.point) and np.allclose(panel.result.direction, expected.direction)
    assert [(c.structure, c.entry_mm, c.exit_mm) for c in panel.result.layers] == [
        (c.structure, c.entry_mm, c.exit_mm) for c in expected.layers
    ]
    assert panel.table.rowCount() == len(expected.layers) >= 1
    assert "line of force" in panel.heading.text()
    qtbot.wait(400)  # the technique's own drawing settles (it is recomputed on a timer)
    blue = np.array([int(NEEDLE_COLOUR[i : i + 2], 16) for i in (1, 3, 5)])
    shaft = [expected.point + depth * expected.direction for depth in (-10.0, 0.5 * expected.reach_mm)]

    def needle_pixels(image):
        near = [
            image[image.shape[0] - 1 - py - dy, px + dx, :3].astype(int)
            for px, py in (window.scene_view.display_position(p) for p in shaft)
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
        ]
        return sum(np.abs(pixel - blue).max() <= 12 for pixel in near)  # unlit: its own colour, not the stroke's

    assert needle_pixels(frame(window)) >= 3
    panel.clear()
    assert needle_pixels(frame(window)) == 0
    window.techniques.clear()
    assert not panel.technique_button.isEnabled()
