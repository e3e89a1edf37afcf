"""File → Save scene / Open… / Open recent, and scene or lesson files dropped on the window.

The window's state is a :class:`~viewer.model.scene_file.SceneState` around the window's own model, peel
state, undo history and technique session, so saving writes exactly what the CLI's ``--scene`` draws
again, and opening goes through the same checked ``apply_document`` (a bad file changes nothing and is
reported in one line). A file with ``steps`` is a lesson and opens in the lesson panel.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from viewer.io.annotations import AnnotationError, read_json
from viewer.model.scene_file import SceneState, apply_document, read_scene, scene_document, write_scene

JSON_FILTER = "Scenes and lessons (*.json)"


def window_state(window) -> SceneState:
    """The window's scene as a scene document sees it (camera, labels and pins read from the view)."""
    state = SceneState(window.model, window.peel, window.history, window.techniques)
    state.camera = window.scene_view.camera_state()
    state.labels = window.labels_action.isChecked()
    state.landmarks = window.pins_action.isChecked()
    return state


def show_state(window, state: SceneState) -> None:
    """What the model does not hold: the camera, labels and pins of an opened scene."""
    window.labels_action.setChecked(bool(state.labels))
    window.pins_action.setChecked(bool(state.landmarks))
    window.scene_view.set_camera(state.camera)


def apply_to_window(window, document: dict, path: Path, prefix: str = "") -> SceneState:
    """Make the window show ``document`` (checked first: a bad one raises and changes nothing)."""
    state = window_state(window)
    apply_document(state, document, Path(path), prefix)
    show_state(window, state)
    return state


class SceneFiles:
    """The File menu's scene entries and the window's recent files."""

    def __init__(self, window) -> None:
        self.window = window
        menu = window.file_menu()
        first = menu.actions()[0] if menu.actions() else None
        self.open_action = self._action("&Open scene or lesson…", QKeySequence.StandardKey.Open, self.choose_and_open,
                                        "Open a saved scene or a lesson file (Ctrl+O); you can also drop one on the window")
        self.save_action = self._action("&Save scene…", QKeySequence.StandardKey.Save, self.choose_and_save,
                                        "Save camera, pose, peel, visibility and everything shown as a scene file (Ctrl+S)")
        self.recent_menu = menu.addMenu("Open &recent")
        self.recent_menu.setToolTipsVisible(True)
        menu.insertActions(first, [self.open_action, self.save_action])
        menu.insertMenu(first, self.recent_menu)
        if first is not None:
            menu.insertSeparator(first)
        self.update_recent()

    def _action(self, text: str, shortcut, slot, tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def update_recent(self) -> None:
        """Fill the *Open recent* menu from the remembered files."""
        self.recent_menu.clear()
        recent = self.window.settings.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(path.name)
            action.setToolTip(str(path))
            action.triggered.connect(lambda _checked=False, p=path: self.open(p))
        self.recent_menu.setEnabled(bool(recent))

    # --- dialogs ----------------------------------------------------------------------------
    def choose_and_save(self) -> Path | None:
        """Ask where to save the scene and save it; its path, or None when cancelled."""
        name, _filter = QFileDialog.getSaveFileName(
            self.window, "Save scene", str(Path(self.window.settings.last_folder()) / "scene.json"), JSON_FILTER
        )
        if not name:
            return None
        path = Path(name) if name.lower().endswith(".json") else Path(name + ".json")
        return self.save(path)

    def choose_and_open(self) -> bool:
        """Ask for a scene or lesson file and open it; whether one was opened."""
        name, _filter = QFileDialog.getOpenFileName(
            self.window, "Open scene or lesson", self.window.settings.last_folder(), JSON_FILTER
        )
        return bool(name) and self.open(Path(name))

    # --- the work ---------------------------------------------------------------------------
    def save(self, path: Path) -> Path | None:
        """Write the window's scene to ``path`` atomically; a failure is said in a dialog, in one line."""
        try:
            written = write_scene(path, scene_document(window_state(self.window)))
        except (OSError, AnnotationError) as error:
            self._fail("Could not save the scene", error)
            return None
        self._remember(written)
        self.window.statusBar().showMessage(f"Saved {written}", 5000)
        return written

    def open(self, path: Path) -> bool:
        """Open a scene (or a lesson, in the lesson panel); a bad file is one line and changes nothing."""
        path = Path(path)
        try:
            data = read_json(path)
            if isinstance(data, dict) and "steps" in data:
                self.window.lesson_panel.open_lesson_file(path)
            else:
                apply_to_window(self.window, read_scene(path), path)
        except (OSError, AnnotationError, ValueError) as error:
            self._fail("Could not open the file", error)
            return False
        self._remember(path)
        self.window.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    def _remember(self, path: Path) -> None:
        self.window.settings.add_recent(path)
        self.update_recent()

    def _fail(self, title: str, error: Exception) -> None:
        text = str(error) if not isinstance(error, OSError) else f"{error.filename or ''}: {error.strerror or error}"
        self.window.statusBar().showMessage(text, 10000)
        self.window.last_error = text
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self.window)
        box.open()  # window-modal without blocking the event loop (tests and presentation keep running)
        self.error_box = box


def dropped_files(mime) -> list[Path]:
    """The local ``.json`` files in a drag's data."""
    if not mime.hasUrls():
        return []
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    return [path for path in paths if path.suffix.lower() == ".json"]
