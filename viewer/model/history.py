"""Undo and redo for what is shown and how: visibility, opacity, ghosting, peel depth, pose, colour mode,
body type and skin tone (Qt-free).

Every change made through a :class:`History` is recorded as a reversible step
of exact before/after values; a multi-structure change (isolate, show all, a
peel) is one step. The target is any object with the SceneModel setters
(``is_visible``/``set_visible``, ``opacity``/``set_opacity``, ``names()``).
Changes made directly on the model, bypassing the history, are not recorded: the
window makes every user change through its History (the timeline's playback and the
camera are not undone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from viewer.model.events import Signal
from viewer.model.layers import GHOSTED, HIDDEN, PeelState, layer_index

DEFAULT_GHOST_OPACITY = 0.15


@dataclass(frozen=True)
class Change:
    kind: str  # "visible" | "opacity" | "depth" | "ghost" | "pose" | "colour_mode" | any kind with a setter
    name: str | None
    before: Any
    after: Any
    setter: Callable[[Any], None] | None = None  # how to apply a value of a kind the history does not know


@dataclass
class Step:
    label: str
    changes: list[Change] = field(default_factory=list)


class History:
    """Records visibility, opacity and peel changes as undoable steps.

    ``base_opacity`` remembers each structure's own opacity (as the user last
    set it, initially the model's), which a shown structure returns to after
    being ghosted by a peel or an isolate.
    """

    def __init__(
        self, model: Any, peel: PeelState | None = None, ghost_opacity: float = DEFAULT_GHOST_OPACITY, limit: int = 200
    ) -> None:
        self.model = model
        self.peel_state = peel
        self.ghost_opacity = float(ghost_opacity)
        self.limit = int(limit)
        self.base_opacity: dict[str, float] = {name: model.opacity(name) for name in model.names()}
        self._undo: list[Step] = []
        self._redo: list[Step] = []
        self._open: Step | None = None
        self.changed = Signal("history_changed")  # (can_undo, can_redo)

    # --- recording ---------------------------------------------------------------------------
    @contextmanager
    def group(self, label: str) -> Iterator[Step]:
        """Collect every change made inside the block into one undoable step."""
        if self._open is not None:  # nested: join the outer step
            yield self._open
            return
        self._open = Step(label)
        try:
            yield self._open
        finally:
            step, self._open = self._open, None
            if step.changes:
                self._push(step)

    def _push(self, step: Step) -> None:
        self._undo.append(step)
        del self._undo[: max(0, len(self._undo) - self.limit)]
        self._redo.clear()
        self.changed.emit(self.can_undo, self.can_redo)

    def _record(self, change: Change) -> None:
        if change.before == change.after:
            return
        self._apply(change, change.after)
        if self._open is not None:
            self._open.changes.append(change)
        else:
            self._push(Step(change.kind, [change]))

    def _apply(self, change: Change, value: Any) -> None:
        if change.setter is not None:
            change.setter(value)
        elif change.kind == "pose":
            self.model.set_leg_poses(dict(value))
        elif change.kind == "colour_mode":
            self.model.set_colour_mode(value)
        elif change.kind == "visible":
            self.model.set_visible(change.name, value)
        elif change.kind == "opacity":
            self.model.set_opacity(change.name, value)
        elif change.kind == "depth":
            self._peel().set_depth(value)
        elif change.kind == "ghost":
            self._peel().set_ghost(value)

    def _peel(self) -> PeelState:
        if self.peel_state is None:
            raise RuntimeError("this history has no PeelState")
        return self.peel_state

    # --- recorded operations ------------------------------------------------------------------
    def set_visible(self, name: str, visible: bool) -> None:
        """Show or hide one structure, recorded."""
        self._record(Change("visible", name, self.model.is_visible(name), bool(visible)))

    def set_opacity(self, name: str, opacity: float, merge: bool = False) -> None:
        """A user opacity change: also becomes the structure's base opacity.

        ``merge`` joins it to the last step when that was this structure's opacity too (a slider being dragged
        is one step).
        """
        before = self.model.opacity(name)
        change = Change("opacity", name, before, float(min(max(opacity, 0.0), 1.0)))
        if not (merge and self._merge(change)):
            self._record(change)
        self.base_opacity[name] = self.model.opacity(name)

    def ghost(self, name: str, opacity: float) -> None:
        """Show a structure see-through (e.g. the layer a technique works through); its base opacity stays."""
        self.set_visible(name, True)
        self._record(Change("opacity", name, self.model.opacity(name), float(opacity)))

    def set_leg_poses(self, poses: dict[str, Any], merge: bool = False) -> None:
        """Pose one or both legs (``{side: LegPose}``); ``merge`` joins a slider drag into one step."""
        before = {side: self.model.pose(side) for side in ("right", "left")}
        change = Change("pose", None, before, {**before, **poses})
        if not (merge and self._merge(change)):
            self._record(change)

    def set_pose(self, side: str = "both", merge: bool = False, **angles: float) -> None:
        """Set joint angles (degrees) on one side or both, as :meth:`SceneModel.set_pose`, recorded."""
        sides = ("right", "left") if side == "both" else (side,)
        self.set_leg_poses({s: self.model.pose(s).replaced(**angles) for s in sides}, merge=merge)

    def reset_pose(self) -> None:
        """Both legs back to anatomical position, as one step."""
        self.set_pose("both", **{key: 0.0 for key in self.model.pose("right").as_dict()})

    def set_colour_mode(self, mode: str) -> None:
        """Colour by anatomy or by stretch, recorded."""
        self._record(Change("colour_mode", None, self.model.colour_mode, mode))

    def set_body(self, body: str) -> None:
        """Another body type's skin over the same bones and muscles, as one step."""
        self.record("body", self.model.body, body, self.model.set_body)

    def set_skin_tone(self, tone: str) -> None:
        """Another colour from the skin palette, as one step."""
        self.record("skin_tone", self.model.skin_tone, tone, self.model.set_skin_tone)

    def record(self, kind: str, before: Any, after: Any, setter: Callable[[Any], None]) -> None:
        """Apply and record a change of something the history does not know (``setter(value)`` applies it)."""
        self._record(Change(kind, None, before, after, setter))

    def _merge(self, change: Change) -> bool:
        """Fold ``change`` into the last step if that step is one change of the same kind and name."""
        last = self._undo[-1] if self._undo and self._open is None and not self._redo else None
        if last is None or len(last.changes) != 1:
            return False
        previous = last.changes[0]
        if (previous.kind, previous.name) != (change.kind, change.name) or previous.setter is not None:
            return False
        self._apply(change, change.after)
        last.changes[0] = Change(change.kind, change.name, previous.before, change.after)
        if previous.before == change.after:  # dragged back to where it started: nothing to undo
            self._undo.pop()
            self.changed.emit(self.can_undo, self.can_redo)
        return True

    def _show(self, name: str, state: str) -> None:
        """Make one structure shown / ghosted / hidden (recorded in the open step)."""
        if state == HIDDEN:
            self.set_visible(name, False)
            return
        self.set_visible(name, True)
        opacity = self.ghost_opacity if state == GHOSTED else self.base_opacity.get(name, 1.0)
        self._record(Change("opacity", name, self.model.opacity(name), opacity))

    def isolate(self, name: str, mode: str = GHOSTED) -> None:
        """Show one structure; every other becomes a ghost (``mode='ghosted'``) or hidden (``'hidden'``). One step."""
        if mode not in (GHOSTED, HIDDEN):
            raise ValueError(f"isolate mode must be {GHOSTED!r} or {HIDDEN!r}, not {mode!r}")
        self.model.is_visible(name)  # unknown names fail before anything changes
        with self.group(f"isolate {name}"):
            for other in self._anatomy():
                self._show(other, "shown" if other == name else mode)

    def show_all(self) -> None:
        """Everything visible at its own opacity, nothing peeled. One step."""
        with self.group("show all"):
            if self.peel_state is not None:
                self._record(Change("depth", None, self.peel_state.depth, 0))
            for name in self._anatomy():
                self._show(name, "shown")

    def _anatomy(self) -> list[str]:
        """Structures that are anatomy, not overlays such as danger zones (which keep their own toggle)."""
        structures = getattr(self.model, "structures", {})
        return [n for n in self.model.names() if getattr(structures.get(n), "kind", None) != "danger"]

    def hidden_reason(self, name: str) -> str | None:
        """Why a structure is not drawn: ``"peeled"`` (its layer is peeled away), ``"hidden"``, or None if shown."""
        if self.model.is_visible(name):
            return None
        peel = self.peel_state
        if peel is not None and peel.state_of(name) == HIDDEN:
            return "peeled"
        return "hidden"

    def reveal(self, name: str) -> None:
        """Show a hidden structure again, as one step: restore the layers over it if it was peeled."""
        with self.group(f"show {name}"):
            if self.hidden_reason(name) == "peeled":
                self.set_depth(layer_index(name, self._peel().layers) or 0)
            self.set_visible(name, True)

    def apply_peel(self) -> None:
        """Make the model match the peel state (recorded in the open step, or as its own step)."""
        peel = self._peel()
        with self.group("peel"):
            for name in self.model.names():
                if layer_index(name, peel.layers) is not None:  # nerves and overlays keep their own state
                    self._show(name, peel.state_of(name))

    def set_depth(self, depth: int) -> None:
        """Peel to ``depth`` layers and update what is shown, as one step."""
        peel = self._peel()
        if not 0 <= depth <= peel.n_layers:
            raise ValueError(f"peel depth must be 0..{peel.n_layers}, not {depth}")
        with self.group(f"peel to depth {depth}"):
            self._record(Change("depth", None, peel.depth, int(depth)))
            self.apply_peel()

    def peel(self) -> bool:
        """Peel the next layer, recorded; False when everything is peeled already."""
        peel = self._peel()
        if peel.depth >= peel.n_layers:
            return False
        self.set_depth(peel.depth + 1)
        return True

    def restore(self) -> bool:
        """Put back the last peeled layer, recorded; False when nothing is peeled."""
        peel = self._peel()
        if peel.depth == 0:
            return False
        self.set_depth(peel.depth - 1)
        return True

    def restore_all(self) -> None:
        """Put back every peeled layer, recorded."""
        self.set_depth(0)

    def set_ghost(self, ghost: bool) -> None:
        """Keep the last peeled layer as a ghost (or hide it), recorded with the structures it changes."""
        peel = self._peel()
        with self.group("ghost peeled layers" if ghost else "hide peeled layers"):
            self._record(Change("ghost", None, peel.ghost, bool(ghost)))
            self.apply_peel()

    # --- undo / redo -----------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        """Whether there is a step to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone step to redo."""
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        """What the next undo undoes (e.g. ``technique Working the rotators prone``), or None."""
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        """What the next redo redoes, or None."""
        return self._redo[-1].label if self._redo else None

    def undo(self) -> bool:
        """Put back exactly what the last step changed; False if there is nothing to undo."""
        if not self._undo or self._open is not None:
            return False
        step = self._undo.pop()
        for change in reversed(step.changes):
            self._apply(change, change.before)
        self._redo.append(step)
        self.changed.emit(self.can_undo, self.can_redo)
        return True

    def redo(self) -> bool:
        """Apply the last undone step again; False when there is none (or a step is open)."""
        if not self._redo or self._open is not None:
            return False
        step = self._redo.pop()
        for change in step.changes:
            self._apply(change, change.after)
        self._undo.append(step)
        self.changed.emit(self.can_undo, self.can_redo)
        return True

    def clear(self) -> None:
        """Forget every step (after opening a scene: its state is the new start)."""
        self._undo.clear()
        self._redo.clear()
        self.changed.emit(False, False)


__all__ = ["DEFAULT_GHOST_OPACITY", "Change", "History", "Step"]
