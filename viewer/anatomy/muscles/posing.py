"""Re-posing the muscles of both sides from the segment transforms, fast enough for animation.

Every fibre sample rides with the body segments by a blend weight along the
fibre: 0 on the pelvis (origin, and via points on the pelvis), 1 on the segment
that carries the insertion (femur -> thigh, tibia -> shank; the iliotibial band
rides with the thigh and, near its end, the shank). That blended rigid motion
(linear blend skinning) is corrected by a displacement ``d`` per sample, which
is smoothed along the fibre with the attachments pinned and pushed out of the
bones' signed-distance fields, so fibres wrap over bone instead of cutting
through it. Each sample keeps at least the clearance it had from the bones in
anatomical position (capped), which is how a superficial muscle keeps riding
over the deeper muscles it lay on at rest. Fibres are re-routed from the fixed
origin to the moved insertion; the surface is rebuilt on the same (u, s) grid
by carrying the rest offsets of both faces with the blended rotation, scaled by
rest length / posed length per fibre so the belly thickens as it shortens
(volume roughly kept).

Everything pose-independent is precomputed, all muscles of both sides are one
concatenated array, and each relaxation iteration is one batch of distance
lookups per bone grid. Grids live in the bones' own rest frames (points are
moved into the bone's frame instead) and are cached on disk like the muscle
geometry, so construction is quick.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from viewer.anatomy.bones import SIDES, Surface, load_bone_surfaces
from viewer.anatomy.muscles.cache import cache_dir
from viewer.anatomy.muscles.distance_field import inside_voxels
from viewer.anatomy.muscles.fibres import pinned_indices, polyline_lengths

FloatArray = np.ndarray

GRID_SPACING_MM = 2.0
GRID_MARGIN_MM = 24.0
CLEARANCE_CAP_MM = 20.0  # rest clearance kept at a pose, at most this (must stay below the grid margin)
CLEARANCE_SLACK_MM = 0.5  # rest geometry satisfies every constraint with this to spare
ITERATIONS = 2  # warm-started relaxation iterations per pose
COLD_ITERATIONS = 8  # after a jump to a distant pose
WARM_LIMIT = 0.35  # largest change of a rotation matrix entry (about 20 degrees) still warm-started
SMOOTHING = 0.5
ACTIVE_BAND_MM = 6.0  # after the first iteration of a pose, only samples this close to a bone are tested again
THICKNESS_RANGE = (0.4, 2.5)
VOLUME_STEPS = 2  # thickness corrections per pose
SEGMENTS = ("pelvis", "thigh", "shank")
SEGMENT_OF_BONE = {
    "hip_bone": "pelvis",
    "sacrum": "pelvis",
    "femur": "thigh",
    "tibia_fibula": "shank",
    "patella": "shank",
}
_EYE4 = np.eye(4)
_KEYS = ("thigh_right", "shank_right", "thigh_left", "shank_left")
_VERSION = b"pose-grids-1"  # bump when the grids change (spacing, margin, bone groups, packing)


@dataclass
class PosedMuscle:
    """One muscle at a pose: same vertex count and order as its rest mesh (faces unchanged)."""

    vertices: FloatArray  # (n, 3)
    fibres: FloatArray  # (n_fibres, n_samples, 3), deep-face path used for lengths
    outer_fibres: FloatArray  # (n_fibres, n_samples, 3), superficial face

    def length_mm(self) -> float:
        return float(polyline_lengths(self.fibres).mean())


class PackedGrid:
    """Signed distance and its gradient packed as float32 rows, sampled with one gather per point.

    The value at a point is the first-order expansion about the nearest grid node
    (value + gradient . offset): one row gather instead of the eight of trilinear
    interpolation, with an error of second order in the grid spacing.
    """

    def __init__(self, origin: FloatArray, spacing: float, table: FloatArray, shape: tuple[int, int, int]) -> None:
        self.origin = np.asarray(origin, float)
        self.spacing = float(spacing)
        self.table = table  # (nx * ny * nz, 4) float32: distance, gradient
        _, ny, nz = shape
        self.strides = (ny * nz, nz)
        self.upper = np.array(shape) - 1

    @staticmethod
    def pack(values: FloatArray, spacing: float) -> FloatArray:
        gradient = np.stack(np.gradient(values, spacing), axis=-1)
        return np.concatenate([values[..., None], gradient], axis=-1).astype(np.float32).reshape(-1, 4)

    def sample(self, points: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(distance, gradient) at each point; beyond the grid, extrapolated from its boundary."""
        index = np.rint((points - self.origin) / self.spacing).astype(np.int64)
        np.clip(index, 0, self.upper, out=index)
        rows = self.table[index[:, 0] * self.strides[0] + index[:, 1] * self.strides[1] + index[:, 2]]
        gradient = rows[:, 1:].astype(float)
        offset = points - (self.origin + index * self.spacing)
        distance = rows[:, 0] + np.einsum("ij,ij->i", gradient, offset)
        return distance, gradient


def union_grid_values(meshes: list[Surface], spacing: float, margin: float) -> tuple[FloatArray, FloatArray]:
    """(origin, signed distance values) of the union of closed meshes on one lattice."""
    from scipy import ndimage

    lows = np.min([m.vertices.min(axis=0) for m in meshes], axis=0) - margin
    highs = np.max([m.vertices.max(axis=0) for m in meshes], axis=0) + margin
    shape = tuple(int(n) for n in np.ceil((highs - lows) / spacing) + 1)
    inside = np.zeros(shape, bool)
    for mesh in meshes:
        inside |= inside_voxels(np.asarray(mesh.vertices, float), np.asarray(mesh.faces), lows, spacing, shape)
    outside_distance = ndimage.distance_transform_edt(~inside) * spacing
    inside_distance = ndimage.distance_transform_edt(inside) * spacing
    values = np.where(inside, -(inside_distance - spacing / 2), outside_distance - spacing / 2)
    return lows, values.astype(np.float32)


GRID_BONES = {
    "pelvis": ("hip_bone_right", "hip_bone_left", "sacrum"),
    "femur_right": ("femur_right",),
    "femur_left": ("femur_left",),
    "tibia_right": ("tibia_fibula_right", "patella_right"),
    "tibia_left": ("tibia_fibula_left", "patella_left"),
}


def _grid_key(bones: dict[str, Surface]) -> str:
    digest = hashlib.sha256(_VERSION)
    for name in sorted({b for group in GRID_BONES.values() for b in group}):
        if name in bones:
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(bones[name].vertices, dtype=np.float64).tobytes())
            digest.update(np.ascontiguousarray(bones[name].faces, dtype=np.int64).tobytes())
    return digest.hexdigest()[:24]


def load_pose_grids(bones: dict[str, Surface]) -> dict[str, PackedGrid]:
    """The five obstacle grids (pelvis, each femur, each tibia with patella), from the disk cache when possible."""
    path = cache_dir() / f"pose-grids-{_grid_key(bones)}.npz"
    arrays: dict[str, FloatArray] | None = None
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except (OSError, ValueError):
            arrays = None
    if arrays is None or any(f"{name}__table" not in arrays for name in GRID_BONES):
        arrays = {}
        for name, members in GRID_BONES.items():
            origin, values = union_grid_values(
                [bones[b] for b in members if b in bones], GRID_SPACING_MM, GRID_MARGIN_MM
            )
            arrays[f"{name}__origin"], arrays[f"{name}__shape"] = origin, np.array(values.shape)
            arrays[f"{name}__table"] = PackedGrid.pack(values.astype(float), GRID_SPACING_MM)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp.npz")
            np.savez(temporary, **arrays)
            temporary.replace(path)
        except OSError:
            pass
    return {
        name: PackedGrid(
            arrays[f"{name}__origin"], GRID_SPACING_MM, arrays[f"{name}__table"], tuple(arrays[f"{name}__shape"])
        )
        for name in GRID_BONES
    }


def _smoothstep(t: FloatArray) -> FloatArray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def blend_weights(muscle) -> FloatArray:
    """(n_samples, 3) weights of pelvis, thigh and shank along the fibres of one muscle."""
    spec = muscle.spec
    n_s = muscle.fibres.shape[1]
    s = np.arange(n_s)
    stations = [0.0] + [via.at for via in spec.via] + [1.0]
    bones = [spec.origin.bone] + [via.bone for via in spec.via] + [spec.insertion.bone]
    pinned = pinned_indices(stations, n_s)
    last_pelvis = max(p for p, b in zip(pinned, bones, strict=True) if SEGMENT_OF_BONE[b] == "pelvis")
    ride = _smoothstep((s - last_pelvis) / max(n_s - 1 - last_pelvis, 1))
    weights = np.zeros((n_s, 3))
    end = SEGMENT_OF_BONE[spec.insertion.bone]
    if end == "shank":  # the band rides with the thigh along its length and with the shank near Gerdy's tubercle
        shank = _smoothstep((s / (n_s - 1) - 0.88) / 0.12)
        weights[:, 2] = shank
        weights[:, 1] = ride - shank
    else:
        weights[:, SEGMENTS.index(end)] = ride
    weights[:, 0] = 1 - weights[:, 1:].sum(axis=1)
    return weights


class MusclePoser:
    """Re-poses all muscles of both sides from segment transforms; holds warm-start state."""

    def __init__(self, muscles: dict, bones: dict[str, Surface] | None = None, landmarks=None) -> None:
        bones = load_bone_surfaces() if bones is None else bones
        self.grids = load_pose_grids(bones)
        self.names = list(muscles)
        self.rest = muscles
        rest_points, weights, sides, pinned, slices, shapes = [], [], [], [], {}, {}
        lower_offsets, upper_offsets, shank_check = [], [], []
        start = 0
        for name in self.names:
            muscle = muscles[name]
            n_u, n_s = muscle.fibres.shape[:2]
            count = n_u * n_s
            fibres = muscle.fibres.reshape(-1, 3)
            rest_points.append(fibres)
            weights.append(np.tile(blend_weights(muscle), (n_u, 1)))
            sides.append(np.full(count, SIDES.index(muscle.side)))
            ends = np.zeros((n_u, n_s), bool)
            stations = [0.0] + [via.at for via in muscle.spec.via] + [1.0]
            ends[:, pinned_indices(stations, n_s)] = True
            pinned.append(ends.reshape(-1))
            lower_offsets.append(muscle.vertices[:count] - fibres)
            upper_offsets.append(muscle.vertices[count : 2 * count] - fibres)
            shank_check.append(np.full(count, SEGMENT_OF_BONE[muscle.spec.insertion.bone] == "shank"))
            slices[name], shapes[name] = slice(start, start + count), (n_u, n_s)
            start += count
        self.rest_points = np.concatenate(rest_points)
        self.weights = np.concatenate(weights)
        self.side = np.concatenate(sides)
        self.pinned = np.concatenate(pinned)
        self.lower_offsets = np.concatenate(lower_offsets)
        self.upper_offsets = np.concatenate(upper_offsets)
        self.slices, self.shapes = slices, shapes
        self.free = np.flatnonzero(~self.pinned)  # never the first or last sample of a fibre
        # the six matrices (pelvis, thigh, shank) x (right, left) a sample blends, as one weight row
        self.weight6 = np.zeros((len(self.rest_points), 6))
        for side_index in range(2):
            rows = self.side == side_index
            self.weight6[rows, 3 * side_index : 3 * side_index + 3] = self.weights[rows]
        free_mask = ~self.pinned
        self.free_by_side = [np.flatnonzero((self.side == k) & free_mask) for k in range(2)]
        shank = np.concatenate(shank_check) & (self.weights[:, 2] + self.weights[:, 1] > 0.3)
        self.shank_rows = [np.flatnonzero((self.side == k) & shank & free_mask) for k in range(2)]
        fibre_sizes = np.concatenate([np.full(self.shapes[n][0], self.shapes[n][1]) for n in self.names])
        self.fibre_starts = np.concatenate([[0], np.cumsum(fibre_sizes)[:-1]])
        self.fibre_of_point = np.repeat(np.arange(len(fibre_sizes)), fibre_sizes)
        self._surface_stencil()
        self.within_fibre = np.ones(len(self.rest_points))
        self.within_fibre[self.fibre_starts + fibre_sizes - 1] = 0.0  # no segment from a fibre's end to the next
        identity = {f"{seg}_{side}": np.eye(4) for seg in ("thigh", "shank") for side in SIDES}
        rest_distance = self._nearest_distance(self.rest_points, identity)
        self.clearance = np.clip(rest_distance - CLEARANCE_SLACK_MM, 0.0, CLEARANCE_CAP_MM)
        self.rest_fibre_lengths = np.concatenate(
            [polyline_lengths(self.rest_points[self.slices[n]].reshape(*self.shapes[n], 3)) for n in self.names]
        )
        self.displacement = np.zeros_like(self.rest_points)
        self.previous: np.ndarray | None = None

    # ------------------------------------------------------------------ obstacles

    def _surface_stencil(self) -> None:
        """Neighbour rows across (u) and along (s) each fibre sheet, for its area element at every sample."""
        plus_u, minus_u, plus_s, minus_s, owner = [], [], [], [], []
        for index, name in enumerate(self.names):
            n_u, n_s = self.shapes[name]
            grid = np.arange(n_u * n_s).reshape(n_u, n_s) + self.slices[name].start
            u, s = np.meshgrid(np.arange(n_u), np.arange(n_s), indexing="ij")
            plus_u.append(grid[np.minimum(u + 1, n_u - 1), s].ravel())
            minus_u.append(grid[np.maximum(u - 1, 0), s].ravel())
            plus_s.append(grid[u, np.minimum(s + 1, n_s - 1)].ravel())
            minus_s.append(grid[u, np.maximum(s - 1, 0)].ravel())
            owner.append(np.full(n_u * n_s, index))
        self.stencil = [np.concatenate(a) for a in (plus_u, minus_u, plus_s, minus_s)]
        self.muscle_of_point = np.concatenate(owner)
        self.muscle_starts = np.array([self.slices[n].start for n in self.names])
        self.rest_volumes = self._volumes(self.rest_points, self.lower_offsets, self.upper_offsets)

    def _volumes(self, points: FloatArray, lower: FloatArray, upper: FloatArray) -> FloatArray:
        """Volume of every muscle at once: the (u, s) grid swept from its lower to its upper face.

        Per sample, the thickness vector dotted with the area element of the lower, middle and
        upper surfaces by Simpson's rule, which is exact for the cubic a straight sweep gives.
        """
        pu, mu, ps, ms = self.stencil
        low, high = points + lower, points + upper
        mid = 0.5 * (low + high)
        area = sum(w * np.cross(x[pu] - x[mu], x[ps] - x[ms]) for w, x in ((1.0, low), (4.0, mid), (1.0, high)))
        return np.add.reduceat(np.einsum("ij,ij->i", area, high - low), self.muscle_starts) / 6.0

    def _bone_frames(self, transforms: dict[str, FloatArray]) -> list[tuple[PackedGrid, FloatArray, np.ndarray]]:
        """(grid, 4x4 transform of its bone, free rows to test) for every obstacle."""
        frames = [(self.grids["pelvis"], _EYE4, self.free)]
        for k, side in enumerate(SIDES):
            frames.append((self.grids[f"femur_{side}"], transforms[f"thigh_{side}"], self.free_by_side[k]))
            frames.append((self.grids[f"tibia_{side}"], transforms[f"shank_{side}"], self.shank_rows[k]))
        return frames

    def _nearest_distance(self, points: FloatArray, transforms: dict[str, FloatArray]) -> FloatArray:
        nearest = np.full(len(points), np.inf)
        for grid, matrix, _ in self._bone_frames(transforms):
            distance, _ = grid.sample((points - matrix[:3, 3]) @ matrix[:3, :3])
            nearest = np.minimum(nearest, distance)
        return nearest

    def _push_out(self, points: FloatArray, frames, active: list[np.ndarray] | None) -> list[np.ndarray]:
        """Move free samples out of every bone to their clearance; returns, per bone, the rows near it."""
        near = []
        for index, (grid, matrix, rows) in enumerate(frames):
            rows = rows if active is None else active[index]
            if len(rows) == 0:
                near.append(rows)
                continue
            rotation = matrix[:3, :3]
            distance, gradient = grid.sample((points[rows] - matrix[:3, 3]) @ rotation)
            depth = self.clearance[rows] - distance
            if active is None:  # later iterations of this pose only look at samples that came close
                near.append(rows[depth > -ACTIVE_BAND_MM])
            hit = depth > 0
            if hit.any():
                g = gradient[hit] @ rotation.T
                g /= np.sqrt(np.einsum("ij,ij->i", g, g))[:, None] + 1e-9
                points[rows[hit]] += depth[hit, None] * g
        return near if active is None else active

    # ------------------------------------------------------------------ posing

    def pose(self, transforms: dict[str, FloatArray]) -> dict[str, PosedMuscle]:
        """All muscles at the pose given by ``thigh_<side>`` and ``shank_<side>`` 4x4 transforms (pelvis frame)."""
        full = {key: np.asarray(transforms.get(key, _EYE4), float) for key in _KEYS}
        pelvis = np.asarray(transforms.get("pelvis", _EYE4), float)
        moved_pelvis = bool(np.abs(pelvis - _EYE4).max() > 1e-12)
        if moved_pelvis:  # pose in the pelvis frame, then carry everything with it
            inverse = np.linalg.inv(pelvis)
            full = {k: inverse @ v for k, v in full.items()}
        stacked = np.stack([full[k] for k in _KEYS])
        if np.abs(stacked - _EYE4).max() < 1e-12:  # anatomical position: the rest geometry itself
            self.displacement[:] = 0.0
            self.previous = stacked
            return self._result(self.rest_points, None, pelvis if moved_pelvis else None)
        matrices = np.stack(
            [_EYE4, full["thigh_right"], full["shank_right"], _EYE4, full["thigh_left"], full["shank_left"]]
        )[:, :3, :].reshape(6, 12)
        blended = (self.weight6 @ matrices).reshape(-1, 3, 4)
        rotation = blended[:, :, :3]
        skinned = np.einsum("nij,nj->ni", rotation, self.rest_points) + blended[:, :, 3]
        warm = self.previous is not None and np.abs(stacked - self.previous)[:, :3, :3].max() < WARM_LIMIT
        if not warm:
            self.displacement[:] = 0.0
        iterations = ITERATIONS if warm else COLD_ITERATIONS
        frames = self._bone_frames(full)
        d, free = self.displacement, self.free
        active = None
        for _ in range(iterations):
            d[free] += SMOOTHING * (0.5 * (d[free - 1] + d[free + 1]) - d[free])
            points = skinned + d
            active = self._push_out(points, frames, active)
            d = points - skinned
        self.displacement, self.previous = d, stacked
        return self._result(skinned + d, rotation, pelvis if moved_pelvis else None)

    def _result(self, points: FloatArray, rotation: FloatArray | None, pelvis: FloatArray | None) -> dict:
        segments = points[1:] - points[:-1]
        step = np.append(np.sqrt(np.einsum("ij,ij->i", segments, segments)), 0.0) * self.within_fibre
        lengths = np.add.reduceat(step, self.fibre_starts)
        scale = np.clip(self.rest_fibre_lengths / np.maximum(lengths, 1e-6), *THICKNESS_RANGE)[self.fibre_of_point]
        if rotation is None:
            lower, upper = self.lower_offsets, self.upper_offsets
        else:  # the faces turn with the blended segment rotation
            lower = np.einsum("nij,nj->ni", rotation, self.lower_offsets)
            upper = np.einsum("nij,nj->ni", rotation, self.upper_offsets)
        lower, upper = lower * scale[:, None], upper * scale[:, None]
        if rotation is not None:  # hold each muscle's volume: the belly thickens as it shortens
            for _ in range(VOLUME_STEPS):
                keep = np.clip(self.rest_volumes / self._volumes(points, lower, upper), *THICKNESS_RANGE)
                lower, upper = (o * keep[self.muscle_of_point][:, None] for o in (lower, upper))
        low, high = points + lower, points + upper
        if pelvis is not None:
            low, high, points = (p @ pelvis[:3, :3].T + pelvis[:3, 3] for p in (low, high, points))
        posed = {}
        for name in self.names:
            rows, shape = self.slices[name], (*self.shapes[name], 3)
            posed[name] = PosedMuscle(
                np.concatenate([low[rows], high[rows]]), points[rows].reshape(shape), high[rows].reshape(shape)
            )
        return posed
