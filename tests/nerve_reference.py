"""The straightforward nerve posing and danger-zone computation the fast path must reproduce.

This is the implementation as it was before posing was made fast (per branch, per ring, loops
and all), kept here as the oracle of ``tests/test_nerve_posing.py``. One deliberate difference:
the width axis of a posed section keeps the handedness it has at rest (the mirrored left nerve's
sections are left-handed); the old code made it right-handed on both sides, which turned the
posed left nerve inside out.
"""

from __future__ import annotations

import numpy as np

from viewer.anatomy.bones import load_landmarks
from viewer.anatomy.nerve import _spread, resolve_landmark
from viewer.anatomy.nerve_posing import even_share
from viewer.anatomy.nerve_zones import load_danger_zone_data

FLOAT = float


def unit(v):
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v), where=n > 0)


def tangents(line):
    return unit(np.gradient(np.asarray(line, dtype=float), axis=0))


def turning_angles(line):
    steps = np.diff(line, axis=0)
    length = np.linalg.norm(steps, axis=1)
    direction = unit(steps)
    angle = np.arccos(np.clip(np.einsum("ij,ij->i", direction[:-1], direction[1:]), -1.0, 1.0))
    return angle, 0.5 * (length[:-1] + length[1:]) / np.maximum(angle, 1e-12)


def limit_bend(polyline, min_radius_mm, iterations=400):
    line = np.asarray(polyline, dtype=float).copy()
    for _ in range(iterations):
        _, radius = turning_angles(line)
        excess = np.clip(min_radius_mm / np.maximum(radius, 1e-9) - 1.0, 0.0, 1.0)
        if not excess.any():
            break
        weight = np.zeros(len(line))
        weight[1:-1] = 0.5 * np.minimum(1.0, 0.2 + excess)
        weight[1:-1] *= excess > 0
        weight[1:-1] = np.maximum(weight[1:-1], 0.5 * (np.roll(weight, 1) + np.roll(weight, -1))[1:-1] * 0.6)
        line[1:-1] += weight[1:-1, None] * (0.5 * (line[:-2] + line[2:]) - line[1:-1])
    return line


def transported_frames(points, first):
    """Double reflection, one step at a time."""
    tangent = tangents(points)
    normals = [unit(first - (first @ tangent[0]) * tangent[0])]
    for i in range(len(points) - 1):
        step, r = points[i + 1] - points[i], normals[-1]
        c1 = step @ step
        if c1 > 1e-18:
            r = r - 2 * (step @ r) / c1 * step
            t_reflected = tangent[i] - 2 * (step @ tangent[i]) / c1 * step
            v = tangent[i + 1] - t_reflected
            c2 = v @ v
            if c2 > 1e-18:
                r = r - 2 * (v @ r) / c2 * v
        normals.append(r)
    normals = np.array(normals)
    return unit(normals - np.einsum("ij,ij->i", normals, tangent)[:, None] * tangent)


def angle_about(reference, vectors, axes):
    sine = np.einsum("ij,ij->i", np.cross(reference, vectors), axes)
    return np.arctan2(sine, np.einsum("ij,ij->i", reference, vectors))


def rotate_about(vectors, axes, angle):
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    along = np.einsum("ij,ij->i", axes, vectors)[:, None] * axes
    return vectors * cos + np.cross(axes, vectors) * sin + along * (1.0 - cos)


def tube_vertices(centreline, half_width, half_thickness, depth_axis, width_axis, sides, cap_rings):
    n = len(centreline)
    angle = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    tangent = tangents(centreline)
    phi = np.linspace(0.0, 0.5 * np.pi, cap_rings + 2)[1:-1]
    outward = np.array([-tangent[0], tangent[-1]])
    length = np.maximum(half_width[[0, -1]], half_thickness[[0, -1]])
    reach = np.concatenate([np.outer(length, np.sin(phi)), length[:, None] * (1.0 if cap_rings else 0.0)], axis=1)
    centres = np.vstack([centreline, (centreline[[0, -1], None] + reach[..., None] * outward[:, None]).reshape(-1, 3)])
    shrink = np.concatenate([np.ones(n), np.tile(np.concatenate([np.cos(phi), [0.0]]), 2)])
    owner = np.concatenate([np.arange(n), np.repeat((0, n - 1), cap_rings + 1)])
    a, h = half_width[owner] * shrink, half_thickness[owner] * shrink
    ring = (
        centres[:, None, :]
        + (a[:, None] * np.cos(angle))[..., None] * width_axis[owner][:, None, :]
        + (h[:, None] * np.sin(angle))[..., None] * depth_axis[owner][:, None, :]
    )
    poles = ring[[n + cap_rings, n + 2 * cap_rings + 1], 0]
    order = np.concatenate([np.arange(n), n + np.arange(cap_rings), n + cap_rings + 1 + np.arange(cap_rings)])
    return np.vstack([ring[order].reshape((n + 2 * cap_rings) * sides, 3), poles])


def _apply(transform, points):
    return points @ transform[:3, :3].T + transform[:3, 3]


def _out_of_bone(nerve, line, pelvis, thigh, thigh_key):
    branches = nerve.branches
    half = np.concatenate([np.maximum(b.half_width, b.half_thickness) for b in branches])
    widths = np.concatenate([b.half_width for b in branches])
    thick = np.concatenate([b.half_thickness for b in branches])
    width_axis = np.vstack([b.width_axis for b in branches])
    depth_axis = np.vstack([b.depth_axis for b in branches])
    shift = np.zeros_like(line)
    for segment, transform in (("pelvis", pelvis), (thigh_key, thigh)):
        field_ = nerve._bone_fields[segment]
        local = _apply(np.linalg.inv(transform), line + shift)
        sd, normal = field_.signed_distance(local, limit=float(half.max()) + 6.0)
        for ring in range(len(line)):
            if not sd[ring] < half[ring] + 1.0:
                continue
            direction = transform[:3, :3] @ normal[ring]
            extent = np.hypot(widths[ring] * abs(direction @ width_axis[ring]), thick[ring] * abs(direction @ depth_axis[ring]))
            shift[ring] += max(extent + 0.5 - sd[ring], 0.0) * direction
    start = 0
    for branch in branches:
        rows = slice(start, start + len(branch.centreline))
        shift[rows] = _spread(shift[rows], 3)
        start = rows.stop
    return shift


def _split(nerve, stacked):
    out, start = [], 0
    for branch in nerve.branches:
        out.append(stacked[start : start + len(branch.centreline)])
        start += len(branch.centreline)
    return out


def pose_nerve(nerve, transforms):
    """(vertices, stacked centreline) of the nerve at a pose, computed the long way."""
    pelvis = np.asarray(transforms.get("pelvis", np.eye(4)), dtype=float)
    thigh_key = f"thigh_{nerve.side}"
    thigh = np.asarray(transforms.get(thigh_key, np.eye(4)), dtype=float)
    rest = np.vstack([b.centreline for b in nerve.branches])
    w = np.concatenate([b.weights for b in nerve.branches])[:, None]
    line = (1 - w) * _apply(pelvis, rest) + w * _apply(thigh, rest)
    if np.allclose(thigh, pelvis):
        return _apply(pelvis, nerve.vertices), line
    for _round in range(2):
        line = line + _out_of_bone(nerve, line, pelvis, thigh, thigh_key)
        line = np.vstack([limit_bend(part, nerve.min_bend_radius_mm) for part in _split(nerve, line)])
    vertices = np.empty_like(nerve.vertices)
    for branch, posed in zip(nerve.branches, _split(nerve, line), strict=True):
        rest_tangent = tangents(branch.centreline)
        twist = angle_about(transported_frames(branch.centreline, branch.depth_axis[0]), branch.depth_axis, rest_tangent)
        handed = np.sign(np.einsum("ij,ij->", np.cross(rest_tangent, branch.depth_axis), branch.width_axis))
        tangent = tangents(posed)
        carried = transported_frames(posed, pelvis[:3, :3] @ branch.depth_axis[0])
        end_depth = thigh[:3, :3] @ branch.depth_axis[-1]
        end_twist = angle_about(carried[-1:], end_depth[None], tangent[-1:])[0]
        extra = np.angle(np.exp(1j * (end_twist - twist[-1])))
        share = even_share(branch.centreline, branch.weights)  # how the turn spreads is a rule, not the batching under test
        depth = rotate_about(carried, tangent, twist + share * extra)
        width = handed * np.cross(tangent, depth)
        vertices[branch.vertex_slice] = tube_vertices(
            posed, branch.half_width, branch.half_thickness, depth, width, nerve.sides, nerve.cap_rings
        )
    return vertices, line


def zone_vertices(nerve, centrelines, margin_mm=None, sides=24):
    """Vertices of each zone of ``nerve.side`` by zone id (rest landmarks), computed the long way."""
    data = load_danger_zone_data()
    landmarks = load_landmarks()
    side = nerve.side
    flip = np.array([1.0, 1.0, -1.0]) if side == "left" else np.ones(3)
    out = {}

    def level(spec):
        return landmarks[resolve_landmark(spec["landmark"], side, landmarks)][1] + spec.get("offset_mm", 0.0)

    for zone in data["zones"]:
        if zone["kind"] == "sphere":
            total = sum(zone["landmarks"].values())
            centre = sum(w * landmarks[resolve_landmark(n, side, landmarks)] for n, w in zone["landmarks"].items()) / total
            centre = centre + np.asarray(zone.get("offset_mm", (0, 0, 0)), dtype=float) * flip
            lat = np.linspace(0, np.pi, 13)[1:-1]
            lon = np.linspace(0, 2 * np.pi, 24, endpoint=False)
            la, lo = np.meshgrid(lat, lon, indexing="ij")
            ring = np.stack([np.sin(la) * np.cos(lo), np.cos(la), np.sin(la) * np.sin(lo)], -1).reshape(-1, 3)
            out[zone["id"]] = np.vstack([[0, 1, 0], ring, [0, -1, 0]]) * zone["radius_mm"] + centre
            continue
        margin = float(zone["margin_mm"] if margin_mm is None else margin_mm)
        top, bottom = level(zone["from_level"]), level(zone["to_level"])
        parts = []
        for branch, line in zip(nerve.branches, centrelines, strict=True):
            keep = np.flatnonzero((branch.centreline[:, 1] <= top) & (branch.centreline[:, 1] >= bottom))
            if len(keep) < 2:
                continue
            keep = np.arange(keep.min(), keep.max() + 1)
            part = np.asarray(line)[keep]
            radius = np.maximum(branch.half_width, branch.half_thickness)[keep] + margin
            hint = unit(branch.depth_axis[keep].mean(axis=0))
            tangent = tangents(part)
            depth = unit(hint - np.einsum("ij,ij->i", np.broadcast_to(hint, tangent.shape), tangent)[:, None] * tangent)
            width = unit(np.cross(tangent, depth))
            parts.append(tube_vertices(part, radius, radius, depth, width, sides, 0))
        out[zone["id"]] = np.vstack(parts)
    return out
