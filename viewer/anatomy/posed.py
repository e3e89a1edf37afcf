"""What a deformer returns for one structure at a pose, and what a deformer is (numpy only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from viewer.anatomy.kinematics import LegPose
from viewer.types import FloatArray

if TYPE_CHECKING:
    from viewer.anatomy.nerve import NerveGeometry


@dataclass
class PosedShape:
    """One deformable structure at a pose: same vertex count and order as its rest mesh (faces unchanged).

    Attributes
    ----------
    vertices : (n, 3) float array
    fibres : (n_fibres, n_samples, 3) float array or None
        Deep-face fibre paths, used for lengths (muscles).
    outer_fibres : (n_fibres, n_samples, 3) float array or None
        Fibre paths on the superficial face, drawn (muscles).
    centreline : (m, 3) float array or None
        The course of a nerve.
    """

    vertices: FloatArray
    fibres: FloatArray | None = None
    outer_fibres: FloatArray | None = None
    centreline: FloatArray | None = None


@dataclass
class PosedNerve:
    """A nerve at a pose: its geometry (for distances and zones), its tube and its course per branch.

    Attributes
    ----------
    geometry : NerveGeometry
        The nerve as built (anatomical position), with what posing and measuring it needs.
    vertices : (n, 3) float array
        The posed tube.
    centrelines : list of (m_k, 3) float arrays
        The posed course of each branch.
    """

    geometry: NerveGeometry
    vertices: FloatArray
    centrelines: list[FloatArray]


class Deformer(Protocol):
    """Re-shapes some structures for a pose."""

    def pose(
        self, transforms: Mapping[str, FloatArray], poses: Mapping[str, LegPose] | None = None
    ) -> Mapping[str, PosedShape]:
        """Structures at the pose given by 4x4 segment ``transforms`` (``thigh_<side>``, ``shank_<side>``).

        ``poses`` are the joint angles those transforms were made from, by side (a deformer that needs the
        angles reads them here rather than recovering them from the matrices).
        """
        ...


__all__ = ["Deformer", "PosedNerve", "PosedShape"]
