"""Re-posing the muscles of both sides from the segment transforms, fast enough for animation.

Two path models share one relaxation. Most samples ride with the body segments by a
blend weight along the fibre: 0 on the pelvis, 1 on the segment that carries the
insertion (linear blend skinning; the iliotibial band rides with the thigh and, near
its end, the shank). The short rotators and quadratus femoris (layer 2) are taut
paths instead: the straight chord between their posed pins (origin, via points,
insertion) plus their rest bow turned with the blended rotation, the bow shrinking
with the span when they shorten (a slack muscle does not crumple). Their length
therefore follows how far their attachments part: internal rotation lengthens them,
external rotation shortens them.

The skinned path is corrected by a displacement ``d`` per sample, smoothed with the
attachments pinned (along the fibre for skinned sheets, over the whole sheet for taut
ones) and pushed out of the bones' signed-distance fields. Each sample keeps the
clearance it had from each bone at rest (capped), which is how a superficial muscle
keeps riding over the deeper muscles it lay on; deep muscles lie on bone and capsule,
so they keep only their own tendon clearance and half-thickness. A jump to a distant
pose is walked in steps from rest (not from the previous pose), so paths wrap around
the bones on the side they come from and the result does not depend on earlier poses.
The surface is rebuilt on the same (u, s) grid, thickened per fibre piece by rest
length / posed length and then scaled per muscle to hold its volume. Skinned sheets
turn the rest offsets of both faces with the blended rotation; the short rotators,
obturator internus and gluteus minimus keep them in the posed sheet frame (along, across, normal), with the
normal never turned against the rest normal carried with the segments and the
thickness faded out where the (u, s) grid folds over, so their boxes cannot turn
inside out; they hold volume by a prism estimate a fold cannot fool. Quadratus femoris,
a block about as thick as it is long, would still fold its far face wherever its sheet
bends: its faces are carried instead by the one linear map that best fits its posed
sheet, and it holds its volume by bulging its belly where it has room (see ``BulgingBlock``).
The broad gluteal fans (FANS) are then solved once more as elastic bodies: every cell of their cage wants
its rest shape stretched as its fibres shortened and thickened, turned as it best fits, with the deep face
drawn to the posed sheet (``shell.ElasticShell``), so a shortened fan bulges instead of folding its top face.
A taut piece between two pins on the pelvis (obturator internus on the obturator membrane,
up to the lesser sciatic notch) is rigid with the pelvis. Finally surface vertices that
ended up in a bone are lifted out.

Everything pose-independent is precomputed, all muscles of both sides are one
concatenated array, and each relaxation iteration is one batch of distance lookups
per bone grid. Grids live in the bones' own rest frames (points are moved into the
bone's frame instead) and are cached on disk like the muscle geometry (see ``pose_grids``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.anatomy.bones import SIDES, Surface, load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import cross, length, polyline_lengths, signed_volume
from viewer.anatomy.kinematics import SEGMENT_OF_BONE, SEGMENTS, LegPose
from viewer.anatomy.muscles.block import BulgingBlock
from viewer.anatomy.muscles.fibres import pinned_indices
from viewer.anatomy.muscles.pose_grids import load_pose_grids
from viewer.anatomy.muscles.rods import FORM_CLEARANCE_MM, LIFT_STEPS, RODS, Rod
from viewer.anatomy.muscles.shell import DEEP_PULL, DEEP_PULLS, ElasticShell
from viewer.anatomy.muscles.spindle import SPINDLES, SpindleRod
from viewer.anatomy.posed import PosedShape
from viewer.types import FloatArray

CLEARANCE_CAP_MM = 20.0  # rest clearance kept at a pose, at most this (must stay below the grid margin)
CLEARANCE_SLACK_MM = 0.5  # rest geometry satisfies every constraint with this to spare
ITERATIONS = 2  # warm-started relaxation iterations per pose
STEP_LIMIT = 0.2  # largest change of a rotation matrix entry per step when walking to a distant pose
STEP_ITERATIONS = 2
WARM_LIMIT = 0.35  # largest change of a rotation matrix entry (about 20 degrees) still warm-started
SMOOTHING = 0.5
VERTEX_CLEARANCE_MM = 0.5  # posed surface vertices are lifted at least this far out of every bone
FOLD_AREA = 0.3  # below this share of its rest area element (signed), a sample's thickness fades to nothing
NORMAL_SMOOTHING = 2  # passes of neighbour averaging of the sheet normals (also fills degenerate ones)
ACTIVE_BAND_MM = 6.0  # after the first iteration of a pose, only samples this close to a bone are tested again
THICKNESS_RANGE = (0.4, 2.5)
BULGE_SHELL_MM = 15.0  # how much farther from bone than its muscle reached at rest a bulge may reach
KEEP_RANGE = (0.4, 2.5)  # bounds of the per-muscle volume correction
VOLUME_STEPS = 2  # thickness corrections per pose
_EYE4 = np.eye(4)
_KEYS = ("thigh_right", "shank_right", "thigh_left", "shank_left")
# Deep (taut) broad fans: rebuilt in the posed sheet frame like the short rotators, but holding their volume by
# the mesh estimate (gluteus minimus wraps the convex outer ilium: prisms miss that curvature and overshoot 20%;
# offsets turned with the segments shear against its shortening chords and lost up to 40%).
BROAD_DEEP = ("gluteus_minimus",)
BLOCK_MAP_STATIONS = 9.0  # width (sigma, in stations) of the Gaussian window each station's block map is fitted over
BLOCKS = ("quadratus_femoris",)  # as thick as they are long: carried by one linear map, bellies bulged (BulgingBlock)
# The fascia lata and what it encloses: handed from the pelvis to the thigh by *where* a sample lies, not by
# its fraction of its own fibre, so the tensor fasciae latae and the iliotibial band over it move as one
# (ridden by their own fibre fractions, the band sank into the tensor as the hip flexed). The fascia lata is
# bound to the femur along the lateral intermuscular septum: below the trochanter both move with the thigh,
# not half-way between thigh and pelvis (which, at 90 degrees of flexion, left the band standing 2 cm off the
# thigh and crumpled the tensor into a flag).
FASCIA_LATA = ("iliotibial_band", "tensor_fasciae_latae")
# Where the hand-over starts and ends: fractions of the way down the thigh, 0 at the greater trochanter and
# 1 at the lateral epicondyle (the iliac crest and the anterior superior iliac spine lie near -0.3).
FASCIA_RIDE_LEVELS = (-0.3, 0.1)
# The band is draped over the tensor fasciae latae (the fascia lata encloses it): where it lay within
# DRAPE_FULL_MM of the tensor's top face at rest it rises and sinks with that face as the tensor thickens
# (shortened, it holds its volume: 1.7 times as thick in the frog position) or thins; the rise fades out by
# DRAPE_REACH_MM. Without it the thickened tensor came through the band (7% of the band inside it).
DRAPED = {"iliotibial_band": "tensor_fasciae_latae"}
DRAPE_FULL_MM, DRAPE_REACH_MM = 15.0, 30.0
# The draped sheet follows the top face of the muscle under it off that face's skinned place (the tensor is posed
# as a spindle rod, spindle.py, not skinned: following its thickening alone, 3.3% of the band lay inside it in the
# frog position), fading in over this share of its length from its origin on the crest (no fade: 1.1% of the band
# over 2 mm deep in the hip bone in the frog position, 0.9% before; 0.1: the band 1.0% inside the tensor at flexion 90;
# over the tensor posed as a spindle swollen across, spindle.py, 0.15 left 2.7% of the band inside it in the frog
# position, 0.1 1.8% and 1.04% of the band over 2 mm deep in the hip bone, 0.05 0.7% and 1.2%; with the spindle
# widened to hold its form's volume, solver-13: 0.15 left 2.4% / 4.0% of the band inside it at flexion 90 knee 90 /
# frog, 0.05 0.53% / 0.45%, with 1.10% / 0.92% of the band over 2 mm deep in the crest at its origin, 0.96% / 0.98%
# with the tensor handed over by level)
DRAPE_ORIGIN_FADE = 0.05
DEEP_LAYER = 2  # layer of the short rotators and quadratus femoris (posed as taut paths)
# The broad gluteal fans: their cages are solved as-rigid-as-possible at every pose (see ``shell``), so a
# shortening fan bulges instead of folding its top face over a bending sheet.
FANS = ("gluteus_maximus", "gluteus_medius", "gluteus_minimus")
# The fascia lata (the iliotibial band, and the tensor fasciae latae it encloses) keeps its rest clearance off the
# pelvis only where it rides with the pelvis: below the crest it is tied to the femur (the lateral intermuscular
# septum), and the clearance it keeps off the pelvis fades with the square of its thigh weight (with the weight
# itself the band's origin on the crest sank into the bone in the frog position, 1.02% of it over 2 mm deep). Kept
# off both bones (20 mm each, CLEARANCE_CAP_MM), it was squeezed between them in front of the flexed hip and its
# anterior margin slid round the anterior superior iliac spine into the groin on some paths and not on others: at
# flexion 90 with internal rotation 45 the band lay up to 124 mm apart walked there from rotation 0 and jumped to
# from anatomical position, the tensor 84 mm (now 43 and 29 mm), so the pose space took one state at rotation 35 and
# the other at 45 and the skin blended between them did not cover the band (tests/test_skin.py BAND_POSES); its
# cage folded in front of the hip (solver: band 1.22% of its form creased at 90/45/45, now 1.13%; frog 0.63%, now
# 0.40%; the tensor 16.1% at 90/45/45, now 9.5%, its volume 0.85 of rest, now 0.99).
TIED_TO_FEMUR = ("iliotibial_band", "tensor_fasciae_latae")
# Bump when the solver's posed shapes change: the shipped pose space is keyed by it (not by this source).
SOLVER_VERSION = "solver-15"
# A spindle (spindle.py) holds its form's volume by widening across the rod (its rest form's volume over the form
# bound to its posed cage, a step at a time): swelling with its squeeze alone, the form kept 0.81 of its volume at
# flexion 90 with abduction and rotation 45 (sections overlapping where the belly bends), and the forms' volume hold
# then thickened it away from its deep face, which doubled its creases (4.1% of its edges bending over 40 degrees,
# 8.5% held); widened instead, 4.5% and no hold. Thickened instead, it stood out of the skin (spindle.py).
SPINDLE_HOLD_STEPS = 3
SPINDLE_HOLD_TOLERANCE = 0.02  # a form this close to its rest volume is left as it is
SPINDLE_GAIN_RANGE = (0.8, 1.6)  # bounds of the further widening


@dataclass
class PosedMuscle(PosedShape):
    """One muscle at a pose: same vertex count and order as its rest mesh (faces unchanged)."""

    vertices: FloatArray  # (n, 3)
    fibres: FloatArray  # (n_fibres, n_samples, 3), deep-face path used for lengths
    outer_fibres: FloatArray  # (n_fibres, n_samples, 3), superficial face

    def length_mm(self) -> float:
        """Mean fibre path length (mm) at this pose."""
        return float(polyline_lengths(self.fibres).mean())


def _smoothstep(t: FloatArray) -> FloatArray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def blend_weights(muscle) -> FloatArray:
    """(n_fibres * n_samples, 3) weights of pelvis, thigh and shank at every fibre sample (fibre-major) of one muscle."""
    spec = muscle.spec
    n_u, n_s = muscle.fibres.shape[:2]
    s = np.arange(n_s)
    stations = [0.0] + [via.at for via in spec.via] + [1.0]
    bones = [spec.origin.bone] + [via.bone for via in spec.via] + [spec.insertion.bone]
    pinned = pinned_indices(stations, n_s)
    last_pelvis = max(p for p, b in zip(pinned, bones, strict=True) if SEGMENT_OF_BONE[b] == "pelvis")
    if spec.name in FASCIA_LATA:  # by where each sample lies: the tensor and the band over it ride alike
        start, full = FASCIA_RIDE_LEVELS
        ride = _smoothstep((thigh_level(muscle.fibres.reshape(-1, 3), muscle.side) - start) / (full - start))
        ride = ride.reshape(n_u, n_s)
        ride[:, : last_pelvis + 1] = 0.0
    else:
        ride = np.tile(_smoothstep((s - last_pelvis) / max(n_s - 1 - last_pelvis, 1)), (n_u, 1))
    weights = np.zeros((n_u, n_s, 3))
    end = SEGMENT_OF_BONE[spec.insertion.bone]
    if end == "shank":  # the band rides with the thigh along its length and with the shank near Gerdy's tubercle
        shank = _smoothstep((s / (n_s - 1) - 0.88) / 0.12)
        weights[..., 2] = shank
        weights[..., 1] = ride - shank
    else:
        weights[..., SEGMENTS.index(end)] = ride
    weights[..., 0] = 1 - weights[..., 1:].sum(axis=-1)
    return weights.reshape(-1, 3)


def thigh_level(points: FloatArray, side: str) -> FloatArray:
    """How far down the thigh (n,) rest points (n, 3) lie: 0 at the greater trochanter, 1 at the lateral epicondyle."""
    landmarks = load_landmarks()
    top, knee = landmarks[f"greater_trochanter_{side}"], landmarks[f"lateral_epicondyle_{side}"]
    return (points - top) @ (knee - top) / float((knee - top) @ (knee - top))


def _interpolate(start: FloatArray, end: FloatArray, fraction: float) -> FloatArray:
    """Rigid transforms part of the way from ``start`` to ``end`` (slerp of rotations, lerp of translations)."""
    from scipy.spatial.transform import Rotation

    relative = Rotation.from_matrix(np.einsum("nji,njk->nik", start[:, :3, :3], end[:, :3, :3]))
    out = np.array(end, float)
    out[:, :3, :3] = start[:, :3, :3] @ Rotation.from_rotvec(relative.as_rotvec() * fraction).as_matrix()
    out[:, :3, 3] = (1 - fraction) * start[:, :3, 3] + fraction * end[:, :3, 3]
    return out


def _grid_normal(grid: FloatArray) -> FloatArray:
    """Unit area-weighted normal of a (u, s) point grid: robust where a linear fit to it degenerates."""
    total = np.cross(grid[1:, 1:] - grid[:-1, :-1], grid[:-1, 1:] - grid[1:, :-1]).sum(axis=(0, 1))
    return total / (np.linalg.norm(total) + 1e-12)


class MusclePoser:
    """Re-poses all muscles of both sides from segment transforms; holds warm-start state."""

    def __init__(self, muscles: dict, bones: dict[str, Surface] | None = None, landmarks=None) -> None:
        bones = load_bone_surfaces() if bones is None else bones
        self.grids = load_pose_grids(bones)
        self.names = list(muscles)
        self.rest = muscles
        parts: dict[str, list] = {
            k: [] for k in ("points", "weights", "side", "pinned", "left", "right", "alpha", "taut")
        }
        slices, shapes, fibre_sizes, deep, tendon_clearance = {}, {}, [], [], []
        start = 0
        for name in self.names:
            muscle = muscles[name]
            n_u, n_s = muscle.fibres.shape[:2]
            count = n_u * n_s
            stations = [0.0] + [via.at for via in muscle.spec.via] + [1.0]
            pins = np.unique(pinned_indices(stations, n_s))
            s = np.arange(n_s)
            segment = np.clip(np.searchsorted(pins, s, side="right") - 1, 0, len(pins) - 2)
            left, right = pins[segment], pins[segment + 1]
            rows = start + np.arange(n_u)[:, None] * n_s
            parts["points"].append(muscle.fibres.reshape(-1, 3))
            parts["weights"].append(blend_weights(muscle))
            parts["side"].append(np.full(count, SIDES.index(muscle.side)))
            parts["pinned"].append(np.isin(np.tile(s, n_u), pins))
            parts["left"].append((rows + left).ravel())
            parts["right"].append((rows + right).ravel())
            parts["alpha"].append(np.tile((s - left) / (right - left), n_u))
            taut = muscle.spec.layer == DEEP_LAYER  # short rotators: taut strings from origin to insertion
            parts["taut"].append(np.full(count, taut))
            deep.append(np.full(count, taut))
            tendon_clearance.append(np.full(count, muscle.spec.clearance_mm))
            slices[name], shapes[name] = slice(start, start + count), (n_u, n_s)
            fibre_sizes.append(np.tile(np.diff(np.append(pins[:-1], n_s)), n_u))  # pieces between pins
            start += count
        cat = {k: np.concatenate(v) for k, v in parts.items()}
        self.slices, self.shapes = slices, shapes
        self.rest_points = cat["points"].astype(float)
        self.side, self.pinned = cat["side"], cat["pinned"]
        count = len(self.rest_points)
        self.free = np.flatnonzero(~self.pinned)  # never the first or last sample of a fibre
        self.free_by_side = [np.flatnonzero((self.side == k) & ~self.pinned) for k in range(2)]
        shank = np.concatenate(
            [
                np.full(
                    self.shapes[n][0] * self.shapes[n][1], SEGMENT_OF_BONE[muscles[n].spec.insertion.bone] == "shank"
                )
                for n in self.names
            ]
        )
        shank &= cat["weights"][:, 1:].sum(axis=1) > 0.3
        self.shank_rows = [np.flatnonzero((self.side == k) & shank & ~self.pinned) for k in range(2)]

        # Path model. Skinned rows ride with their segments (linear blend skinning); taut rows are the
        # straight chord between their posed pins plus the rest bow (their wrap at rest) turned with the
        # blended rotation, so a rotator shortens or lengthens as its attachments approach or part.
        taut = cat["taut"]
        self.taut = taut
        self.pin_rows = np.flatnonzero(self.pinned)
        pin_index = np.full(count, -1)
        pin_index[self.pin_rows] = np.arange(len(self.pin_rows))
        self.taut_rows = np.flatnonzero(taut)
        self.chord_left = pin_index[cat["left"][self.taut_rows]]
        self.chord_right = pin_index[cat["right"][self.taut_rows]]
        self.chord_alpha = cat["alpha"][self.taut_rows][:, None]
        pins = self.rest_points[self.pin_rows]
        chord = (1 - self.chord_alpha) * pins[self.chord_left] + self.chord_alpha * pins[self.chord_right]
        self.base = self.rest_points.copy()
        self.base[self.taut_rows] -= chord  # the rest bow
        self.rest_spans = length(pins[self.chord_right] - pins[self.chord_left])
        self.translate = (~taut).astype(float)[:, None]
        weights = cat["weights"]
        self.pin_segment = np.argmax(weights[self.pin_rows], axis=1) + 3 * self.side[self.pin_rows]
        # a taut piece between two pins on the pelvis (obturator internus inside the pelvis, up to the
        # lesser sciatic notch) is rigid with it: no relaxation, or the leg's pull at the notch would
        # spread into it and fold its belly
        on_pelvis = self.pin_segment % 3 == 0
        pelvic = np.zeros(count, bool)
        pelvic[self.taut_rows] = on_pelvis[self.chord_left] & on_pelvis[self.chord_right]
        self.pelvic_rows = np.flatnonzero(pelvic)
        self.free = np.flatnonzero(~self.pinned & ~pelvic)
        self.free_by_side = [np.flatnonzero((self.side == k) & ~self.pinned & ~pelvic) for k in range(2)]
        self.moving = []  # (rows, weight column, transform key) for each moving segment
        for k, side in enumerate(SIDES):
            for column, segment in ((1, "thigh"), (2, "shank")):
                rows = np.flatnonzero((self.side == k) & (weights[:, column] > 0))
                self.moving.append((rows, weights[rows, column][:, None], f"{segment}_{side}"))

        # Surface: each vertex is its fibre sample plus an offset kept in the local frame of the fibre
        # sheet (along the fibre, across it, normal), so the faces follow the posed sheet and never turn
        # inside out; thickness scales hold each muscle's volume.
        self.fibre_starts = np.concatenate([[0], np.cumsum(np.concatenate(fibre_sizes))[:-1]])
        self.fibre_of_point = np.repeat(np.arange(len(self.fibre_starts)), np.concatenate(fibre_sizes))
        self.within_fibre = np.ones(count)
        self.within_fibre[np.cumsum(np.concatenate(fibre_sizes)) - 1] = 0.0
        self._stencil()
        self.blocks = [
            BulgingBlock(muscles[name], self.slices[name]) for name in self.names if muscles[name].spec.name in BLOCKS
        ]
        identity = {key: _EYE4 for key in _KEYS}
        for block in self.blocks:  # a belly bulges no farther from bone than its muscle reached at rest
            distance, _ = self._nearest_bone(block.rest_vertices, identity, int(self.side[block.rows[0]]))
            block.shell_mm = float(distance.max()) + BULGE_SHELL_MM
        self.block_muscles = np.array([muscles[n].spec.name in BLOCKS for n in self.names])
        # a spindle holds its volume by its own swelling (spindle.py), not by the thickening below
        self.self_held = self.block_muscles | np.array([muscles[n].spec.name in SPINDLES for n in self.names])
        lower = np.concatenate([muscles[n].vertices[: len(muscles[n].vertices) // 2] for n in self.names])
        upper = np.concatenate([muscles[n].vertices[len(muscles[n].vertices) // 2 :] for n in self.names])
        self.lower_offsets, self.upper_offsets = lower - self.rest_points, upper - self.rest_points
        self.rest_fibre_lengths = self._fibre_lengths(self.rest_points)
        self.rest_volume_estimates = self._volume_estimates(self.rest_points, self.lower_offsets, self.upper_offsets)
        self.lower_depth = length(self.lower_offsets)  # how far the deep face lies below the path
        # Both faces' offsets in the rest sheet frame (along the fibre, across it, normal): rebuilt in the
        # posed frame, so the normal part (the thickness) keeps its sign and the box cannot turn inside out.
        self.orientation = np.ones(count)
        _, _, normal = self._frames(self.rest_points)
        outward = np.einsum("ij,ij->i", self.upper_offsets - self.lower_offsets, normal)
        self.orientation = np.where(np.add.reduceat(outward, self.muscle_starts) < 0, -1.0, 1.0)[self.muscle_of_point]
        along, across, normal = self._frames(self.rest_points)  # the normal now points from deep to top face
        self.rest_normals = normal
        self.rods = [  # narrow taut tubes posed with rigid cross-sections (see rods.py)
            self._rod(n, normal) for n in self.names if muscles[n].spec.name in RODS
        ] + self._spindles(muscles, normal)
        self.rod_turns: dict[str, FloatArray] = {}  # by muscle name: each rod's section rotations at the last pose
        # The taut muscles are rebuilt in the posed sheet frame: their chord paths twist between attachments
        # that turn apart; the skinned sheets keep the rest offsets turned with their segments.
        self.framed = self.taut.copy()
        pu, mu, ps, ms = self.stencil
        rest = self.rest_points
        self.rest_areas = self.orientation * np.einsum(
            "ij,ij->i", cross(rest[pu] - rest[mu], rest[ps] - rest[ms]), normal
        )
        # Framed sheets (obturator internus) hold their volume by the prism estimate, which a fold cannot
        # fool; tubes, skinned sheets and the broad deep fans (BROAD_DEEP) by the mesh estimate.
        self.prism_muscles = (np.add.reduceat(self.framed.astype(int), self.muscle_starts) > 0) & np.array(
            [muscles[n].spec.shape == "sheet" and muscles[n].spec.name not in (*BLOCKS, *BROAD_DEEP) for n in self.names]
        )
        self.rest_prisms = self._prisms(self.rest_areas, self.upper_offsets - self.lower_offsets, normal)
        self.rest_areas = np.maximum(self.rest_areas, 1e-3 * self.rest_areas.max())
        self.lower_local, self.upper_local = (
            np.stack([np.einsum("ij,ij->i", o, axis) for axis in (along, across, normal)], axis=1)
            for o in (self.lower_offsets, self.upper_offsets)
        )

        # Clearance kept from each bone at a pose: what the sample had at rest (capped), which keeps a
        # superficial muscle riding over the deeper muscles it lay on. Deep muscles lie on bone and capsule,
        # so they only keep their own half-thickness and tendon clearance.
        identity = {key: _EYE4 for key in _KEYS}
        deep_rows = np.concatenate(deep)
        self.tied_to_femur = np.concatenate(
            [np.full(self.shapes[n][0] * self.shapes[n][1], muscles[n].spec.name in TIED_TO_FEMUR) for n in self.names]
        )
        own = np.concatenate(tendon_clearance) + self.lower_depth
        self.clearance = {}
        for name, grid, matrix, _ in self._bone_frames(identity, self.rest_points):
            distance, _ = grid.sample((self.rest_points - matrix[:3, 3]) @ matrix[:3, :3])
            keep = np.clip(distance - CLEARANCE_SLACK_MM, 0.0, CLEARANCE_CAP_MM)
            keep = np.where(deep_rows, np.minimum(keep, own), keep)
            if name == "pelvis":  # the fascia lata riding with the thigh gives way to the pelvis (see TIED_TO_FEMUR)
                keep = keep * (1.0 - self.tied_to_femur * cat["weights"][:, 1:].sum(axis=1) ** 2)
            self.clearance[name] = keep
        shank_all = shank & (cat["weights"][:, 1:].sum(axis=1) > 0.3)
        self.surface_rows = {"pelvis": np.arange(count)}
        for k, side in enumerate(SIDES):
            self.surface_rows[f"femur_{side}"] = np.flatnonzero(self.side == k)
            self.surface_rows[f"tibia_{side}"] = np.flatnonzero((self.side == k) & shank_all)
        self.scale = np.ones(count)
        self.displacement = np.zeros_like(self.rest_points)
        self.previous: np.ndarray | None = None
        half = [np.arange(s.start, s.stop) for s in slices.values()]
        self.vertex_order = np.concatenate([np.concatenate([rows, rows + count]) for rows in half])
        self.drapes = self._drapes(muscles)
        self.draped_rows = np.concatenate([rows for rows, _, _ in self.drapes]) if self.drapes else np.zeros(0, int)
        self.shells = [  # (rows (n_u, n_s), side, shell) of every fan
            (rows, int(self.side[rows[0, 0]]), ElasticShell(lower[rows], upper[rows], DEEP_PULLS.get(name, DEEP_PULL)))
            for rows, name in (
                (np.arange(self.slices[n].start, self.slices[n].stop).reshape(self.shapes[n]), muscles[n].spec.name)
                for n in self.names
                if muscles[n].spec.name in FANS
            )
        ]

    def _spindles(self, muscles: dict, normal: FloatArray) -> list[SpindleRod]:
        """The spindle rods (spindle.py) of the muscles in SPINDLES, from the rest sheet ``normal`` (n, 3)."""
        spindles = []
        for name in self.names:
            if muscles[name].spec.name in SPINDLES:
                grid = np.arange(self.slices[name].start, self.slices[name].stop).reshape(self.shapes[name])
                ends = self.pin_segment[np.searchsorted(self.pin_rows, grid[0, [0, -1]])]
                spindles.append(SpindleRod.spindle_at_rest(grid, self.rest_points, normal, ends, muscles[name]))
        return spindles

    def _rod(self, name: str, normal: FloatArray) -> Rod:
        """The rod of one muscle (its rows in the concatenated arrays), pinned at its origin, via points and insertion."""
        muscle = self.rest[name]
        grid = np.arange(self.slices[name].start, self.slices[name].stop).reshape(self.shapes[name])
        stations = np.unique(pinned_indices([0.0] + [via.at for via in muscle.spec.via] + [1.0], grid.shape[1]))
        ends = self.pin_segment[np.searchsorted(self.pin_rows, grid[0, [0, -1]])]
        rod = Rod.at_rest(grid, self.rest_points, normal, ends, muscle, stations)
        on_pelvis = self.pin_segment[np.searchsorted(self.pin_rows, grid[0, stations])] % 3 == 0
        rod.fixed = np.zeros(grid.shape[1], bool)
        for k in np.flatnonzero(on_pelvis[:-1] & on_pelvis[1:]):  # piriformis from the sacrum to the sciatic notch
            rod.fixed[stations[k] : stations[k + 1] + 1] = True
        if muscle.form is not None and muscle.binding is not None:
            identity = {key: _EYE4 for key in _KEYS}
            distance, _ = self._nearest_bone(muscle.form.vertices, identity, SIDES.index(muscle.side))
            rod.rest_depth = np.maximum(FORM_CLEARANCE_MM - distance, 0.0)
        return rod

    def _posed_rods(
        self, points: FloatArray, full: dict[str, FloatArray]
    ) -> tuple[FloatArray, list[FloatArray], list[FloatArray]]:
        """Relaxed paths with every rod's cross-sections rigid (see rods.py), (n, 3); each rod's rotations (n_s, 3, 3)
        and the shifts (n_u, 2, 3) from its end rows (kept on their pins) to where its end sections put them.

        A rod with a form is then shifted, section by section, until its form is off the bones (``Rod.lifted``),
        the form carried by the cage its sections and turned faces give (thickened as its fibres shorten, as
        ``_result`` will), so the volume hold that follows sees the lifted rod.
        """
        if not self.rods:
            return points, [], []
        points, rotations, end_shifts = points.copy(), [], []
        normals, bones = self._reference_normals(full), self._segment_matrices(full)[:, :3, :3]
        for rod in self.rods:
            if isinstance(rod, SpindleRod):
                rod.gain = 1.0
            sections, turns = rod.pose(points, normals, bones)
            muscle = rod.muscle
            if muscle is not None and muscle.form is not None and muscle.binding is not None:
                side = int(self.side[rod.grid[0, 0]])
                if isinstance(rod, SpindleRod):
                    sections, turns = self._held_spindle(rod, points, sections, turns, normals, bones)
                faces = self._rod_faces(rod, sections, turns)
                for _ in range(LIFT_STEPS):
                    cage = np.concatenate([(sections + face).reshape(-1, 3) for face in faces])
                    shifts = rod.lifted(cage, lambda v, k=side: self._nearest_bone(v, full, k))
                    if not shifts.any():
                        break
                    sections = sections + shifts
            rotations.append(turns)
            # the fibres end on their bones: the hinge turns an end section about the line from its first to its
            # last sample, and piriformis' insertion samples on the trochanter, up to 4.8 mm off that line, swung
            # 5.4 mm off the bone at flexion 120 with the knee at 130. The end rows go back to their pins and their
            # faces keep where the section put them (put back faces and all, the tendon's tip folded)
            ends = rod.grid[:, [0, -1]]
            end_shifts.append(sections[:, [0, -1]] - points[ends])
            sections[:, [0, -1]] = points[ends]
            points[rod.grid] = sections
        return points, rotations, end_shifts

    def _rod_faces(self, rod: Rod, sections: FloatArray, turns: FloatArray) -> list[FloatArray]:
        """Both faces' offsets (n_u, n_s, 3) of a rod's ``sections`` (n_u, n_s, 3) turned with its ``turns`` (n_s, 3, 3)
        and thickened as ``_result`` will: a spindle by its sections' squeeze, any other rod as a whole."""
        if isinstance(rod, SpindleRod):
            thickening = np.clip(rod.thickening(sections.mean(axis=0)), *THICKNESS_RANGE)[None, :, None]
        else:
            thickening = np.clip(rod.muscle.length_mm() / polyline_lengths(sections).mean(), *THICKNESS_RANGE)
        turned = np.broadcast_to(turns, (*rod.grid.shape, 3, 3))
        return [
            thickening * np.einsum("usij,usj->usi", turned, offsets[rod.grid])
            for offsets in (self.lower_offsets, self.upper_offsets)
        ]

    def _held_spindle(
        self,
        rod: SpindleRod,
        points: FloatArray,
        sections: FloatArray,
        turns: FloatArray,
        normals: FloatArray,
        bones: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        """A spindle's sections (n_u, n_s, 3) and turns (n_s, 3, 3) widened across until its form holds its rest
        volume (``SpindleRod.gain``: up to SPINDLE_HOLD_STEPS times, divided by the bound form's volume over rest).

        ``points`` (n, 3) are the relaxed paths, ``sections`` and ``turns`` the rod posed without widening,
        ``normals`` (n, 3) and ``bones`` (k, 3, 3) as for :meth:`Rod.pose`.
        """
        muscle = rod.muscle
        rest_volume = signed_volume(muscle.form.vertices, muscle.form.faces)

        def volume(sections: FloatArray, turns: FloatArray) -> float:
            cage = np.concatenate([(sections + face).reshape(-1, 3) for face in self._rod_faces(rod, sections, turns)])
            form = muscle.binding.posed(muscle.form.vertices, muscle.vertices, cage)
            return signed_volume(form, muscle.form.faces) / rest_volume

        ratio = volume(sections, turns)
        for _ in range(SPINDLE_HOLD_STEPS):
            if abs(ratio - 1.0) < SPINDLE_HOLD_TOLERANCE:
                break
            rod.gain = float(np.clip(rod.gain / ratio, *SPINDLE_GAIN_RANGE))
            sections, turns = rod.pose(points, normals, bones)
            ratio = volume(sections, turns)
        return sections, turns

    def _reference_normals(self, full: dict[str, FloatArray]) -> FloatArray:
        """(n, 3) rest sheet normals turned with the blended rotation of their segments, unit length."""
        reference = self.rest_normals.copy()
        for rows, weight, key in self.moving:
            reference[rows] += weight * (self.rest_normals[rows] @ (full[key][:3, :3] - np.eye(3)).T)
        return reference / length(reference)[:, None]

    @staticmethod
    def _segment_matrices(full: dict[str, FloatArray]) -> FloatArray:
        """(6, 4, 4) transforms of pelvis, thigh and shank of each side, indexed like ``pin_segment``."""
        return np.stack(
            [_EYE4, full["thigh_right"], full["shank_right"], _EYE4, full["thigh_left"], full["shank_left"]]
        )

    def _drapes(self, muscles: dict) -> list[tuple[np.ndarray, np.ndarray, FloatArray]]:
        """(sheet rows, the nearest rows of the muscle under it, (n, 1) weights) of every draped sheet (DRAPED)."""
        from scipy.spatial import cKDTree

        drapes = []
        for name, muscle in muscles.items():
            under = f"{DRAPED.get(muscle.spec.name)}_{muscle.side}"
            if under not in self.slices:
                continue
            rows, under_rows = (np.arange(self.slices[n].start, self.slices[n].stop) for n in (name, under))
            top = self.rest_points[under_rows] + self.upper_offsets[under_rows]
            gap, nearest = cKDTree(top).query(self.rest_points[rows] + self.lower_offsets[rows])
            weight = np.clip((DRAPE_REACH_MM - gap) / (DRAPE_REACH_MM - DRAPE_FULL_MM), 0.0, 1.0)
            n_s = self.shapes[name][1]
            weight *= np.tile(np.clip(np.arange(n_s) / (DRAPE_ORIGIN_FADE * (n_s - 1)), 0.0, 1.0), self.shapes[name][0])
            drapes.append((rows, under_rows[nearest], (weight * weight * (3 - 2 * weight))[:, None]))
        return drapes

    # ------------------------------------------------------------------ geometry helpers

    def _stencil(self) -> None:
        """Neighbour rows across (u) and along (s) each fibre sheet, for its local frame at every sample."""
        plus_u, minus_u, plus_s, minus_s = [], [], [], []
        for name in self.names:
            n_u, n_s = self.shapes[name]
            grid = np.arange(n_u * n_s).reshape(n_u, n_s) + self.slices[name].start
            u, s = np.meshgrid(np.arange(n_u), np.arange(n_s), indexing="ij")
            plus_u.append(grid[np.minimum(u + 1, n_u - 1), s].ravel())
            minus_u.append(grid[np.maximum(u - 1, 0), s].ravel())
            plus_s.append(grid[u, np.minimum(s + 1, n_s - 1)].ravel())
            minus_s.append(grid[u, np.maximum(s - 1, 0)].ravel())
        self.stencil = [np.concatenate(a) for a in (plus_u, minus_u, plus_s, minus_s)]
        self.f_pu, self.f_mu, self.f_ps, self.f_ms = (a[self.free] for a in self.stencil)
        skinned_rows = ~self.taut[self.free]  # skinned sheets smooth along their fibres, taut ones across too
        self.f_pu = np.where(skinned_rows, self.f_ps, self.f_pu)
        self.f_mu = np.where(skinned_rows, self.f_ms, self.f_mu)
        self.muscle_starts = np.array([self.slices[n].start for n in self.names])
        self.muscle_of_point = np.repeat(
            np.arange(len(self.names)), [self.slices[n].stop - self.slices[n].start for n in self.names]
        )

    def _clear_faces(self, low: FloatArray, high: FloatArray, full: dict) -> tuple[FloatArray, FloatArray]:
        """Lift surface vertices that ended up in a bone back out (a lifted deep face carries its top along).

        The top face is only tested where the deep face came within the muscle's thickness of the bone.
        """
        thickness = length(high - low)
        for name, grid, matrix, _ in self._bone_frames(full):
            rows = self.surface_rows[name]
            rotation = matrix[:3, :3]
            for face in (low, high):
                distance, gradient = grid.sample((face[rows] - matrix[:3, 3]) @ rotation)
                depth = VERTEX_CLEARANCE_MM - distance
                hit = depth > 0
                if hit.any():
                    g = gradient[hit] @ rotation.T
                    move = depth[hit, None] * g / (length(g)[:, None] + 1e-9)
                    face[rows[hit]] += move
                    if face is low:
                        high[rows[hit]] += move
                if face is low:  # the top face can only reach the bone where the deep face is near it
                    rows = rows[depth > -thickness[rows] - 1.0]
        return low, high

    def _frames(self, points: FloatArray, reference: FloatArray | None = None):
        """Orthonormal sheet frame (along, across, normal) at every sample.

        With a ``reference`` normal (the rest normal turned with the segments), the normal never points
        against it: where the (u, s) grid folds over locally the frame falls back to the reference.
        """
        pu, mu, ps, ms = self.stencil
        along = points[ps] - points[ms]
        normal = cross(points[pu] - points[mu], along) * self.orientation[:, None]
        normal /= length(normal)[:, None] + 1e-12
        for _ in range(
            NORMAL_SMOOTHING
        ):  # degenerate samples (an attachment drawn to a point) take their neighbours' normal
            normal = 2.0 * normal + normal[pu] + normal[mu] + normal[ps] + normal[ms]
            normal /= length(normal)[:, None] + 1e-12
        if reference is not None:
            trust = np.clip(2.0 * np.einsum("ij,ij->i", normal, reference), 0.0, 1.0)[:, None]
            normal = trust * normal + (1.0 - trust) * reference
            normal /= length(normal)[:, None] + 1e-12
        along = along - np.einsum("ij,ij->i", along, normal)[:, None] * normal
        along /= length(along)[:, None] + 1e-12
        return along, cross(normal, along), normal

    def _fibre_lengths(self, points: FloatArray) -> FloatArray:
        segments = points[1:] - points[:-1]
        step = np.append(length(segments), 0.0) * self.within_fibre
        return np.add.reduceat(step, self.fibre_starts)

    def _bone_frames(self, transforms: dict[str, FloatArray], points=None):
        """(name, grid, 4x4 transform of its bone, free rows to test) for every obstacle."""
        frames = [("pelvis", self.grids["pelvis"], _EYE4, self.free)]
        for k, side in enumerate(SIDES):
            frames.append(
                (f"femur_{side}", self.grids[f"femur_{side}"], transforms[f"thigh_{side}"], self.free_by_side[k])
            )
            frames.append(
                (f"tibia_{side}", self.grids[f"tibia_{side}"], transforms[f"shank_{side}"], self.shank_rows[k])
            )
        return frames

    def _nearest_bone(self, vertices: FloatArray, full: dict, side: int) -> tuple[FloatArray, FloatArray]:
        """Distance to the nearest bone of one side and that bone's outward unit gradient, per vertex."""
        best = np.full(len(vertices), np.inf)
        direction = np.zeros_like(vertices)
        for name, grid, matrix, _ in self._bone_frames(full):
            if name != "pelvis" and not name.endswith(SIDES[side]):
                continue
            rotation = matrix[:3, :3]
            distance, gradient = grid.sample((vertices - matrix[:3, 3]) @ rotation)
            closer = distance < best
            best[closer] = distance[closer]
            direction[closer] = gradient[closer] @ rotation.T
        return best, direction / (length(direction)[:, None] + 1e-12)

    def _push_out(self, points: FloatArray, frames, active, extra: FloatArray) -> list[np.ndarray]:
        """Move free samples out of every bone to their clearance; returns, per bone, the rows near it."""
        near = []
        for index, (name, grid, matrix, rows) in enumerate(frames):
            rows = rows if active is None else active[index]
            if len(rows) == 0:
                near.append(rows)
                continue
            rotation = matrix[:3, :3]
            distance, gradient = grid.sample((points[rows] - matrix[:3, 3]) @ rotation)
            depth = self.clearance[name][rows] + extra[rows] - distance
            if active is None:  # later iterations of this pose only look at samples that came close
                near.append(rows[depth > -ACTIVE_BAND_MM])
            hit = depth > 0
            if hit.any():
                g = gradient[hit] @ rotation.T
                g /= length(g)[:, None] + 1e-9
                points[rows[hit]] += depth[hit, None] * g
        return near if active is None else active

    # ------------------------------------------------------------------ posing

    def warm_start(self) -> tuple[FloatArray, FloatArray, FloatArray | None]:
        """A copy of the warm-start state (displacement (n, 3), scale (n,), last transforms), for a what-if pose."""
        previous = None if self.previous is None else self.previous.copy()
        return self.displacement.copy(), self.scale.copy(), previous

    def restore_warm_start(self, state: tuple[FloatArray, FloatArray, FloatArray | None]) -> None:
        """Put back a state from :meth:`warm_start`: the live pose continues as if the what-if never ran."""
        self.displacement, self.scale, self.previous = state[0].copy(), state[1].copy(), state[2]

    def reset(self) -> None:
        """Forget the warm start: the next pose is solved as a jump from anatomical position."""
        self.displacement[:] = 0.0
        self.scale[:] = 1.0
        self.previous = None

    def pose(
        self, transforms: dict[str, FloatArray], poses: dict[str, LegPose] | None = None
    ) -> dict[str, PosedMuscle]:
        """All muscles at the pose given by ``thigh_<side>`` and ``shank_<side>`` 4x4 transforms (pelvis frame).

        The solver works from the transforms alone; ``poses`` (the joint angles) are accepted as every deformer's.
        """
        full = {key: np.asarray(transforms.get(key, _EYE4), float) for key in _KEYS}
        pelvis = np.asarray(transforms.get("pelvis", _EYE4), float)
        moved_pelvis = bool(np.abs(pelvis - _EYE4).max() > 1e-12)
        if moved_pelvis:  # pose in the pelvis frame, then carry everything with it
            inverse = np.linalg.inv(pelvis)
            full = {k: inverse @ v for k, v in full.items()}
        stacked = np.stack([full[k] for k in _KEYS])
        if np.abs(stacked - _EYE4).max() < 1e-12:  # anatomical position: the rest geometry itself
            self.displacement[:] = 0.0
            self.scale[:] = 1.0
            self.previous = stacked
            self.rod_turns = {
                rod.muscle.name: np.broadcast_to(_EYE4[:3, :3], (rod.grid.shape[1], 3, 3)) for rod in self.rods
            }
            return self._result(self.rest_points, None, pelvis if moved_pelvis else None)
        start = self.previous if self.previous is not None else np.stack([_EYE4] * len(_KEYS))
        jump = np.abs(stacked - start)[:, :3, :3].max()
        if jump >= WARM_LIMIT:  # a jump: walk there from rest in steps, so paths wrap around the bones on
            # the right side and the result does not depend on the poses visited before
            start = np.stack([_EYE4] * len(_KEYS))
            self.displacement[:] = 0.0
            self.scale[:] = 1.0
            jump = np.abs(stacked - start)[:, :3, :3].max()
            steps = int(np.ceil(jump / STEP_LIMIT))
            for fraction in np.arange(1, steps) / steps:
                between = _interpolate(start, stacked, fraction)
                self._relax(dict(zip(_KEYS, between, strict=True)), STEP_ITERATIONS)
        points, rod_rotations, rod_ends = self._posed_rods(self._relax(full, ITERATIONS), full)
        self.rod_turns = {rod.muscle.name: turns for rod, turns in zip(self.rods, rod_rotations, strict=True)}
        self.previous = stacked
        return self._result(points, full, pelvis if moved_pelvis else None, rod_rotations, rod_ends)

    def _relax(self, full: dict[str, FloatArray], iterations: int) -> FloatArray:
        """Warm-started relaxation at one pose: smooth the displacement over each sheet, push out of bone."""
        skinned = self._skin(full)
        frames = self._bone_frames(full)
        extra = self.lower_depth * np.clip(self.scale - 1.0, 0.0, None)  # a thickened tube needs more room
        d, free = self.displacement, self.free
        active = None
        for _ in range(iterations):
            d[free] += SMOOTHING * (0.25 * (d[self.f_pu] + d[self.f_mu] + d[self.f_ps] + d[self.f_ms]) - d[free])
            points = skinned + d
            active = self._push_out(points, frames, active, extra)
            d = points - skinned
        self.displacement = d
        return skinned + d

    def _hold_draped(self, low: FloatArray, high: FloatArray) -> None:
        """The draped sheets' volumes held again, in place, by thickening (or thinning) them about their deep faces
        (``low``, ``high`` (n, 3)): following the muscle under it, the band stretched or slackened by up to 13%."""
        rows = self.draped_rows
        keep = self.rest_volume_estimates / self._volume_estimates(low, np.zeros_like(low), high - low)
        keep = np.clip(keep, *KEEP_RANGE)[self.muscle_of_point[rows], None]
        high[rows] = low[rows] + (high[rows] - low[rows]) * keep

    def _solve_shells(
        self, points: FloatArray, low: FloatArray, high: FloatArray, scale: FloatArray, full: dict[str, FloatArray]
    ) -> None:
        """Both faces of every fan of a moved leg solved as-rigid-as-possible (ElasticShell), volumes held again."""
        along = self._fibre_lengths(points) / self.rest_fibre_lengths
        solved = []
        for rows, side, shell in self.shells:
            if np.abs(full[f"thigh_{SIDES[side]}"] - _EYE4).max() < 1e-12:
                continue  # a leg at rest keeps its laid-off (rest) cage
            flat = rows.ravel()
            cage = shell.pose(low[flat], high[flat], along[self.fibre_of_point[rows[:, 0]]], scale[flat])
            low[flat], high[flat] = cage[: len(flat)], cage[len(flat) :]
            solved.append(flat)
        if solved:  # the volume hold on the solved cages: thickening (or thinning) about the deep face
            rows = np.concatenate(solved)
            for _ in range(VOLUME_STEPS):
                keep = self.rest_volume_estimates / self._volume_estimates(points, low - points, high - points)
                keep = np.clip(keep, *KEEP_RANGE)
                high[rows] = low[rows] + (high[rows] - low[rows]) * keep[self.muscle_of_point[rows], None]

    def _skin(self, full: dict[str, FloatArray]) -> FloatArray:
        """Blend-skinned paths (taut rows: posed chord plus turned rest bow), before collision handling."""
        pin_matrices = self._segment_matrices(full)[self.pin_segment]
        pins = (
            np.einsum("nij,nj->ni", pin_matrices[:, :3, :3], self.rest_points[self.pin_rows]) + pin_matrices[:, :3, 3]
        )
        points = self.rest_points.copy()
        chord = (1 - self.chord_alpha) * pins[self.chord_left] + self.chord_alpha * pins[self.chord_right]
        points[self.taut_rows] = chord + self.base[self.taut_rows]
        for rows, weight, key in self.moving:
            matrix = full[key]
            turn = matrix[:3, :3] - np.eye(3)
            points[rows] += weight * (self.base[rows] @ turn.T + self.translate[rows] * matrix[:3, 3])
        # a shortened rotator goes slack: its bow shrinks with its span instead of crumpling
        spans = length(pins[self.chord_right] - pins[self.chord_left])
        slack = np.minimum(spans / np.maximum(self.rest_spans, 1e-9), 1.0)[:, None]
        points[self.taut_rows] = chord + slack * (points[self.taut_rows] - chord)
        return points

    def _block_offsets(self, block: BulgingBlock, points: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Face offsets of a block carried by linear maps that best fit its posed sheet (not yet bulged).

        A block as thick as it is long folds if its far face is laid off a bending sheet; carried by a linear
        map (the sheet's own bends added to both faces alike) it only shears. Each station's map is fitted to
        the sheet near it (Gaussian weights over the stations, BLOCK_MAP_STATIONS wide), so the maps turn
        along the block as its ends turn apart: one map for the whole block left quadratus femoris' end faces
        sheared against the femur at flexion 90 with the knee at 90 (1.51% of its edges creased, 1.27% so).
        The maps are fitted in the rest sheet's plane (a flat point set says nothing about its normal); the
        offsets' normal part goes along the posed sheet's area-weighted normal near the station, which stays
        well defined where a map degenerates (external rotation with adduction squeezes the sheet to a twisted
        strip), and the thickness is not slanted on a strip (``trust``).
        """
        rows = block.rows
        rest = self.rest_points[rows]
        plane = np.linalg.svd(rest - rest.mean(axis=0), full_matrices=False)[2][:2]
        normal = np.cross(plane[0], plane[1])
        n_s = block.n_s
        station = block.station[: len(rows)]
        grid = points[rows].reshape(-1, n_s, 3)
        cells = np.cross(grid[1:, 1:] - grid[:-1, :-1], grid[:-1, 1:] - grid[1:, :-1]).sum(axis=0)  # (n_s - 1, 3)
        sign = np.sign(normal @ _grid_normal(rest.reshape(-1, n_s, 3)))
        flat, posed = rest @ plane.T, points[rows]
        lower, upper = np.zeros((len(rows), 3)), np.zeros((len(rows), 3))
        for k in range(n_s):
            weight = np.exp(-0.5 * ((station - k) / BLOCK_MAP_STATIONS) ** 2)
            root = np.sqrt(weight)[:, None]
            source = flat - np.average(flat, axis=0, weights=weight)
            target = posed - np.average(posed, axis=0, weights=weight)
            fit, *_ = np.linalg.lstsq(root * source, root * target, rcond=None)
            cell_weight = np.exp(-0.5 * ((np.arange(n_s - 1) + 0.5 - k) / BLOCK_MAP_STATIONS) ** 2)
            posed_normal = (cell_weight[:, None] * cells).sum(axis=0)
            posed_normal = sign * posed_normal / (np.linalg.norm(posed_normal) + 1e-12)
            trust = float(np.clip((np.linalg.norm(np.cross(fit[0], fit[1])) - 0.3) / 0.4, 0.0, 1.0))
            at = station == k
            low = self.lower_offsets[rows][at]
            thick = self.upper_offsets[rows][at] - low
            lower[at] = (low @ plane.T) @ fit + np.outer(low @ normal, posed_normal)
            upper[at] = lower[at] + trust * (thick @ plane.T) @ fit + np.outer(thick @ normal, posed_normal)
        return lower, upper

    def _turned_offsets(self, full: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
        """Rest offsets of both faces turned with the blended segment rotation of their sample."""
        lower, upper = self.lower_offsets.copy(), self.upper_offsets.copy()
        for rows, weight, key in self.moving:
            turn = (full[key][:3, :3] - np.eye(3)).T
            lower[rows] += weight * (self.lower_offsets[rows] @ turn)
            upper[rows] += weight * (self.upper_offsets[rows] @ turn)
        return lower, upper

    def _prisms(self, area: FloatArray, thickness: FloatArray, normal: FloatArray) -> FloatArray:
        """Volume of every muscle (x4) as sheet area element times thickness along the normal.

        Linear in the thickness and blind to how the offset face curves, so the volume hold
        cannot feed on a fold (a folded face reads as little volume, and more thickness folds it more).
        """
        per_sample = np.maximum(area, 0.0) * np.maximum(np.einsum("ij,ij->i", thickness, normal), 0.0)
        return np.add.reduceat(per_sample, self.muscle_starts)

    def _volume_estimates(self, points: FloatArray, lower: FloatArray, upper: FloatArray) -> FloatArray:
        """Volume of every muscle at once (x6): the (u, s) grid swept from its lower to its upper face.

        Per sample, the thickness vector dotted with the area elements of the lower, middle and upper
        surfaces by Simpson's rule, which is exact for the cubic a straight sweep gives.
        """
        pu, mu, ps, ms = self.stencil
        low, high = points + lower, points + upper
        low_u, low_s, high_u, high_s = low[pu] - low[mu], low[ps] - low[ms], high[pu] - high[mu], high[ps] - high[ms]
        area = cross(low_u, low_s) + cross(high_u, high_s) + cross(low_u + high_u, low_s + high_s)
        return np.add.reduceat(np.einsum("ij,ij->i", area, upper - lower), self.muscle_starts)

    def _result(
        self,
        points: FloatArray,
        full: dict | None,
        pelvis: FloatArray | None,
        rod_rotations: list | None = None,
        rod_ends: list | None = None,
    ) -> dict:
        """The posed muscles from posed fibre ``points`` (n, 3); ``rod_rotations`` and ``rod_ends`` from :meth:`_posed_rods`."""
        if full is None:
            low, high = points + self.lower_offsets, points + self.upper_offsets
        else:  # the belly thickens as the fibres shorten, then each muscle's volume is held
            along, across, normal = self._frames(points, self._reference_normals(full))
            # where the (u, s) grid folds over (its area element turns against the normal) the box is
            # collapsed to the sheet there instead of being turned inside out; the volume hold makes it up
            pu, mu, ps, ms = self.stencil
            area = self.orientation * np.einsum(
                "ij,ij->i", cross(points[pu] - points[mu], points[ps] - points[ms]), normal
            )
            kept = np.clip(area / (FOLD_AREA * self.rest_areas), 0.0, 1.0)[:, None]
            framed = (
                kept * (local[:, :1] * along + local[:, 1:2] * across + local[:, 2:] * normal)
                for local in (self.lower_local, self.upper_local)
            )
            turned = self._turned_offsets(full)
            lower, upper = (np.where(self.framed[:, None], f, t) for f, t in zip(framed, turned, strict=True))
            lower[self.pelvic_rows] = self.lower_offsets[self.pelvic_rows]  # rigid with the pelvis, as at rest
            upper[self.pelvic_rows] = self.upper_offsets[self.pelvic_rows]
            for rod, turns in zip(self.rods, rod_rotations or [], strict=True):  # faces turned with their section
                rows, turns = rod.grid.ravel(), np.broadcast_to(turns, (*rod.grid.shape, 3, 3)).reshape(-1, 3, 3)
                lower[rows] = np.einsum("nij,nj->ni", turns, self.lower_offsets[rows])
                upper[rows] = np.einsum("nij,nj->ni", turns, self.upper_offsets[rows])
            lengths = self._fibre_lengths(points)
            scale = np.clip(self.rest_fibre_lengths / np.maximum(lengths, 1e-6), *THICKNESS_RANGE)[self.fibre_of_point]
            # a rod thickens as a whole (per piece, piriformis would step at the sciatic notch, its pelvic piece
            # keeping its length while the rest shortens or stretches)
            for rod in self.rods:
                rows = rod.grid.ravel()
                pieces = np.unique(self.fibre_of_point[rows])
                whole = self.rest_fibre_lengths[pieces].sum() / max(lengths[pieces].sum(), 1e-6)
                scale[rows] = np.clip(whole, *THICKNESS_RANGE)
            for block in self.blocks:  # skinned, and their bellies bulge instead (below)
                scale[block.rows] = 1.0
            for rod in self.rods:  # a spindle thickens where its belly shortens (spindle.py)
                if isinstance(rod, SpindleRod):
                    scale[rod.grid] = np.clip(rod.thickening(points[rod.grid].mean(axis=0)), *THICKNESS_RANGE)
            lower, upper = lower * scale[:, None], upper * scale[:, None]
            for _ in range(VOLUME_STEPS):
                keep = np.where(
                    self.prism_muscles,
                    self.rest_prisms / np.maximum(self._prisms(area, upper - lower, normal), 1e-9),
                    self.rest_volume_estimates / self._volume_estimates(points, lower, upper),
                )
                keep = np.where(self.self_held, 1.0, np.clip(keep, *KEEP_RANGE))[self.muscle_of_point]
                # the range bounds the thickening in all
                keep = (np.clip(scale * keep, *THICKNESS_RANGE) / scale)[:, None]
                lower, upper, scale = lower * keep, upper * keep, scale * keep[:, 0]
            self.scale = scale
            low, high = points + lower, points + upper
            for rod, shift in zip(self.rods, rod_ends or [], strict=True):  # end faces where the section put them
                ends = rod.grid[:, [0, -1]]
                low[ends] += shift
                high[ends] += shift
            if self.drapes:  # a sheet draped over a muscle follows that muscle's top face off its skinned place
                draped_on = self._skin(full) + turned[1]
                for rows, under, weight in self.drapes:
                    rise = weight * (high[under] - draped_on[under])
                    low[rows] += rise
                    high[rows] += rise
                self._hold_draped(low, high)
            for block in self.blocks:
                offsets = self._block_offsets(block, points)
                side = int(self.side[block.rows[0]])
                low[block.rows], high[block.rows] = block.pose(
                    points[block.rows],
                    *offsets,
                    lambda v, k=side: self._nearest_bone(v, full, k),
                    full[f"thigh_{SIDES[side]}"][:3, :3],
                )
            self._solve_shells(points, low, high, scale, full)
            low, high = self._clear_faces(low, high, full)
        if pelvis is not None:
            low, high, points = (p @ pelvis[:3, :3].T + pelvis[:3, 3] for p in (low, high, points))
        vertices = np.concatenate([low, high])[self.vertex_order]
        posed_muscles = {}
        start = 0
        for name in self.names:
            rows, shape = self.slices[name], (*self.shapes[name], 3)
            size = 2 * (rows.stop - rows.start)
            posed_muscles[name] = PosedMuscle(
                vertices[start : start + size], points[rows].reshape(shape), high[rows].reshape(shape)
            )
            start += size
        return posed_muscles
