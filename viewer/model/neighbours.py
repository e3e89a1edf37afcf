"""What lies over and under a structure, measured from the geometry and the layer order.

Two structures are neighbours when a real share of one's surface lies within
a few millimetres of the other's (for the skin: within the thickness of the
subcutaneous fat). Which one is "over" comes from the layer order in
``layers.json`` (skin first, bone last), so the answer agrees with how a
student peels the region. Only anatomy is listed: overlays such as the danger
zones are drawn around the nerve, not structures a hand can feel.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from viewer.model.layers import layer_index, load_layers

CONTACT_MM = 6.0
SKIN_PATCH_VERTICES = 20  # skin vertices near a structure that make it lie directly under the skin
SKIN_CONTACT_MM = 20.0  # the skin surface lies over the subcutaneous fat (about 18 mm over the buttock)
MIN_SHARE = 0.04  # of a structure's vertices near the other, to count as lying against it
ANATOMY_KINDS = ("skin", "bone", "muscle", "fascia", "nerve")  # not overlays such as danger zones


@dataclass(frozen=True)
class Neighbours:
    over: tuple[str, ...]  # structures lying over (superficial to) this one
    under: tuple[str, ...]  # structures it covers, bone included
    beside: tuple[str, ...]  # same layer, touching


class NeighbourFinder:
    """Computed lazily at anatomical position and cached: a few KD-tree queries per structure."""

    def __init__(self, model) -> None:
        self.model = model
        self.layers = load_layers()
        self._found: dict[str, Neighbours] = {}

    @cached_property
    def _trees(self):
        from scipy.spatial import cKDTree

        return {name: cKDTree(s.vertices) for name, s in self.model.structures.items() if s.kind in ANATOMY_KINDS}

    def _near(self, name: str, other: str, contact_mm: float) -> np.ndarray:
        """Which of ``name``'s vertices lie within ``contact_mm`` of ``other``'s, (n,) bool."""
        distances, _ = self._trees[other].query(self.model.structures[name].vertices, distance_upper_bound=contact_mm)
        return distances <= contact_mm

    def _touch(self, name: str, other: str, contact_mm: float) -> bool:
        """Whether two structures touch: a share of either's surface, or for the skin (whose fine mesh spans
        the whole region) a patch of its vertices, as over the iliac crest, where bone is subcutaneous."""
        near, near_other = self._near(name, other, contact_mm), self._near(other, name, contact_mm)
        if max(near.mean(), near_other.mean()) >= MIN_SHARE:
            return True
        skin_side = near if self.model.structures[name].kind == "skin" else near_other
        involves_skin = "skin" in (self.model.structures[name].kind, self.model.structures[other].kind)
        return involves_skin and int(skin_side.sum()) >= SKIN_PATCH_VERTICES

    def _contact_mm(self, name: str, other: str) -> float | None:
        """How close two structures must come to touch; None when they cannot lie directly on each other.

        The skin touches what lies under its fat; never the sciatic nerve, which muscle always covers
        (gluteus maximus in the buttock, the hamstrings, not modelled, in the thigh).
        """
        kinds = {self.model.structures[name].kind, self.model.structures[other].kind}
        if "skin" not in kinds:
            return CONTACT_MM
        return None if "nerve" in kinds else SKIN_CONTACT_MM

    def _depth(self, name: str) -> int:
        index = layer_index(name, self.layers)
        return len(self.layers) if index is None else index

    def neighbours(self, name: str) -> Neighbours:
        """Over, under and beside ``name`` at anatomical position: pose-independent, computed once per structure."""
        if name not in self._found:
            self._found[name] = self._find(name)
        return self._found[name]

    def _find(self, name: str) -> Neighbours:
        structure = self.model.structures[name]
        depth = self._depth(name)
        over, under, beside = [], [], []
        if structure.kind not in ANATOMY_KINDS:
            return Neighbours((), (), ())
        for other in self._trees:
            if other == name or (structure.side and self.model.structures[other].side not in (None, structure.side)):
                continue
            contact = self._contact_mm(name, other)
            if contact is None:
                continue
            if not self._touch(name, other, contact):
                continue
            other_depth = self._depth(other)
            (over if other_depth < depth else under if other_depth > depth else beside).append(other)
        return Neighbours(tuple(over), tuple(under), tuple(beside))
