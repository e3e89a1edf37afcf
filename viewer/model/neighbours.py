"""What lies over and under a structure, measured from the geometry and the layer order.

Two structures are neighbours when a real share of one's surface lies within
a few millimetres of the other's. Which one is "over" comes from the layer
order in ``layers.json`` (skin first, bone last), so the answer agrees with
how a student peels the region.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from viewer.model.layers import layer_index, load_layers

CONTACT_MM = 6.0
MIN_SHARE = 0.04  # of a structure's vertices near the other, to count as lying against it


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

    @cached_property
    def _trees(self):
        from scipy.spatial import cKDTree

        return {name: cKDTree(s.vertices) for name, s in self.model.structures.items()}

    def _share_near(self, name: str, other: str) -> float:
        """Share of ``name``'s vertices within contact distance of ``other``'s."""
        distances, _ = self._trees[other].query(self.model.structures[name].vertices, distance_upper_bound=CONTACT_MM)
        return float((distances <= CONTACT_MM).mean())

    def _depth(self, name: str) -> int:
        index = layer_index(name, self.layers)
        return len(self.layers) if index is None else index

    def neighbours(self, name: str) -> Neighbours:
        structure = self.model.structures[name]
        depth = self._depth(name)
        over, under, beside = [], [], []
        for other in self._trees:
            if other == name or (structure.side and self.model.structures[other].side not in (None, structure.side)):
                continue
            if max(self._share_near(name, other), self._share_near(other, name)) < MIN_SHARE:
                continue
            other_depth = self._depth(other)
            (over if other_depth < depth else under if other_depth > depth else beside).append(other)
        return Neighbours(tuple(over), tuple(under), tuple(beside))
