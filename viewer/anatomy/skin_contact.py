"""Where the thighs meet: each thigh's medial skin flattened against the other's.

Blend skinning moves each leg's skin rigidly with its femur, so a thigh adducted across the other (external rotation
with adduction: the legs crossed) passed straight through the standing one: about a thousand pairs of the skin's
triangles crossed each other at the inner thighs, the perineum and the knees. Soft tissue does not pass through soft
tissue: where two thighs press together both flatten against each other along a surface between them.

That surface is taken midway between the two legs' axes (each leg's is the polyline from the femoral head's centre
to the knee's and on down the shank): the points equally far from both. After skinning, each leg's skin vertex that
lies nearer the other leg's axis than its own (beyond the midway surface) and within the other leg (nearer its axis
than the vertex itself lay from its own at rest: the legs are mirror images) is put back on it, :data:`CONTACT_GAP_MM`
on its own side: moved, a few times over, onto the plane midway between the nearest points of the two axes (the
skin just short of that level, within :data:`SOFT_MM`, eased onto it, so the patch's edge has no teeth). The
press is spread over the skin around (:data:`SPREAD_PASSES` umbrella passes), which gives way with it a little less,
so the flattened patch rounds off into the thigh instead of ending in a step. Each thigh then ends flat against the
other, the two patches a hair apart, as a viewer of an atlas expects of two thighs pressed together; measured at
external rotation with adduction (``bench/bench_skin_crossings.py``), the crossing pairs fell from 1035 to 370
(female) and 962 to 370 (male), none and 5 of them left along the inner thighs.

Only skin that its own leg carries (:data:`CARRIED_WEIGHT`, fading in over :data:`CARRIED_FADE`) is pressed: the
perineum's, which the pelvis holds, stays. Nor is skin that lies behind either thigh's start (its nearest point on
the own or the other leg's axis is the hip's centre, the end of the axis): there the midway surface does not part
two thighs but two cheeks, and the flexed leg's cheek met the other's at the bottom of the natal cleft (at flexion 120
16 vertices of the female skin there were moved by up to 5.7 mm); the press fades in over :data:`HIP_FADE_MM` down
both thighs from their hips. A vertex whose rest position already lies nearer the other axis (the
crotch, where the thighs touch at rest) keeps that rest margin: in anatomical position nothing moves. To stay cheap
on every frame, each leg's axis is cut into stations with the skin's largest distance from the axis in each sector
round it; only the skin of stations that come near enough to the other leg's to touch is looked at.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from viewer.anatomy.bones import SIDES
from viewer.anatomy.nerve_mesh import closest_on_polyline
from viewer.types import FloatArray, IntArray

CONTACT_GAP_MM = 1.0  # each leg's pressed skin is kept this far on its own side of the surface midway between legs
SHANK_AXIS_MM = 250.0  # each leg's axis runs on this far down the shank from the knee (the skin ends above that)
CARRIED_WEIGHT = 0.1  # skin its own leg carries less than this is never pressed (the pelvis holds it) ...
CARRIED_FADE = 0.2  # ... and pressed fully from this much more weight on
HIP_FADE_MM = 20.0  # the press fades in over this far down both thighs' axes from the hips (not on the buttocks)
SOFT_MM = 10.0  # skin within this of the pressed level is eased onto it (the patch's edge rounds off, no teeth)
SPREAD_PASSES = 4  # umbrella passes that spread the press over the skin around the contact
PRESS_ROUNDS = 3  # rounds of pressing onto the plane midway between the axes' nearest points
STATION_MM = 40.0  # each leg's axis is looked at in stations this long ...
SECTORS = 12  # ... and sectors round it, each with the skin's largest distance from the axis there
FACING_SECTORS = 2  # a station's skin is looked at this many sectors either side of the one facing the other leg


def nearest_on_polyline(points: FloatArray, polyline: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(distance (n,), nearest point (n, 3)) from each of ``points`` (n, 3) to ``polyline`` (k, 3): what
    :func:`~viewer.anatomy.nerve_mesh.closest_on_polyline` returns, without the position along the polyline."""
    distance, _, nearest = closest_on_polyline(points, polyline)
    return distance, nearest


class ThighContact:
    """Presses each leg's skin against the other leg's along the surface midway between their axes.

    Each leg's axis is cut into stations :data:`STATION_MM` long, each with the largest distance of the leg's skin
    from the axis there; a pose looks only at the skin of the stations that come near enough to the other leg's to
    touch (none, mostly: the legs apart, a few at the crotch).

    Parameters
    ----------
    rest : (n, 3) array
        The rest skin (pelvis frame, mm; Z to the right).
    faces : (f, 3) int array
        Its triangles (the press is spread over the neighbouring skin along them).
    weights : dict segment -> (n,) array
        Its skinning weights (``thigh_right``, ``shank_right``, ...).
    landmarks : dict
        The atlas landmarks (femoral heads' centres, epicondyles) the legs' axes are made from.
    """

    def __init__(
        self,
        rest: FloatArray,
        faces: IntArray,
        weights: Mapping[str, FloatArray],
        landmarks: Mapping[str, FloatArray],
    ):
        from viewer.anatomy.body_skin import edge_table, umbrella_operator
        from viewer.anatomy.kinematics import joint_centres

        rest = np.asarray(rest, float)
        umbrella = umbrella_operator(edge_table(np.asarray(faces))[0], len(rest))
        self.axes: dict[str, FloatArray] = {}  # side -> (3, 3): hip, knee, a point down the shank, at rest
        for side in SIDES:
            hip, knee = joint_centres(dict(landmarks), side)
            down = (knee - hip) / np.linalg.norm(knee - hip)
            self.axes[side] = np.array([hip, knee, knee + SHANK_AXIS_MM * down])
        self.rows: dict[str, IntArray] = {}  # side -> skin vertices that leg carries below its hip
        self.station: dict[str, IntArray] = {}  # side -> each row's station along the leg's axis
        self.press: dict[str, FloatArray] = {}  # side -> how fully each row is pressed (0..1)
        self.margin: dict[str, FloatArray] = {}  # side -> the least (other - own) axis distance each row keeps
        self.reach: dict[str, FloatArray] = {}  # side -> nearer the other axis than this, a row is in that leg
        self.centres: dict[str, FloatArray] = {}  # side -> (k, 3) stations' centres on the axis, at rest
        self.on_shank: dict[str, np.ndarray] = {}  # side -> (k,) bool: the station lies below the knee
        self.radius: dict[str, FloatArray] = {}  # side -> (k, SECTORS) the skin's largest distance from the axis there
        self.sector: dict[str, IntArray] = {}  # side -> each row's sector round the axis
        self.umbrella: dict = {}  # side -> (m, m) sparse umbrella smoothing pass over the rows
        for side in SIDES:
            other = next(s for s in SIDES if s != side)
            carried = np.asarray(weights[f"thigh_{side}"], float) + np.asarray(weights[f"shank_{side}"], float)
            own_side = (rest[:, 2] * np.sign(self.axes[side][0, 2]) > 0.0) | (carried > 0.5)
            rows = np.flatnonzero(own_side & (carried >= CARRIED_WEIGHT) & (rest[:, 1] < self.axes[side][0, 1]))
            x = np.clip((carried[rows] - CARRIED_WEIGHT) / CARRIED_FADE, 0.0, 1.0)
            own, foot = nearest_on_polyline(rest[rows], self.axes[side])
            far, _ = nearest_on_polyline(rest[rows], self.axes[other])
            thigh_mm = np.linalg.norm(self.axes[side][1] - self.axes[side][0])
            along = np.linalg.norm(foot - self.axes[side][0], axis=1)
            below = foot[:, 1] < self.axes[side][1, 1] - 1e-6
            along[below] = thigh_mm + np.linalg.norm(foot[below] - self.axes[side][1], axis=1)
            station = (along // STATION_MM).astype(int)
            count = station.max() + 1
            at = (np.arange(count) + 0.5) * STATION_MM
            direction = np.diff(self.axes[side], axis=0)
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            shank = at > thigh_mm
            centres = self.axes[side][0] + at[:, None] * direction[0]
            centres[shank] = self.axes[side][1] + (at[shank] - thigh_mm)[:, None] * direction[1]
            sector = self._sectors(rest[rows] - foot, side, station, count)
            radius = np.zeros((count, SECTORS))
            np.maximum.at(radius, (station, sector), own)
            self.rows[side], self.station[side], self.press[side] = rows, station, x * x * (3.0 - 2.0 * x)
            self.margin[side] = np.minimum(far - own, 2.0 * CONTACT_GAP_MM)
            self.reach[side] = own - 2.0 * CONTACT_GAP_MM  # mirrored, the other leg's skin lies about as far out
            self.centres[side], self.on_shank[side], self.radius[side] = centres, shank, radius
            self.sector[side] = sector
            self.umbrella[side] = umbrella[rows][:, rows].tocsr()  # the spread stays on the leg's own skin

    def _sectors(self, outward: FloatArray, side: str, station: IntArray, count: int) -> IntArray:
        """Which of :data:`SECTORS` equal sectors round its leg's axis (rest frame) each (m, 3) ``outward`` points to
        from the axis at its ``station`` (m,)."""
        direction = np.diff(self.axes[side], axis=0)
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        thigh_mm = np.linalg.norm(self.axes[side][1] - self.axes[side][0])
        along = direction[((station + 0.5) * STATION_MM > thigh_mm).astype(int)]  # (m, 3) the axis there
        first = np.cross(along, [0.0, 0.0, 1.0])  # anterior (X) for a vertical axis
        first /= np.linalg.norm(first, axis=1, keepdims=True)
        second = np.cross(along, first)
        angle = np.arctan2(np.einsum("ij,ij->i", outward, second), np.einsum("ij,ij->i", outward, first))
        return np.floor((angle + np.pi) / (2.0 * np.pi) * SECTORS).astype(int) % SECTORS

    @staticmethod
    def _carried(points: FloatArray, thigh: FloatArray, shank: FloatArray, on_shank: np.ndarray) -> FloatArray:
        moved = points @ thigh[:3, :3].T + thigh[:3, 3]
        moved[on_shank] = points[on_shank] @ shank[:3, :3].T + shank[:3, 3]
        return moved

    def posed_axes(self, transforms: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
        """Each leg's axis (3, 3) carried by its thigh (hip, knee) and shank (the point below the knee)."""
        posed = {}
        for side, axis in self.axes.items():
            thigh = transforms.get(f"thigh_{side}", np.eye(4))
            shank = transforms.get(f"shank_{side}", thigh)
            posed[side] = self._carried(axis, thigh, shank, np.array([False, False, True]))
        return posed

    @staticmethod
    def _below_hips(points: FloatArray, own: FloatArray, other: FloatArray) -> FloatArray:
        """(m,) 0..1: how far the (m, 3) ``points`` lie down both posed thighs' axes (``own`` and ``other``, (3, 3)
        each) from the hips, past :data:`HIP_FADE_MM` fully (smoothstep); 0 behind either thigh's start (buttock)."""
        least = np.full(len(points), np.inf)
        for axis in (own, other):
            down = (axis[1] - axis[0]) / np.linalg.norm(axis[1] - axis[0])
            least = np.minimum(least, (points - axis[0]) @ down)
        x = np.clip(least / HIP_FADE_MM, 0.0, 1.0)
        return x * x * (3.0 - 2.0 * x)

    def touching(self, transforms: Mapping[str, FloatArray]) -> dict[str, np.ndarray]:
        """side -> (k, SECTORS) bool: the stations of that leg near enough to the other leg's to touch at the pose,
        in the sectors that face it (:data:`FACING_SECTORS` either side of the direction to the other's station)."""
        centres, turns = {}, {}
        for side in SIDES:
            thigh = transforms.get(f"thigh_{side}", np.eye(4))
            shank = transforms.get(f"shank_{side}", thigh)
            centres[side] = self._carried(self.centres[side], thigh, shank, self.on_shank[side])
            turns[side] = np.where(self.on_shank[side][:, None, None], shank[None, :3, :3], thigh[None, :3, :3])
        right, left = SIDES
        towards = centres[left][None] - centres[right][:, None]  # (k_right, k_left, 3) from each right station
        apart = np.linalg.norm(towards, axis=2)
        reach, facing = {}, {}
        for side, outward, index in ((right, towards, 0), (left, -towards, 1)):
            count = len(self.centres[side])
            station = np.broadcast_to(np.arange(count)[:, None] if index == 0 else np.arange(count)[None], apart.shape)
            rest_frame = np.einsum("sji,s...j->s...i", turns[side], outward if index == 0 else outward.swapaxes(0, 1))
            rest_frame = rest_frame if index == 0 else rest_frame.swapaxes(0, 1)
            sector = self._sectors(rest_frame.reshape(-1, 3), side, station.ravel(), count).reshape(apart.shape)
            reach[side], facing[side] = self.radius[side][station, sector], (station, sector)
        near = apart < reach[right] + reach[left] + STATION_MM
        masks = {}
        for side in SIDES:
            station, sector = (index[near] for index in facing[side])
            mask = np.zeros((len(self.centres[side]), SECTORS), dtype=bool)
            for turn in range(-FACING_SECTORS, FACING_SECTORS + 1):
                mask[station, (sector + turn) % SECTORS] = True
            masks[side] = mask
        return masks

    def apply(self, vertices: FloatArray, transforms: Mapping[str, FloatArray]) -> FloatArray:
        """The posed skin (n, 3) with each leg's skin that crossed the midway surface pressed back onto it.

        ``vertices`` is changed in place and returned; ``transforms`` are the segments' (``thigh_right``, ...).
        """
        facing = self.touching(transforms)
        if not any(mask.any() for mask in facing.values()):
            return vertices
        axes = self.posed_axes(transforms)
        for side in SIDES:
            other = next(s for s in SIDES if s != side)
            near = np.flatnonzero(facing[side][self.station[side], self.sector[side]])
            rows = self.rows[side][near]
            points = vertices[rows]
            own, own_foot = nearest_on_polyline(points, axes[side])
            far, far_foot = nearest_on_polyline(points, axes[other])
            thighs = self._below_hips(points, axes[side], axes[other])
            crossed = (far - own < self.margin[side][near] + 2.0 * SOFT_MM) & (far < self.reach[side][near])
            crossed &= thighs > 0.0
            if not crossed.any():
                continue
            margin, thighs = self.margin[side][near[crossed]], thighs[crossed]
            points, own_foot, far_foot = points[crossed], own_foot[crossed], far_foot[crossed]
            start, target = points, None
            for step in range(PRESS_ROUNDS):  # onto the plane midway between the two nearest points of the axes
                if step:
                    _, own_foot = nearest_on_polyline(points, axes[side])
                    _, far_foot = nearest_on_polyline(points, axes[other])
                normal = own_foot - far_foot
                apart = np.linalg.norm(normal, axis=1)
                normal /= np.maximum(apart, 1e-9)[:, None]
                beyond = np.einsum("ij,ij->i", points - 0.5 * (own_foot + far_foot), normal)
                if target is None:  # the plane, with the skin just short of it eased onto it (no step at the edge)
                    ease = np.clip(beyond - 0.5 * margin + SOFT_MM, 0.0, 2.0 * SOFT_MM)
                    target = np.maximum(beyond, 0.5 * margin + ease * ease / (4.0 * SOFT_MM))
                lack = np.where(apart > 1.0, np.maximum(target - beyond, 0.0), 0.0)
                points = points + lack[:, None] * normal
            pressed = near[crossed]
            press = np.zeros((len(self.rows[side]), 3))
            press[pressed] = thighs[:, None] * (points - start)
            spread = press
            for _ in range(SPREAD_PASSES):  # the pressed skin's neighbours give way with it, a little less
                spread = self.umbrella[side] @ spread
            spread[pressed] = press[pressed]
            vertices[self.rows[side]] += self.press[side][:, None] * spread
        return vertices


__all__ = ["CONTACT_GAP_MM", "ThighContact", "nearest_on_polyline"]
