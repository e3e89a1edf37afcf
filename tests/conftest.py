"""Shared fixtures: one scene per session (building it reads every asset once)."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def scene():
    from viewer.model.scene import build_scene

    return build_scene()


@dataclass
class MuscleBuild:
    """The muscles built once from their data, with what the build made on the way."""

    muscles: dict  # structure name -> MuscleGeometry, both sides, as build_muscles returns them
    right_side: list  # the right-side cages (RightMuscle, build order) the forms and bindings were made from
    cache: Path  # the folder the build saved its arrays to (empty before: nothing was read from a cache)


@dataclass
class _FullBuild:
    right_side: list  # what build_right_side returned
    saved: Path  # the cache file build_muscles saved the arrays to


@pytest.fixture(scope="session", autouse=True)
def _full_muscle_builds():
    """Every full muscle build of the session (a cold cache's, or ``muscle_build``'s) by cache key.

    On a cold cache (CI) the first scene builds the muscles from their data; ``muscle_build`` then
    reuses that build instead of repeating it (a minute of CPU), and a build made by ``muscle_build``
    first seeds the session's cache for the scenes.
    """
    import viewer.anatomy.muscles as muscles_module
    from viewer.anatomy.muscles.cache import MUSCLE_CACHE

    builds: dict[str, _FullBuild] = {}
    pending: list = []
    build_right_side, save = muscles_module.build_right_side, MUSCLE_CACHE.save

    def recorded_build(*args, **kwargs):
        pending[:] = [build_right_side(*args, **kwargs)]
        SUITE_COUNTS["muscle builds"] += 1
        return pending[0]

    def recorded_save(key, arrays):
        save(key, arrays)
        if pending and MUSCLE_CACHE.path(key).is_file():
            builds[key] = _FullBuild(pending.pop(), MUSCLE_CACHE.path(key))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(muscles_module, "build_right_side", recorded_build)
        patch.setattr(MUSCLE_CACHE, "save", recorded_save)
        yield builds


@pytest.fixture(scope="session")
def muscle_build(tmp_path_factory, _full_muscle_builds) -> MuscleBuild:
    """One build of all muscles from their data for the tests of the build itself (geometry, forms, cache).

    ``build_muscles`` runs with an empty cache folder, so it builds (checked: the cages are built exactly
    once) and saves; the cache test reads that file back. When this session has already built the
    muscles from their data (a cold cache), that build is taken instead, its file copied into the empty
    folder. Read-only: tests must not change the arrays.
    """
    import viewer.anatomy.muscles as muscles_module
    from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
    from viewer.anatomy.muscles.cache import MUSCLE_CACHE, cache_key
    from viewer.cache import atomic_write

    key = cache_key(load_bone_surfaces(), load_landmarks())
    shared_cache = MUSCLE_CACHE.path(key)
    folder = tmp_path_factory.mktemp("muscle-cache")
    earlier = _full_muscle_builds.get(key)
    if earlier is not None and earlier.saved.is_file():
        shutil.copyfile(earlier.saved, folder / earlier.saved.name)

    build_right_side = muscles_module.build_right_side
    right_sides = []

    def recorded(*args, **kwargs):
        right_sides.append(build_right_side(*args, **kwargs))
        return right_sides[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GLUTE_VIEWER_CACHE", str(folder))
        patch.setattr(muscles_module, "build_right_side", recorded)
        muscles = muscles_module.build_muscles()
    if earlier is not None:
        assert not right_sides, "the session's muscle build was built twice"
        return MuscleBuild(muscles, earlier.right_side, folder)
    assert len(right_sides) == 1, "the session's muscle build read a cache instead of building"
    built = next(folder.glob("muscles-*.npz"))
    if not shared_cache.is_file():  # a cold cache: the scenes read this build instead of making their own
        shared_cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(shared_cache, lambda temporary: shutil.copyfile(built, temporary))
    return MuscleBuild(muscles, right_sides[0], folder)


@pytest.fixture()
def fresh_scene():
    """A scene a test may pose and change freely."""
    from viewer.model.scene import build_scene

    return build_scene()


@pytest.fixture()
def bones_scene():
    """Bones and landmarks only: for kinematics tests that need no muscles."""
    from viewer.model.scene import build_scene

    return build_scene(muscles=False)


@pytest.fixture()
def asset_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of assets/ that a test may break; the viewer is pointed at it."""
    from viewer.anatomy.bones import clear_caches
    from viewer.paths import assets_dir

    copy = tmp_path / "assets"
    shutil.copytree(assets_dir(), copy)
    monkeypatch.setenv("GLUTE_VIEWER_ASSETS", str(copy))
    clear_caches()
    yield copy
    clear_caches()


# --- the real window, shared by the tests of one module ------------------------------------------------
# Building a MainWindow (scene, 36 actors, first frames in software OpenGL) takes about 10 s; a GUI test
# module reuses one window and puts it back to its fresh state after each test. The reuse is guarded:
# a fingerprint of everything a test can change (the model, the history, every widget's value, the
# camera, the actors in the renderer, open dialogs) must equal the fingerprint the window had when
# it was new, or the window is thrown away and a new one built, so no test ever starts from another
# test's leftovers.

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
        "camera": [np.round(camera.position, 3).tolist(), np.round(camera.focal_point, 3).tolist(),
                   np.round(camera.up, 3).tolist(), round(camera.view_angle, 3), camera.parallel_projection],
        "view": (view.current_view, view.printing, view.label_scale, view.striations),
        # every prop, hidden ones too (with hidden ones ignored, a reused window drew 2 frames for a click in
        # test_gui.py's frame count: some hidden leftover still costs a frame)
        "props": [(type(props.GetItemAsObject(i)).__name__, props.GetItemAsObject(i).GetVisibility())
                  for i in range(props.GetNumberOfItems())],
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
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from viewer.anatomy.body_skin import DEFAULT_BODY
    from viewer.model.scene import default_appearance
    from viewer.model.skin import default_skin_tone

    for widget in QApplication.topLevelWidgets():
        if widget is not window and widget.isVisible():
            widget.close()
    if window.presentation.on:
        window.set_presentation(False)
    model = window.model
    window.quiz_panel.clear()  # a quiz's questions, score and mistakes (and the pose its action question played)
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


class _WindowPool:
    """One window per test module, reused while it fingerprints as new."""

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

    def close(self) -> None:
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
            self.window = None


# differed: fingerprint parts a reset missed; muscle builds: full builds from the data (not from a cache)
SUITE_COUNTS = {"built": 0, "reused": 0, "differed": Counter(), "differences": [], "muscle builds": 0}


@pytest.fixture(scope="module")
def _window_pool(qapp):
    pool = _WindowPool()
    yield pool
    pool.close()
    SUITE_COUNTS["built"] += pool.built
    SUITE_COUNTS["reused"] += pool.reused


# --- two processes (pytest-xdist, ``-n auto --dist loadgroup`` in pyproject.toml) --------------------------
# Tests go to the workers file by file (a module's fixtures, its window, are built once); the files of the
# session's muscle build go to one worker together (one build, or a cold cache's, for all of them).
SHARED_GROUPS = {"muscle_build": "muscle-build"}


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "xdist_group(name): run in the same pytest-xdist worker as its group")


def pytest_collection_modifyitems(config, items) -> None:
    groups: dict[str, str] = {}
    for item in items:
        path = item.location[0]
        shared = next((group for name, group in SHARED_GROUPS.items() if name in item.fixturenames), None)
        if shared is not None or path not in groups:
            groups[path] = shared or groups.get(path) or path
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[item.location[0]]))


# --- where the suite's time goes: CPU and wall seconds per test file (setup, call and teardown) ----------
# Each phase's CPU seconds travel on its report (``user_properties``), so the numbers also add up when
# pytest-xdist runs the tests in worker processes; a worker's counters reach the controller at its end.
FILE_TIMES: dict[str, list[float]] = {}  # test file -> [cpu seconds, wall seconds, tests]
_PHASE_CPU = pytest.StashKey[float]()


def pytest_addoption(parser) -> None:
    parser.addoption("--file-times", action="store_true", help="print the CPU and wall time of each test file")
    parser.addoption("--window-diffs", action="store_true", help="print what made the shared test window be rebuilt")


def _cpu_seconds() -> float:
    """This process's CPU plus that of the subprocesses it waited for (CLI tests, pdftotext)."""
    return sum(os.times()[:4])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    item.stash[_PHASE_CPU] = _cpu_seconds()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    item.stash[_PHASE_CPU] = _cpu_seconds()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    item.stash[_PHASE_CPU] = _cpu_seconds()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    start = item.stash.get(_PHASE_CPU, None)
    if start is not None:
        report = outcome.get_result()  # its user_properties list is the item's, shared by the three phases
        report.user_properties = [*report.user_properties, ("cpu_s", _cpu_seconds() - start)]


def pytest_runtest_logreport(report) -> None:
    spent = FILE_TIMES.setdefault(report.location[0], [0.0, 0.0, 0])
    spent[0] += sum(value for name, value in report.user_properties if name == "cpu_s")
    spent[1] += report.duration
    spent[2] += report.when == "call"


def pytest_sessionfinish(session) -> None:
    output = getattr(session.config, "workeroutput", None)  # a pytest-xdist worker: tell the controller
    if output is not None:
        output["suite_counts"] = {**SUITE_COUNTS, "differed": dict(SUITE_COUNTS["differed"])}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    counts = getattr(node, "workeroutput", {}).get("suite_counts")
    if counts:
        for name in ("built", "reused", "muscle builds"):
            SUITE_COUNTS[name] += counts[name]
        SUITE_COUNTS["differed"].update(counts["differed"])
        SUITE_COUNTS["differences"] += counts["differences"]


def pytest_terminal_summary(terminalreporter, config) -> None:
    if config.getoption("--file-times", default=False) and FILE_TIMES:
        terminalreporter.write_sep("=", "CPU and wall seconds per test file")
        for name, (cpu, wall, count) in sorted(FILE_TIMES.items(), key=lambda item: -item[1][0]):
            terminalreporter.write_line(f"{cpu:8.1f} cpu {wall:8.1f} wall {count:4d} tests  {name}")
        total_cpu = sum(v[0] for v in FILE_TIMES.values())
        total_wall = sum(v[1] for v in FILE_TIMES.values())
        terminalreporter.write_line(f"{total_cpu:8.1f} cpu {total_wall:8.1f} wall  total")
    if SUITE_COUNTS["muscle builds"]:
        terminalreporter.write_line(f"muscles built from their data: {SUITE_COUNTS['muscle builds']}x")
    if SUITE_COUNTS["built"]:
        terminalreporter.write_line(
            f"main windows: {SUITE_COUNTS['built']} built, {SUITE_COUNTS['reused']} reused after a verified reset"
        )
    if SUITE_COUNTS["differed"]:
        missed = ", ".join(f"{part} {count}x" for part, count in SUITE_COUNTS["differed"].most_common())
        terminalreporter.write_line(f"windows rebuilt because the reset left: {missed}")
    if config.getoption("--window-diffs", default=False):
        for line in SUITE_COUNTS["differences"]:
            terminalreporter.write_line(line)


@pytest.fixture()
def window(_window_pool, qtbot):
    """The real main window under Xvfb, as new (built, or reused and verified back in its fresh state)."""
    return _window_pool.take()
