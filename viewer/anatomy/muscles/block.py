"""A posed muscle that is nearly as thick as it is long (quadratus femoris) holds its volume.

Its belly bulges where it has room when squeezed (squeezed flat, it becomes a half-round cushion behind
the gap between its attachments) and slims about its axis when stretched;
:class:`MusclePoser <viewer.anatomy.muscles.posing.MusclePoser>` carries its faces and calls
:meth:`BulgingBlock.pose` at each pose.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from viewer.anatomy.geometry import cubic_root, dot, length, signed_volume, unit, vertex_normals
from viewer.types import FloatArray

BLOCK_SLIMMING = (0.25, 1.0)  # bounds of a stretched block's thickness scale
# A stretched block thins through its thickness (deep face to top face) and narrows across its fibres only this
# share as much: the sheet's width is held by its attachment rows. Slimmed evenly about its axis, quadratus
# femoris at flexion 90 with the knee at 90 (its fibres twice their rest length) was a 17 by 17 mm rod mid-belly,
# a thin twisted strip; so it is a band about 20 mm wide and 13 thick.
BLOCK_WIDTH_SLIMMING = 0.5
BULGE_ROUNDS = 3  # rounds in which a squeezed block's bulge is taken back where it went into bone
BULGE_REACH_MM = 40.0  # farthest a squeezed block's surface is offset to hold its volume
BULGE_BISECTIONS = 24
BULGE_MARGIN_MM = 1.5  # how far out of bone a bulged vertex is kept
BULGE_SMOOTHING = 3  # passes of averaging of the room each vertex has to bulge (a smooth belly)
# Squeezed to under CUSHION_SPANS[0] of its rest span (attachments parting, mean over its fibres) the block is
# wholly a cushion behind the gap (``_cushion``); from CUSHION_SPANS[1] down it blends from its bulged slab to that.
CUSHION_SPANS = (0.35, 0.6)
CUSHION_END_DEGREES = 55.0  # the cushion's top face leaves each attachment this far from the axis, toward the back
CUSHION_NECK_MM = 15.0  # least width of the cushion's deep face along the axis (where the attachments meet or cross)
CUSHION_SCALE = (0.5, 2.5)  # bounds of the cushion's radius as a share of the block's rest thickness
CUSHION_LIFT_ROUNDS = 6  # rounds of the smoothed lift of the cushion's deep face out of bone
CUSHION_SLOPE = 0.3  # a deep face in bone is moved back by its depth over at most this (a bone surface along the back)


def _grid_smooth(values: FloatArray, n_s: int, passes: int = 2) -> FloatArray:
    """A value per sample of a (u, s) grid (fibre-major, ``n_s`` samples a fibre) averaged with its four neighbours."""
    grid = values.reshape(-1, n_s)
    for _ in range(passes):
        padded = np.pad(grid, 1, mode="edge")
        grid = 0.5 * grid + 0.125 * (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:])
    return grid.ravel()


class BulgingBlock:
    """A muscle nearly as thick as it is long, whose belly bulges or slims to hold its volume.

    Quadratus femoris spans a short gap between the ischial tuberosity and the intertrochanteric crest,
    which external rotation brings to half its distance (and external rotation with adduction to under
    a third). Its faces are carried by the linear map that best fits its posed sheet
    (``MusclePoser._block_offsets``); thickened along that sheet's normal alone it would turn into a rod
    standing out behind the ischium. Instead, squeezed, its surface is inflated outward, most at
    mid-belly and not at all at the attachments (which stay on their bones), each vertex only as far as
    it has room before bone, so the volume goes behind the joint rather than into the bones that take it
    back. Squeezed further (external rotation with adduction brings the quadrate tubercle to the ischium, the
    attachments a few millimetres apart or even past each other) the fibres' sheet twists and turns inside out
    and no offset of it holds the volume: the block goes over to a half-round cushion behind the gap
    (``_cushion``), its deep face across the gap, its top face a half circle about it, as the squeezed muscle
    is pushed out backwards. Stretched, its cross-section slims about its axis (a cubic in the scale, solved exactly),
    through its thickness fully and across its fibres by BLOCK_WIDTH_SLIMMING of that: a flat band between its
    attachment rows.
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
        half = count // 2
        slab = muscle.vertices[half:] - muscle.vertices[:half]  # deep face to top face
        self.thickness_mm = float(np.median(length(slab)))
        self.rest_normal = unit(slab.mean(axis=0))
        chords = muscle.fibres[:, -1] - muscle.fibres[:, 0]
        axis = chords.mean(axis=0)
        self.rest_axis = unit(axis - (axis @ self.rest_normal) * self.rest_normal)
        self.rest_span = float(length(chords).mean())

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

    def _cushion(self, points: FloatArray, turn: FloatArray, nearest_bone: Callable) -> FloatArray:
        """The block squeezed flat between its attachments: a half-round cushion behind the gap, at its rest volume.

        Its deep face runs straight across the gap from each fibre's origin to its insertion (at least
        CUSHION_NECK_MM wide along the axis, so it never turns inside out where the attachments meet or cross);
        its top face is a half circle about it, leaving each attachment CUSHION_END_DEGREES behind the axis and
        passing the back of the gap at mid-belly. Axis and back are the rest ones turned half-way with the thigh
        (``turn``, its 3 x 3 rotation): defined whatever the squeezed fibres do. Where the straight deep face
        passes through bone it is moved back out of the gap (along the back, not across it into the other bone).
        The radius holds the volume.
        """
        back = unit(self.rest_normal + turn @ self.rest_normal)
        axis = self.rest_axis + turn @ self.rest_axis
        axis = unit(axis - (axis @ back) * back)
        grid = points.reshape(-1, self.n_s, 3)
        chords = grid[:, -1] - grid[:, 0]
        along = chords @ axis
        widen = (np.maximum(along, CUSHION_NECK_MM) - along)[:, None, None] * axis
        fraction = np.linspace(0.0, 1.0, self.n_s)[None, :, None]
        deep = grid[:, :1] + fraction * chords[:, None] + (fraction - 0.5) * widen
        end = np.radians(CUSHION_END_DEGREES)
        angle = end + (np.pi - 2 * end) * fraction
        spoke = (-np.cos(angle) * axis + np.sin(angle) * back) * self.thickness_mm
        deep, spoke = deep.reshape(-1, 3), np.broadcast_to(spoke, grid.shape).reshape(-1, 3)
        lift = np.zeros(len(deep))
        for _ in range(CUSHION_LIFT_ROUNDS):  # a smooth lift: the cushion's surface bends no sharper than the bone
            distance, outward = nearest_bone(deep + lift[:, None] * back)
            slope = np.maximum(outward @ back, CUSHION_SLOPE)
            lift = _grid_smooth(lift + np.clip(BULGE_MARGIN_MM - distance, 0.0, None) / slope, self.n_s)
        deep = deep + lift[:, None] * back

        def shaped(scale: float) -> FloatArray:
            return np.concatenate([deep, deep + scale * spoke])

        samples = np.array([0.5, 1.0, 1.5, 2.0])
        volumes = [signed_volume(shaped(k), self.faces) for k in samples]
        scale = cubic_root(samples, volumes, self.rest_volume, CUSHION_SCALE, 1.0)
        return shaped(1.0 if scale is None else scale)

    def _rethicken(self, moved: FloatArray) -> FloatArray:
        """The top face moved nearer to or farther from the deep face until the block has its rest volume."""
        count = len(moved) // 2
        deep, spread = moved[:count], moved[count:] - moved[:count]
        samples = np.array([0.8, 1.0, 1.2, 1.4])
        volumes = [signed_volume(np.concatenate([deep, deep + k * spread]), self.faces) for k in samples]
        scale = cubic_root(samples, volumes, self.rest_volume, CUSHION_SCALE, 1.0)
        return moved if scale is None else np.concatenate([deep, deep + scale * spread])

    def cushioning(self, points: FloatArray) -> float:
        """How far the block has gone over to its cushion: 0 down to CUSHION_SPANS[1] of its rest span, 1 below [0]."""
        grid = points.reshape(-1, self.n_s, 3)
        span = float(length(grid[:, -1] - grid[:, 0]).mean()) / self.rest_span
        low, high = CUSHION_SPANS
        t = float(np.clip((high - span) / (high - low), 0.0, 1.0))
        return t * t * (3 - 2 * t)

    def pose(
        self, points: FloatArray, lower: FloatArray, upper: FloatArray, nearest_bone: Callable, turn: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Deep and top faces of the block on its posed fibre ``points`` and face offsets, bulged.

        The fibres themselves are not bulged: they keep the path (and the length) the solver gave them.
        ``nearest_bone(vertices)`` gives each vertex's distance to the nearest bone and its outward
        direction: the belly bulges away from bone, not into it (the bone would take the volume back).
        ``turn`` is the (3, 3) rotation of the thigh that carries the insertion.
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
            count = len(points)
            through = np.tile(unit(moved[count:] - moved[:count]), (2, 1))  # each sample's thickness direction
            thinning = dot(radial, through)[:, None] * through
            push = self.slimming * (thinning + BLOCK_WIDTH_SLIMMING * (radial - thinning))
            moved += self._solve(moved, push) * push
        else:
            moved = self._inflate(moved, axis, nearest_bone)
        cushioning = self.cushioning(points)
        if cushioning > 0:  # (a sheet twisted inside out may read as stretched)
            moved += cushioning * (self._cushion(points, turn, nearest_bone) - moved)
            distance, outward = nearest_bone(moved)
            moved += np.clip(BULGE_MARGIN_MM - distance, 0.0, None)[:, None] * outward
            moved = self._rethicken(moved)  # the blend of two shapes at their volume is not quite at it
        count = len(points)
        return moved[:count], moved[count:]
