"""Lessons: choose one, step through it (the view glides to each step), read the note; write your own.

Stepping applies each step's scene through the checked scene-document path with an animated pose and
camera (:class:`~viewer.ui.step_transition.StepTransition`). Editing works on a
:class:`~viewer.model.lesson_draft.LessonDraft`: add the current view as a step, edit its title and
note, move it up or down, delete it, and save the lesson as a checked file (atomic write).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from viewer.io.annotations import AnnotationError
from viewer.model.lesson_draft import LessonDraft
from viewer.model.lessons import Lesson, list_lessons, read_lesson, write_lesson
from viewer.model.scene_file import scene_document
from viewer.ui.scene_files import JSON_FILTER, window_state
from viewer.ui.step_transition import StepTransition
from viewer.ui.techniques_panel import compact

NEW_LESSON = "New lesson (empty)"


def _button(text: str, tip: str, slot) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    return button


class LessonPanel(QWidget):
    """The lesson chooser, its steps, the note, and the editor."""

    step_shown = Signal(int)  # index of the step now shown (-1: none)

    def __init__(self, window) -> None:
        super().__init__()
        self.window = window
        self.transition = StepTransition(window)
        self.lessons: list[Lesson] = list_lessons()
        self.draft = LessonDraft()
        self.index = -1
        layout = QVBoxLayout(self)
        self.chooser = QComboBox()
        self.chooser.setToolTip("Choose a shipped lesson, one you opened, or start a new one")
        compact(self.chooser)
        self.chooser.currentIndexChanged.connect(self._on_choice)
        layout.addWidget(self.chooser)
        self.steps = QListWidget()
        self.steps.setToolTip("The lesson's steps: click one to go there")
        self.steps.currentRowChanged.connect(lambda row: row >= 0 and row != self.index and self.go_to(row))
        layout.addWidget(self.steps, 2)
        row = QHBoxLayout()
        self.previous_button = _button("◀ Previous", "Previous step (PageUp or ← in presentation)", self.previous)
        self.counter = QLabel()
        self.next_button = _button("Next ▶", "Next step (PageDown, → or Space in presentation)", self.next)
        for widget in (self.previous_button, self.counter, self.next_button):
            row.addWidget(widget)
        layout.addLayout(row)
        self.note = QTextBrowser()
        self.note.setToolTip("The step's teaching note")
        self.note.setStyleSheet("font-size: 15px;")
        layout.addWidget(self.note, 5)
        layout.addWidget(self._editor())
        self.reload_choices()

    def _editor(self) -> QGroupBox:
        box = QGroupBox("Edit this lesson")
        box.setToolTip("Make your own lesson: add the current view as a step, reorder, edit, save")
        box.setCheckable(True)  # folded away until wanted: the note gets the room on a small screen
        box.setChecked(False)
        inner = QWidget()
        inner.setVisible(False)
        box.toggled.connect(inner.setVisible)
        QVBoxLayout(box).addWidget(inner)
        form = QVBoxLayout(inner)
        form.setContentsMargins(0, 0, 0, 0)
        self.editor = box
        self.lesson_title = QLineEdit()
        self.lesson_title.setPlaceholderText("Lesson title")
        self.lesson_title.setToolTip("The lesson's title (its file id is made from it)")
        self.lesson_title.editingFinished.connect(lambda: self.draft.rename(self.lesson_title.text()))
        self.step_title = QLineEdit()
        self.step_title.setPlaceholderText("Step title")
        self.step_title.setToolTip("Title of the step shown (or of the step you add)")
        self.step_note = QPlainTextEdit()
        self.step_note.setPlaceholderText("Teaching note (Markdown: **bold**, *italic*, lists)")
        self.step_note.setToolTip("The note shown with the step, in Markdown")
        self.step_note.setMaximumHeight(90)
        for widget in (self.lesson_title, self.step_title, self.step_note):
            form.addWidget(widget)
        buttons = [
            _button("Add current view as step", "A new step after this one: the scene as it is now, with the title and note above", self.add_current_view),
            _button("Update step text", "Give the step shown the title and note above", self.update_step_text),
            _button("Move up", "Move the step shown one place earlier", lambda: self.move(-1)),
            _button("Move down", "Move the step shown one place later", lambda: self.move(1)),
            _button("Delete step", "Remove the step shown from the lesson", self.delete_step),
            _button("Save lesson…", "Save the lesson as a checked lesson file", self.choose_and_save),
            _button("Open lesson…", "Open a lesson file", self.window.scene_files.choose_and_open),
        ]  # fmt: skip
        self.edit_buttons = {b.text(): b for b in buttons}
        for start in range(0, len(buttons), 2):
            row = QHBoxLayout()
            for button in buttons[start : start + 2]:
                row.addWidget(button)
            form.addLayout(row)
        return box

    # --- choosing ------------------------------------------------------------------------------
    def reload_choices(self, select: int = 0) -> None:
        """Fill the lesson box again (shipped and opened lessons) and choose the one at ``select``."""
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for lesson in self.lessons:
            self.chooser.addItem(lesson.title)
        self.chooser.addItem(NEW_LESSON)
        self.chooser.blockSignals(False)
        self.chooser.setCurrentIndex(-1)
        self.chooser.setCurrentIndex(select)

    def _on_choice(self, index: int) -> None:
        if index < 0:
            return
        lesson = self.lessons[index] if index < len(self.lessons) else None
        self.draft = LessonDraft(lesson)
        self.lesson_title.setText(self.draft.title)
        self.index = -1
        self._fill_steps()
        self._show_note()

    def choose_lesson(self, lesson_id: str | None) -> None:
        """Select a lesson by id (does not go to a step until asked); None keeps the choice."""
        if lesson_id is None:
            return
        ids = [lesson.id for lesson in self.lessons]
        self.chooser.setCurrentIndex(ids.index(lesson_id))

    def shipped_ids(self) -> tuple[str, ...]:
        """Ids of the lessons read from files with an id (remembered between runs)."""
        return tuple(lesson.id for lesson in self.lessons if lesson.id)

    def current_lesson_id(self) -> str | None:
        """The chosen lesson's id, or None while a new lesson is being written."""
        index = self.chooser.currentIndex()
        return self.lessons[index].id if 0 <= index < len(self.lessons) else None

    def open_lesson_file(self, path: Path) -> Lesson:
        """Read and check a lesson file, add it to the chooser and show its first step."""
        lesson = read_lesson(path)
        self._add_lesson(lesson)
        self.window.raise_dock("Lesson")
        self.go_to(0, animate=False)
        return lesson

    def _add_lesson(self, lesson: Lesson) -> None:
        """Put a lesson read from a file in the chooser (replacing an older copy of the same file) and choose it."""
        same = Path(lesson.path).resolve()
        self.lessons = [other for other in self.lessons if other.path is None or Path(other.path).resolve() != same]
        self.lessons.append(lesson)
        self.reload_choices(len(self.lessons) - 1)

    # --- stepping ------------------------------------------------------------------------------
    def go_to(self, index: int, animate: bool = True) -> None:
        """Show step ``index``: its scene (pose and camera gliding there) and its note."""
        if not 0 <= index < len(self.draft.steps):
            return
        step = self.draft.steps[index]
        path = self.draft.path or Path("lesson")
        try:
            self.transition.go(step.document(), path, f"steps[{index}].scene", animate=animate)
        except AnnotationError as error:
            self.window.statusBar().showMessage(str(error), 10000)
            return
        self.index = index
        self.steps.setCurrentRow(index)
        self._show_note()
        self.step_shown.emit(index)

    def next(self) -> None:
        """Go to the next step (the first one when none is shown)."""
        self.go_to(self.index + 1 if self.index >= 0 else 0)

    def previous(self) -> None:
        """Go to the previous step."""
        self.go_to(max(self.index - 1, 0))

    def current_step(self):
        """The step shown, or None."""
        return self.draft.steps[self.index] if 0 <= self.index < len(self.draft.steps) else None

    def _fill_steps(self) -> None:
        self.steps.blockSignals(True)
        self.steps.clear()
        for number, step in enumerate(self.draft.steps, 1):
            self.steps.addItem(f"{number}. {step.title}")
        self.steps.setCurrentRow(self.index)
        self.steps.blockSignals(False)

    def _show_note(self) -> None:
        step = self.current_step()
        total = len(self.draft.steps)
        self.counter.setText(f"Step {self.index + 1} of {total}" if step else f"{total} steps")
        self.previous_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index < total - 1)
        if step is None:
            summary = self.draft.summary or "Press Next to start, or add the current view as a step."
            self.note.setMarkdown(f"### {self.draft.title}\n\n{summary}")
            return
        self.note.setMarkdown(f"### {step.title}\n\n{step.note}")
        self.step_title.setText(step.title)
        self.step_note.setPlainText(step.note)

    # --- editing -------------------------------------------------------------------------------
    def add_current_view(self) -> int:
        """The scene as it is now becomes a new step after the one shown (title and note from the editor)."""
        self.transition.finish()
        document = scene_document(window_state(self.window))
        self.index = self.draft.add(document, self.step_title.text(), self.step_note.toPlainText(), self.index)
        self._fill_steps()
        self._show_note()
        return self.index

    def update_step_text(self) -> None:
        """Put the edited title and note into the step shown."""
        if self.current_step() is not None:
            self.draft.edit(self.index, self.step_title.text(), self.step_note.toPlainText())
            self._fill_steps()
            self._show_note()

    def move(self, offset: int) -> None:
        """Move the step shown ``offset`` places up (negative) or down."""
        if self.current_step() is not None:
            self.index = self.draft.move(self.index, offset)
            self._fill_steps()
            self._show_note()

    def delete_step(self) -> None:
        """Delete the step shown."""
        if self.current_step() is not None:
            self.draft.delete(self.index)
            self.index = min(self.index, len(self.draft.steps) - 1)
            self._fill_steps()
            self._show_note()

    def choose_and_save(self) -> Path | None:
        """Ask where to save the edited lesson and save it (checked, atomic); its path, or None."""
        self.draft.rename(self.lesson_title.text())
        suggested = Path(self.window.settings.last_folder()) / f"{self.draft.id}.json"
        name, _filter = QFileDialog.getSaveFileName(self.window, "Save lesson", str(suggested), JSON_FILTER)
        if not name:
            return None
        return self.save(Path(name) if name.lower().endswith(".json") else Path(name + ".json"))

    def save(self, path: Path) -> Path | None:
        """Write the lesson (checked, atomic); it stays chosen, now read back from its file."""
        self.draft.rename(self.lesson_title.text())
        try:
            written = write_lesson(path, self.draft.lesson())
        except (OSError, ValueError, AnnotationError) as error:
            self.window.scene_files._fail("Could not save the lesson", error)
            return None
        self.window.settings.add_recent(written)
        self.window.scene_files.update_recent()
        index = self.index
        self._add_lesson(read_lesson(written))
        self.index = index
        self._fill_steps()
        self._show_note()
        self.window.statusBar().showMessage(f"Saved lesson {written}", 5000)
        return written
