"""The classroom in the window: scene files, lessons, presentation, small screens, settings, help."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QTabBar, QToolBar

pytest.importorskip("pytestqt")



def direction(camera: dict) -> np.ndarray:
    offset = np.subtract(camera["position"], camera["focal_point"])
    return offset / np.linalg.norm(offset)


def choose_file(monkeypatch, path) -> None:
    """The file dialogs answer ``path`` (no dialog opens in a test)."""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))


def test_save_and_open_a_scene_through_the_file_menu(window, monkeypatch, tmp_path):
    path = tmp_path / "class.json"
    choose_file(monkeypatch, path)
    window.history.set_pose("right", hip_flexion=60)
    window.history.set_depth(2)
    window.view_actions["right"].trigger()
    window.labels_action.setChecked(True)
    window.model.select("piriformis_right")
    saved_camera = window.scene_view.camera_state()
    window.scene_files.save_action.trigger()
    document = json.loads(path.read_text())
    assert document["version"] == 1 and document["pose"]["right"]["hip_flexion"] == 60
    assert [a.text() for a in window.scene_files.recent_menu.actions()] == ["class.json"]

    window.history.reset_pose()
    window.history.set_depth(0)
    window.view_actions["posterior"].trigger()
    window.labels_action.setChecked(False)
    window.model.select(None)
    window.scene_files.open_action.trigger()
    assert window.model.pose("right").hip_flexion == 60
    assert window.peel.depth == 2
    assert window.labels_action.isChecked() and window.model.selection == "piriformis_right"
    assert np.allclose(window.scene_view.camera_state()["position"], saved_camera["position"])


def test_a_bad_scene_file_is_one_line_and_changes_nothing(window, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "pose": {"right": {"hip_flexion": 500}}, "peel": {"depth": 3}}))
    assert not window.scene_files.open(bad)
    assert "bad.json" in window.last_error and "pose.right" in window.last_error and "\n" not in window.last_error
    assert window.peel.depth == 0 and window.model.pose("right").hip_flexion == 0


def test_dropping_a_scene_file_on_the_window_opens_it(window, tmp_path):
    from viewer.model.scene_file import SCENE_VERSION

    path = tmp_path / "dropped.json"
    path.write_text(json.dumps({"version": SCENE_VERSION, "peel": {"depth": 3}, "camera": {"view": "left"}}))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)  # fmt: skip
    window.dropEvent(drop)
    assert drop.isAccepted()
    assert window.peel.depth == 3
    assert direction(window.scene_view.camera_state())[2] < -0.9  # looking from the left


def test_the_command_line_opens_the_window_on_a_file(monkeypatch, tmp_path, capsys):
    import viewer.ui.app
    from tests.test_cli import run_main
    from viewer import cli
    from viewer.cli.parsing import split_window_file

    path = tmp_path / "lesson.json"
    path.write_text("{}")
    opened = {}
    monkeypatch.setattr(viewer.ui.app, "run_window", lambda **kwargs: opened.update(kwargs) or 0)
    assert cli.main([str(path), "--size", "1024x768"]) == 0
    assert opened["open_file"] == path and opened["size"] == (1024, 768)
    assert split_window_file(["--view", "left", "export"], ["export"]) == (["--view", "left", "export"], None)
    assert split_window_file(["expert"], ["export"]) == (["expert"], None)  # a typo stays argparse's to report
    opened.clear()
    code, err = run_main(capsys, str(tmp_path / "gone.json"))
    assert code == 2 and "gone.json: no such scene or lesson file" in err and not opened  # no window for it


def wait_for_step(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: not panel.transition.running, timeout=10000)


def test_lesson_stepping_glides_the_pose_and_camera_to_each_step(window, qtbot, monkeypatch):
    panel = window.lesson_panel
    # a glide keeps time: on a loaded machine a frame can take longer than the 0.8 s glide, which then lands at its
    # end in one step (no pose in between); a longer glide still has to pass through the poses in between
    monkeypatch.setattr(panel.transition, "duration_ms", 4000)
    panel.choose_lesson("rotators_flexion")
    panel.go_to(1, animate=False)
    assert window.model.pose("right").hip_rotation == 30
    before = window.scene_view.camera_state()
    halfway = []
    panel.transition.animation = None
    window.model.pose_changed.connect(lambda _pose: halfway.append(window.model.pose("right").hip_flexion))
    panel.next()
    assert panel.transition.running
    qtbot.waitUntil(lambda: any(0 < angle < 45 for angle in halfway), timeout=10000)
    panel.transition.finish()  # seen in between: the rest of the glide draws the same again (its own end: below)
    after = window.scene_view.camera_state()
    assert window.model.pose("right").hip_flexion == pytest.approx(45)
    assert window.model.pose("right").hip_rotation == pytest.approx(0)
    assert window.peel.depth == 2
    assert any(0 < angle < 45 for angle in halfway)  # it passed through the poses in between
    assert np.dot(direction(before), direction(after)) < 0.95  # the camera turned to the posterolateral view
    assert "45" in panel.note.toPlainText() and panel.counter.text() == "Step 3 of 5"


def test_instructor_adds_reorders_deletes_and_saves_a_lesson(window, tmp_path):
    from viewer.model.lessons import read_lesson

    panel = window.lesson_panel
    panel.chooser.setCurrentIndex(panel.chooser.count() - 1)  # a new, empty lesson
    panel.lesson_title.setText("Piriformis for beginners")
    window.history.set_depth(3)
    panel.step_title.setText("Deep layer")
    panel.step_note.setPlainText("Under **maximus**.")
    panel.add_current_view()
    window.history.set_pose("right", hip_flexion=90)
    panel.step_title.setText("Flexed")
    panel.add_current_view()
    panel.step_title.setText("Spare")
    panel.add_current_view()
    panel.delete_step()
    panel.move(-1)
    assert [s.title for s in panel.draft.steps] == ["Flexed", "Deep layer"]
    written = panel.save(tmp_path / "mine.json")
    lesson = read_lesson(written)
    assert lesson.id == "piriformis_for_beginners" and [s.title for s in lesson.steps] == ["Flexed", "Deep layer"]
    assert lesson.steps[0].scene["pose"]["right"]["hip_flexion"] == 90 and lesson.steps[1].scene["peel"]["depth"] == 3
    assert lesson.steps[1].note == "Under **maximus**."


def test_presentation_steps_with_the_clicker_keys_in_large_text_and_esc_leaves(window, qtbot, monkeypatch):
    panel = window.lesson_panel
    # short glides, each still ended by its own animation (a glide's frames are the stepping test's to check)
    monkeypatch.setattr(panel.transition, "duration_ms", 100)
    panel.choose_lesson("deep_six_sciatic")
    panel.go_to(0, animate=False)
    window.presentation_action.setChecked(True)
    qtbot.waitUntil(lambda: window.isFullScreen())
    window.activateWindow()  # window shortcuts fire only in the active window (a projector's is; under load the
    qtbot.waitUntil(window.isActiveWindow)  # test display can still be handing focus over after full screen)
    assert not any(dock.isVisible() for dock in window.findChildren(QDockWidget))
    assert not window.menuBar().isVisible() and not any(bar.isVisible() for bar in window.findChildren(QToolBar))
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    wait_for_step(qtbot, panel)
    assert panel.index == 1 and window.peel.depth == 3  # a step, not a peel
    qtbot.keyClick(window, Qt.Key.Key_Right)
    wait_for_step(qtbot, panel)
    assert panel.index == 2
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    wait_for_step(qtbot, panel)
    assert panel.index == 1
    caption = window.presentation.caption
    assert caption.isVisible() and caption.title.text() == "Piriformis"
    screen_height = window.screen().geometry().height()
    assert caption.note.font().pixelSize() >= 0.025 * screen_height
    assert window.scene_view.text_sizes().font_px >= 0.025 * window.interactor.height() - 1
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen())
    assert not window.presentation_action.isChecked() and not caption.isVisible()
    assert caption.title.text() == caption.note.text() == ""  # no stale step kept in the hidden bar
    assert window.docks["Layers"].isVisible()
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert panel.index == 1 and window.peel.depth == 4  # outside presentation PageDown peels again
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.isFullScreen())
    qtbot.keyClick(window, Qt.Key.Key_F5)  # its toolbar is hidden now, the key still works
    qtbot.waitUntil(lambda: not window.isFullScreen())


def test_the_window_fits_1024_by_768_with_every_panel_reachable(window, qtbot):
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 700
    size, tabs = window.size(), {bar: bar.currentIndex() for bar in window.findChildren(QTabBar)}
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 768)
    inside = window.rect()
    try:
        for title, dock in window.docks.items():
            window.raise_dock(title)
            qtbot.waitUntil(dock.widget().isVisible)
            assert not dock.isFloating()
            corner = dock.mapTo(window, dock.rect().bottomRight())
            assert inside.contains(corner) and inside.contains(dock.mapTo(window, dock.rect().topLeft())), title
            assert dock.width() >= 60 and dock.height() >= 60, title
        assert window.interactor.width() >= 420
    finally:  # the test's own state: the size and the dock tab bars scrolled back to their first tab
        window.resize(size)
        qtbot.waitUntil(lambda: window.size() == size)
        for bar, index in tabs.items():
            bar.setCurrentIndex(0)
            bar.setCurrentIndex(index)


def test_settings_are_remembered_between_runs(qtbot, fresh_scene, tmp_path):
    from viewer.ui.main_window import MainWindow
    from viewer.ui.settings import WindowSettings

    store = tmp_path / "settings.ini"
    scene_file = tmp_path / "seen.json"
    scene_file.write_text('{"version": 1}')

    def open_window():
        opened = MainWindow(fresh_scene, settings=WindowSettings(QSettings(str(store), QSettings.Format.IniFormat)))
        qtbot.addWidget(opened)
        return opened

    first = open_window()
    first.resize(1100, 720)
    first.show()
    qtbot.waitExposed(first)
    first.scene_files.open(scene_file)  # (a scene sets the language too: opened first)
    first.latin_action.setChecked(True)
    first.set_text_scale(1.3)
    first.lesson_panel.choose_lesson("rotators_flexion")  # not the first in the list
    first.close()
    fresh_scene.set_language("english")

    second = open_window()
    second.show()
    qtbot.waitExposed(second)
    assert second.model.language == "latin" and second.latin_action.isChecked()
    assert second.text_scale == pytest.approx(1.3)
    assert second.lesson_panel.current_lesson_id() == "rotators_flexion"  # the last lesson is chosen again
    assert second.settings.recent_files() == [scene_file.resolve()]
    assert second.settings.last_folder() == str(tmp_path.resolve())
    assert (second.width(), second.height()) == (1100, 720)
    second.restore_defaults()
    assert second.settings.recent_files() == [] and second.model.language == "english"
    second.close()


def test_f1_shows_the_keys_and_mouse_overlay(window, qtbot):
    window.activateWindow()  # F1 is a window shortcut: it fires only in the active window (CI dry run 12 pressed it
    qtbot.waitUntil(window.isActiveWindow)  # before the focus had come back from the previous test's dialog)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    overlay = window.help_overlay
    assert overlay.isVisible() and overlay.geometry() == window.rect()
    text = overlay.text.text()
    for expected in ("Ctrl+S", "Save scene", "F5", "Presentation", "rotate the body", "PageDown"):
        assert expected in text
    qtbot.keyClick(overlay, Qt.Key.Key_Escape)
    assert not overlay.isVisible() and overlay.text.text() == ""  # written afresh at each showing


def test_about_names_the_version_licences_and_published_sources(window, qtbot):
    import viewer
    from viewer.ui.about import AboutDialog

    dialog = AboutDialog(window)
    text = dialog.text.toPlainText()
    for expected in (viewer.__version__, "MIT", "MPL-2.0", "CC0 1.0", "MakeHuman", "Gray's Anatomy"):
        assert expected in text
    assert ".md" not in text and ".txt" not in text
    dialog.close()


def controls_without_tooltip(window) -> list[str]:
    """Controls a user works (buttons, sliders, boxes, fields, lists, text panels) that explain nothing on hover.

    Qt's own parts are left out: scroll bars, table headers, a combo box's popup list, the dock and
    tab-bar buttons Qt draws (``qt_`` names) and a field's clear button.
    """
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QAbstractSlider,
        QAbstractSpinBox,
        QComboBox,
        QHeaderView,
        QLineEdit,
        QScrollBar,
        QTabBar,
        QTextEdit,
        QToolButton,
        QWidget,
    )

    kinds = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QAbstractItemView, QTextEdit)
    missing = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, kinds) or isinstance(widget, QScrollBar | QHeaderView) or widget.toolTip():
            continue
        if widget.objectName().startswith("qt_") or isinstance(widget.parent(), QTabBar | QLineEdit):
            continue
        if isinstance(widget, QAbstractItemView) and isinstance(widget.parent().parent(), QComboBox):
            continue
        if isinstance(widget, QToolButton) and widget.defaultAction() and widget.defaultAction().toolTip():
            continue
        missing.append(f"{type(widget).__name__} {getattr(widget, 'text', str)()!r} in {type(widget.parent()).__name__}")
    return missing


def test_every_control_has_a_tooltip(window):
    assert controls_without_tooltip(window) == []


def test_handout_dialog_makes_a_lesson_handout_and_puts_the_window_back(window, tmp_path):
    import shutil
    import subprocess

    from viewer.ui.export_dialog import HandoutDialog

    lesson = next(lesson for lesson in window.lesson_panel.lessons if lesson.id == "freeing_maximus")
    window.view_actions["left"].trigger()
    before = window.scene_view.camera_state()
    dialog = HandoutDialog(window)
    dialog.choose_lesson(lesson.title)
    assert not dialog.views.isEnabled()
    dialog.dpi_box.setValue(72)
    dialog.file_row.edit.setText(str(tmp_path / "lesson.pdf"))
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.error.text()
    assert (tmp_path / "lesson.pdf").read_bytes().startswith(b"%PDF")
    assert window.peel.depth == 0 and np.allclose(window.scene_view.camera_state()["position"], before["position"])
    if shutil.which("pdfinfo") is None:
        pytest.skip("pdfinfo (poppler-utils) not installed")
    info = subprocess.run(["pdfinfo", str(tmp_path / "lesson.pdf")], capture_output=True, text=True, check=True)
    assert f"Pages:           {len(lesson.steps)}\n" in info.stdout
    text = subprocess.run(["pdftotext", str(tmp_path / "lesson.pdf"), "-"], capture_output=True, text=True).stdout
    assert lesson.steps[-1].title in " ".join(text.split())


def test_probe_click_with_the_skin_peeled_starts_the_column_at_the_skin(window, qtbot):
    from viewer.model.probe import entry_point

    model = window.model
    window.show_view("posterior")
    window.history.set_depth(1)  # skin and fat peeled away: maximus is what the click hits
    assert not model.is_visible("skin")
    x, y = window.scene_view.display_position(model.vertices("gluteus_maximus_right").mean(axis=0))
    name, point = window.probe_view.surface_at(x, y)
    assert name == "gluteus_maximus_right"
    on_skin = entry_point(model, "skin", point, window.probe_view.view_ray(point))
    window.probe_action.setChecked(True)
    window.click_at(x, y)
    result = window.probe_panel.result
    assert np.linalg.norm(result.point - on_skin) < 1.0 and result.surface == "skin"
    assert window.probe_panel.table.item(0, 0).text().startswith("Skin")
    assert "peeled away" in window.probe_panel.heading.text()
    maximus = next(layer for layer in result.layers if layer.structure == "gluteus_maximus_right")
    assert maximus.entry_mm > 3.0  # measured from the skin, through the fat, not from the muscle's face
    window.probe_action.setChecked(False)


def first_question(panel, topic: str, wanted):
    """Start quizzes on one topic until one opens with a question ``wanted(question)`` accepts."""
    for box_topic, box in panel.topic_boxes.items():
        box.setChecked(box_topic == topic)
    for seed in range(40):
        panel.start(seed)
        if wanted(panel.question):
            return panel.question
    return None


def test_which_muscles_lengthen_plays_the_action_and_returns_the_pose(window, qtbot, monkeypatch):
    panel = window.quiz_panel
    monkeypatch.setattr(panel.glide, "duration_ms", 100)  # short glides, each ended by its animation
    question = first_question(panel, "actions", lambda q: q.kind == "lengthen")
    assert question is not None and question.kind == "lengthen"
    before = {side: window.model.pose(side) for side in ("right", "left")}
    (side, angles), = question.pose.items()
    assert panel.glide.running
    qtbot.waitUntil(lambda: not panel.glide.running, timeout=10000)
    reached = window.model.pose(side).as_dict()
    assert all(reached[key] == pytest.approx(value) for key, value in angles.items())
    assert reached != before[side].as_dict()
    panel.answer(question.answer)
    qtbot.waitUntil(lambda: not panel.glide.running, timeout=10000)
    assert {s: window.model.pose(s) for s in ("right", "left")} == before


def test_put_the_layers_in_order_by_dragging_in_the_list(window, qtbot):
    from PySide6.QtCore import QPoint, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    panel = window.quiz_panel
    question = first_question(panel, "layers", lambda q: q.kind == "order" and q.answer[0] != 0)
    assert question.kind == "order"
    window.raise_dock("Self-test")
    options = panel.options
    qtbot.waitUntil(options.isVisible)
    options.scrollToTop()
    # drag the outermost layer (skin side) to the top of the list with the mouse
    first = question.answer[0]
    source = options.visualItemRect(options.item(first)).center()
    target = options.visualItemRect(options.item(0)).topLeft() + QPoint(5, 2)
    viewport = options.viewport()
    path = [source + (target - source) * (step / 10) for step in range(1, 11)]

    def drag_on() -> None:  # runs inside the drag's own event loop, which the first move below starts
        for position in path[1:]:
            QTest.mouseMove(viewport, position)
            QApplication.processEvents()
        QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)

    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, source)
    QTimer.singleShot(200, drag_on)
    QTest.mouseMove(viewport, path[0])
    qtbot.wait(400)
    order = panel.response()
    assert order[0] == first and sorted(order) == list(range(len(question.options)))


def test_first_start_shows_progress_while_the_scene_is_built(qtbot, fresh_scene, tmp_path, monkeypatch):
    import time

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import viewer.ui.app as app_module

    def slow_build(body=None):
        time.sleep(0.8)  # as a first start building the geometry
        return fresh_scene

    seen = []

    def look() -> None:
        starts = [w for w in QApplication.topLevelWidgets() if isinstance(w, app_module.StartWindow)]
        seen.append(any(w.isVisible() for w in starts))

    ticker = QTimer()
    ticker.timeout.connect(look)
    ticker.start(50)
    monkeypatch.setattr(app_module, "build_scene", slow_build)
    out = tmp_path / "window.png"
    assert app_module.run_window(size=(800, 600), screenshot=out) == 0
    ticker.stop()
    assert out.is_file()
    assert sum(seen) >= 5  # the progress window was up, and the event loop kept running, during the build
