"""Export from the window: a picture of exactly what the 3D view shows, a PDF handout, a 3D model.

The dialogs only gather the options; the drawing is :mod:`viewer.render.export` and
:mod:`viewer.render.handout`, the same code as the command line. A picture is drawn with the window's
own camera (:meth:`SceneView.camera_pose`), and the model carries everything else the view shows
(visibility, peel, opacity, pose, section, colour mode, fibres), so the file matches the view.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from viewer.model.scene_file import scene_document
from viewer.render.export import MAX_PICTURE_PX, ExportError, export_gltf, export_png
from viewer.render.handout import (
    MAX_VIEWS,
    MIN_VIEWS,
    PAPERS_INCH,
    HandoutSpec,
    LessonHandoutSpec,
    handout_sources,
    state_picture,
    write_handout,
    write_lesson_handout,
)
from viewer.render.views import VIEWS
from viewer.ui.scene_files import apply_to_window, window_state

SCREEN = "Screen (the 3D view's size)"
CUSTOM = "Custom"
PRINT_DPI = 300
# name -> (width, height, dpi); None: the 3D view's own size, or what the spin boxes say
SIZE_PRESETS: dict[str, tuple[int, int, int] | None] = {
    SCREEN: None,
    "1080p (1920 × 1080)": (1920, 1080, 0),
    "4K (3840 × 2160)": (3840, 2160, 0),
    "8K (7680 × 4320)": (7680, 4320, 0),
    "A4 portrait at 300 dpi (2480 × 3508)": (2480, 3508, PRINT_DPI),
    "Letter portrait at 300 dpi (2550 × 3300)": (2550, 3300, PRINT_DPI),
    "Square for slides (2160 × 2160)": (2160, 2160, 0),
    CUSTOM: None,
}
DEFAULT_HANDOUT_VIEWS = ("posterior", "posterolateral_right")
ERROR_STYLE = "color: #b3261e;"
NO_LESSON = "None: the views below on one page"


def progress_reporter(parent: QWidget, text: str, total: int) -> tuple[QProgressDialog, Callable[[int, int], None]]:
    """A modal progress dialog and the ``progress(done, total)`` callback that feeds it (the UI repaints between steps)."""
    dialog = QProgressDialog(text, "", 0, total, parent)
    dialog.setCancelButton(None)  # a render cannot be stopped half way; each step is short
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setValue(0)

    def report(done: int, steps: int) -> None:
        dialog.setMaximum(steps)
        dialog.setValue(done)
        QApplication.processEvents()

    return dialog, report


class _FileRow(QWidget):
    """A file name with a Choose… button (a save dialog for one file type)."""

    def __init__(self, path: Path, caption: str, filter_text: str) -> None:
        super().__init__()
        self.caption, self.filter_text = caption, filter_text
        self.edit = QLineEdit(str(path))
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit)
        layout.addWidget(choose)

    def _choose(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, self.caption, self.edit.text(), self.filter_text)
        if path:
            self.edit.setText(path)

    def path(self) -> Path:
        return Path(self.edit.text()).expanduser()


class _ExportDialog(QDialog):
    """Options in a form, an error line, Export/Cancel; :meth:`export` does the work (tests call it directly)."""

    def __init__(self, window, title: str) -> None:
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle(title)
        self.form = QFormLayout()
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def export(self) -> Path:
        raise NotImplementedError

    def accept(self) -> None:
        """Export; a file that cannot be made is said in the dialog, which stays open to fix it."""
        try:
            path = self.export()
        except (ExportError, OSError) as problem:
            self.error.setText(str(problem))
            return
        self.window_.statusBar().showMessage(f"Saved {path}", 10000)
        super().accept()


class PictureExportDialog(_ExportDialog):
    """File → Export picture…: a PNG of what the 3D view shows, at a chosen size, labels and background."""

    def __init__(self, window) -> None:
        super().__init__(window, "Export picture")
        self.preset = QComboBox()
        self.preset.addItems(list(SIZE_PRESETS))
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box in (self.width_box, self.height_box):
            box.setRange(16, MAX_PICTURE_PX)
            box.setSuffix(" px")
            box.valueChanged.connect(self._on_size_edited)
        size_row = QWidget()
        size_layout = QHBoxLayout(size_row)
        size_layout.setContentsMargins(0, 0, 0, 0)
        size_layout.addWidget(self.width_box)
        size_layout.addWidget(QLabel("×"))
        size_layout.addWidget(self.height_box)
        size_layout.addStretch(1)
        self.dpi_box = QSpinBox()
        self.dpi_box.setRange(0, 1200)
        self.dpi_box.setSpecialValueText("auto (text sized for an A4 page's width)")
        self.dpi_box.setSuffix(" dpi")
        self.transparent_box = QCheckBox("Transparent background")
        self.labels_box = QCheckBox("Labels")
        self.labels_box.setChecked(window.labels_action.isChecked())
        self.landmarks_box = QCheckBox("Landmark pins")
        self.landmarks_box.setChecked(window.pins_action.isChecked())
        self.file_row = _FileRow(Path.home() / "glute-viewer.png", "Export picture", "PNG pictures (*.png)")
        self.form.addRow("Size", self.preset)
        self.form.addRow("", size_row)
        self.form.addRow("Resolution", self.dpi_box)
        self.form.addRow("", self.transparent_box)
        self.form.addRow("", self.labels_box)
        self.form.addRow("", self.landmarks_box)
        self.form.addRow("File", self.file_row)
        self.form.addRow("", QLabel("The picture shows the 3D view as it is now: camera, layers, pose and technique."))
        self.preset.currentTextChanged.connect(self.set_preset)
        self.set_preset(SCREEN)

    def screen_size(self) -> tuple[int, int]:
        """The 3D view's size in pixels."""
        return self.window_.interactor.width(), self.window_.interactor.height()

    def set_preset(self, name: str) -> None:
        """Fill width, height and dpi from a preset (Custom leaves them as they are)."""
        preset = SIZE_PRESETS[name]
        if name == SCREEN:
            preset = (*self.screen_size(), 0)
        if preset is not None:
            width, height, dpi = preset
            for box, value in ((self.width_box, width), (self.height_box, height)):
                box.blockSignals(True)
                box.setValue(value)
                box.blockSignals(False)
            self.dpi_box.setValue(dpi)
        if self.preset.currentText() != name:
            self.preset.setCurrentText(name)

    def _on_size_edited(self, _value: int) -> None:
        self.preset.blockSignals(True)
        self.preset.setCurrentText(CUSTOM)
        self.preset.blockSignals(False)

    def picture_size(self) -> tuple[int, int]:
        """(width, height) of the picture in pixels."""
        return self.width_box.value(), self.height_box.value()

    def export(self) -> Path:
        """Draw the picture with the window's camera and write the PNG (the file's path)."""
        window = self.window_
        path = self.file_row.path()
        if path.suffix.lower() != ".png":
            raise ExportError(f"{path}: a picture must end in .png")
        session = window.techniques if window.techniques.active is not None else None
        dialog, report = progress_reporter(
            self, f"Drawing {self.picture_size()[0]} × {self.picture_size()[1]} pixels…", 3
        )
        try:
            return export_png(
                window.model, path, dpi=self.dpi_box.value() or None, size=self.picture_size(),
                labels=self.labels_box.isChecked(), landmarks=self.landmarks_box.isChecked(), techniques=session,
                transparent=self.transparent_box.isChecked(), camera=window.scene_view.camera_pose(), progress=report,
            )  # fmt: skip
        finally:
            dialog.close()


class HandoutDialog(_ExportDialog):
    """File → Export handout…: a one-page PDF with 2-6 views, the title, notes and the window's technique."""

    def __init__(self, window) -> None:
        super().__init__(window, "Export handout")
        self.views = QListWidget()
        for name, preset in VIEWS.items():
            item = QListWidgetItem(f"{preset.label} view")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in DEFAULT_HANDOUT_VIEWS else Qt.CheckState.Unchecked)
            self.views.addItem(item)
        self.views.setMaximumHeight(self.views.sizeHintForRow(0) * (len(VIEWS) + 1))
        self.paper = QComboBox()
        self.paper.addItems([paper.upper() if paper == "a4" else paper.title() for paper in PAPERS_INCH])
        self.orientation = QComboBox()
        self.orientation.addItems(["Portrait", "Landscape"])
        self.title = QLineEdit(HandoutSpec.title)
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Notes for the students (optional)")
        self.notes.setMaximumHeight(90)
        self.dpi_box = QSpinBox()
        self.dpi_box.setRange(72, 600)
        self.dpi_box.setValue(PRINT_DPI)
        self.dpi_box.setSuffix(" dpi")
        self.labels_box = QCheckBox("Labels")
        self.labels_box.setChecked(True)
        self.landmarks_box = QCheckBox("Landmark pins")
        self.landmarks_box.setChecked(window.pins_action.isChecked())
        active = window.techniques.active
        technique = (
            f"{active.title} ({window.techniques.side} side)"
            if active is not None
            else "none (choose one in Techniques)"
        )
        self.file_row = _FileRow(Path.home() / "glute-viewer-handout.pdf", "Export handout", "PDF documents (*.pdf)")
        self.lesson = QComboBox()
        self.lesson.setToolTip("A lesson handout has one page per step, with its picture and note (the views are not used)")
        self.lesson.addItem(NO_LESSON, None)
        for lesson in handout_lessons(window):
            self.lesson.addItem(lesson.title, lesson)
        self.lesson.currentIndexChanged.connect(lambda _index: self.views.setEnabled(self.chosen_lesson() is None))
        self.form.addRow("Lesson", self.lesson)
        self.form.addRow(f"Views ({MIN_VIEWS}-{MAX_VIEWS})", self.views)
        self.form.addRow("Paper", self.paper)
        self.form.addRow("Orientation", self.orientation)
        self.form.addRow("Title", self.title)
        self.form.addRow("Notes", self.notes)
        self.form.addRow("Technique", QLabel(technique))
        self.form.addRow("Resolution", self.dpi_box)
        self.form.addRow("", self.labels_box)
        self.form.addRow("", self.landmarks_box)
        self.form.addRow("File", self.file_row)

    def checked_views(self) -> list[str]:
        """The views ticked for the handout, in list order."""
        items = (self.views.item(row) for row in range(self.views.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items if item.checkState() == Qt.CheckState.Checked]

    def set_views(self, views: list[str]) -> None:
        """Tick exactly ``views`` (the others unticked)."""
        for row in range(self.views.count()):
            item = self.views.item(row)
            shown = item.data(Qt.ItemDataRole.UserRole) in views
            item.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)

    def spec(self) -> HandoutSpec:
        """The handout as the dialog describes it (the technique is the window's active one, if any)."""
        window = self.window_
        session = window.techniques if window.techniques.active is not None else None
        return HandoutSpec(
            views=self.checked_views(), title=self.title.text().strip() or HandoutSpec.title,
            notes=self.notes.toPlainText().strip(), paper=self.paper.currentText().lower(),
            orientation=self.orientation.currentText().lower(), labels=self.labels_box.isChecked(),
            landmarks=self.landmarks_box.isChecked(), dpi=float(self.dpi_box.value()), techniques=session,
            sources=handout_sources(window.model, session),
        )  # fmt: skip

    def chosen_lesson(self):
        """The lesson chosen for a one-page-per-step handout, or None for a page of views."""
        return self.lesson.currentData()

    def choose_lesson(self, title: str) -> None:
        """Choose the lesson titled ``title`` in the lesson box."""
        self.lesson.setCurrentIndex(self.lesson.findText(title))

    def export(self) -> Path:
        """Render the views (or the chosen lesson's steps) and write the PDF (the file's path)."""
        if self.chosen_lesson() is not None:
            return self.export_lesson(self.chosen_lesson())
        spec = self.spec()
        spec.check()  # before the progress dialog: a wrong count of views is said at once
        dialog, report = progress_reporter(self, "Drawing the handout's views…", len(spec.views))
        try:
            return write_handout(self.window_.model, self.file_row.path(), spec, progress=report)
        finally:
            dialog.close()


    def export_lesson(self, lesson) -> Path:
        """One page per step: each step is shown in the window in turn, drawn, and the window's scene put back."""
        window = self.window_
        saved = scene_document(window_state(window))
        spec = LessonHandoutSpec(
            title=lesson.title, steps=[(step.title, step.note) for step in lesson.steps], sources=lesson.citations(),
            paper=self.paper.currentText().lower(), orientation=self.orientation.currentText().lower(),
            dpi=float(self.dpi_box.value()),
        )  # fmt: skip

        def render_step(index: int, size: tuple[int, int]):
            where = lesson.path or Path(lesson.title)
            state = apply_to_window(window, lesson.steps[index].document(), where, f"steps[{index}].scene")
            return state_picture(state, size, spec.dpi)

        dialog, report = progress_reporter(self, "Drawing the lesson's pages…", len(lesson.steps))
        try:
            return write_lesson_handout(spec, self.file_row.path(), render_step, progress=report)
        finally:
            dialog.close()
            apply_to_window(window, saved, Path("the window's scene"))


def handout_lessons(window) -> list:
    """The lessons a handout can be made of: the shipped and opened ones, and the one being written if unsaved."""
    panel = window.lesson_panel
    lessons = list(panel.lessons)
    if panel.draft.path is None and panel.draft.steps:
        lessons.append(panel.draft.lesson())
    return lessons


def export_3d_model(window, path: Path | None = None) -> Path | None:
    """File → Export 3D model…: the shown structures, posed, as glTF (None if the user cancelled).

    Errors are shown in a message box when the user chose the file; with a ``path`` given they are raised.
    """
    from PySide6.QtWidgets import QMessageBox

    if path is None:
        chosen, _filter = QFileDialog.getSaveFileName(
            window, "Export 3D model", str(Path.home() / "glute-viewer.glb"), "glTF binary (*.glb);;glTF (*.gltf)"
        )
        if not chosen:
            return None
        path = Path(chosen)
    else:
        return export_gltf(window.model, Path(path), fibres=window.model.fibres_visible)
    try:
        written = export_gltf(window.model, Path(path), fibres=window.model.fibres_visible)
    except (ExportError, OSError) as problem:
        window.statusBar().showMessage(str(problem), 10000)
        QMessageBox.warning(window, "Export 3D model", str(problem))
        return None
    window.statusBar().showMessage(f"Saved {written}", 10000)
    return written
