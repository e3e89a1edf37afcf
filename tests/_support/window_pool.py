"""The real main window, shared by the tests of one module.

Building a MainWindow (scene, 36 actors, first frames in software OpenGL) takes about 10 s; a GUI test
module reuses one window and puts it back to its fresh state after each test. The reuse is guarded:
a fingerprint of everything a test can change (the model, the history, every widget's value, the
camera, the actors in the renderer, open dialogs) must equal the fingerprint the window had when
it was new, or the window is thrown away and a new one built, so no test ever starts from another
test's leftovers.
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np

from _support.counters import SUITE_COUNTS

WINDOW_SIZE = (1000, 700)


def window_fingerprint(window) -> dict:
    """The state of a window a test can change, comparable with ``==``."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSlider,
        QAbstractSpinBox,
        QApplication,
        QComboBox,
        QDockWidget,
        QLabel,
        QLineEdit,
        QListWidget,
        QTabWidget,
        QTextEdit,
        QTreeWidget,
    )

    from viewer.anatomy.bones import SIDES

    model, view = window.model, window.scene_view
    camera = window.interactor.camera
    widgets = []
    for kind, state in (
        (QAbstractSlider, lambda w: w.value()),
        (QAbstractSpinBox, lambda w: w.text()),
        (QLineEdit, lambda w: w.text()),
        (QComboBox, lambda w: (w.count(), w.currentIndex())),
        (QAbstractButton, lambda w: (w.isChecked(), w.isEnabled(), w.text())),
        (QTabWidget, lambda w: w.currentIndex()),
        (QLabel, lambda w: w.text()),
        (QTextEdit, lambda w: w.toPlainText()),
        (QListWidget, lambda w: [w.item(i).text() for i in range(w.count())]),
        (QTreeWidget, lambda w: w.topLevelItemCount()),
        (QDockWidget, lambda w: w.isHidden()),
    ):
        widgets += [
            (kind.__name__, w.objectName(), state(w), w.isHidden())
            for w in window.findChildren(kind)
            if not isinstance(w.parent(), QLineEdit)  # a line edit's clear button fades with its text (fingerprinted)
        ]
    actions = [(a.text(), a.isChecked(), a.isEnabled(), a.isVisible()) for a in window.findChildren(QAction)]
    # as multisets: raising a dock or opening a menu reorders Qt's children without changing any of them
    widgets, actions = sorted(widgets, key=repr), sorted(actions, key=repr)
    renderer = window.interactor.renderer
    props = renderer.GetViewProps()
    return {
        "visible": {n: model.is_visible(n) for n in model.structures},
        "opacity": {n: model.opacity(n) for n in model.structures},
        "pose": {side: model.pose(side) for side in SIDES},
        "model": (model.selection, model.colour_mode, model.language, model.body, model.skin_tone),
        "more": (repr(model.section), model.fibres_visible, model.nerve_variant, model.danger_margin_mm),
        "history": (window.history.can_undo, window.history.can_redo),
        "camera": [
            np.round(camera.position, 3).tolist(),
            np.round(camera.focal_point, 3).tolist(),
            np.round(camera.up, 3).tolist(),
            round(camera.view_angle, 3),
            camera.parallel_projection,
        ],
        "view": (view.current_view, view.printing, view.label_scale, view.striations),
        # every prop, hidden ones too (with hidden ones ignored, a reused window drew 2 frames for a click in
        # test_gui.py's frame count: some hidden leftover still costs a frame), but for the hidden name boxes of
        # the labels' pool: made once per name and then reused, shown only when laid out (a new window has none)
        "props": [
            (type(prop).__name__, prop.GetVisibility())
            for prop in (props.GetItemAsObject(i) for i in range(props.GetNumberOfItems()))
            if prop.GetVisibility() or not any(prop is box for box in view.labels.text_actors.values())
        ],
        "widgets": widgets,
        "actions": actions,
        "window": (window.size().toTuple(), window.isFullScreen(), window.isVisible(), window.presentation.on),
        "top": sorted(w.objectName() + type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible()),
    }


def new_window(scene):
    from PySide6.QtTest import QTest

    from viewer.ui.main_window import MainWindow

    window = MainWindow(scene)
    window.resize(*WINDOW_SIZE)
    window.show()
    QTest.qWaitForWindowExposed(window)
    window.activateWindow()  # Xvfb has no window manager to focus it
    QTest.qWaitForWindowActive(window)
    return window


def control_values(window) -> list[tuple[object, object]]:
    """The window's controls with their values, to put back after a test: checkable actions and buttons,
    sliders and scroll bars, spin boxes, and drop-down lists (what a test or a panel moves)."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit

    values: list[tuple[object, object]] = []
    values += [(a, a.isChecked()) for a in window.findChildren(QAction) if a.isCheckable()]
    values += [(b, b.isChecked()) for b in window.findChildren(QAbstractButton) if b.isCheckable()]
    values += [(w, w.value()) for w in window.findChildren(QAbstractSlider)]
    values += [(w, w.value()) for w in window.findChildren(QAbstractSpinBox) if hasattr(w, "value")]
    values += [(w, w.currentIndex()) for w in window.findChildren(QComboBox)]
    values += [(w, w.text()) for w in window.findChildren(QLineEdit) if not isinstance(w.parent(), QAbstractSpinBox)]
    return values


def restore_controls(controls: list[tuple[object, object]]) -> None:
    """Set each control back as a user would (its signals fire, so the panels follow)."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit

    for control, value in controls:
        try:
            if isinstance(control, (QAction, QAbstractButton)):
                if control.isChecked() != value:
                    control.setChecked(value)
            elif isinstance(control, QComboBox):
                if control.currentIndex() != value and value < control.count():
                    control.setCurrentIndex(value)
            elif isinstance(control, QLineEdit):
                if control.text() != value:
                    control.setText(value)
            elif control.value() != value:
                control.setValue(value)
        except RuntimeError:  # deleted since (a panel rebuilt it): the fingerprint decides
            continue


def reset_window(window, camera: dict, controls: list[tuple[object, object]]) -> None:
    """Put a used window back the way a new one starts, ``camera`` its first camera and ``controls`` its
    first control values (what is not put back, the fingerprint catches)."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication, QDialog

    from viewer.anatomy.body_skin import DEFAULT_BODY
    from viewer.model.lessons import list_lessons
    from viewer.model.scene import default_appearance
    from viewer.model.skin import default_skin_tone

    for widget in QApplication.topLevelWidgets():
        if widget is not window and widget.isVisible():
            widget.close()
    # the dialogs a test opened (About, export, message boxes: made anew at each opening, kept by nobody) stay
    # behind as hidden children of the window: gone, as in a new window
    for dialog in window.findChildren(QDialog):
        if dialog.isHidden():
            dialog.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    if window.presentation.on:
        window.set_presentation(False)
    model = window.model
    window.quiz_panel.clear()  # a quiz's questions, score and mistakes (and the pose its action question played)
    # the files a test opened, saved or dropped: remembered as recent, an opened lesson added to the lesson box
    window.settings.store.remove("files/recent")
    window.scene_files.update_recent()
    lessons = window.lesson_panel
    if lessons.transition.running:
        lessons.transition.finish()
    lessons.lessons = list_lessons()
    lessons.reload_choices()
    window.probe_panel.clear()  # the last probe's column and readings
    while window.history.undo():
        pass
    window.techniques.clear()
    restore_controls(controls)
    window.layers_panel.search_result.clear()  # the last search's answer (the box itself is a control)
    window.history.clear()
    model.select(None)
    model.reset_pose()
    model.set_colour_mode("anatomy")
    model.set_language("english")
    model.set_section(None)
    model.set_fibres_visible(False)
    if model.body != DEFAULT_BODY:
        model.set_body(DEFAULT_BODY)
    model.set_skin_tone(default_skin_tone())
    for name, (visible, opacity) in default_appearance(model).items():
        model.set_opacity(name, opacity)
        model.set_visible(name, visible)
    window.resize(*WINDOW_SIZE)
    window.reset_view()
    window.scene_view.set_camera(camera)  # exactly: the first frame's camera, framed before the window had its size
    QCoreApplication.processEvents()


def what_differs(fresh: dict, now: dict) -> list[str]:
    """Lines naming what a used window's reset left different from a new window (``--window-diffs``)."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]
    lines = []
    for part, value in fresh.items():
        if now[part] == value:
            continue
        if isinstance(value, list):
            before, after = Counter(map(repr, value)), Counter(map(repr, now[part]))
            lines.append(f"{test}: {part}: new window {sorted((before - after).elements())[:5]}, "
                         f"reset {sorted((after - before).elements())[:5]}")  # fmt: skip
        else:
            lines.append(f"{test}: {part}: new window {value!r:.200}, reset {now[part]!r:.200}")
    return lines


class WindowPool:
    """One window per test module, reused while it fingerprints as new (built and reused counted)."""

    def __init__(self) -> None:
        self.window = None
        self.fresh: dict | None = None
        self.camera: dict = {}
        self.controls: list[tuple[object, object]] = []
        self.built = self.reused = 0

    def take(self):
        from viewer.model.scene import build_scene

        if self.window is not None:
            reset_window(self.window, self.camera, self.controls)
            now = window_fingerprint(self.window)
            if now == self.fresh:
                self.reused += 1
                return self.window
            SUITE_COUNTS["differed"].update(key for key, value in self.fresh.items() if now[key] != value)
            SUITE_COUNTS["differences"] += what_differs(self.fresh, now)
            self.close()
        self.window = new_window(build_scene())
        self.fresh = window_fingerprint(self.window)
        self.camera = self.window.scene_view.camera_state()
        self.controls = control_values(self.window)
        self.built += 1
        return self.window

    def finish(self) -> None:
        """Close the window and add this pool's counts to the session's."""
        self.close()
        SUITE_COUNTS["built"] += self.built
        SUITE_COUNTS["reused"] += self.reused

    def close(self) -> None:
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
            self.window = None
