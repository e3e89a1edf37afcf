"""A posed muscle that is nearly as thick as it is long (quadratus femoris) holds its volume.

Its belly bulges where it has room when squeezed and slims about its axis when stretched;
:class:`MusclePoser <viewer.anatomy.muscles.posing.MusclePoser>` carries its faces and calls
:meth:`BulgingBlock.pose` at each pose.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from viewer.anatomy.geometry import cubic_root, dot, signed_volume, vertex_normals
from viewer.types import FloatArray

BLOCK_SLIMMING = (0.4, 1.0)  # bounds of a stretched block's cross-section scale
BULGE_ROUNDS = 3  # rounds in which a squeezed block's bulge is taken back where it went into bone
BULGE_REACH_MM = 40.0  # farthest a squeezed block's surface is offset to hold its volume
BULGE_BISECTIONS = 24
BULGE_MARGIN_MM = 1.5  # how far out of bone a bulged vertex is kept
BULGE_SMOOTHING = 3  # passes of averaging of the room each vertex has to bulge (a smooth belly)


class BulgingBlock:
    """A muscle nearly as thick as it is long, whose belly bulges or slims to hold its volume.

    Quadratus femoris spans a short gap between the ischial tuberosity and the intertrochanteric crest,
    which external rotation brings to half its distance (and external rotation with adduction to under
    a third). Its faces are carried by the linear map that best fits its posed sheet
    (``MusclePoser._block_offsets``); thickened along that sheet's normal alone it would turn into a rod
    standing out behind the ischium. Instead, squeezed, its surface is inflated outward, most at
    mid-belly and not at all at the attachments (which stay on their bones), each vertex only as far as
    it has room before bone, so the volume goes behind the joint rather than into the bones that take it
    back. Stretched, its cross-section slims about its axis (a cubic in the scale, solved exactly).
    """

    def __init__(self, muscle, rows: slice) -> None:
        self.rows = np.arange(rows.start, rows.stop)
        self.faces = muscle.faces
        n_u, n_s = muscle.fibres.shape[:2]
        self.n_s = n_s
        self.station = np.tile(np.arange(n_s), 2 * n_u)
        self.profile = np.sin(np.pi * self.station / (n_s - 1))[:, None]  # 0 at the attachments, 1 mid-belly
        self.slimming = self.profile ** (1 / 3)  # a stretched belly thins nearly evenly along its length
        self.rest_volume = signed_volume(muscle.vertices, muscle.faces)
        self.rest_vertices = muscle.vertices
        self.shell_mm = np.inf  # set by the poser: how far from bone the bulge may reach
        count = len(muscle.vertices)
        self.face_share = np.bincount(self.faces.ravel(), minlength=count).astype(float)

    def _solve(self, moved: FloatArray, push: FloatArray) -> float:
        """The bulge t at which ``moved + t * push`` has the rest volume: a cubic in t, from four samples.

        Out of reach within BLOCK_SLIMMING, the end that comes closest.
        """
        samples = np.array([0.0, 1.0, 2.0, 3.0])
        volumes = [signed_volume(moved + t * push, self.faces) for t in samples]
        ends = (BLOCK_SLIMMING[0] - 1.0, BLOCK_SLIMMING[1] - 1.0)
        bulge = cubic_root(samples, volumes, self.rest_volume, ends, 0.0)
        if bulge is not None:
            return bulge
        return min(ends, key=lambda t: abs(signed_volume(moved + t * push, self.faces) - self.rest_volume))

    def _inflate(self, moved: FloatArray, axis: FloatArray, nearest_bone: Callable) -> FloatArray:
        """The squeezed block inflated (its surface offset outward, most at mid-belly) to its rest volume.

        Each vertex moves along its surface normal (across the axis) by ``t * profile``, but no farther
        than the room it has: short of the nearest bone (BULGE_MARGIN_MM) and within ``shell_mm`` of
        bone, estimated from the bone's distance field and checked after each solve. The room is smoothed
        over the surface so the belly stays smooth. The volume grows monotonically with t: bisection.
        """
        normal = vertex_normals(moved, self.faces)
        normal -= np.outer(normal @ axis, axis)
        normal /= np.sqrt(dot(normal, normal))[:, None] + 1e-12
        distance, outward = nearest_bone(moved)
        slope = np.einsum("ij,ij->i", normal, outward)  # how fast moving along the normal leaves the bone
        with np.errstate(divide="ignore"):
            room = np.where(
                slope < 0,
                np.clip(distance - BULGE_MARGIN_MM, 0.0, None) / -slope,
                np.clip(self.shell_mm - distance, 0.0, None) / np.maximum(slope, 1e-9),
            )
        room = np.minimum(room, BULGE_REACH_MM)
        profile = self.profile[:, 0]
        offset = np.zeros(len(moved))
        for _ in range(BULGE_ROUNDS):
            room = np.minimum(room, self._smooth(room))
            offset = self._offsets_for_volume(moved, normal, profile, room)
            distance, _ = nearest_bone(moved + offset[:, None] * normal)
            over = np.clip(BULGE_MARGIN_MM - distance, 0.0, None) + np.clip(distance - self.shell_mm, 0.0, None)
            if not over.any():
                break
            room = np.where(over > 0, np.clip(offset - over, 0.0, None), room)
        return moved + offset[:, None] * normal

    def _offsets_for_volume(
        self, moved: FloatArray, normal: FloatArray, profile: FloatArray, room: FloatArray
    ) -> FloatArray:
        """Per-vertex offsets min(t * profile, room) with t bisected so the block has its rest volume."""

        def volume(t: float) -> float:
            return signed_volume(moved + np.minimum(t * profile, room)[:, None] * normal, self.faces)

        low, high = 0.0, BULGE_REACH_MM
        if volume(high) <= self.rest_volume:  # out of reach: as full as the room allows
            return np.minimum(high * profile, room)
        for _ in range(BULGE_BISECTIONS):
            middle = 0.5 * (low + high)
            low, high = (middle, high) if volume(middle) < self.rest_volume else (low, middle)
        return np.minimum(high * profile, room)

    def _smooth(self, values: FloatArray) -> FloatArray:
        """A per-vertex value averaged over the faces around each vertex, a few times (no jagged edges)."""
        for _ in range(BULGE_SMOOTHING):
            per_face = values[self.faces].mean(axis=1)
            values = np.bincount(self.faces.ravel(), np.repeat(per_face, 3), minlength=len(values)) / self.face_share
        return values

    def pose(
        self, points: FloatArray, lower: FloatArray, upper: FloatArray, nearest_bone: Callable
    ) -> tuple[FloatArray, FloatArray]:
        """Deep and top faces of the block on its posed fibre ``points`` and face offsets, bulged.

        The fibres themselves are not bulged: they keep the path (and the length) the solver gave them.
        ``nearest_bone(vertices)`` gives each vertex's distance to the nearest bone and its outward
        direction: the belly bulges away from bone, not into it (the bone would take the volume back).
        """
        moved = np.concatenate([points + lower, points + upper])
        distance, outward = nearest_bone(moved)  # first out of bone, so the volume is held on what is kept
        moved += np.clip(BULGE_MARGIN_MM - distance, 0.0, None)[:, None] * outward
        centres = np.zeros((self.n_s, 3))
        np.add.at(centres, self.station, moved)
        centres /= np.bincount(self.station, minlength=self.n_s)[:, None]
        axis = centres[-1] - centres[0]
        axis /= np.linalg.norm(axis) + 1e-12
        radial = moved - centres[self.station]
        radial -= np.outer(radial @ axis, axis)
        if signed_volume(moved, self.faces) >= self.rest_volume:  # stretched: the belly slims about its axis
            push = self.slimming * radial
            moved += self._solve(moved, push) * push
        else:
            moved = self._inflate(moved, axis, nearest_bone)
        count = len(points)
        return moved[:count], moved[count:]
