"""Muscles replayed from a pose space baked by the solver: a few milliseconds a pose, whatever came before.

The solver (:class:`~viewer.anatomy.muscles.MusclePoser`) re-routes every fibre around the bones,
thickens the bellies and holds the volumes. That takes tens of milliseconds, and its warm start makes
a pose reached by a sweep differ a little from the same pose reached by a jump. Its shapes depend only
on each leg's hip angles, so they are baked once on a grid over the joint ranges, every node reached
by a jump from anatomical position, and stored as corrections to linear blend skinning (LBS),
compressed per muscle by principal components. Posing is then LBS of the rest shape plus the correction
interpolated between the eight surrounding grid nodes (trilinear weights on the component scores).
The gemelli, which the solver poses as rods of rigid cross-sections, and the tensor fasciae latae, a spindle
rod whose sections also shorten and swell, are rebuilt from their sections' interpolated centres, rotations,
swellings and thickenings first, and take only what is left as components (:mod:`viewer.anatomy.pose_rods`).
Knee flexion acts through the skinning alone: it moves only the distal iliotibial band, which rides
with the shank.

The table ships in ``assets/meshes/muscle_pose_space.npz``, baked by ``python -m viewer.tools.bake_poses``
(:mod:`viewer.tools.bake_poses`); this module only reads and replays it. Its key hashes everything the bake
read, so a changed muscle or bone is never replayed from a stale table.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from viewer.anatomy.bones import SIDES, Surface, load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import ClosedVolumes, signed_volume
from viewer.anatomy.kinematics import JOINT_RANGES, LegPose, leg_pose_from_transforms
from viewer.anatomy.leg_memo import LegMemo
from viewer.anatomy.muscles import MuscleGeometry, PosedMuscle
from viewer.anatomy.muscles.cache import build_key
from viewer.anatomy.muscles.pose_grids import PackedGrid, load_pose_grids
from viewer.anatomy.muscles.posing import BLOCKS, SOLVER_VERSION, VERTEX_CLEARANCE_MM, blend_weights
from viewer.anatomy.pose_rods import ROD_PARTS, ROD_RMS_MM, RodReplay
from viewer.cache import UNREADABLE_ERRORS, content_key, read_arrays
from viewer.paths import meshes_dir
from viewer.types import FloatArray, IntArray

POSE_SPACE_FILE = "muscle_pose_space.npz"
HIP_GRID_STEPS = {"hip_flexion": 10.0, "hip_abduction": 7.5, "hip_rotation": 7.5}  # degrees between grid nodes
COMPONENT_BUDGET = 150_000  # multiply-adds per muscle and pose: small muscles may keep more components
COMPONENT_RANGE = (32, 128)  # principal components kept per muscle, at most (within the budget)
COMPONENT_RMS_MM = 0.2  # ... and no more than it takes for this root-mean-square error over the grid
GUARD_MM = 2.5  # surface vertices that came this near a bone at any grid node are kept out of the bones
# A face sample lifted out of a bone lifts its neighbours along its fibre on the same face too, by a share halving
# with each of this many samples: lifted alone (up to 3 mm, obturator internus' tendon beside the femur, where the
# table misses the solved shape between nodes), it kinked the form bound to its cells (single edges folding 144
# degrees in the frog position; 87 so, spread 2 or 3 samples; 90 spread one sample, 80 spread across the fibres too, which folded more of
# it at flexion 90 with abduction and rotation 45: 1.03% of its edges over 40 degrees, 0.92% so)
LIFT_REACH = 2
HELD_RATIO = (0.5, 2.0)  # how far replaying may thicken or thin a muscle to hold its volume
SETTLE_PROBE = 1.1  # thickening used to measure a live-held muscle's volume response
KNEE_STEP = 10.0  # degrees between the knee nodes (solved with the hip neutral)
_VERSION = "pose-space-9"  # bump when the bake or the stored layout changes
_EYE4 = np.eye(4)
log = logging.getLogger(__name__)


def grid_axes() -> list[FloatArray]:
    """Node angles (degrees) along flexion, abduction and rotation: three (n_axis,) arrays, each range end to end."""
    axes = []
    for name, step in HIP_GRID_STEPS.items():
        low, high = JOINT_RANGES[name]
        axes.append(np.linspace(low, high, round((high - low) / step) + 1))
    return axes


def knee_axis() -> FloatArray:
    """Knee flexion nodes (degrees), (n_knee,), every KNEE_STEP over the joint range end to end."""
    low, high = JOINT_RANGES["knee_flexion"]
    return np.linspace(low, high, round((high - low) / KNEE_STEP) + 1)


def pose_space_key(bones: dict[str, Surface], landmarks: dict[str, FloatArray]) -> str:
    """Key of a bake: the muscle build inputs, the solver and bake format versions, the grid and the layout."""
    return content_key(
        build_key(bones, landmarks),
        SOLVER_VERSION,
        _VERSION,
        sorted(HIP_GRID_STEPS.items()),
        [COMPONENT_BUDGET, list(COMPONENT_RANGE), COMPONENT_RMS_MM, KNEE_STEP, ROD_RMS_MM, list(ROD_PARTS)],
    )


def shape_rows(vertices: FloatArray, fibres: FloatArray) -> FloatArray:
    """The points baked for one muscle: both faces of its surface, then its fibre samples.

    (n_vertices, 3) and (n_fibres, n_samples, 3) -> (n_vertices + n_fibres * n_samples, 3).
    """
    return np.concatenate([vertices, fibres.reshape(-1, 3)])


class Skinning:
    """Linear blend skinning of every baked point of one side.

    Parameters
    ----------
    rest : (n_points, 3) array
        The side's baked points in anatomical position (:func:`side_layout`).
    weights : (n_points, 3) array
        Pelvis, thigh and shank blend weights per point.
    """

    def __init__(self, rest: FloatArray, weights: FloatArray) -> None:
        self.rest = rest
        self.thigh, self.shank = weights[:, 1:2], weights[:, 2:3]
        self.shank_rows = np.flatnonzero(weights[:, 2] > 0)

    def apply(self, thigh: FloatArray, shank: FloatArray) -> FloatArray:
        """The (n_points, 3) points skinned by the (4, 4) thigh and shank transforms."""
        moved = self.rest + self.thigh * (self.rest @ (thigh[:3, :3] - np.eye(3)).T + thigh[:3, 3])
        if len(self.shank_rows):
            rows = self.shank_rows
            rest = self.rest[rows]
            moved[rows] += self.shank[rows] * (rest @ (shank[:3, :3] - thigh[:3, :3]).T + shank[:3, 3] - thigh[:3, 3])
        return moved


def side_layout(muscles: dict[str, MuscleGeometry], side: str) -> tuple[list[str], FloatArray, FloatArray]:
    """Names of one side's muscles, their baked rest points (n_points, 3) concatenated and blend weights (n_points, 3)."""
    names = [n for n, m in muscles.items() if m.side == side]
    rest, weights = [], []
    for name in names:
        muscle = muscles[name]
        rest.append(shape_rows(muscle.vertices, muscle.fibres))
        weights.append(np.tile(blend_weights(muscle), (3, 1)))
    return names, np.concatenate(rest), np.concatenate(weights)


def _trilinear(axes: list[FloatArray], angles: tuple[float, float, float]) -> tuple[np.ndarray, FloatArray]:
    """Flat indices of the eight grid nodes around ``angles`` and their weights."""
    lows, fractions = [], []
    for axis, value in zip(axes, angles, strict=True):
        position = min(max((value - axis[0]) / (axis[1] - axis[0]), 0.0), len(axis) - 1.0)  # (np.clip: 10 us)
        low = min(int(position), len(axis) - 2)
        lows.append(low)
        fractions.append(position - low)
    sizes = [len(a) for a in axes]
    corners = np.array([[(c >> bit) & 1 for bit in range(3)] for c in range(8)])  # (8, 3) offsets 0/1
    index = np.ravel_multi_index(tuple((np.array(lows) + corners).T), sizes)
    fraction = np.array(fractions)
    weight = np.prod(np.where(corners == 1, fraction, 1.0 - fraction), axis=1)
    return index, weight


class _Block:
    """One muscle's rows in its side's array and its compressed corrections."""

    def __init__(self, name: str, rows: slice, arrays: dict[str, FloatArray]) -> None:
        self.name, self.rows = name, rows
        self.mean = np.asarray(arrays[f"{name}__mean"], np.float32)
        self.basis = np.asarray(arrays[f"{name}__basis"], np.float32)
        self.scores = np.asarray(arrays[f"{name}__scores"], np.float32)
        self.knee = np.asarray(arrays[f"{name}__knee"], np.float32) if f"{name}__knee" in arrays else None


class _Corrections:
    """One side's compressed corrections, laid out so a pose costs one gather and one product per muscle."""

    def __init__(self, blocks: list[_Block]) -> None:
        self.mean = np.concatenate([b.mean for b in blocks])
        self.scores = np.concatenate([b.scores for b in blocks], axis=1)  # (nodes, all components)
        self.products, self.knees = [], []
        component = 0
        for block in blocks:
            columns = slice(3 * block.rows.start, 3 * block.rows.stop)
            count = len(block.basis)
            self.products.append((slice(component, component + count), columns, block.basis))
            component += count
            if block.knee is not None:
                self.knees.append((columns, block.knee))

    def interpolate(self, index: np.ndarray, weight: FloatArray) -> FloatArray:
        """Flat (x, y, z per row) correction at the pose between the nodes ``index`` weighted by ``weight``."""
        scores = weight.astype(np.float32) @ self.scores[index]
        flat = np.empty_like(self.mean)
        for components, columns, basis in self.products:
            np.dot(scores[components], basis, out=flat[columns])
        flat += self.mean
        return flat


class PoseSpace:
    """Poses every muscle of both sides from the baked table (the scene's ``muscles`` deformer).

    Between grid nodes the interpolated shape can graze a bone the solved nodes cleared, so the
    surface vertices that came near a bone anywhere in the bake are lifted out of it, as the solver does.
    """

    def __init__(
        self, muscles: dict[str, MuscleGeometry], arrays: dict[str, FloatArray], grids: dict[str, PackedGrid]
    ) -> None:
        self.rest = muscles
        self.grids = grids
        self.axes = [np.asarray(arrays[f"axis_{k}"], float) for k in range(3)]
        self.knee_axis = np.asarray(arrays["knee_axis"], float)
        self.latest: LegMemo[dict[str, PosedMuscle]] = LegMemo()  # by side: a leg posed as last time, its muscles
        self.sides = {}
        self.neighbours: dict[str, IntArray] = {}  # by side: each face sample's neighbours along its fibre
        for side in SIDES:
            names, rest, weights = side_layout(muscles, side)
            blocks, start = [], 0
            guards: dict[str, list] = {bone: [] for bone in OBSTACLES}
            for name in names:
                count = len(muscles[name].vertices) // 2  # samples; rows: deep face, top face, fibres
                blocks.append(_Block(name, slice(start, start + 3 * count), arrays))
                for bone in OBSTACLES:
                    guard = np.flatnonzero(np.asarray(arrays[f"{name}__nearest_{bone}"], float) < GUARD_MM)
                    guards[bone].append((start + guard, np.where(guard < count, start + guard + count, -1)))
                start += 3 * count
            guarded = {
                bone: tuple(np.concatenate(part) for part in zip(*lists, strict=True)) for bone, lists in guards.items()
            }
            volumes = _VolumeHold(blocks, arrays, muscles)
            rods = RodReplay(muscles, names, arrays)
            self.sides[side] = (Skinning(rest, weights), blocks, guarded, volumes, _Corrections(blocks), rods)
            self.neighbours[side] = fibre_neighbours(muscles, names, start)

    def pose(
        self, transforms: dict[str, FloatArray], poses: dict[str, LegPose] | None = None
    ) -> dict[str, PosedMuscle]:
        """All muscles at the pose given by ``thigh_<side>`` and ``shank_<side>`` 4x4 transforms (pelvis frame).

        The table is looked up by joint angle: ``poses`` gives them by side; without it they are recovered from
        the transforms. A leg posed as in the previous call gets the very same muscles back (nothing is
        recomputed, and the form deformer recognises the arrays), so moving one leg costs one leg.
        """
        pelvis = np.asarray(transforms.get("pelvis", _EYE4), float)
        moved_pelvis = bool(np.abs(pelvis - _EYE4).max() > 1e-12)
        inverse = np.linalg.inv(pelvis) if moved_pelvis else _EYE4
        posed: dict[str, PosedMuscle] = {}
        for side, (skinning, blocks, guarded, volumes, corrections, rods) in self.sides.items():
            thigh = inverse @ np.asarray(transforms.get(f"thigh_{side}", _EYE4), float)
            shank = inverse @ np.asarray(transforms.get(f"shank_{side}", _EYE4), float)
            inputs = (thigh, shank, pelvis, poses.get(side) if poses else None)
            if self.latest.holds(side, inputs):  # this leg did not move: the very same shapes
                posed.update(self.latest.last(side))
                continue
            if np.abs(thigh - _EYE4).max() < 1e-12 and np.abs(shank - _EYE4).max() < 1e-12:
                points = skinning.rest  # anatomical position: the rest geometry itself
            else:
                points = skinning.apply(thigh, shank)
                angles = poses[side] if poses and side in poses else leg_pose_from_transforms(thigh, shank, side)
                index, weight = _trilinear(self.axes, (angles.hip_flexion, angles.hip_abduction, angles.hip_rotation))
                rods.place(points, index, weight)
                self._correct(points, corrections, index, weight, angles.knee_flexion, thigh)
                volumes.hold(points, index, weight)
                self._clear(points, guarded, side, thigh, shank)
                volumes.settle(points)
            if moved_pelvis:
                points = points @ pelvis[:3, :3].T + pelvis[:3, 3]
            leg = {}
            for block in blocks:
                shape = points[block.rows]
                fibre_shape = self.rest[block.name].fibres.shape
                count = fibre_shape[0] * fibre_shape[1]
                leg[block.name] = PosedMuscle(
                    shape[: 2 * count],
                    shape[2 * count :].reshape(fibre_shape),
                    shape[count : 2 * count].reshape(fibre_shape),
                )
            self.latest.store(side, inputs, leg)
            posed.update(leg)
        return posed

    def _correct(
        self,
        points: FloatArray,
        corrections: _Corrections,
        index: np.ndarray,
        weight: FloatArray,
        knee_flexion: float,
        thigh: FloatArray,
    ) -> None:
        """Add every muscle's interpolated correction (and, for what rides with the shank, the knee's)."""
        flat = corrections.interpolate(index, weight)
        if knee_flexion > 0:
            position = float(np.interp(knee_flexion, self.knee_axis, np.arange(len(self.knee_axis))))
            low = min(int(position), len(self.knee_axis) - 2)
            fraction = position - low
            for columns, knee in corrections.knees:
                bent = ((1 - fraction) * knee[low] + fraction * knee[low + 1]).reshape(-1, 3) @ thigh[:3, :3].T
                flat[columns] += bent.ravel()
        points += flat.reshape(-1, 3)

    def _clear(self, points: FloatArray, guarded: dict, side: str, thigh: FloatArray, shank: FloatArray) -> None:
        """Lift the vertices guarded for each bone at least VERTEX_CLEARANCE_MM out of it (a deep face lifts its top),
        their neighbours along the fibre by a share halving over LIFT_REACH samples (:func:`spread_lifts`)."""
        for bone, (grid, matrix) in obstacles(self.grids, side, thigh, shank).items():
            guard, partner = guarded[bone]
            if not len(guard):
                continue
            rotation = matrix[:3, :3]
            distance, gradient = grid.sample((points[guard] - matrix[:3, 3]) @ rotation)
            hit = distance < VERTEX_CLEARANCE_MM
            if not hit.any():
                continue
            direction = gradient[hit] @ rotation.T
            move = (
                (VERTEX_CLEARANCE_MM - distance[hit])[:, None]
                * direction
                / (np.linalg.norm(direction, axis=1)[:, None] + 1e-9)
            )
            tops = partner[hit] >= 0
            rows, where = np.unique(np.concatenate([guard[hit], partner[hit][tops]]), return_inverse=True)
            lifts = np.zeros((len(rows), 3))
            np.add.at(lifts, where.ravel(), np.concatenate([move, move[tops]]))
            rows, lifts = spread_lifts(rows, lifts, self.neighbours[side], LIFT_REACH)
            points[rows] += lifts


def fibre_neighbours(muscles: dict[str, MuscleGeometry], names: list[str], count: int) -> IntArray:
    """(2, count): the row of the next and of the previous sample along its fibre on the same face, for each of a
    side's ``count`` rows (:func:`side_layout`), -1 at a fibre's ends and for the fibre rows."""
    neighbours = np.full((2, count), -1)
    start = 0
    for name in names:
        n_u, n_s = muscles[name].fibres.shape[:2]
        grid = start + np.arange(2 * n_u * n_s).reshape(2 * n_u, n_s)  # both faces' fibres, one per row
        neighbours[0, grid[:, :-1]] = grid[:, 1:]
        neighbours[1, grid[:, 1:]] = grid[:, :-1]
        start += 3 * n_u * n_s
    return neighbours


def spread_lifts(rows: IntArray, lifts: FloatArray, neighbours: IntArray, reach: int) -> tuple[IntArray, FloatArray]:
    """The lifts (k, 3) of distinct ``rows`` (k,) spread along their fibres (``neighbours``: :func:`fibre_neighbours`),
    a share halving with every sample up to ``reach`` samples away: every row reached takes the longest of its own
    lift and the halved lifts of its neighbours. Returns the rows reached (m,) and their lifts (m, 3)."""
    front_rows, front = rows, lifts
    for _ in range(reach):
        reached = neighbours[:, front_rows].ravel()
        valid = reached >= 0
        if not valid.any():
            break
        candidates = np.concatenate([rows, reached[valid]])
        values = np.concatenate([lifts, np.tile(0.5 * front, (2, 1))[valid]])
        order = np.argsort(-np.einsum("ij,ij->i", values, values), kind="stable")
        rows, first = np.unique(candidates[order], return_index=True)
        kept = order[first]
        changed = kept >= len(lifts)  # a row whose lift now comes from a neighbour spreads it on
        lifts = values[kept]
        front_rows, front = rows[changed], lifts[changed]
    return rows, lifts


def thickening_rows(muscle: MuscleGeometry) -> tuple[np.ndarray, np.ndarray]:
    """(rows that move, rows they move from) to thicken one muscle, in its own rows (vertices, then fibres).

    A sheet grows from its deep face, a tube about its fibre path.
    """
    count = len(muscle.vertices) // 2
    deep = np.arange(count)
    if muscle.spec.shape == "tube":
        return np.concatenate([deep, deep + count]), np.concatenate([deep, deep]) + 2 * count
    return deep + count, deep


class _VolumeHold:
    """Thickens or thins each muscle of one side by its baked holding factor, interpolated between the nodes.

    The factors are solved at bake time on the replayed shapes themselves, so the hold is exact at every
    node, whatever shape the muscle has there (a squeezed quadratus femoris answers thickening quite
    differently from its rest shape). Between the nodes of a squeezed quadratus femoris the blended
    shapes themselves lose volume, so that muscle (a ``BLOCKS`` muscle) is measured live and settled
    by one secant step (``settle``): two volume sums over about 1100 triangles.
    """

    def __init__(self, blocks: list[_Block], arrays: dict[str, FloatArray], muscles: dict) -> None:
        self.factors = np.stack([np.asarray(arrays[f"{b.name}__holding"], float) for b in blocks], axis=1)
        self.parts = [
            tuple(part + b.rows.start for part in thickening_rows(muscles[b.name])) for b in blocks
        ]  # (rows that move, rows they move from) per muscle, in the side's rows
        self.live = [  # (rows that move, rows they move from, both in the muscle's rows), first row, volumes, volume
            (
                *(part - b.rows.start for part in self.parts[k]),
                b.rows.start,
                ClosedVolumes(muscles[b.name].faces, np.zeros(1, np.int64)),
                signed_volume(muscles[b.name].vertices, muscles[b.name].faces),
            )
            for k, b in enumerate(blocks)
            if muscles[b.name].spec.name in BLOCKS
        ]

    def hold(self, points: FloatArray, index: np.ndarray, weight: FloatArray) -> None:
        """Thicken or thin each muscle in the side's (n_points, 3) ``points`` in place by its interpolated factor.

        ``index`` and ``weight`` are the eight surrounding grid nodes and their trilinear weights, (8,) each.
        """
        factors = weight @ self.factors[index]
        for k in np.flatnonzero(np.abs(factors - 1.0) > 0.002):
            moved, anchor = self.parts[k]
            points[moved] = points[anchor] + factors[k] * (points[moved] - points[anchor])

    def settle(self, points: FloatArray) -> None:
        """Measure the live-held muscles and thicken or thin each to its rest volume (one secant step)."""
        for moved, anchor, start, volumes, rest_volume in self.live:
            rows = points[start : start + max(int(moved.max()), int(anchor.max())) + 1]
            volume = float(volumes(rows)[0])
            spread = rows[moved] - rows[anchor]
            thicker = rows.copy()
            thicker[moved] = rows[anchor] + SETTLE_PROBE * spread
            gain = float(volumes(thicker)[0]) - volume
            if gain <= 0:
                continue
            factor = float(np.clip(1.0 + (SETTLE_PROBE - 1.0) * (rest_volume - volume) / gain, *HELD_RATIO))
            points[start + moved] = rows[anchor] + factor * spread


OBSTACLES = ("pelvis", "femur", "tibia")


def obstacles(
    grids: dict[str, PackedGrid], side: str, thigh: FloatArray, shank: FloatArray
) -> dict[str, tuple[PackedGrid, FloatArray]]:
    """Each bone grid a side's muscles must stay out of, with the (4, 4) transform that carries it."""
    return {
        "pelvis": (grids["pelvis"], _EYE4),
        "femur": (grids[f"femur_{side}"], thigh),
        "tibia": (grids[f"tibia_{side}"], shank),
    }


def shipped_path() -> Path:
    """Where the committed pose space lives (``assets/meshes/muscle_pose_space.npz``)."""
    return meshes_dir() / POSE_SPACE_FILE


def load_pose_space(
    muscles: dict[str, MuscleGeometry],
    bones: dict[str, Surface] | None = None,
    landmarks: dict[str, FloatArray] | None = None,
) -> PoseSpace | None:
    """The shipped pose space, or None when it is missing or was baked from other muscles or bones."""
    bones = load_bone_surfaces() if bones is None else bones
    landmarks = load_landmarks() if landmarks is None else landmarks
    path = shipped_path()
    if not path.is_file():
        return None
    try:
        arrays = read_arrays(path)
    except UNREADABLE_ERRORS as error:
        log.warning("glute-viewer: the shipped pose space %s is unreadable (%s)", path, type(error).__name__)
        return None
    if "key" not in arrays or str(arrays["key"]) != pose_space_key(bones, landmarks):
        return None
    if any(f"{name}__{part}" not in arrays for name in muscles for part in ("scores", "holding")) or any(
        f"{name}__rod_{part}" not in arrays for name in RodReplay(muscles, list(muscles)).names for part in ROD_PARTS
    ):
        return None
    return PoseSpace(muscles, arrays, load_pose_grids(bones))
