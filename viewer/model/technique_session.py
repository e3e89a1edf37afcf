"""The technique being demonstrated: pose, peel, geometry and its safety check (Qt-free).

Choosing a technique puts the body in the position it needs, peels to the
layer it works on (ghosting what the force passes through), shows the danger
zones of that side, and computes from the scene's own geometry where the
contact is, which way the force goes and how close it comes to the nerve.
"""

from __future__ import annotations

from contextlib import nullcontext

from viewer.anatomy.kinematics import LegPose
from viewer.model.events import Signal
from viewer.model.layers import layer_index
from viewer.techniques.library import Technique, load_techniques

GHOST_OPACITY = 0.3


class TechniqueSession:
    def __init__(self, scene, history=None, peel=None) -> None:
        self.scene, self.history, self.peel = scene, history, peel
        self.techniques: dict[str, Technique] = load_techniques()
        self.active: Technique | None = None
        self.side = "right"
        self._result = None  # (geometry, report, zones), recomputed lazily after a pose change
        self.changed = Signal("technique_changed")  # (technique id or None)
        scene.pose_changed.connect(self._on_pose)
        scene.structures_replaced.connect(self._on_pose)  # another nerve variant or margin: recheck

    # --- choosing ---------------------------------------------------------------------------
    def choose(self, technique_id: str, side: str = "right", pose: bool = True, layers: bool = True) -> None:
        """Demonstrate a technique: its pose, its working layer ghosted, the zones of its side.

        With a history this is one undoable step: undo puts back the earlier technique, pose, visibility,
        opacity, peel depth and zones exactly.
        """
        if technique_id not in self.techniques:
            raise KeyError(f"unknown technique {technique_id!r}; known: {', '.join(self.techniques)}")
        if side not in ("right", "left"):
            raise ValueError(f"side must be right or left, not {side!r}")
        technique = self.techniques[technique_id]
        previous = self._current()
        with self.history.group(f"technique {technique.title}") if self.history is not None else nullcontext():
            self.active, self._result = None, None  # pose first, so the pose change is not announced twice
            if pose:
                other = "left" if side == "right" else "right"
                (self.history or self.scene).set_leg_poses({side: technique.leg_pose(), other: LegPose()})
            self.side = side
            if layers:
                self._show_working_layer(technique)
            if self.history is not None:
                self.history.record("technique", previous, (technique_id, side), self._set_current)
            else:
                self._set_current((technique_id, side))

    def clear(self) -> None:
        """Take the technique off the body (recorded, when there is a history)."""
        if self.active is not None:
            if self.history is not None:
                self.history.record("technique", self._current(), None, self._set_current)
            else:
                self._set_current(None)

    def _current(self) -> tuple[str, str] | None:
        return (self.active.id, self.side) if self.active is not None else None

    def _set_current(self, current: tuple[str, str] | None) -> None:
        """Make a technique (id, side) the active one, or none; announce it."""
        if current is None:
            self.active, self._result = None, None
        else:
            self.active, self.side, self._result = self.techniques[current[0]], current[1], None
        self.changed.emit(current[0] if current else None)

    def _show_working_layer(self, technique: Technique) -> None:
        """Peel down to the outermost layer the technique works through, ghost that, show the zones."""
        scene, history = self.scene, self.history
        through = list(technique.depth.get("through", []))
        names = [technique.sided(n, self.side) for n in through + list(technique.targets)]
        layers = self.peel.layers if self.peel is not None else None
        if layers is not None:
            depths = [layer_index(n, layers) for n in names if layer_index(n, layers) is not None]
            depth = min(depths) if depths else 0
            (history or self.peel).set_depth(depth)
            if history is None:
                for name, state in self.peel.states(scene.names()).items():
                    scene.set_visible(name, state != "hidden")
        for name in (technique.sided(n, self.side) for n in through):
            if name in scene.structures:
                if history is not None:
                    history.ghost(name, GHOST_OPACITY)
                else:
                    scene.set_visible(name, True)
                    scene.set_opacity(name, GHOST_OPACITY)
        for name in scene.names("danger"):
            (history or scene).set_visible(name, scene.structures[name].side == self.side)

    # --- results ------------------------------------------------------------------------------
    def _on_pose(self, _pose) -> None:
        if self.active is not None:
            self._result = None
            self.changed.emit(self.active.id)

    def result(self):
        """(geometry, safety report, danger zones) at the current pose, or None with no technique."""
        if self.active is None:
            return None
        if self._result is None:
            from viewer.techniques.context import context_from_scene
            from viewer.techniques.geometry import technique_geometry
            from viewer.techniques.safety import assess

            context = context_from_scene(self.scene, self.side)  # the scene's posed nerve and zones
            geometry = technique_geometry(self.active, context)
            self._result = (geometry, assess(self.active, geometry, context), context.zones)
        return self._result

    def techniques_for(self, structure_name: str) -> list[Technique]:
        """Techniques that work a structure (by base name, either side)."""
        base = structure_name.removesuffix("_right").removesuffix("_left")
        return [t for t in self.techniques.values() if base in t.targets]
