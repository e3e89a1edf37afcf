"""The study tools in the main window: a "Study" toolbar (section presets, the probe) and their panels."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolBar

from viewer.render.probe_view import ProbeView
from viewer.render.quiz_view import QuizHighlight
from viewer.ui.probe_panel import ProbePanel
from viewer.ui.quiz_panel import QuizPanel
from viewer.ui.section_drag import SectionDrag
from viewer.ui.section_panel import PRESET_LABELS, SectionPanel

SECTION_KEYS = {"transverse": "X", "sagittal": "Shift+S", "coronal": "Shift+C", "off": "Shift+X"}


def add_study_tools(window, tab_with) -> None:
    """Give ``window`` (a MainWindow) its section, probe and quiz panels, tabbed with the dock ``tab_with``."""
    window.section_panel = SectionPanel(window.model)
    window.probe_view = ProbeView(window.scene_view)
    window.probe_panel = ProbePanel(window.model, window.probe_view, window.techniques)
    window.section_drag = SectionDrag(window)
    window.quiz_highlight = QuizHighlight(window.scene_view)
    window.quiz_panel = QuizPanel(window.model, window.quiz_highlight)
    docks = {}
    previous = tab_with
    for title, panel in (("Cross-section", window.section_panel), ("Depth probe", window.probe_panel),
                         ("Self-test", window.quiz_panel)):
        docks[title] = window._add_dock(title, panel, Qt.DockWidgetArea.RightDockWidgetArea)
        window.tabifyDockWidget(previous, docks[title])
        previous = docks[title]
    window.study_docks = docks
    toolbar = QToolBar("Study", window)
    toolbar.setObjectName("study_toolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    window.section_actions = {}
    for kind, key in SECTION_KEYS.items():
        text = "No cut" if kind == "off" else f"{PRESET_LABELS[kind]} cut"
        action = QAction(text, window)
        action.setShortcut(QKeySequence(key))
        action.setToolTip(f"{text} ({key})")
        action.triggered.connect(lambda _checked=False, k=kind: _cut(window, k))
        toolbar.addAction(action)
        window.section_actions[kind] = action
    toolbar.addSeparator()
    window.probe_action = QAction("Probe", window)
    window.probe_action.setCheckable(True)
    window.probe_action.setShortcut(QKeySequence("Shift+P"))
    window.probe_action.setToolTip("Next clicks probe the depth under the point instead of selecting (Shift+P)")
    window.probe_action.toggled.connect(lambda on: on and docks["Depth probe"].raise_())
    toolbar.addAction(window.probe_action)
    quiz = QAction("Quiz", window)
    quiz.setToolTip("Test yourself: ten questions from the model")
    quiz.triggered.connect(docks["Self-test"].raise_)
    toolbar.addAction(quiz)


def _cut(window, kind: str) -> None:
    window.section_panel.set_preset(kind)
    if kind != "off":
        window.study_docks["Cross-section"].raise_()
