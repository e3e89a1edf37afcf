"""Layers from the skin down to bone, and peeling them off one at a time (Qt-free).

``assets/annotations/layers.json`` lists the layers in order, surface first,
by base structure names (``gluteus_medius`` covers both sides). A
:class:`PeelState` holds how many layers are peeled and whether peeled layers
stay as faint ghosts; it says for every structure whether it is shown,
ghosted or hidden, and emits ``changed`` whenever that may differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from viewer.io.annotations import AnnotationError, load_annotation
from viewer.model.events import Signal

SHOWN, GHOSTED, HIDDEN = "shown", "ghosted", "hidden"
SIDE_SUFFIXES = ("_right", "_left")


@dataclass(frozen=True)
class Layer:
    name: str
    display_name: str
    structures: tuple[str, ...]  # base names


def load_layers(directory: Path | None = None) -> list[Layer]:
    """The layers, surface first, validated; a base name in two layers is an error naming the field."""
    data = load_annotation("layers", directory=directory)
    layers = [Layer(e["name"], e["display_name"], tuple(e["structures"])) for e in data["layers"]]
    seen: dict[str, int] = {}
    for index, layer in enumerate(layers):
        for position, base in enumerate(layer.structures):
            if base in seen:
                from viewer.paths import annotations_dir

                path = (directory or annotations_dir()) / "layers.json"
                raise AnnotationError(
                    path, f"{base!r} is already in layer {seen[base]}", f"layers[{index}].structures[{position}]"
                )
            seen[base] = index
    return layers


def base_name(name: str) -> str:
    """``gluteus_medius_left`` -> ``gluteus_medius``; unsided names are their own base."""
    for suffix in SIDE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def structures_in_layer(index: int, all_names: Iterable[str], layers: list[Layer] | None = None) -> list[str]:
    """Scene structure names in layer ``index`` (both sides of each base name), in scene order."""
    layers = load_layers() if layers is None else layers
    bases = set(layers[index].structures)
    return [name for name in all_names if base_name(name) in bases]


def layer_index(name: str, layers: list[Layer]) -> int | None:
    """Which layer a scene structure belongs to (None for structures in no layer, e.g. nerves)."""
    base = base_name(name)
    for index, layer in enumerate(layers):
        if base in layer.structures or name in layer.structures:
            return index
    return None


def assign_layers(structures: Iterable, layers: list[Layer]) -> None:
    """Set each structure's ``layer`` (index, 0 = skin) and ``layer_name`` from ``layers.json``.

    One vocabulary for every panel: the layers panel, the structures panel, the
    info panel and ``inspect`` all name a structure's layer as the peeling does.
    Overlays in no layer (danger zones) go after the bones; other structures
    in no layer keep what they had.
    """
    for structure in structures:
        index = layer_index(structure.name, layers)
        if index is not None:
            structure.layer, structure.layer_name = index, layers[index].name
        elif structure.kind == "danger":
            structure.layer = len(layers)


class PeelState:
    """How deep the student has peeled: ``depth`` layers (0..n) are removed from the top.

    Peeled layers are hidden, or with ghost mode on, the most recently peeled
    ``ghost_layers`` layers stay as faint ghosts (older ones are hidden, so
    ghosts do not pile up). Structures in no layer are always shown.
    """

    def __init__(self, layers: list[Layer] | None = None, ghost: bool = False, ghost_layers: int = 1) -> None:
        self.layers = load_layers() if layers is None else list(layers)
        self._depth = 0
        self._ghost = bool(ghost)
        self.ghost_layers = max(1, int(ghost_layers))
        self.changed = Signal("peel_changed")  # (depth, ghost)

    @property
    def n_layers(self) -> int:
        """How many layers can be peeled."""
        return len(self.layers)

    @property
    def depth(self) -> int:
        """How many layers are peeled, from the outside (0: none)."""
        return self._depth

    @property
    def ghost(self) -> bool:
        """Whether the last peeled layer stays as a ghost."""
        return self._ghost

    def set_depth(self, depth: int) -> None:
        """Peel ``depth`` layers (0 to n_layers; a ValueError outside); announced when it changes."""
        if not 0 <= int(depth) <= self.n_layers:
            raise ValueError(f"peel depth must be 0..{self.n_layers}, not {depth}")
        if int(depth) != self._depth:
            self._depth = int(depth)
            self.changed.emit(self._depth, self._ghost)

    def set_ghost(self, ghost: bool) -> None:
        """Keep the last peeled layer as a ghost or not; announced when it changes."""
        if bool(ghost) != self._ghost:
            self._ghost = bool(ghost)
            self.changed.emit(self._depth, self._ghost)

    def peel(self) -> bool:
        """Remove the next layer; False if everything is already peeled."""
        if self._depth >= self.n_layers:
            return False
        self.set_depth(self._depth + 1)
        return True

    def restore(self) -> bool:
        """Put the last peeled layer back; False if nothing is peeled."""
        if self._depth == 0:
            return False
        self.set_depth(self._depth - 1)
        return True

    def restore_all(self) -> None:
        """Put back every peeled layer."""
        self.set_depth(0)

    @property
    def top_layer(self) -> Layer | None:
        """The outermost layer still on (None when all are peeled)."""
        return self.layers[self._depth] if self._depth < self.n_layers else None

    def state_of(self, name: str) -> str:
        """``shown``, ``ghosted`` or ``hidden`` for one scene structure at the current depth."""
        index = layer_index(name, self.layers)
        if index is None or index >= self._depth:
            return SHOWN
        if self._ghost and index >= self._depth - self.ghost_layers:
            return GHOSTED
        return HIDDEN

    def states(self, names: Iterable[str]) -> dict[str, str]:
        """``shown``, ``ghosted`` or ``hidden`` for each of ``names`` at the current peel."""
        return {name: self.state_of(name) for name in names}


__all__ = [
    "GHOSTED",
    "HIDDEN",
    "SHOWN",
    "Layer",
    "PeelState",
    "assign_layers",
    "base_name",
    "layer_index",
    "load_layers",
    "structures_in_layer",
]
