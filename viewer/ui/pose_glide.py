"""Move the legs smoothly to a pose (a quiz plays an action's phase, then returns to where the legs were).

A demonstration, not an edit: the pose goes straight to the model, as the timeline's playback does, and
leaves no undo step.
"""

from __future__ import annotations

from PySide6.QtCore import QEasingCurve, QObject, QVariantAnimation

from viewer.anatomy.kinematics import LegPose
from viewer.ui.step_transition import pose_between, unit_animation

GLIDE_MS = 1200


class PoseGlide(QObject):
    """Glides a model's legs from their pose to a target pose over ``duration_ms``."""

    def __init__(self, model, parent: QObject | None = None, duration_ms: int = GLIDE_MS) -> None:
        super().__init__(parent)
        self.model = model
        self.duration_ms = duration_ms
        self.animation: QVariantAnimation | None = None
        self._ends: tuple[dict[str, LegPose], dict[str, LegPose]] = ({}, {})

    @property
    def running(self) -> bool:
        """Whether a glide to a new pose is under way."""
        return self.animation is not None

    def go(self, target: dict[str, LegPose]) -> None:
        """Start gliding to ``target`` (side -> pose); a glide under way ends where it was going first."""
        self.finish()
        start = {side: self.model.pose(side) for side in target}
        if start == target:
            return
        self._ends = (start, target)
        self.animation = unit_animation(self, self.duration_ms, QEasingCurve.Type.InOutSine, self._frame, self.finish)

    def _frame(self, t: float) -> None:
        start, end = self._ends
        self.model.set_leg_poses({side: pose_between(start[side], end[side], t) for side in end})

    def finish(self) -> None:
        """Stop the glide where it is."""
        animation, self.animation = self.animation, None
        if animation is not None:
            animation.valueChanged.disconnect(self._frame)
            animation.stop()
            self._frame(1.0)
