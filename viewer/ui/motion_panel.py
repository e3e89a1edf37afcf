"""Motion controls: free posing with sliders, and a timeline that plays the actions."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from viewer.anatomy.kinematics import JOINT_RANGES
from viewer.model.actions import Timeline, load_actions
from viewer.model.history import History
from viewer.model.scene import SceneModel
from viewer.ui.listening import while_alive
from viewer.ui.techniques_panel import compact

ANGLE_LABELS = {
    "hip_flexion": "Hip flexion (+) / extension (−)",
    "hip_abduction": "Hip abduction (+) / adduction (−)",
    "hip_rotation": "Hip internal (+) / external (−) rotation",
    "knee_flexion": "Knee flexion",
}
SIDE_CHOICES = (("Both legs", "both"), ("Right leg", "right"), ("Left leg", "left"))
SPEEDS = (0.25, 0.5, 1.0, 2.0)
SCRUB_STEPS = 1000
FRAME_MS = 33


class PosePanel(QGroupBox):
    """One slider per joint angle; the side box chooses which leg the sliders move."""

    def __init__(self, model: SceneModel, history: History | None = None) -> None:
        super().__init__("Pose")
        self.model = model
        self.history = history  # the sliders and the reset are undoable (the timeline's playback is not)
        layout = QGridLayout(self)
        self.side = QComboBox()
        self.side.setToolTip("Which leg the sliders move")
        for label, value in SIDE_CHOICES:
            self.side.addItem(label, value)
        layout.addWidget(QLabel("Move:"), 0, 0)
        layout.addWidget(self.side, 0, 1)
        self.reset = QPushButton("Anatomical position")
        self.reset.setToolTip("All joint angles back to zero (both legs)")
        layout.addWidget(self.reset, 0, 2)
        self.sliders: dict[str, QSlider] = {}
        self.values: dict[str, QLabel] = {}
        for row, (key, (low, high)) in enumerate(JOINT_RANGES.items(), start=1):
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(int(low), int(high))
            slider.setValue(0)
            slider.setToolTip(f"{ANGLE_LABELS[key]}: {low:g} to {high:g} degrees")
            value = QLabel("0°")
            value.setMinimumWidth(40)
            layout.addWidget(QLabel(ANGLE_LABELS[key]), row, 0)
            layout.addWidget(slider, row, 1)
            layout.addWidget(value, row, 2)
            slider.valueChanged.connect(lambda degrees, k=key: self._on_slider(k, degrees))
            self.sliders[key] = slider
            self.values[key] = value
        self.impingement = QLabel()  # always laid out (empty when free), so a warning never crowds the sliders
        self.impingement.setStyleSheet("color: #b35806; font-weight: bold")
        layout.addWidget(self.impingement, len(JOINT_RANGES) + 1, 0, 1, 3)
        self.reset.clicked.connect((history or model).reset_pose)
        self.side.currentIndexChanged.connect(lambda _i: self._sync())
        model.pose_changed.connect(self._on_pose)

    @while_alive
    def _on_pose(self, *_args) -> None:
        self._sync()

    def _on_slider(self, key: str, degrees: int) -> None:
        self.values[key].setText(f"{degrees}°")
        if self.history is None:
            self.model.set_pose(self.side.currentData(), **{key: float(degrees)})
        else:  # one drag of a slider is one undo step
            merge = self.sliders[key].isSliderDown()
            self.history.set_pose(self.side.currentData(), merge=merge, **{key: float(degrees)})

    def _sync(self) -> None:
        """Show the pose of the leg being moved (the right one when both move)."""
        side = self.side.currentData()
        pose = self.model.pose("left" if side == "left" else "right").as_dict()
        for key, slider in self.sliders.items():
            slider.blockSignals(True)
            slider.setValue(round(pose[key]))
            slider.blockSignals(False)
            self.values[key].setText(f"{pose[key]:.0f}°")
        found = self.model.impingements()
        more = " (and the other hip)" if len(found) > 1 else ""
        self.impingement.setText(found[0].short() + more if found else "")  # the deepest; all in the tooltip
        self.impingement.setToolTip("\n".join(i.message() for i in found))


class TimelinePanel(QGroupBox):
    """Choose an action and play, pause, scrub, step, loop and change speed."""

    def __init__(self, model: SceneModel) -> None:
        super().__init__("Actions")
        self.model = model
        self.actions = load_actions()
        self.timeline = Timeline(model)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.action_box = QComboBox()
        self.action_box.setToolTip("A hip action to play on the model; every muscle's length follows")
        for action in self.actions.values():
            self.action_box.addItem(action.title, action.id)
            self.action_box.setItemData(self.action_box.count() - 1, action.description, Qt.ItemDataRole.ToolTipRole)
        compact(self.action_box, 24)
        top.addWidget(self.action_box, 1)
        self.side = QComboBox()
        self.side.setToolTip("Which leg plays the action")
        self.side.addItem("Side as defined", None)
        for label, value in SIDE_CHOICES:
            self.side.addItem(label, value)
        top.addWidget(self.side)
        layout.addLayout(top)
        self.description = QLabel()
        self.description.setWordWrap(True)
        layout.addWidget(self.description)
        controls = QHBoxLayout()
        self.step_back = QPushButton("◀◀")
        self.step_back.setToolTip("Step back a quarter second")
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Play or pause (Space)")
        self.step_forward = QPushButton("▶▶")
        self.step_forward.setToolTip("Step forward a quarter second")
        self.scrub = QSlider(Qt.Orientation.Horizontal)
        self.scrub.setToolTip("Drag through the action's time")
        self.scrub.setRange(0, SCRUB_STEPS)
        self.time_label = QLabel("0.0 s")
        self.time_label.setMinimumWidth(80)
        self.speed = QComboBox()
        self.speed.setToolTip("Playback speed")
        for speed in SPEEDS:
            self.speed.addItem(f"{speed:g}×", speed)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.loop = QCheckBox("Loop")
        self.loop.setToolTip("Play the action again and again")
        for widget in (self.step_back, self.play_button, self.step_forward):
            controls.addWidget(widget)
        controls.addWidget(self.scrub, 1)
        controls.addWidget(self.time_label)
        controls.addWidget(QLabel("Speed"))
        controls.addWidget(self.speed)
        controls.addWidget(self.loop)
        layout.addLayout(controls)

        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._tick)
        self._last_tick = time.perf_counter()
        self.action_box.currentIndexChanged.connect(self._on_action)
        self.side.currentIndexChanged.connect(self._on_side)
        self.play_button.clicked.connect(self.toggle_play)
        self.step_back.clicked.connect(lambda: self.timeline.step(-1))
        self.step_forward.clicked.connect(lambda: self.timeline.step(1))
        self.scrub.valueChanged.connect(self._on_scrub)
        self.speed.currentIndexChanged.connect(lambda _i: self.timeline.set_speed(self.speed.currentData()))
        self.loop.toggled.connect(lambda on: setattr(self.timeline, "loop", on))
        self.timeline.changed.connect(self._on_time)
        self.timeline.state_changed.connect(self._on_state)
        self._on_action(self.action_box.currentIndex())

    def select_action(self, action_id: str) -> None:
        """Choose the action ``action_id`` in the action box."""
        self.action_box.setCurrentIndex(self.action_box.findData(action_id))

    def toggle_play(self) -> None:
        """Play the action, or pause it when it is playing."""
        if self.timeline.playing:
            self.timeline.pause()
        else:
            self.timeline.play()

    def _on_action(self, _index: int) -> None:
        action = self.actions[self.action_box.currentData()]
        self.description.setText(f"{action.description} <i>Source: {action.source}</i>")
        self.timeline.set_action(action)

    def _on_side(self, _index: int) -> None:
        self.timeline.side_override = self.side.currentData()
        self.timeline.seek(self.timeline.time)

    def _on_scrub(self, value: int) -> None:
        action = self.timeline.action
        if action is not None:
            self.timeline.pause()
            self.timeline.seek(action.duration * value / SCRUB_STEPS)

    def _on_time(self, seconds: float) -> None:
        action = self.timeline.action
        duration = action.duration if action else 0.0
        self.time_label.setText(f"{seconds:.1f} / {duration:.1f} s")
        self.scrub.blockSignals(True)
        self.scrub.setValue(round(SCRUB_STEPS * seconds / duration) if duration else 0)
        self.scrub.blockSignals(False)

    def _on_state(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing:
            self._last_tick = time.perf_counter()
            self._timer.start()
        else:
            self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.timeline.advance(now - self._last_tick)
        self._last_tick = now


class MotionPanel(QWidget):
    """The timeline above the free-posing sliders."""

    def __init__(self, model: SceneModel, history: History | None = None) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        self.timeline_panel = TimelinePanel(model)
        self.pose_panel = PosePanel(model, history)
        layout.addWidget(self.timeline_panel, 3)
        layout.addWidget(self.pose_panel, 2)
