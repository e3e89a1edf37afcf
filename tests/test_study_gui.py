"""The study tools in the real window (Xvfb): cross-sections, the depth probe and the self-test."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import test_gui

window = test_gui.window  # the real window fixture, shared with the other GUI tests


def frame(window):
    """Draw what is pending now and return the 3D view's pixels (rows top down)."""
    window.scene_view.flush()
    return window.interactor.screenshot(return_img=True)


def pixel_at(image, window, point):
    x, y = window.scene_view.display_position(point)
    return image[image.shape[0] - 1 - y, x, :3].astype(int)


def test_transverse_preset_clips_and_caps_and_the_slider_moves_the_cut(window, qtbot):
    from PySide6.QtCore import Qt

    from viewer.render.section_view import cap_colours

    model = window.model
    qtbot.keyClick(window, Qt.Key.Key_X)
    assert model.section is not None and model.section.kind == "transverse"
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
