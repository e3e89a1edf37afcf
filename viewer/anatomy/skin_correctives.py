"""Pose correctives of the skin: pose-space deformation keyed by the hip angles.

Dual-quaternion skinning (:mod:`viewer.anatomy.skinning`) carries the skin with the thighs, but a
rigid blend knows nothing of what lies beneath: in deep flexion the groin crease folds into tensor
fasciae latae, sartorius and the iliotibial band, and in extension with external rotation gluteus
maximus rounds out through the buttock. Pose-space deformation (Lewis, Cordner and Fong 2000, "Pose
space deformation: a unified approach to shape interpolation and skeleton-driven deformation",
SIGGRAPH 2000) adds, before skinning, a correction of the rest shape that depends on the pose.

Here the corrections are solved once by the skin build (:func:`build_correctives`) at the nodes of a
grid over each hip's flexion, abduction and rotation (:data:`NODE_ANGLES`): the skin is posed, then
lifted off the posed muscles and bones to :data:`COVER_MM` by the same smooth push the rest fit uses
(each round's lift is smoothed over the neighbouring skin, so a muscle raises a broad rounded area,
never a tent), and the lift is carried back into the rest (bind) frame by the inverse of each vertex's
blended rotation. Where the posed skin folds (the groin crease of the flexed, abducted hip, its walls facing each
other over tensor fasciae latae's origin) and the lift carries each wall towards the other, the lift is evened out
over the skin near in space rather than along the mesh (:func:`fold_weight`, :func:`fold_evening`): both walls then
move alike instead of each along its own normal through the other.

The knee has its own nodes (:data:`KNEE_NODE_ANGLES`): bent, the back of the thigh and the calf
meet behind it, and the rigid blend carried the calf through the hamstrings' skin (the surface
passed through itself: 350-500 vertices at 90 degrees, 850-1000 at 130). There the build parts
the two layers (:func:`crease_at_knee`) at the plane that halves the angle between thigh and shank,
as soft tissue pressed together meets in the popliteal crease; no muscle is looked up.

At run time (:meth:`SkinCorrectives.leg_offsets`) each leg's correction is the trilinear blend of
the eight grid nodes around its hip angles plus the linear blend of the two knee nodes around its
knee angle, added to the rest skin before skinning: a gather and a weighted sum over the few
thousand vertices that ever move.

The table ships beside each skin as ``assets/meshes/skin_correctives_<body>.npz``, written by
``python -m viewer.tools.build_skin`` together with the skin it belongs to.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from viewer.anatomy.bones import SIDES, Surface
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.types import FloatArray, IntArray

# Grid nodes (degrees) of each hip's corrections; the test poses of the pose grid lie on nodes. Rotation has a node
# every 22.5 degrees: in flexion the groin crease folds deepest in front of the hip between 0 and 45 (the lift the
# skin needs near tensor fasciae latae at flexion 90, female: 24 mm at rotation 0 and 45, 26-27 mm at 22-35), and
# the blend of those two nodes, turning between their lifts' directions, fell short of both (22 mm at 35: the band
# and the tensor stood through the skin, 99.78% of muscle, fascia and bone vertices inside)
NODE_ANGLES: dict[str, tuple[float, ...]] = {
    "hip_flexion": (-20.0, 0.0, 45.0, 90.0, 120.0),
    "hip_abduction": (-30.0, 0.0, 45.0),
    "hip_rotation": (-45.0, -22.5, 0.0, 22.5, 45.0),
}
COVER_MM = 4.5  # least skin and fat kept over any posed muscle or bone (the rest fit keeps 6) ...
SETTLE_MM = 1.0  # ... lifted this much further, then smoothed over SMOOTH_PASSES, which settles it back a little
SMOOTH_PASSES = 6
KEPT_MM = 0.05  # lifts smaller than this are dropped from the table
SPACING_MM = 3.0  # distance field spacing of the posed muscles and bones
REACH_MM = 45.0  # the lift is solved this far around those places ...
TAPER_MM = 15.0  # ... and fades to nothing over this much at the edge of that reach
# skin carried this much by the posed leg is lifted along its normal where the gradient turns inward: the lateral
# hip's skin over tensor fasciae latae too, carried mostly by the pelvis (0.15-0.45), which the gradient drove on
# through the bunched muscle at 90/45/45 (384 of its vertices stood out of the female skin with 0.5); the other
# cheek across the natal cleft (the far wall of a fold) is the other leg's, near 0
OWN_SKIN_WEIGHT = 0.1
# Folds: where the posed skin's walls face each other across a crease (the groin in flexion with abduction), lifting
# each wall off what lies in the crease along its own normal or gradient drives the two walls into each other (the
# tensor fasciae latae, widened as a spindle, bunched under the groin at 90/45/0: 268 crossing pairs in the female
# node's lift). There the lift is evened out over the skin near in space, not along the mesh, so both walls move alike.
FOLD_REACH_MM = 20.0  # two places of the skin this near whose normals face each other ...
FOLD_FACING = -0.3  # ... (cosine of their normals below this, each in front of the other) are a fold's walls ...
FOLD_TOWARD_MM = 0.1  # ... where each is lifted more than this towards the other (the flank over the flexed thigh is
# not: evened out there too, the lateral thigh at flexion 120 stood 7.6 mm out, 5.7 before)
FOLD_PASSES = 16  # the fold's walls fade out over this many umbrella passes around them ...
FOLD_GAIN = 8.0  # ... taken fully where the smoothed share of walls reaches 1 / FOLD_GAIN
FOLD_EVEN_MM = 15.0  # the lift in a fold is the mean over the skin within this distance (Gaussian, sigma half of it)
FOLD_ROUNDS = 2  # rounds lifting what the fold's skin still lacks, evened out the same way (three left 10 pairs)
# Knee flexion nodes (degrees) of each knee's crease, solved with the hip straight (blended linearly between them).
KNEE_NODE_ANGLES: tuple[float, ...] = (0.0, 45.0, 90.0, 130.0)
CREASE_GAP_MM = 1.0  # each layer of the popliteal crease is kept this far from the plane between thigh and shank
CREASE_REACH_MM = 160.0  # the crease is solved on the leg's skin within this height of the knee centre
CREASE_RISE = 0.1  # ... and further by this much of its rest height from the knee (the layers fan out from the axis)
CREASE_SIDE_MM = 10.0  # a vertex's side of the crease passes from shank to thigh over this height at the knee
CREASE_FRONT_MM = 30.0  # the crease reaches this far in front of the knee's axis (the sides of the knee) ...
CREASE_FADE_MM = 20.0  # ... fading in over this much behind it; the front of the knee stretches, never creases
CREASE_CUT_MM = 40.0  # the crease fades to nothing over this height above the cut end below the knee ...
CREASE_CUT_DEG = 100.0  # ... at knee flexions up to this (beyond it the cut end meets the thigh: parted too)
CREASE_ROUNDS = 20  # rounds of parting, each smoothed over CREASE_PASSES, then a last unsmoothed one
CREASE_PASSES = 2
_VERSION = "skin-correctives-6"  # bump when the solve or the stored layout changes


class SkinCorrectivesError(RuntimeError):
    """The correctives table is missing, unreadable or belongs to another skin; the message names the file."""


def correctives_file(body: str) -> str:
    """File name of one body type's correctives table."""
    return f"skin_correctives_{body}.npz"


def skin_digest(vertices: FloatArray) -> str:
    """Short hash of a rest skin's vertices as its PLY stores them (float32, to 0.01 mm): ties a table to its skin."""
    import hashlib

    stored = np.asarray(vertices, np.float32).astype(np.float64)  # the fit's float64 and the file's float32 agree
    return hashlib.sha256(np.round(stored, 2).tobytes()).hexdigest()[:16]


def node_poses() -> list[LegPose]:
    """The hip poses of the grid nodes, flexion slowest and rotation fastest (the tables' node order)."""
    flexions, abductions, rotations = NODE_ANGLES.values()
    return [
        LegPose(hip_flexion=f, hip_abduction=a, hip_rotation=r) for f in flexions for a in abductions for r in rotations
    ]


def node_weights(axes: list[FloatArray], angles: tuple[float, ...]) -> tuple[IntArray, FloatArray]:
    """Multilinear interpolation on a grid with uneven node spacing (trilinear over the hip's three angles, linear
    over the knee's one).

    Parameters
    ----------
    axes : k (n_axis,) arrays
        Increasing node angles of each axis (the hip's flexion, abduction and rotation; or the knee's flexion).
    angles : (k,) degrees
        The pose; angles beyond the grid are clamped to its ends.

    Returns
    -------
    index : (2**k,) int array
        Flat indices (C order over the axes) of the nodes around the pose.
    weight : (2**k,) float array
        Their weights, summing to one.
    """
    lows, fractions = [], []
    for axis, value in zip(axes, angles, strict=True):
        value = min(max(float(value), float(axis[0])), float(axis[-1]))
        low = min(int(np.searchsorted(axis, value, side="right")) - 1, len(axis) - 2)
        lows.append(low)
        fractions.append((value - axis[low]) / (axis[low + 1] - axis[low]))
    corners = np.array([[(c >> bit) & 1 for bit in range(len(axes))] for c in range(2 ** len(axes))])  # offsets 0/1
    index = np.ravel_multi_index(tuple((np.array(lows) + corners).T), [len(a) for a in axes])
    weight = np.prod(np.where(corners == 1, fractions, 1.0 - np.array(fractions)), axis=1)
    return index, weight


@dataclass(frozen=True)
class SkinCorrectives:
    """Each hip's rest-frame corrections of the skin at the grid nodes.

    Attributes
    ----------
    axes : three (n_axis,) arrays
        Node angles of flexion, abduction and rotation (degrees).
    rows : dict side -> (m_side,) int array
        The skin vertices a side's corrections move at some node.
    offsets : dict side -> (n_nodes, m_side, 3) float32 array
        Rest-frame displacement of those vertices at each hip node (mm), nodes in :func:`node_poses` order.
    n_vertices : int
        Vertex count of the skin the table belongs to.
    knee_axis : (n_knee,) array
        Knee flexion nodes (degrees), the first 0.
    knee_offsets : dict side -> (n_knee, m_side, 3) float32 array
        Rest-frame displacement of the same vertices at each knee node (the popliteal crease), hip straight.
    """

    axes: list[FloatArray]
    rows: dict[str, IntArray]
    offsets: dict[str, FloatArray]
    n_vertices: int
    knee_axis: FloatArray
    knee_offsets: dict[str, FloatArray]

    def offsets_at(self, poses: Mapping[str, LegPose]) -> FloatArray | None:
        """Rest-frame displacement (n_vertices, 3) of the skin at both legs' hip angles; None at anatomical position."""
        total = None
        for side, pose in poses.items():
            leg = self.leg_offsets(side, pose)
            if leg is None:
                continue
            if total is None:
                total = np.zeros((self.n_vertices, 3))
            total[leg[0]] += leg[1]
        return total

    def leg_offsets(self, side: str, pose: LegPose) -> tuple[IntArray, FloatArray] | None:
        """One leg's correction at its hip and knee angles: the (m,) skin vertices it moves and their (m, 3)
        rest-frame displacement (float32); None when the leg has no correction there (at anatomical position)."""
        if side not in self.rows or not len(self.rows[side]):
            return None
        angles = (pose.hip_flexion, pose.hip_abduction, pose.hip_rotation)
        tables = []  # (axes, angles, table) of the hip's grid and the knee's nodes, where the leg is off their origin
        if any(angles):
            tables.append((self.axes, angles, self.offsets[side]))
        if pose.knee_flexion:
            tables.append(([self.knee_axis], (pose.knee_flexion,), self.knee_offsets[side]))
        if not tables:
            return None
        total = None
        for axes, at, table in tables:
            index, weight = node_weights(axes, at)
            keep = weight > 1e-9
            blend = np.tensordot(weight[keep].astype(np.float32), table[index[keep]], axes=1)
            total = blend if total is None else total + blend
        return self.rows[side], total

    def arrays(self, skin_hash: str, provenance: dict) -> dict[str, np.ndarray]:
        """The table as named arrays for an ``.npz`` (see :func:`load_correctives`)."""
        arrays = {f"axis_{k}": np.asarray(axis, float) for k, axis in enumerate(self.axes)}
        for side in SIDES:
            arrays[f"rows_{side}"] = self.rows[side].astype(np.int32)
            arrays[f"offsets_{side}"] = self.offsets[side].astype(np.float16)  # 0.01 mm at 10 mm: ample
            arrays[f"knee_offsets_{side}"] = self.knee_offsets[side].astype(np.float16)
        arrays["knee_axis"] = np.asarray(self.knee_axis, float)
        arrays["n_vertices"] = np.array(self.n_vertices)
        arrays["skin_sha256"] = np.array(skin_hash)
        arrays["provenance"] = np.array(json.dumps(provenance, sort_keys=True, separators=(",", ":")))
        return arrays


def write_correctives(path: Path, correctives: SkinCorrectives, skin_vertices: FloatArray, provenance: dict) -> None:
    """Save a table (compressed) beside its skin, with the skin's hash and the build's provenance."""
    from viewer.cache import atomic_write

    arrays = correctives.arrays(skin_digest(skin_vertices), {"version": _VERSION, **provenance})

    def write(temporary: Path) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        temporary.write_bytes(buffer.getvalue())

    atomic_write(path, write)


def read_correctives(path: Path, skin_vertices: FloatArray) -> SkinCorrectives:
    """The table at ``path`` for the rest skin ``skin_vertices`` (n, 3); a clear error if missing, broken or another skin's."""
    rebuild = "(regenerate with: python -m viewer.tools.build_skin)"
    if not path.is_file():
        raise SkinCorrectivesError(f"{path}: skin correctives not found {rebuild}")
    try:
        with np.load(path) as data:
            arrays = {key: data[key] for key in data.files}
        axes = [np.asarray(arrays[f"axis_{k}"], float) for k in range(3)]
        rows = {side: np.asarray(arrays[f"rows_{side}"], np.int64) for side in SIDES}
        offsets = {side: np.asarray(arrays[f"offsets_{side}"], np.float32) for side in SIDES}
        knee_axis = np.asarray(arrays["knee_axis"], float)
        knee_offsets = {side: np.asarray(arrays[f"knee_offsets_{side}"], np.float32) for side in SIDES}
        n_vertices = int(arrays["n_vertices"])
        stored_hash = str(arrays["skin_sha256"])
    except (OSError, ValueError, KeyError) as error:
        raise SkinCorrectivesError(f"{path}: unreadable skin correctives ({error}) {rebuild}") from error
    nodes = int(np.prod([len(a) for a in axes]))
    for side in SIDES:
        if offsets[side].shape != (nodes, len(rows[side]), 3) or not np.all(np.isfinite(offsets[side])):
            raise SkinCorrectivesError(f"{path}: offsets_{side} has shape {offsets[side].shape} or non-finite values")
        knee = knee_offsets[side]
        if knee.shape != (len(knee_axis), len(rows[side]), 3) or not np.all(np.isfinite(knee)):
            raise SkinCorrectivesError(f"{path}: knee_offsets_{side} has shape {knee.shape} or non-finite values")
        if len(rows[side]) and (rows[side].min() < 0 or rows[side].max() >= n_vertices):
            raise SkinCorrectivesError(f"{path}: rows_{side} names vertices outside the skin")
    if n_vertices != len(skin_vertices) or stored_hash != skin_digest(skin_vertices):
        raise SkinCorrectivesError(f"{path}: built for another skin than the committed one {rebuild}")
    return SkinCorrectives(axes, rows, offsets, n_vertices, knee_axis, knee_offsets)


@cache
def load_correctives(body: str) -> SkinCorrectives:
    """The committed correctives of one body type's skin (cached)."""
    from viewer.anatomy.skin import load_skin
    from viewer.paths import meshes_dir

    return read_correctives(meshes_dir() / correctives_file(body), load_skin(body).vertices)


# --- the build -----------------------------------------------------------------------------------
def leg_weights(weights: Mapping[str, FloatArray], side: str) -> FloatArray:
    """(n,) weight of one whole leg (thigh and shank move together at the grid's straight knee)."""
    return np.asarray(weights[f"thigh_{side}"], float) + np.asarray(weights[f"shank_{side}"], float)


def _rotation_only(transform: FloatArray, inverse: bool = False) -> FloatArray:
    result = np.eye(4)
    result[:3, :3] = transform[:3, :3].T if inverse else transform[:3, :3]
    return result


def lift_at_pose(
    rest: FloatArray,
    faces: IntArray,
    leg: FloatArray,
    other_leg: FloatArray,
    thigh: FloatArray,
    solids: list[Surface],
    edges: tuple[IntArray, IntArray] | None = None,
    hip: FloatArray | None = None,
) -> FloatArray:
    """The rest-frame correction (n, 3) that lifts the posed skin off the posed ``solids`` to :data:`COVER_MM`.

    Only the skin around the places that come near a solid is lifted (a box :data:`REACH_MM` beyond them,
    the lift tapered to nothing over :data:`TAPER_MM` at the box's faces), which keeps the distance field
    and the smoothing small.

    Parameters
    ----------
    rest : (n, 3) array
        The rest skin.
    faces : (f, 3) int array
    leg, other_leg : (n,) arrays
        Skinning weight of the posed leg and of the standing one.
    thigh : (4, 4) array
        The posed thigh's transform (the knee straight: the shank moves with it).
    solids : list of Surface
        The posed leg's muscles, its femur and the pelvis, at the pose.
    edges : the skin's :func:`~viewer.anatomy.body_skin.edge_table`, when the caller has it (made here if None).
    hip : (3,) array, optional
        The femoral head's centre: the skin in front of it may fold (the groin, :func:`fold_weight`); without it none.
    """
    from scipy.spatial import cKDTree

    from viewer.anatomy.body_skin import _smooth, edge_table, push_out, region_edges, union_distance
    from viewer.anatomy.geometry import vertex_normals
    from viewer.anatomy.skinning import dual_quaternion_blend

    posed = dual_quaternion_blend(rest, leg[:, None], [thigh])
    lift = np.zeros_like(posed)
    points = np.vstack([s.vertices for s in solids])
    normals = np.vstack([vertex_normals(s.vertices, s.faces) for s in solids])
    own = np.flatnonzero(other_leg < 0.5)  # the standing leg's skin never seeds a lift: not looked up
    # (a tree built without balancing, on these points as many as the skin's, is built and searched three times faster)
    gap, nearest = cKDTree(points, balanced_tree=False, compact_nodes=False).query(posed[own])
    beneath = np.einsum("ij,ij->i", posed[own] - points[nearest], normals[nearest]) < 0  # the skin inside a solid
    seeds = np.zeros(len(posed), dtype=bool)
    seeds[own] = (gap < COVER_MM) | beneath
    if not seeds.any():
        return lift
    low, high = posed[seeds].min(axis=0) - REACH_MM, posed[seeds].max(axis=0) + REACH_MM
    region = np.flatnonzero(np.all((posed > low) & (posed < high), axis=1))
    local = np.full(len(posed), -1)
    local[region] = np.arange(len(region))
    in_region = np.all(local[faces] >= 0, axis=1)
    kept = faces[in_region]
    # push_out asks for the distance where it is under the cover, and for the gradient there: the grid values
    # it reads lie within sqrt(6) nodes of a node nearer than that, so beyond this reach they need not be exact
    exact = COVER_MM + SETTLE_MM + (0.5 + np.sqrt(6.0)) * SPACING_MM
    distance = union_distance(
        solids, spacing=SPACING_MM, bounds=(low - 2 * SPACING_MM, high + 2 * SPACING_MM), exact_mm=exact
    )
    # the skin the posed leg carries at all (OWN_SKIN_WEIGHT) is lifted along its normal where the gradient turns inward
    # (sunk deep in tensor fasciae latae at 90/45/45): never on through the muscle. Elsewhere the gradient leads, which
    # keeps the far wall of a fold (the other cheek across the natal cleft) from being driven through the whole muscle.
    normals = vertex_normals(posed, faces)[region]
    outward = normals * (leg[region] >= OWN_SKIN_WEIGHT)[:, None]
    edges = region_edges(edge_table(faces) if edges is None else edges, in_region, local)
    lifted = push_out(posed[region], local[kept], distance, COVER_MM + SETTLE_MM, outward=outward, edges=edges)
    lifted -= posed[region]
    to_face = np.minimum(posed[region] - low, high - posed[region]).min(axis=1)
    taper = np.clip(to_face / TAPER_MM, 0.0, 1.0)
    lifted *= (taper * taper * (3.0 - 2.0 * taper))[:, None]  # smoothstep to nothing at the box
    # the groin's walls only: in front of the hip and not the standing leg's (its lift is dropped below). Behind the
    # hip (the natal cleft, the gluteal fold) evening out drove more of the cleft through itself in adduction with
    # external rotation (male node 0/-30/-45: 1114 -> 1297 crossing pairs, 395 -> 484 at 10/-25/-35 with the contact)
    groin = (other_leg[region] < 0.5) & (posed[region, 0] > (np.inf if hip is None else hip[0]))
    fold = fold_weight(posed[region], normals, lifted, edges, groin)
    evening = fold_evening(posed[region], fold) if fold.any() else None
    lifted = even_out(lifted, fold, evening)
    settled = posed[region] + _smooth(lifted, edges, SMOOTH_PASSES)  # push_out's last round too

    def lacking(points: FloatArray) -> FloatArray:
        return push_out(points, local[kept], distance, COVER_MM, iterations=0, outward=outward) - points

    for _ in range(FOLD_ROUNDS if fold.any() else 0):  # in folds what is still lacking, evened out
        settled += fold[:, None] * (evening @ lacking(settled))
    # what the smoothing settled below the cover is lifted back in one unsmoothed round (but in folds)
    lift[region] = settled + (1.0 - fold)[:, None] * lacking(settled) - posed[region]
    lift *= np.clip(1.0 - other_leg, 0.0, 1.0)[:, None]  # the standing leg's skin is not this leg's to lift
    # back into the bind frame: each vertex's blended rotation, inverted (the blend of the inverse rotations)
    return dual_quaternion_blend(lift, leg[:, None], [_rotation_only(thigh, inverse=True)])


def fold_weight(
    points: FloatArray, normals: FloatArray, lift: FloatArray, edges: IntArray, own: np.ndarray | None = None
) -> FloatArray:
    """How much each place of the posed skin belongs to a fold (0..1): its walls face each other across a crease.

    Two vertices within :data:`FOLD_REACH_MM` of each other whose normals face each other (cosine below
    :data:`FOLD_FACING`, each lying in front of the other: not the two faces of a thin sheet) and whose lifts each
    carry them more than :data:`FOLD_TOWARD_MM` towards the other are the walls of a fold being closed; that mark is
    smoothed over :data:`FOLD_PASSES` umbrella passes and taken fully from 1 / :data:`FOLD_GAIN` on.

    Parameters
    ----------
    points, normals : (m, 3) arrays
        The posed skin's vertices and unit normals.
    lift : (m, 3) array
        Their lift off the muscles and bones.
    edges : (e, 2) int array
        Its edges.
    own : (m,) bool array, optional
        The skin that may be a wall (default: all).

    Returns
    -------
    (m,) array
    """
    from scipy.spatial import cKDTree

    from viewer.anatomy.body_skin import _smooth

    pairs = cKDTree(points).query_pairs(FOLD_REACH_MM, output_type="ndarray")
    if own is not None:
        pairs = pairs[own[pairs[:, 0]] & own[pairs[:, 1]]]
    first, second = normals[pairs[:, 0]], normals[pairs[:, 1]]
    across = points[pairs[:, 1]] - points[pairs[:, 0]]
    facing = np.einsum("ij,ij->i", first, second) < FOLD_FACING
    facing &= (np.einsum("ij,ij->i", across, first) > 0.0) & (np.einsum("ij,ij->i", across, second) < 0.0)
    across /= np.maximum(np.linalg.norm(across, axis=1, keepdims=True), 1e-9)
    toward_second, toward_first = lift[pairs[:, 0]], -lift[pairs[:, 1]]  # each wall's lift towards the other
    facing &= np.einsum("ij,ij->i", across, toward_second) > FOLD_TOWARD_MM
    facing &= np.einsum("ij,ij->i", across, toward_first) > FOLD_TOWARD_MM
    walls = np.zeros((len(points), 1))
    walls[pairs[facing].ravel()] = 1.0
    return np.clip(FOLD_GAIN * _smooth(walls, edges, FOLD_PASSES)[:, 0], 0.0, 1.0)


def fold_evening(points: FloatArray, fold: FloatArray):
    """(m, m) sparse averaging over the skin near in space (Gaussian within :data:`FOLD_EVEN_MM`), in the rows of
    the places in a fold (``fold`` (m,) > 0; the other rows keep their own value).

    Both walls of a fold take nearly the same mean, so an evened-out lift moves them alike and they cannot pass
    through each other as when each is lifted by its own normal.
    """
    from scipy import sparse
    from scipy.spatial import cKDTree

    rows = np.flatnonzero(fold > 0.0)
    near = cKDTree(points[rows]).sparse_distance_matrix(cKDTree(points), FOLD_EVEN_MM, output_type="coo_matrix")
    weight = np.exp(-0.5 * (near.data / (FOLD_EVEN_MM / 2.0)) ** 2)
    own = np.setdiff1d(np.arange(len(points)), rows)
    kernel = sparse.coo_matrix(
        (
            np.concatenate([weight, np.ones(len(rows) + len(own))]),
            (np.concatenate([rows[near.row], rows, own]), np.concatenate([near.col, rows, own])),
        ),
        shape=(len(points), len(points)),
    ).tocsr()
    return sparse.diags(1.0 / np.asarray(kernel.sum(axis=1)).ravel()) @ kernel


def even_out(values: FloatArray, fold: FloatArray, evening) -> FloatArray:
    """``values`` (m, 3) evened out by ``evening`` (:func:`fold_evening`) as far as each place is in a fold."""
    if evening is None:
        return values
    return values + fold[:, None] * (evening @ values - values)


def crease_at_knee(
    rest: FloatArray,
    faces: IntArray,
    leg: FloatArray,
    shank_weight: FloatArray,
    knee: FloatArray,
    thigh_axis: FloatArray,
    shank: FloatArray,
) -> FloatArray:
    """The rest-frame correction (n, 3) that parts the skin behind a bent knee (hip straight) into a crease.

    The crease lies in the plane through the knee's axis that halves the angle between the thigh and the flexed
    shank. The posed skin above the knee (the back of the thigh) is held on the thigh's side of it and the skin below
    (the calf) on the shank's, each :data:`CREASE_GAP_MM` off it, and only behind the knee's axis: where the
    calf crossed into the thigh both are pressed flat against each other, as soft tissue meets in the popliteal
    crease. Each round's parting is smoothed over the neighbouring skin (so the pressed skin rounds off into the
    rest), and a last unsmoothed round parts what the smoothing let back. The layers fan out from the knee's axis
    (each held :data:`CREASE_RISE` of its rest height from the knee further off the plane): pressed flat onto one
    level, the male's thigh skin 10 and 25 mm above the knee, which the posed skin had brought over each other along
    the plane, lay on top of each other (a fold up the posterolateral thigh, 58 crossing pairs at knee 90). Up to
    :data:`CREASE_CUT_DEG` the crease fades out over :data:`CREASE_CUT_MM` above the cut end below the knee.

    Parameters
    ----------
    rest : (n, 3) array
        The rest skin.
    faces : (f, 3) int array
    leg, shank_weight : (n,) arrays
        Skinning weight of the whole leg (thigh and shank) and of its shank.
    knee : (3,) array
        The knee's centre in anatomical position.
    thigh_axis : (3,) array
        Unit direction from the knee up the thigh, at right angles to the knee's axis.
    shank : (4, 4) array
        The shank's transform at the knee's flexion (the thigh at rest).
    """
    from viewer.anatomy.body_skin import _edges, _smooth, umbrella_operator
    from viewer.anatomy.skinning import dual_quaternion_blend

    posed = dual_quaternion_blend(rest, shank_weight[:, None], [shank])
    down = shank[:3, :3] @ -thigh_axis  # the flexed shank's direction from the knee
    normal = (thigh_axis - down) / np.linalg.norm(thigh_axis - down)  # the crease plane's, towards the thigh
    back = (thigh_axis + down) / np.linalg.norm(thigh_axis + down)  # the crease's direction from the knee's axis
    height = (rest - knee) @ thigh_axis
    region = np.flatnonzero((leg > 0.5) & (np.abs(height) < CREASE_REACH_MM))
    local = np.full(len(rest), -1)
    local[region] = np.arange(len(region))
    smoothing = umbrella_operator(_edges(local[faces[np.all(local[faces] >= 0, axis=1)]]), len(region))
    start = posed[region]
    side = np.clip(height[region] / CREASE_SIDE_MM, -1.0, 1.0)  # +1 the thigh's skin, -1 the calf's
    behind = np.clip(((start - knee) @ back + CREASE_FRONT_MM) / CREASE_FADE_MM, 0.0, 1.0)
    level = CREASE_GAP_MM + CREASE_RISE * np.abs(height[region])  # each layer's distance from the plane

    def parted(offset: FloatArray) -> FloatArray:
        along = (start + offset - knee) @ normal - side * level  # beyond the layer's own side when < 0 ...
        lack = np.where(side >= 0.0, np.minimum(along, 0.0), np.maximum(along, 0.0))  # ... (> 0 for the calf)
        return offset - (behind * lack)[:, None] * normal

    offset = np.zeros_like(start)
    for _ in range(CREASE_ROUNDS):
        offset = _smooth(parted(offset), None, CREASE_PASSES, smoothing)
    correction = np.zeros_like(rest)
    # up to CREASE_CUT_DEG the cut end below the knee stays clear of the thigh: the parting there only slid the
    # rounded rim over the cap (crossing pairs at knee 90, male/female: 15/13 with the fanned layers, none faded)
    bent = np.degrees(np.arccos(np.clip(-down @ thigh_axis, -1.0, 1.0)))
    low = rest[region, 1] - rest[region, 1].min()  # above the cut end's cap
    taper = np.clip(low / CREASE_CUT_MM, 0.0, 1.0) if bent <= CREASE_CUT_DEG else np.ones(len(region))
    correction[region] = (taper * taper * (3.0 - 2.0 * taper))[:, None] * parted(offset)
    # back into the bind frame: each vertex's blended rotation, inverted (the thigh is at rest: the shank's alone)
    return dual_quaternion_blend(correction, shank_weight[:, None], [_rotation_only(shank, inverse=True)])


def knee_frame(landmarks: dict[str, FloatArray], side: str) -> tuple[FloatArray, FloatArray]:
    """One knee's centre and the unit direction from it up the thigh, at right angles to the knee's axis."""
    from viewer.anatomy.kinematics import joint_centres
    from viewer.anatomy.skinning import rotation_quaternion

    hip, knee = joint_centres(landmarks, side)
    bent = segment_transforms({side: LegPose(knee_flexion=90.0)}, landmarks)[f"shank_{side}"]
    axis = rotation_quaternion(bent[:3, :3])[1:]
    axis /= np.linalg.norm(axis)
    up = (hip - knee) - ((hip - knee) @ axis) * axis
    return knee, up / np.linalg.norm(up)


def build_correctives(
    skin: Surface,
    weights: Mapping[str, FloatArray],
    posed_solids: Callable[[str, LegPose, dict[str, FloatArray]], list[Surface]],
    landmarks: dict[str, FloatArray],
    progress: Callable[[str], None] | None = None,
) -> SkinCorrectives:
    """Solve each hip's corrections at every grid node (see the module docstring).

    Parameters
    ----------
    skin : Surface
        The rest skin, (n, 3) vertices.
    weights : dict segment -> (n,) array
        Its skinning weights (``thigh_right``, ``shank_right``, ...).
    posed_solids : callable (side, pose, transforms) -> list of Surface
        The muscles of that side and the bones under the skin, posed (the other leg standing).
    landmarks : dict
        The atlas landmarks the segment transforms are made from.
    """
    from viewer.anatomy.body_skin import edge_table
    from viewer.anatomy.kinematics import joint_centres

    edges = edge_table(skin.faces)  # once for the regions of every node
    axes = [np.asarray(v, float) for v in NODE_ANGLES.values()]
    knee_axis = np.asarray(KNEE_NODE_ANGLES, float)
    rows, offsets, knee_offsets = {}, {}, {}
    for side in SIDES:
        other = next(s for s in SIDES if s != side)
        leg, other_leg = leg_weights(weights, side), leg_weights(weights, other)
        hip = joint_centres(landmarks, side)[0]
        table = np.zeros((len(node_poses()), len(skin.vertices), 3), np.float32)
        for node, pose in enumerate(node_poses()):
            if pose == LegPose():
                continue  # anatomical position is the rest skin itself
            transforms = segment_transforms({side: pose}, landmarks)
            solids = posed_solids(side, pose, transforms)
            thigh = transforms[f"thigh_{side}"]
            table[node] = lift_at_pose(skin.vertices, skin.faces, leg, other_leg, thigh, solids, edges, hip)
            if progress is not None:
                progress(
                    f"{side} {pose.hip_flexion:g}/{pose.hip_abduction:g}/{pose.hip_rotation:g}: "
                    f"lift up to {np.linalg.norm(table[node], axis=1).max():.1f} mm"
                )
        knee, thigh_axis = knee_frame(landmarks, side)
        shank_weight = np.asarray(weights[f"shank_{side}"], float)
        knee_table = np.zeros((len(knee_axis), len(skin.vertices), 3), np.float32)
        for node, flexion in enumerate(knee_axis):
            if flexion == 0.0:
                continue  # the straight knee is the rest skin itself
            shank = segment_transforms({side: LegPose(knee_flexion=flexion)}, landmarks)[f"shank_{side}"]
            knee_table[node] = crease_at_knee(skin.vertices, skin.faces, leg, shank_weight, knee, thigh_axis, shank)
            if progress is not None:
                progress(
                    f"{side} knee {flexion:g}: crease up to {np.linalg.norm(knee_table[node], axis=1).max():.1f} mm"
                )
        largest = np.maximum(np.linalg.norm(table, axis=2).max(axis=0), np.linalg.norm(knee_table, axis=2).max(axis=0))
        moved = np.flatnonzero(largest > KEPT_MM)
        rows[side], offsets[side] = moved, np.ascontiguousarray(table[:, moved])
        knee_offsets[side] = np.ascontiguousarray(knee_table[:, moved])
    return SkinCorrectives(axes, rows, offsets, len(skin.vertices), knee_axis, knee_offsets)


__all__ = [
    "COVER_MM",
    "KNEE_NODE_ANGLES",
    "NODE_ANGLES",
    "SkinCorrectives",
    "SkinCorrectivesError",
    "build_correctives",
    "correctives_file",
    "crease_at_knee",
    "knee_frame",
    "lift_at_pose",
    "load_correctives",
    "node_poses",
    "node_weights",
    "read_correctives",
    "skin_digest",
    "write_correctives",
]
