"""Presentation mode: full screen, no side panels, the lesson step's title and note in large type.

Keys (a presentation clicker sends the same): PageDown, →, ↓ or Space for the next step, PageUp, ← or
↑ for the previous one, Esc to leave. Outside presentation PageDown/PageUp peel and restore and Space
plays the motion, as before. Text is sized from the screen height (title 4.5 %, note 3 %), never under
the 2.5 % a projector needs; the *text size* setting scales it, in presentation and outside.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFrame, QLabel, QMenu, QToolBar, QVBoxLayout

TITLE_SHARE = 0.045  # of the screen height
NOTE_SHARE = 0.03
MIN_SHARE = 0.025  # the smallest text a projected picture may carry
NEXT_KEYS = (Qt.Key.Key_PageDown, Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_Space)
PREVIOUS_KEYS = (Qt.Key.Key_PageUp, Qt.Key.Key_Left, Qt.Key.Key_Up)


class CaptionBar(QFrame):
    """The step's title and note under the 3D view (shown in presentation with a lesson step)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("caption_bar")
        self.setStyleSheet("#caption_bar { background: #1d2230; } QLabel { color: #f4f4f4; }")
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.MarkdownText)
        for label in (self.title, self.note):
            label.setToolTip("The lesson step shown: PageDown/PageUp or the arrow keys step through the lesson")
            layout.addWidget(label)
        self.hide()

    def set_text(self, title: str, note: str) -> None:
        """Show a step's ``title`` and ``note`` under the view."""
        self.title.setText(title)
        self.note.setText(note)

    def set_screen_height(self, height: int, scale: float = 1.0) -> None:
        """Size the text for a screen ``height`` pixels tall (``scale``: the text size setting)."""
        for label, share in ((self.title, TITLE_SHARE), (self.note, NOTE_SHARE)):
            font = label.font()
            font.setPixelSize(max(round(height * share * scale), round(height * MIN_SHARE)))
            font.setBold(label is self.title)
            label.setFont(font)


class Presentation:
    """Turns presentation mode on and off for a MainWindow and routes the stepping keys."""

    def __init__(self, window) -> None:
        self.window = window
        self.on = False
        self.caption = CaptionBar()
        self.docks_shown: list[QDockWidget] = []
        self.key_actions: list[QAction] = []
        for keys, slot in ((NEXT_KEYS, self.next), (PREVIOUS_KEYS, self.previous), ((Qt.Key.Key_Escape,), self.leave)):
            for key in keys:
                if key in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp, Qt.Key.Key_Space):
                    continue  # the window's own actions for these keys ask :meth:`steps` first
                action = QAction(window)
                action.setShortcut(QKeySequence(key))
                action.triggered.connect(slot)
                action.setEnabled(False)  # only while presenting: elsewhere arrows move in lists and sliders
                window.addAction(action)
                self.key_actions.append(action)
        window.lesson_panel.step_shown.connect(lambda _index: self.update_caption())
        for bar in [*window.findChildren(QToolBar), window.menuBar()]:
            window.addActions([a for a in bar.actions() if a.menu() is None])  # keys work with the bars hidden
        for menu in window.menuBar().findChildren(QMenu):
            window.addActions([a for a in menu.actions() if a.menu() is None and not a.isSeparator()])

    @property
    def steps(self) -> bool:
        """Whether the stepping keys step a lesson now (presenting, with a lesson that has steps)."""
        return self.on and bool(self.window.lesson_panel.draft.steps)

    def next(self) -> None:
        """Go to the lesson's next step."""
        self.window.lesson_panel.next()

    def previous(self) -> None:
        """Go to the lesson's previous step."""
        self.window.lesson_panel.previous()

    def leave(self) -> None:
        """Leave presentation mode."""
        self.window.presentation_action.setChecked(False)

    def set_on(self, on: bool) -> None:
        """Enter or leave presentation: full screen, no panels, large text and the step's caption."""
        window = self.window
        if on == self.on:
            return
        self.on = on
        if on:
            self.docks_shown = [dock for dock in window.findChildren(QDockWidget) if dock.isVisible()]
            for dock in self.docks_shown:
                dock.hide()
        else:
            for dock in self.docks_shown:
                dock.show()
        window.statusBar().setVisible(not on)
        window.menuBar().setVisible(not on)
        for toolbar in window.findChildren(QToolBar):
            toolbar.setVisible(not on)  # their keys still work: every action is also the window's own
        for action in self.key_actions:
            action.setEnabled(on)
        window.scene_view.set_label_scale(2.0 * window.text_scale if on else window.text_scale)
        if on:
            window.showFullScreen()
        else:
            window.showNormal()
        self.update_caption()

    def update_caption(self) -> None:
        """Show the step's title and note under the view (hidden outside presentation)."""
        step = self.window.lesson_panel.current_step()
        shown = self.on and step is not None
        if shown:
            screen = self.window.screen()
            height = screen.geometry().height() if screen else self.window.height()
            self.caption.set_screen_height(height, self.window.text_scale)
            self.caption.set_text(step.title, step.note)
        else:
            self.caption.set_text("", "")  # no stale step left in the hidden bar
        self.caption.setVisible(shown)
