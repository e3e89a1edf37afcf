"""Go to a lesson step smoothly: the pose and the camera glide from where they are to the step's.

The step is applied at once through the checked scene-document path (everything but pose and camera
appears in the first frame; a bad step raises before anything changes), then the legs and the camera
are put back where they were and animated to the step's values with an ease-in-out curve.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEasingCurve, QObject, QVariantAnimation, Signal

from viewer.anatomy.bones import SIDES
from viewer.anatomy.kinematics import LegPose
from viewer.render.camera_path import camera_between
from viewer.ui.scene_files import apply_to_window

TRANSITION_MS = 800


def pose_between(start: LegPose, end: LegPose, t: float) -> LegPose:
    """Joint angles a fraction ``t`` of the way from ``start`` to ``end``."""
    a, b = start.as_dict(), end.as_dict()
    return LegPose(**{k: (1 - t) * a[k] + t * b[k] for k in a})


def unit_animation(parent: QObject, duration_ms: int, easing: QEasingCurve.Type, frame, done) -> QVariantAnimation:
    """A started animation calling ``frame(t)`` with ``t`` from 0 to 1 over ``duration_ms``, then ``done()``."""
    animation = QVariantAnimation(parent)
    animation.setStartValue(0.0)
    animation.setEndValue(1.0)
    animation.setDuration(duration_ms)
    animation.setEasingCurve(easing)
    animation.valueChanged.connect(frame)
    animation.finished.connect(done)
    animation.start()
    return animation


class StepTransition(QObject):
    """Applies scene documents to a window with an animated pose and camera."""

    finished = Signal()

    def __init__(self, window, duration_ms: int = TRANSITION_MS) -> None:
        super().__init__(window)
        self.window = window
        self.duration_ms = duration_ms
        self.animation: QVariantAnimation | None = None
        self._ends: tuple = ()

    @property
    def running(self) -> bool:
        """Whether a glide to a lesson step is under way."""
        return self.animation is not None

    def go(self, document: dict, path: Path, prefix: str = "", animate: bool = True) -> None:
        """Show ``document``; with ``animate``, glide pose and camera there over ``duration_ms``."""
        self.finish()
        model, view = self.window.model, self.window.scene_view
        start_camera, start_poses = view.camera_state(), {side: model.pose(side) for side in SIDES}
        apply_to_window(self.window, document, path, prefix)
        end_camera, end_poses = view.camera_state(), {side: model.pose(side) for side in SIDES}
        if not animate or self.duration_ms <= 0 or (start_camera == end_camera and start_poses == end_poses):
            self.finished.emit()
            return
        self._ends = (start_camera, end_camera, start_poses, end_poses)
        self._frame(0.0)
        self.animation = unit_animation(self, self.duration_ms, QEasingCurve.Type.InOutCubic, self._frame, self.finish)

    def _frame(self, t: float) -> None:
        start_camera, end_camera, start_poses, end_poses = self._ends
        self.window.model.set_leg_poses({s: pose_between(start_poses[s], end_poses[s], t) for s in SIDES})
        self.window.scene_view.set_camera(camera_between(start_camera, end_camera, t))

    def finish(self) -> None:
        """Jump to the end of a running transition (a new step, or the animation's own end)."""
        animation, self.animation = self.animation, None
        if animation is None:
            return
        animation.valueChanged.disconnect(self._frame)
        animation.stop()
        self._frame(1.0)
        self.finished.emit()
