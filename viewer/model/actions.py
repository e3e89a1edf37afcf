"""Hip actions as data, and a Qt-free timeline that turns time into a pose.

Actions live in ``assets/annotations/actions.json``: keyframed joint angles
with a description and source. The timeline eases between keyframes so a
played action starts and stops smoothly, as a demonstrated movement does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from viewer.anatomy.kinematics import LegPose, PoseError
from viewer.io.annotations import AnnotationError, load_annotation
from viewer.io.references import cite
from viewer.model.events import Signal
from viewer.paths import annotations_dir

# joint angle -> (axis name, what a positive angle is called, what a negative angle is called)
ANGLE_WORDS: dict[str, tuple[str, str, str | None]] = {
    "hip_flexion": ("hip flexion", "flexion", "extension"),
    "hip_abduction": ("hip abduction", "abduction", "adduction"),
    "hip_rotation": ("hip rotation", "internal rotation", "external rotation"),
    "knee_flexion": ("knee flexion", "knee flexion", None),
}
HIP_ANGLES = ("hip_flexion", "hip_abduction", "hip_rotation")
PHASE_SAMPLES = 801
MOVEMENT_DEGREES = 15.0  # an angle reaching this is a movement of the action a student would name
STILL_DEGREES = 1e-6  # the angle is exactly neutral here (a keyframe at zero), between two phases


@dataclass(frozen=True)
class Phase:
    """A stretch of an action where the played angle is on one side of zero, e.g. internal rotation."""

    start: float  # s
    end: float  # s
    sign: int  # +1 (flexion, abduction, internal rotation) or -1
    name: str  # "internal rotation"


@dataclass(frozen=True)
class Keyframe:
    time: float
    pose: LegPose


@dataclass(frozen=True)
class Action:
    """A movement or therapist's position: which leg moves and how, over time."""

    id: str
    title: str
    kind: str  # "movement" | "position"
    side: str  # "both" | "right" | "left"
    description: str
    source: str
    keyframes: tuple[Keyframe, ...]

    @property
    def duration(self) -> float:
        """Length of the action (s): the time of its last keyframe."""
        return self.keyframes[-1].time

    def pose_at(self, time: float) -> LegPose:
        """Joint angles at ``time`` seconds, eased (smoothstep) between keyframes."""
        frames = self.keyframes
        if time <= frames[0].time or len(frames) == 1:
            return frames[0].pose
        if time >= frames[-1].time:
            return frames[-1].pose
        index = int(np.searchsorted([f.time for f in frames], time, side="right")) - 1
        before, after = frames[index], frames[index + 1]
        fraction = (time - before.time) / (after.time - before.time)
        eased = fraction * fraction * (3 - 2 * fraction)
        a, b = before.pose.as_dict(), after.pose.as_dict()
        return LegPose(**{k: a[k] + (b[k] - a[k]) * eased for k in a})

    def angle_at(self, times: np.ndarray, angle: str) -> np.ndarray:
        """One joint angle at each of ``times`` (s), eased as :meth:`pose_at` eases the whole pose.

        Parameters
        ----------
        times : (n,) float
            Seconds into the action.
        angle : str
            A joint angle's name (``hip_rotation``...).

        Returns
        -------
        (n,) float
            The angle in degrees, equal to ``pose_at(t).as_dict()[angle]`` at each time, without making a
            pose per time (a quiz samples every action's phases at hundreds of times).
        """
        times = np.asarray(times, dtype=float)
        frame_times = np.array([frame.time for frame in self.keyframes])
        values = np.array([frame.pose.as_dict()[angle] for frame in self.keyframes])
        if len(values) == 1:
            return np.full(times.shape, values[0])
        index = np.clip(np.searchsorted(frame_times, times, side="right") - 1, 0, len(values) - 2)
        fraction = np.clip((times - frame_times[index]) / (frame_times[index + 1] - frame_times[index]), 0.0, 1.0)
        eased = fraction * fraction * (3 - 2 * fraction)
        between = values[index] + (values[index + 1] - values[index]) * eased
        return np.where(times >= frame_times[-1], values[-1], np.where(times <= frame_times[0], values[0], between))

    def played_angle(self) -> str | None:
        """The joint angle the action is about: the hip angle that changes most (the knee if only it moves)."""
        spans = {}
        for key in ANGLE_WORDS:
            values = [frame.pose.as_dict()[key] for frame in self.keyframes]
            spans[key] = max(values) - min(values)
        moving = [key for key in HIP_ANGLES if spans[key] > 0] or [key for key in ANGLE_WORDS if spans[key] > 0]
        return max(moving, key=lambda key: spans[key]) if moving else None

    def movements(self, angles: tuple[str, ...] = tuple(ANGLE_WORDS)) -> tuple[str, ...]:
        """The movements a student would name for this action: ``("internal rotation", "external rotation")``.

        Only angles that reach ``MOVEMENT_DEGREES`` count (the 10 degrees of flexion that keep adduction
        clear of the other leg do not make it a flexion).
        """
        words = []
        for key in (a for a in angles if a is not None):
            _axis, positive, negative = ANGLE_WORDS[key]
            values = [frame.pose.as_dict()[key] for frame in self.keyframes]
            words += [positive] if max(values) >= MOVEMENT_DEGREES else []
            words += [negative] if negative and min(values) <= -MOVEMENT_DEGREES else []
        return tuple(words)

    def phases(self, angle: str | None = None) -> list[Phase]:
        """Where the played angle is positive and where negative, named (``internal``/``external rotation``)."""
        angle = angle or self.played_angle()
        if angle is None or self.duration == 0:
            return []
        times = np.linspace(0.0, self.duration, PHASE_SAMPLES)
        values = self.angle_at(times, angle)
        signs = np.where(np.abs(values) < STILL_DEGREES, 0, np.sign(values)).astype(int)
        _axis, positive, negative = ANGLE_WORDS[angle]
        found: list[Phase] = []
        start = None
        for index, sign in enumerate(signs):
            if start is not None and sign != signs[start]:
                found.append(Phase(float(times[start]), float(times[index]), int(signs[start]), ""))
                start = None
            if start is None and sign != 0:
                start = index
        if start is not None:
            found.append(Phase(float(times[start]), float(times[-1]), int(signs[start]), ""))
        return [Phase(p.start, p.end, p.sign, positive if p.sign > 0 else negative or "") for p in found]


def _parse(entry: dict, path: Path, index: int) -> Action:
    keyframes = []
    previous = -1.0
    for k, frame in enumerate(entry["keyframes"]):
        field = f"actions[{index}].keyframes[{k}]"
        if frame["t"] <= previous:
            raise AnnotationError(path, "keyframe times must increase", f"{field}.t")
        previous = frame["t"]
        try:
            pose = LegPose(**{key: float(v) for key, v in frame["pose"].items()})
        except PoseError as error:
            raise AnnotationError(path, str(error), f"{field}.pose") from error
        keyframes.append(Keyframe(float(frame["t"]), pose))
    return Action(
        id=entry["id"],
        title=entry["title"],
        kind=entry["kind"],
        side=entry["side"],
        description=entry["description"],
        source=" ".join(cite([entry["source"]])),
        keyframes=tuple(keyframes),
    )


def angle_axis_label(angle: str) -> str:
    """``hip_rotation`` -> ``"hip rotation (°)"``, for a plot axis."""
    return f"{ANGLE_WORDS[angle][0]} (°)"


@cache
def load_actions(directory: Path | None = None) -> dict[str, Action]:
    """All actions by id, validated (schema, ranges, increasing times, unique ids)."""
    path = (directory or annotations_dir()) / "actions.json"
    data = load_annotation("actions", directory=directory)
    actions: dict[str, Action] = {}
    for index, entry in enumerate(data["actions"]):
        if entry["id"] in actions:
            raise AnnotationError(path, f"duplicate action id {entry['id']!r}", f"actions[{index}].id")
        actions[entry["id"]] = _parse(entry, path, index)
    return actions


class Timeline:
    """Plays one action on a scene: play, pause, scrub, speed, loop and step.

    The UI drives it with a timer calling :meth:`advance`; tests and scripts can
    call :meth:`seek` directly. It never touches Qt.
    """

    STEP_SECONDS = 0.25

    def __init__(self, scene, action: Action | None = None) -> None:
        self.scene = scene
        self.action: Action | None = None
        self.time = 0.0
        self.speed = 1.0
        self.loop = False
        self.playing = False
        self.side_override: str | None = None  # play the action on "right", "left" or "both" instead
        self.changed = Signal("timeline_changed")  # (time)
        self.action_changed = Signal("timeline_action_changed")  # (action)
        self.state_changed = Signal("timeline_state_changed")  # (playing)
        if action is not None:
            self.set_action(action)

    def set_action(self, action: Action) -> None:
        """Switch to ``action`` and pose its start."""
        self.pause()
        self.action = action
        self.action_changed.emit(action)
        self.seek(0.0)

    def set_speed(self, speed: float) -> None:
        """Playback speed (1 = real time), 0.05 to 8; a ValueError outside."""
        if not 0.05 <= speed <= 8:
            raise ValueError(f"speed {speed:g} outside 0.05..8")
        self.speed = float(speed)

    def play(self) -> None:
        """Start playing the chosen action (from the start again when it ended without looping)."""
        if self.action is None:
            return
        if self.time >= self.action.duration and not self.loop:
            self.seek(0.0)
        if not self.playing:
            self.playing = True
            self.state_changed.emit(True)

    def pause(self) -> None:
        """Stop playing where it is."""
        if self.playing:
            self.playing = False
            self.state_changed.emit(False)

    def advance(self, seconds: float) -> None:
        """Move playback on by wall-clock ``seconds`` (scaled by speed)."""
        if not self.playing or self.action is None:
            return
        target = self.time + seconds * self.speed
        duration = self.action.duration
        if target >= duration:
            if self.loop and duration > 0:
                target %= duration
            else:
                target = duration
                self.pause()
        self.seek(target)

    def step(self, direction: int = 1) -> None:
        """Pause and move a quarter second forward (1) or back (-1)."""
        self.pause()
        self.seek(self.time + direction * self.STEP_SECONDS)

    def seek(self, time: float) -> None:
        """Jump to ``time`` seconds and pose the scene there."""
        if self.action is None:
            return
        self.time = float(np.clip(time, 0.0, self.action.duration))
        pose = self.action.pose_at(self.time)
        moving = self.side_override or self.action.side
        sides = ("right", "left") if moving == "both" else (moving,)
        self.scene.set_leg_poses({side: pose if side in sides else LegPose() for side in ("right", "left")})
        self.changed.emit(self.time)
