"""F1 (or ?): a sheet over the window listing every key and what the mouse does; any key or click closes it.

The keys are read from the window's own actions, so the list never disagrees with what the keys do.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

MOUSE = (
    ("Drag (left button)", "rotate the body"),
    ("Shift+drag or middle button", "move the view sideways"),
    ("Scroll or right-drag", "zoom"),
    ("Click a structure", "select it and read about it"),
    ("Ctrl+drag with a cut", "move the cross-section along its normal"),
    ("Click with Probe on", "the tissues under that point, skin to bone"),
    ("Drop a .json file on the window", "open the scene or lesson"),
)
PRESENTING = (
    ("PageDown, →, ↓, Space", "next lesson step (presentation)"),
    ("PageUp, ←, ↑", "previous lesson step (presentation)"),
    ("Esc", "leave presentation"),
)


def key_rows(window) -> list[tuple[str, str]]:
    """(keys, what they do) for every named action of the window that has a shortcut."""
    rows = {}
    for action in window.findChildren(QAction):
        text = action.text().replace("&", "").rstrip("…").strip()
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if text and keys:
            rows.setdefault(keys, text)
    return sorted(((k, t) for k, t in rows.items()), key=lambda row: row[1].lower())


def help_html(window) -> str:
    """The keys (read from ``window``'s own actions) and mouse actions, as HTML tables."""
    def table(title: str, rows) -> str:
        body = "".join(f"<tr><td><b>{escape(a)}</b></td><td>&nbsp;&nbsp;{escape(b)}</td></tr>" for a, b in rows)
        return f"<h3>{title}</h3><table>{body}</table>"

    return (
        "<h2>Keys and mouse</h2>"
        + "<table><tr><td valign='top'>" + table("Keys", key_rows(window)) + "</td><td width='30'></td>"
        + "<td valign='top'>" + table("Mouse", MOUSE) + table("Presentation", PRESENTING)
        + "<p>Press any key or click to close.</p></td></tr></table>"
    )  # fmt: skip


class HelpOverlay(QWidget):
    """A dark translucent sheet covering the window, with the key and mouse tables."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("HelpOverlay { background: rgba(20, 24, 34, 225); } QLabel { color: white; font-size: 13px; }")
        layout = QVBoxLayout(self)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        layout.addWidget(self.text)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        window.installEventFilter(self)
        self.hide()

    def toggle(self) -> None:
        """Show the help over the window, or hide it."""
        if self.isVisible():
            self.hide()
            return
        self.text.setText(help_html(self.window))
        self.setGeometry(self.window.rect())
        self.show()
        self.raise_()
        self.setFocus()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.window.rect())
        return False

    def hideEvent(self, event) -> None:
        self.text.clear()  # written afresh from the actions at each showing
        super().hideEvent(event)

    def keyPressEvent(self, event) -> None:
        self.hide()

    def mousePressEvent(self, event) -> None:
        self.hide()
