"""The sciatic nerve through a pose: carried with the pelvis proximally and the thigh distally.

:func:`pose_nerve` blends each centreline ring between the pelvis and thigh transforms by its smooth skinning
weight, pushes rings the blend carried into bone back out, eases every bend to the nerve's minimum radius and
rebuilds the tube along the posed course (sections carried by parallel transport, twisted only as the thigh
turns). What posing needs that does not depend on the pose is made once per nerve (:func:`prepare_posing`).
Geometry only (numpy); the nerve itself is built in :mod:`viewer.anatomy.nerve`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.anatomy.geometry import apply, cross, dot, tangents
from viewer.anatomy.nerve import NerveGeometry, _spread
from viewer.anatomy.nerve_mesh import (
    SurfaceField,
    TubeTemplate,
    angle_about,
    limit_bend,
    transported_frames,
)
from viewer.types import FloatArray


@dataclass(frozen=True)
class _Nearest:
    """Bone-field answers for a set of query points (one per ring, in a bone's own frame)."""

    points: FloatArray  # (R, 3) where the rings were asked about
    distance: FloatArray  # (R,) signed distance (+inf beyond the query limit)
    normal: FloatArray  # (R, 3) outward normal of the nearest surface (zero beyond the limit)


@dataclass(frozen=True)
class _Posing:
    """Everything posing needs that does not depend on the pose, stacked over the branches (R rings)."""

    rest: FloatArray  # (R, 3) rest centrelines, branch after branch
    weights: FloatArray  # (R,) thigh skinning weight
    half: FloatArray  # (R,) larger semi-axis
    half_width: FloatArray  # (R,)
    half_thickness: FloatArray  # (R,)
    width_axis: FloatArray  # (R, 3) rest section axes
    depth_axis: FloatArray  # (R, 3)
    rings: int  # rings per branch (all branches of a nerve have as many)
    twist: FloatArray  # (B, rings) rest twist of the sections about a parallel-transported frame
    share: FloatArray  # (B, rings) how much of the thigh's turn about the nerve each section takes
    handed: FloatArray  # (B,) +1 where width = tangent x depth at rest, -1 for the mirrored side
    template: TubeTemplate  # all branches' tubes, vertices in the nerve's order
    limit: float  # bone fields are asked no further than this (mm)
    at_rest: dict[str, _Nearest]  # the rest rings against each bone field


def even_share(centreline: FloatArray, weights: FloatArray, moving: float = 0.01) -> FloatArray:
    """How much of the thigh's turn about the nerve each section takes: none up to the stretch the thigh moves
    (skinning weight over ``moving``), then rising evenly with arc length to all of it at the last section.

    Parameters
    ----------
    centreline : (rings, 3) array
        The branch's rest centreline, mm.
    weights : (rings,) array
        Its thigh skinning weights.

    Returns
    -------
    (rings,) array in [0, 1]; all zeros for a branch the thigh does not move.
    """
    if weights[-1] <= 0:
        return np.zeros_like(weights)
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(centreline, axis=0), axis=1))]
    first = int(np.argmax(weights > moving * weights[-1]))
    start = arc[max(first - 1, 0)]
    return np.clip((arc - start) / max(arc[-1] - start, 1e-9), 0.0, 1.0)


def prepare_posing(nerve: NerveGeometry) -> _Posing:
    """The pose-independent part of posing ``nerve``, made on first use and kept on the nerve."""
    if nerve._posing is not None:
        return nerve._posing
    branches = nerve.branches
    rings = {len(b.centreline) for b in branches}
    if len(rings) != 1:
        raise ValueError(f"{nerve.name}: branches must have as many rings each, not {sorted(rings)}")
    rest = np.vstack([b.centreline for b in branches])
    half = np.concatenate([np.maximum(b.half_width, b.half_thickness) for b in branches])
    limit = float(half.max()) + 6.0
    twist, handed = [], []
    for branch in branches:
        tangent = tangents(branch.centreline)
        carried = transported_frames(branch.centreline, branch.depth_axis[0])
        twist.append(angle_about(carried, branch.depth_axis, tangent))
        handed.append(np.sign(np.sum(dot(cross(tangent, branch.depth_axis), branch.width_axis))))
    at_rest = {}
    for segment, field_ in nerve._bone_fields.items():
        at_rest[segment] = _Nearest(rest, *field_.signed_distance(rest, limit))
        field_.gap_bound(rest[:1])  # its grid is made now, not at the first pose
    nerve._posing = _Posing(
        rest=rest,
        weights=np.concatenate([b.weights for b in branches]),
        half=half,
        half_width=np.concatenate([b.half_width for b in branches]),
        half_thickness=np.concatenate([b.half_thickness for b in branches]),
        width_axis=np.vstack([b.width_axis for b in branches]),
        depth_axis=np.vstack([b.depth_axis for b in branches]),
        rings=rings.pop(),
        twist=np.array(twist),
        share=np.array([even_share(b.centreline, b.weights) for b in branches]),
        handed=np.array(handed),
        template=TubeTemplate.join(
            [TubeTemplate.of(b.half_width, b.half_thickness, nerve.sides, nerve.cap_rings) for b in branches]
        ),
        limit=limit,
        at_rest=at_rest,
    )
    return nerve._posing


def pose_nerve(nerve: NerveGeometry, transforms: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
    """(vertices, centreline) of the nerve at a pose.

    ``transforms`` holds 4x4 segment transforms keyed like the scene model (``pelvis``,
    ``thigh_right``...); missing ones are the identity. The centreline blends the pelvis and
    thigh transforms by each ring's skinning weight; rings the blend carried into bone are pushed
    back out (their neighbours follow), and no bend is left sharper than the nerve's minimum
    bend radius. The tube is then rebuilt along the posed centreline with its sections carried by
    parallel transport, turned about the nerve only by the twist the thigh imposes, spread evenly
    over the stretch that follows the thigh (no candy-wrapper twist, no pinched sections). The
    returned centreline stacks all branches (split with :meth:`NerveGeometry.posed_centrelines`).
    """
    return pose_nerves([nerve], transforms)[0]


def pose_nerves(nerves: list[NerveGeometry], transforms: dict[str, FloatArray]) -> list[tuple[FloatArray, FloatArray]]:
    """:func:`pose_nerve` for several nerves at one pose (both sides), their branches worked on together.

    Same results as posing each alone; the bend easing and the section frames of all branches
    run as one stack, so the second side costs little more than the first.
    """
    eye = np.eye(4)
    pelvis = np.asarray(transforms.get("pelvis", eye), dtype=float)
    results: list[tuple[FloatArray, FloatArray] | None] = [None] * len(nerves)
    moving: dict[tuple[int, float], list[int]] = {}  # nerves eased together: same rings per branch and bend limit
    lines, thighs = [], []
    for index, nerve in enumerate(nerves):
        posing = prepare_posing(nerve)
        thigh = np.asarray(transforms.get(f"thigh_{nerve.side}", eye), dtype=float)
        w = posing.weights[:, None]
        line = (1 - w) * apply(pelvis, posing.rest) + w * apply(thigh, posing.rest)
        lines.append(line)
        thighs.append(thigh)
        if np.all(np.abs(thigh - pelvis) <= 1e-8 + 1e-5 * np.abs(pelvis)):  # as np.allclose, for less
            results[index] = (apply(pelvis, nerve.vertices), line)
        else:
            moving.setdefault((posing.rings, nerve.min_bend_radius_mm), []).append(index)
    for (rings, min_radius), group in moving.items():
        asked: list[dict[str, _Nearest]] = [dict(prepare_posing(nerves[index]).at_rest) for index in group]
        for _round in range(2):
            for k, index in enumerate(group):
                lines[index] = lines[index] + _out_of_bone(nerves[index], lines[index], pelvis, thighs[index], asked[k])
            eased = limit_bend(np.concatenate([lines[index] for index in group]).reshape(-1, rings, 3), min_radius)
            for k, line in enumerate(eased.reshape(len(group), -1, 3)):
                lines[group[k]] = line
        vertices = _posed_tubes([nerves[i] for i in group], [lines[i] for i in group], pelvis, [thighs[i] for i in group])
        for index, posed in zip(group, vertices, strict=True):
            results[index] = (posed, lines[index])
    return results


def _out_of_bone(
    nerve: NerveGeometry, line: FloatArray, pelvis: FloatArray, thigh: FloatArray, asked: dict[str, _Nearest]
) -> FloatArray:
    """Per ring, the shift that takes its section out of bone, shared with its neighbours (no kink).

    ``asked`` holds the bone fields' last answers for this nerve (at rest, then this pose's; updated here).
    """
    posing = prepare_posing(nerve)
    shift = np.zeros_like(line)
    for segment, transform in (("pelvis", pelvis), (f"thigh_{nerve.side}", thigh)):
        field_ = nerve._bone_fields.get(segment)
        if field_ is None:
            continue
        rotation = transform[:3, :3]
        local = (line + shift - transform[:3, 3]) @ rotation  # into the bone's frame (rigid: the inverse is the transpose)
        answer = asked[segment] = _nearest(field_, local, posing.limit, asked.get(segment))
        near = answer.distance < posing.half + 1.0
        if not near.any():
            continue
        # exact check with the rings' extreme points along the bone normal
        normal_world = answer.normal[near] @ rotation.T
        extent = np.sqrt(
            (posing.half_width[near] * np.abs(dot(normal_world, posing.width_axis[near]))) ** 2
            + (posing.half_thickness[near] * np.abs(dot(normal_world, posing.depth_axis[near]))) ** 2
        )
        need = np.maximum(extent + 0.5 - answer.distance[near], 0.0)
        shift[near] += need[:, None] * normal_world
    if shift.any():
        shift = _spread(shift.reshape(-1, posing.rings, 3), 3).reshape(-1, 3)
    return shift


def _nearest(field_: SurfaceField, local: FloatArray, limit: float, before: _Nearest | None) -> _Nearest:
    """The field's answer for each ring, searching the k-d tree only for rings whose answer is not known yet.

    A ring the field's coarse grid puts farther than ``limit`` from every surface sample has no
    sample within it; a ring that has not moved since the answer ``before`` keeps that answer.
    Either way the answer is the one the tree would give (to 1e-9 mm).
    """
    distance = np.full(len(local), np.inf)
    normal = np.zeros_like(local)
    rows = np.flatnonzero(field_.gap_bound(local) <= limit)
    if len(rows) and before is not None:
        still = np.abs(local[rows] - before.points[rows]).max(axis=1) < 1e-9
        distance[rows[still]], normal[rows[still]] = before.distance[rows[still]], before.normal[rows[still]]
        rows = rows[~still]
    if len(rows):
        distance[rows], normal[rows] = field_.signed_distance(local[rows], limit)
    return _Nearest(local, distance, normal)


def _posed_tubes(
    nerves: list[NerveGeometry], lines: list[FloatArray], pelvis: FloatArray, thighs: list[FloatArray]
) -> list[FloatArray]:
    """The tubes of the nerves along their posed centrelines (all branches with as many rings, worked as one stack).

    At rest the sections face ``depth_axis``, which turns about the nerve by the rest twist relative to
    a parallel-transported frame. Posed, the frame is transported from the pelvis-carried first
    section, and the twist grows from the rest twist by the thigh's extra turn in step with the
    skinning weight, so the last section faces where the thigh carries it.
    """
    posings = [prepare_posing(nerve) for nerve in nerves]
    rings = posings[0].rings
    posed = np.concatenate(lines).reshape(-1, rings, 3)  # (B, rings, 3) all branches
    first = np.concatenate([p.depth_axis[::rings] for p in posings]) @ pelvis[:3, :3].T
    last = np.concatenate([p.depth_axis[rings - 1 :: rings] @ t[:3, :3].T for p, t in zip(posings, thighs, strict=True)])
    twist = np.concatenate([p.twist for p in posings])
    share = np.concatenate([p.share for p in posings])
    handed = np.concatenate([p.handed for p in posings])
    tangent = tangents(posed)
    carried = transported_frames(posed, first)
    end_twist = angle_about(carried[:, -1], last, tangent[:, -1])
    extra = np.angle(np.exp(1j * (end_twist - twist[:, -1])))  # the thigh's turn about the nerve, in (-pi, pi]
    # the carried normal turned about the tangent (Rodrigues, with the normal perpendicular to the tangent)
    turn = (twist + share * extra[:, None])[..., None]
    binormal = cross(tangent, carried)
    cos, sin = np.cos(turn), np.sin(turn)
    depth = carried * cos + binormal * sin
    width = handed[:, None, None] * (binormal * cos - carried * sin)  # tangent x depth, or its mirror image
    out, start = [], 0
    for posing in posings:
        rows = slice(start, start + len(posing.rest))
        out.append(posing.template.place(*(a.reshape(-1, 3)[rows] for a in (posed, tangent, width, depth))))
        start = rows.stop
    return out


__all__ = ["pose_nerve", "pose_nerves", "prepare_posing"]
