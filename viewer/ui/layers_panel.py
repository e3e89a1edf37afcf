"""Peeling the region from skin to bone: peel, restore, ghost, depth, isolate, and a search box."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QCompleter,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
)

from viewer.model.actions import load_actions
from viewer.model.events import Signal
from viewer.model.history import History
from viewer.model.layers import PeelState
from viewer.model.scene import SceneModel
from viewer.model.search import search_all
from viewer.ui.listening import while_alive


class LayersPanel(QGroupBox):
    """Every change goes through :class:`History`, so it can be undone."""

    def __init__(self, model: SceneModel, history: History, peel: PeelState) -> None:
        super().__init__()  # the dock already says "Layers"
        self.model, self.history, self.peel_state = model, history, peel
        self.actions = load_actions()
        self.action_found = Signal("action_found")  # (action id): a typed movement, for the motion panel
        layout = QGridLayout(self)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status, 0, 0, 1, 3)
        self.peel_button = QPushButton("Peel layer")
        self.peel_button.setToolTip("Remove the outermost layer still shown (Page Down)")
        self.restore_button = QPushButton("Restore layer")
        self.restore_button.setToolTip("Put back the last layer peeled (Page Up)")
        self.restore_all_button = QPushButton("Restore all")
        self.restore_all_button.setToolTip("Put back every peeled layer")
        for column, button in enumerate((self.peel_button, self.restore_button, self.restore_all_button)):
            layout.addWidget(button, 1, column)
        self.depth = QSlider(Qt.Orientation.Horizontal)
        self.depth.setRange(0, peel.n_layers - 1)
        self.depth.setToolTip("How many layers are peeled away, from the skin down")
        layout.addWidget(QLabel("Depth"), 2, 0)
        layout.addWidget(self.depth, 2, 1, 1, 2)
        self.ghost = QCheckBox("Keep the last peeled layer as a ghost")
        self.ghost.setToolTip("Show the layer just peeled as a faint see-through shell")
        layout.addWidget(self.ghost, 3, 0, 1, 3)
        self.isolate_button = QPushButton("Isolate selection")
        self.isolate_button.setToolTip("Show only the selected structure; everything else becomes a ghost")
        self.show_all_button = QPushButton("Show all")
        self.show_all_button.setToolTip("Everything visible at its own opacity, nothing peeled")
        layout.addWidget(self.isolate_button, 4, 0, 1, 2)
        layout.addWidget(self.show_all_button, 4, 2)
        self.search_box = QLineEdit()
        self.search_box.setToolTip("Find a structure or an action by name, abbreviation or Latin; Enter shows it")
        self.search_box.setPlaceholderText("Find: glute med, TFL, IT band, piriformis, internal rotation…")
        self.search_box.setClearButtonEnabled(True)
        words = sorted(
            {s.display_name for s in model.structures.values()}
            | {n for s in model.structures.values() for n in s.common_names}
            | {a.title for a in self.actions.values()}
            | {m for a in self.actions.values() for m in a.movements()}
        )
        completer = QCompleter(words, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.search_box.setCompleter(completer)
        layout.addWidget(self.search_box, 5, 0, 1, 3)
        self.search_result = QLabel()
        layout.addWidget(self.search_result, 6, 0, 1, 3)

        self.peel_button.clicked.connect(history.peel)
        self.restore_button.clicked.connect(history.restore)
        self.restore_all_button.clicked.connect(history.restore_all)
        self.depth.valueChanged.connect(lambda depth: history.set_depth(depth) if depth != peel.depth else None)
        self.ghost.toggled.connect(lambda on: history.set_ghost(on) if on != peel.ghost else None)
        self.isolate_button.clicked.connect(self.isolate_selection)
        self.show_all_button.clicked.connect(history.show_all)
        self.search_box.returnPressed.connect(lambda: self.find(self.search_box.text()))
        peel.changed.connect(self._on_model_change)
        model.selection_changed.connect(self._on_model_change)
        self._sync()

    @while_alive
    def _on_model_change(self, *_args) -> None:
        self._sync()

    def isolate_selection(self) -> None:
        """Show only the selection, the rest ghosted (undoable); nothing without a selection."""
        if self.model.selection is not None:
            self.history.isolate(self.model.selection)

    def find(self, query: str) -> str | None:
        """Select the best match for a typed name, nickname or movement.

        A structure is selected (and shown if it was hidden); an action ("internal rotation", "frog")
        is announced on ``action_found`` for the motion panel to choose. Returns the name or action id.
        """
        candidates = search_all(query, self.model, self.actions)
        if not candidates:
            self.search_result.setText(f"Nothing called “{query}”.")
            return None
        if candidates[0].kind == "action":
            self.action_found.emit(candidates[0].name)
            self.search_result.setText(f"Action: {candidates[0].display} (in the Motion panel; press Play)")
            return candidates[0].name
        candidates = [c for c in candidates if c.kind != "action"]
        name = candidates[0].structure  # a landmark selects the bone it lies on
        if not self.model.is_visible(name):
            self.history.set_visible(name, True)
        self.model.select(name)
        others = ", ".join(c.display for c in candidates[1:3])
        self.search_result.setText(f"Found {candidates[0].display}" + (f" (also: {others})" if others else ""))
        return name

    def _sync(self) -> None:
        peel = self.peel_state
        self.depth.blockSignals(True)
        self.depth.setValue(peel.depth)
        self.depth.blockSignals(False)
        self.ghost.blockSignals(True)
        self.ghost.setChecked(peel.ghost)
        self.ghost.blockSignals(False)
        top = peel.top_layer
        self.status.setText(f"Outermost layer shown: <b>{top.display_name}</b>" if top else "Everything peeled")
        self.peel_button.setEnabled(peel.depth < peel.n_layers - 1)
        self.restore_button.setEnabled(peel.depth > 0)
        self.isolate_button.setEnabled(self.model.selection is not None)
