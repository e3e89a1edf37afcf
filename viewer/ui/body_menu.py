"""The Body menu: which body type wears the skin, the skin's tone, and the skin's outline.

Every choice goes through the window's :class:`~viewer.model.history.History`, so it is undone
and redone like any other change of the scene; the menu follows the model when a scene file or
an undo changes the body or the tone.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow, QMenu

from viewer.anatomy.body_skin import BODIES
from viewer.model.history import History
from viewer.model.scene import SceneModel
from viewer.model.skin import skin_tones
from viewer.render.scene_view import SceneView

BODY_LABELS = {"female": "Average adult &woman", "male": "Average adult &man"}
SAME_ANATOMY_NOTE = "Bones and muscles stay the same: only the skin surface and its fat change."


class BodyMenu(QMenu):
    """Body type (female / male), skin tone (from the palette file) and the skin outline toggle."""

    def __init__(self, window: QMainWindow, model: SceneModel, history: History, scene_view: SceneView) -> None:
        super().__init__("&Body", window)
        self.model = model
        self.body_actions: dict[str, QAction] = {}
        self.tone_actions: dict[str, QAction] = {}
        bodies = QActionGroup(self)
        for body in BODIES:
            action = self.addAction(BODY_LABELS[body])
            action.setCheckable(True)
            action.setToolTip(SAME_ANATOMY_NOTE)
            action.triggered.connect(lambda _checked=False, chosen=body: history.set_body(chosen))
            bodies.addAction(action)
            self.body_actions[body] = action
        self.note = self.addAction(SAME_ANATOMY_NOTE)
        self.note.setEnabled(False)  # a plain note, not a command
        self.addSeparator()
        self.tone_menu = self.addMenu("Skin &tone")
        tones = QActionGroup(self)
        for tone in skin_tones().values():
            action = self.tone_menu.addAction(tone.display_name)
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, chosen=tone.id: history.set_skin_tone(chosen))
            tones.addAction(action)
            self.tone_actions[tone.id] = action
        self.outline_action = self.addAction("Skin &outline")
        self.outline_action.setCheckable(True)
        self.outline_action.setChecked(scene_view.skin_outline_enabled)
        self.outline_action.setToolTip("Draw the body's contour while the skin is see-through")
        self.outline_action.toggled.connect(scene_view.set_skin_outline)
        model.body_changed.connect(self._sync)
        model.skin_tone_changed.connect(self._sync)
        self._sync()

    def _sync(self, *_args) -> None:
        """Tick the model's body type and tone (after a menu choice, an undo or a scene file)."""
        for body, action in self.body_actions.items():
            action.setChecked(body == self.model.body)
            action.setEnabled(self.model.body is not None)
        for tone, action in self.tone_actions.items():
            action.setChecked(tone == self.model.skin_tone)
