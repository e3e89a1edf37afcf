"""The sciatic nerve in the gluteal region: course, tube geometry, variants and posing.

The course is data (``assets/annotations/nerve.json``): landmark-anchored
control points per branch and per anatomical variant. :func:`nerve_centreline`
runs a smooth curve through them and relaxes it out of bones and muscles with a
clearance, flattening the nerve where the plane between gluteus maximus and the
deep rotators is thinner than the nerve. :func:`build_nerve` wraps that in a
closed, slightly flattened tube; :func:`pose_nerve` carries it with the pelvis
proximally and the thigh distally (smooth skinning weights along the nerve) and
pushes it back out of bone. Built for the right side, mirrored for the left.
Geometry only: no Qt, no rendering.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline

from viewer.anatomy.bones import SIDES, Surface, load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import apply, arc_length, cross, dot, resample, tangents
from viewer.anatomy.kinematics import segment_bones
from viewer.anatomy.nerve_mesh import (
    SurfaceField,
    TubeTemplate,
    angle_about,
    interpolate_at,
    limit_bend,
    point_polyline_distance,
    section_frames,
    transported_frames,
    tube,
)
from viewer.cache import ArrayCache, content_key
from viewer.io.annotations import AnnotationError, read_json, validate
from viewer.paths import annotations_dir
from viewer.types import FloatArray

NERVE_NAME = "sciatic_nerve"
RELAX_VERSION = "nerve-relax-2"  # bump when the relaxation below changes what it produces (keys the disk cache)
_NERVE_CACHE = ArrayCache("nerve", keep_other_keys=True)  # one file per side, variant and branch


# --- data -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ControlPoint:
    name: str
    landmarks: dict[str, float]
    offset_mm: tuple[float, float, float]


@dataclass(frozen=True)
class BranchSpec:
    name: str
    display_name: str
    width_scale: float
    passes_through: tuple[str, ...]  # muscles the branch is allowed to pierce (without side)
    control_points: tuple[ControlPoint, ...]


@dataclass(frozen=True)
class NerveVariant:
    id: str
    display_name: str
    prevalence_percent: float
    source: str
    description: str
    branches: tuple[BranchSpec, ...]


@dataclass(frozen=True)
class NerveSpec:
    """Everything ``nerve.json`` says (right side, no geometry yet)."""

    name: str
    display_name: str
    colour: str
    info: dict
    sources: tuple[str, ...]
    cross_section: dict
    depth_hint: tuple[float, float, float]
    samples: int
    clearance_mm: float
    min_bend_radius_mm: float
    skinning: dict
    default_variant: str
    variants: dict[str, NerveVariant]
    variants_total: dict
    path: Path = field(compare=False)


def nerve_path() -> Path:
    """The sciatic nerve's data file (``assets/annotations/nerve.json``)."""
    return annotations_dir() / "nerve.json"


def resolve_landmark(name: str, side: str, landmarks: dict[str, FloatArray]) -> str | None:
    """Key of an unsided landmark name on ``side`` (``ischial_spine`` -> ``ischial_spine_right``)."""
    for candidate in (f"{name}_{side}", name):
        if candidate in landmarks:
            return candidate
    return None


def load_nerve_spec(path: Path | None = None, landmarks: dict[str, FloatArray] | None = None) -> NerveSpec:
    """Read and check ``nerve.json``; problems raise :class:`AnnotationError` naming the file and field."""
    from viewer.anatomy.muscles import MUSCLE_NAMES

    path = path or nerve_path()
    data = validate(read_json(path), "nerve", path)
    landmarks = load_landmarks() if landmarks is None else landmarks
    variants: dict[str, NerveVariant] = {}
    for vi, variant in enumerate(data["variants"]):
        where = f"variants[{vi}]"
        if variant["id"] in variants:
            raise AnnotationError(path, f"duplicate variant id '{variant['id']}'", f"{where}.id")
        branches = []
        names = set()
        for bi, branch in enumerate(variant["branches"]):
            bwhere = f"{where}.branches[{bi}]"
            if branch["name"] in names:
                raise AnnotationError(path, f"duplicate branch name '{branch['name']}'", f"{bwhere}.name")
            names.add(branch["name"])
            for mi, muscle in enumerate(branch["passes_through"]):
                if muscle not in MUSCLE_NAMES:
                    raise AnnotationError(path, f"unknown muscle '{muscle}'", f"{bwhere}.passes_through[{mi}]")
            points = []
            for ci, point in enumerate(branch["control_points"]):
                cwhere = f"{bwhere}.control_points[{ci}]"
                for name in point["landmarks"]:
                    if any(resolve_landmark(name, side, landmarks) is None for side in SIDES):
                        raise AnnotationError(path, f"unknown landmark '{name}' (not in landmarks.json)", f"{cwhere}.landmarks.{name}")
                if sum(point["landmarks"].values()) <= 0:
                    raise AnnotationError(path, "landmark weights must not all be zero", f"{cwhere}.landmarks")
                points.append(
                    ControlPoint(point["name"], dict(point["landmarks"]), tuple(point.get("offset_mm", (0.0, 0.0, 0.0))))
                )
            branches.append(
                BranchSpec(
                    branch["name"], branch["display_name"], float(branch["width_scale"]),
                    tuple(branch["passes_through"]), tuple(points),
                )
            )
        variants[variant["id"]] = NerveVariant(
            variant["id"], variant["display_name"], float(variant["prevalence_percent"]), variant["source"],
            variant.get("description", ""), tuple(branches),
        )
    if data["default_variant"] not in variants:
        raise AnnotationError(path, f"unknown variant '{data['default_variant']}'", "default_variant")
    for key in ("pelvis_above", "thigh_below"):
        name = data["skinning"][key]["landmark"]
        if any(resolve_landmark(name, side, landmarks) is None for side in SIDES):
            raise AnnotationError(path, f"unknown landmark '{name}' (not in landmarks.json)", f"skinning.{key}.landmark")
    if not np.any(data["depth_hint"]):
        raise AnnotationError(path, "must not be the zero vector", "depth_hint")
    return NerveSpec(
        name=data["name"], display_name=data["display_name"], colour=data["colour"], info=dict(data.get("info", {})),
        sources=tuple(data["sources"]), cross_section=dict(data["cross_section"]),
        depth_hint=tuple(data["depth_hint"]), samples=int(data["samples"]), clearance_mm=float(data["clearance_mm"]),
        min_bend_radius_mm=float(data["min_bend_radius_mm"]), skinning=dict(data["skinning"]), default_variant=data["default_variant"], variants=variants,
        variants_total=dict(data.get("variants_total", {})), path=path,
    )


# --- geometry -------------------------------------------------------------------------
@dataclass
class NerveBranch:
    """One strand of the nerve (the whole nerve, or the tibial / common fibular part)."""

    name: str
    display_name: str
    centreline: FloatArray  # (n, 3) rest position, proximal first
    half_width: FloatArray  # (n,)
    half_thickness: FloatArray  # (n,)
    depth_axis: FloatArray  # (n, 3) unit, posterior-ish (the flat side faces it)
    width_axis: FloatArray  # (n, 3) unit
    weights: FloatArray  # (n,) thigh skinning weight: 0 moves with the pelvis, 1 with the thigh
    passes_through: tuple[str, ...]
    vertex_slice: slice  # rows of NerveGeometry.vertices that belong to this branch


@dataclass
class NerveGeometry:
    """The nerve on one side: closed tube(s) in the pelvis frame (mm) plus the data to pose them."""

    name: str  # "sciatic_nerve_right"
    side: str
    vertices: FloatArray
    faces: np.ndarray
    centreline: FloatArray  # main branch centreline (the first branch), proximal first
    radius: FloatArray  # main branch half width per centreline point (the larger semi-axis)
    variant: str = "usual"
    branches: tuple[NerveBranch, ...] = ()
    display_name: str = "Sciatic nerve"
    colour: str = "#f3d34a"
    vertex_weights: FloatArray = field(default=None, repr=False)  # (n_vertices,) thigh weight
    vertex_ring: FloatArray = field(default=None, repr=False)  # (n_vertices,) global ring index
    sides: int = 20  # vertices per ring of the tube
    cap_rings: int = 0  # rings of each rounded end cap
    min_bend_radius_mm: float = 25.0  # no bend of the centreline is sharper, at rest or posed
    _bone_fields: dict = field(default_factory=dict, repr=False)
    _posing: object = field(default=None, repr=False)  # what posing needs, made once (see _posing)

    @property
    def centrelines(self) -> list[FloatArray]:
        """Each branch's centreline at anatomical position, a list of (m_k, 3) arrays (mm)."""
        return [b.centreline for b in self.branches]

    def distance(self, points: FloatArray, centrelines: list[FloatArray] | None = None) -> FloatArray:
        """Distance from points to the nerve surface (conservative: the larger semi-axis; < 0 inside).

        Pass posed ``centrelines`` (one per branch, as :func:`pose_nerve` returns) for a posed nerve.
        """
        points = np.atleast_2d(np.asarray(points, dtype=float))
        lines = centrelines if centrelines is not None else self.centrelines
        best = np.full(len(points), np.inf)
        for branch, line in zip(self.branches, lines, strict=False):
            d, at = point_polyline_distance(points, line)
            best = np.minimum(best, d - interpolate_at(branch.half_width, at))
        return best

    def posed_centrelines(self, centreline_all: FloatArray) -> list[FloatArray]:
        """Split the stacked centreline returned by :func:`pose_nerve` into branches."""
        out, start = [], 0
        for branch in self.branches:
            out.append(centreline_all[start : start + len(branch.centreline)])
            start += len(branch.centreline)
        return out


def _anchor(point: ControlPoint, side: str, landmarks: dict[str, FloatArray]) -> FloatArray:
    total = sum(point.landmarks.values())
    position = sum(w * landmarks[resolve_landmark(n, side, landmarks)] for n, w in point.landmarks.items()) / total
    offset = np.asarray(point.offset_mm, dtype=float)
    if side == "left":
        offset = offset * np.array([1.0, 1.0, -1.0])
    return position + offset


def control_points(branch: BranchSpec, side: str, landmarks: dict[str, FloatArray]) -> FloatArray:
    """The branch's anchored control points on ``side`` (before relaxation)."""
    return np.array([_anchor(p, side, landmarks) for p in branch.control_points])


def _spline(points: FloatArray, count: int) -> FloatArray:
    s = arc_length(points)
    curve = CubicSpline(s, points, bc_type="natural")
    dense = curve(np.linspace(0, s[-1], count * 8))
    return resample(dense, count)


def _obstacles(side: str, bones: dict[str, Surface], muscles: dict, skip: tuple[str, ...] = ()) -> SurfaceField:
    names = segment_bones("pelvis", side) + segment_bones("thigh", side)
    surfaces = [(bones[n].vertices, bones[n].faces) for n in names]
    for _name, muscle in muscles.items():
        if muscle.side == side and muscle.spec.name not in skip:
            surfaces.append((muscle.vertices, muscle.faces))
    return SurfaceField(surfaces)


def _relax(
    centre: FloatArray,
    half_width: FloatArray,
    half_thickness: FloatArray,
    field_: SurfaceField,
    spec: NerveSpec,
    iterations: int = 200,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Push the tube's rings out of the obstacles (keeping clearance), flattening where squeezed."""
    centre = centre.copy()
    h = half_thickness.copy()
    a = half_width.copy()
    h_min = spec.cross_section["min_thickness_mm"] / 2
    a_min = 0.6 * half_width
    sides = spec.cross_section["sides"]
    angle = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    cos, sin = np.cos(angle), np.sin(angle)
    hint = np.asarray(spec.depth_hint, dtype=float)
    settle = iterations // 3  # last iterations: no smoothing or resampling, only pushing out
    for iteration in range(iterations):
        depth, width = section_frames(centre, hint)
        ring = (
            centre[:, None]
            + (a[:, None] * cos)[..., None] * width[:, None]
            + (h[:, None] * sin)[..., None] * depth[:, None]
        )
        ring = np.concatenate([ring, centre[:, None]], axis=1)
        sd, normal = field_.signed_distance(ring.reshape(-1, 3))
        need = np.maximum(spec.clearance_mm - sd, 0.0).reshape(len(centre), -1)
        push = need[..., None] * normal.reshape(len(centre), -1, 3)
        move = np.zeros_like(centre)
        along_depth = np.einsum("nkj,nj->nk", push, depth)
        along_width = np.einsum("nkj,nj->nk", push, width)
        for component, other, axis_vectors, is_depth in (
            (along_depth, along_width, depth, True),
            (along_width, along_depth, width, False),
        ):
            up, down = component.max(axis=1), component.min(axis=1)
            move += (np.maximum(up, 0) + np.minimum(down, 0))[:, None] * axis_vectors
            # squeezed: pushed from both sides mainly along this axis (not just lying on a curved surface)
            dominant = np.where(np.abs(component) > np.abs(other), component, 0.0)
            d_up, d_down = dominant.max(axis=1), dominant.min(axis=1)
            squeezed = (d_up > 0.05) & (d_down < -0.05)
            shrink = 0.5 * np.minimum(d_up, -d_down)
            if is_depth:
                h = np.where(squeezed, np.maximum(h_min, h - shrink), h)
            else:
                a = np.where(squeezed, np.maximum(a_min, a - shrink), a)
        # neighbouring rings move together (a kinked nerve is worse than a slightly pressed one)
        centre += 0.5 * _smooth(_spread(move, 1))
        if iteration < iterations - settle:
            centre[1:-1] += 0.2 * (0.5 * (centre[:-2] + centre[2:]) - centre[1:-1])
            if iteration % 10 == 9:
                centre = resample(centre, len(centre))
        centre = limit_bend(centre, spec.min_bend_radius_mm, iterations=4)
    centre = limit_bend(centre, spec.min_bend_radius_mm)
    h = np.maximum(h_min, _smooth_profile(h))
    a = np.maximum(a_min, _smooth_profile(a))
    depth, width = section_frames(centre, hint)
    return centre, a, h, depth, width


def _spread(move: FloatArray, times: int) -> FloatArray:
    """Each ring's move shared with its neighbours (``times`` rings on either side), never made smaller.

    ``move`` is (n, 3), or a stack of equally long branches (..., n, 3) spread each on its own.
    """
    for _ in range(times):
        smooth = _smooth(move)
        move = np.maximum(np.abs(move), np.abs(smooth)) * np.sign(move + 1e-12 * smooth)
    return move


def _smooth_profile(values: FloatArray, window: int = 5) -> FloatArray:
    """A section size along the nerve without steps: the mean over ``window`` rings."""
    pad = window // 2
    return np.convolve(np.pad(values, pad, mode="edge"), np.ones(window) / window, mode="valid")


def _smooth(values: FloatArray) -> FloatArray:
    """[1, 2, 1] / 4 along the rings of (..., n, 3) values, ends kept."""
    out = values.copy()
    out[..., 1:-1, :] = 0.25 * values[..., :-2, :] + 0.5 * values[..., 1:-1, :] + 0.25 * values[..., 2:, :]
    return out


def _level(spec_level: dict, side: str, landmarks: dict[str, FloatArray]) -> float:
    return float(landmarks[resolve_landmark(spec_level["landmark"], side, landmarks)][1] + spec_level.get("offset_mm", 0.0))


def skinning_weights(centreline: FloatArray, spec: NerveSpec, side: str, landmarks: dict[str, FloatArray]) -> FloatArray:
    """Thigh weight per centreline point: 0 above the pelvis level, 1 below the thigh level, smooth between."""
    top = _level(spec.skinning["pelvis_above"], side, landmarks)
    bottom = _level(spec.skinning["thigh_below"], side, landmarks)
    t = np.clip((top - centreline[:, 1]) / max(top - bottom, 1e-6), 0.0, 1.0)
    weights = t * t * (3 - 2 * t)
    return np.maximum.accumulate(weights)


def nerve_centreline(
    side: str = "right",
    variant: str | None = None,
    bones: dict[str, Surface] | None = None,
    muscles: dict | None = None,
    landmarks: dict[str, FloatArray] | None = None,
    spec: NerveSpec | None = None,
) -> dict[str, FloatArray]:
    """Relaxed centreline per branch (``{"sciatic": (n, 3)}`` for the usual course), rest pose, mm."""
    nerve = build_nerve(side, variant, bones=bones, muscles=muscles, landmarks=landmarks, spec=spec)
    return {branch.name: branch.centreline.copy() for branch in nerve.branches}


_CACHE: dict[tuple[str, str], NerveGeometry] = {}


def build_nerve(
    side: str = "right",
    variant: str | None = None,
    bones: dict[str, Surface] | None = None,
    muscles: dict | None = None,
    landmarks: dict[str, FloatArray] | None = None,
    spec: NerveSpec | None = None,
) -> NerveGeometry:
    """The sciatic nerve on one side as a closed tube (one per branch for divided variants).

    With all inputs defaulted the result is cached per (side, variant): the relaxation reads
    every muscle and takes a few tenths of a second.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    defaults = bones is None and muscles is None and landmarks is None and spec is None
    spec = spec or load_nerve_spec(landmarks=landmarks)
    variant = variant or spec.default_variant
    if variant not in spec.variants:
        raise KeyError(f"unknown nerve variant {variant!r}; known: {', '.join(spec.variants)}")
    key = (side, variant)
    if defaults and key in _CACHE:
        return _CACHE[key]
    if side == "left":
        right = build_nerve("right", variant, bones, muscles, landmarks, spec)
        result = _mirror(right)
    else:
        result = _build_right(spec, spec.variants[variant], bones, muscles, landmarks)
    _posing(result)  # what posing needs is made now, not at the first frame
    if defaults:
        _CACHE[key] = result
    return result


def build_nerves(variant: str | None = None) -> dict[str, NerveGeometry]:
    """Both sides by structure name (``sciatic_nerve_right``, ``sciatic_nerve_left``)."""
    return {f"{NERVE_NAME}_{side}": build_nerve(side, variant) for side in SIDES}


def _build_right(spec: NerveSpec, variant: NerveVariant, bones, muscles, landmarks) -> NerveGeometry:
    from viewer.anatomy.muscles import build_muscles

    side = "right"
    bones = load_bone_surfaces() if bones is None else bones
    landmarks = load_landmarks() if landmarks is None else landmarks
    muscles = build_muscles() if muscles is None else muscles
    cs = spec.cross_section
    branches, vertices, faces, weights, rings = [], [], [], [], []
    offset = ring_offset = 0
    for branch_spec in variant.branches:
        centre, half_width, h, depth, width = _relaxed_branch(
            *_unrelaxed(spec, branch_spec, side, landmarks), spec, variant, branch_spec, side, bones, muscles
        )
        w = skinning_weights(centre, spec, side, landmarks)
        v, f = tube(centre, half_width, h, depth, width, sides=cs["sides"], cap_rings=_cap_rings(spec))
        n_rings = len(centre)
        cap = _cap_rings(spec) * cs["sides"]
        ring_of_vertex = np.concatenate(
            [np.repeat(np.arange(n_rings), cs["sides"]), np.zeros(cap, int), np.full(cap, n_rings - 1), [0, n_rings - 1]]
        )
        branches.append(
            NerveBranch(
                branch_spec.name, branch_spec.display_name, centre, half_width, h, depth, width, w,
                branch_spec.passes_through, slice(offset, offset + len(v)),
            )
        )
        vertices.append(v)
        faces.append(f + offset)
        weights.append(w[ring_of_vertex])
        rings.append(ring_of_vertex + ring_offset)
        offset += len(v)
        ring_offset += n_rings
    main = branches[0]
    geometry = NerveGeometry(
        name=f"{NERVE_NAME}_{side}", side=side, vertices=np.vstack(vertices), faces=np.vstack(faces),
        centreline=main.centreline, radius=main.half_width, variant=variant.id, branches=tuple(branches),
        display_name=spec.display_name, colour=spec.colour, vertex_weights=np.concatenate(weights),
        vertex_ring=np.concatenate(rings), sides=cs["sides"], cap_rings=_cap_rings(spec),
        min_bend_radius_mm=spec.min_bend_radius_mm,
    )
    geometry._bone_fields = _bone_fields(side, bones)
    return geometry


def _unrelaxed(
    spec: NerveSpec, branch_spec: BranchSpec, side: str, landmarks: dict[str, FloatArray]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The branch before relaxation: centreline through its control points (n, 3), half width and half thickness (n,)."""
    cs = spec.cross_section
    start = _spline(control_points(branch_spec, side, landmarks), spec.samples)
    s = arc_length(start) / arc_length(start)[-1]
    half_width = branch_spec.width_scale * 0.5 * (cs["width_mm"] + (cs["distal_width_mm"] - cs["width_mm"]) * s)
    half_thickness = np.full(len(start), min(cs["thickness_mm"] / 2, half_width.min()))
    return start, half_width, half_thickness


@dataclass(frozen=True)
class _Cage:
    """A right-side muscle cage as the relaxation reads it."""

    spec: object
    vertices: FloatArray
    faces: np.ndarray
    side: str = "right"


def nerve_channels(
    bones: dict[str, Surface], cages: list, landmarks: dict[str, FloatArray] | None = None
) -> list[tuple[FloatArray, FloatArray, tuple[str, ...]]]:
    """Where the nerve runs on the right side, for the muscle forms to leave it its channel.

    Every branch of every variant, relaxed against the bones and the muscle cages exactly as
    :func:`build_nerve` relaxes it (same disk cache).

    Parameters
    ----------
    bones : bone surfaces by structure name.
    cages : the right-side muscle cages (objects with ``spec``, ``vertices`` (n, 3), ``faces`` (m, 3)).
    landmarks : landmark points (3,) mm by name; loaded when omitted.

    Returns
    -------
    Per branch: centreline (n, 3) mm, half width (n,) mm, names of the muscles it passes through.
    """
    landmarks = load_landmarks() if landmarks is None else landmarks
    spec = load_nerve_spec(landmarks=landmarks)
    muscles = {f"{cage.spec.name}_right": _Cage(cage.spec, cage.vertices, cage.faces) for cage in cages}
    channels = []
    for variant in spec.variants.values():
        for branch_spec in variant.branches:
            centre, half_width, *_ = _relaxed_branch(
                *_unrelaxed(spec, branch_spec, "right", landmarks), spec, variant, branch_spec, "right", bones, muscles
            )
            channels.append((centre, half_width, tuple(branch_spec.passes_through)))
    return channels


def _cap_rings(spec: NerveSpec) -> int:
    return int(spec.cross_section.get("cap_rings", 0))


def _relaxed_branch(start, half_width, half_thickness, spec, variant, branch_spec, side, bones, muscles):
    """The relaxed branch (centre, half widths, axes), from a disk cache when nothing it reads changed.

    Relaxing against every bone and muscle takes over a second; start-up must not pay it each time.
    """
    parts: list[object] = [RELAX_VERSION, json.loads(spec.path.read_text(encoding="utf-8"))]
    parts += [variant.id, branch_spec.name, side, *(np.asarray(a, np.float64) for a in (start, half_width, half_thickness))]
    parts += [np.asarray(bones[name].vertices, np.float64) for name in sorted(bones)]
    parts += [np.asarray(muscles[name].vertices, np.float64) for name in sorted(muscles) if muscles[name].side == side]
    key = content_key(*parts)
    keys = ("centre", "half_width", "half_thickness", "depth", "width")
    cached = _NERVE_CACHE.load(key, keys)
    if cached is not None:
        return tuple(cached[k] for k in keys)
    field_ = _obstacles(side, bones, muscles, skip=branch_spec.passes_through)
    result = _relax(start, half_width, half_thickness, field_, spec)
    _NERVE_CACHE.save(key, dict(zip(keys, result, strict=True)))
    return result


def _bone_fields(side: str, bones: dict[str, Surface]) -> dict[str, SurfaceField]:
    def field_of(segment: str) -> SurfaceField:
        return SurfaceField([(bones[n].vertices, bones[n].faces) for n in segment_bones(segment, side)])

    return {"pelvis": field_of("pelvis"), f"thigh_{side}": field_of("thigh")}


def _mirror(right: NerveGeometry) -> NerveGeometry:
    flip = np.array([1.0, 1.0, -1.0])
    branches = tuple(
        NerveBranch(
            b.name, b.display_name, b.centreline * flip, b.half_width.copy(), b.half_thickness.copy(),
            b.depth_axis * flip, b.width_axis * flip, b.weights.copy(), b.passes_through, b.vertex_slice,
        )
        for b in right.branches
    )
    left = NerveGeometry(
        name=f"{NERVE_NAME}_left", side="left", vertices=right.vertices * flip, faces=right.faces[:, ::-1].copy(),
        centreline=branches[0].centreline, radius=branches[0].half_width, variant=right.variant, branches=branches,
        display_name=right.display_name, colour=right.colour, vertex_weights=right.vertex_weights.copy(),
        vertex_ring=right.vertex_ring.copy(), sides=right.sides, cap_rings=right.cap_rings,
        min_bend_radius_mm=right.min_bend_radius_mm,
    )
    left._bone_fields = _bone_fields("left", load_bone_surfaces())
    return left


# --- posing -------------------------------------------------------------------------------
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


def _posing(nerve: NerveGeometry) -> _Posing:
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
        share=np.array([b.weights / b.weights[-1] if b.weights[-1] > 0 else b.weights for b in branches]),
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
        posing = _posing(nerve)
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
        asked: list[dict[str, _Nearest]] = [dict(_posing(nerves[index]).at_rest) for index in group]
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
    posing = _posing(nerve)
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
    posings = [_posing(nerve) for nerve in nerves]
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


__all__ = [
    "NERVE_NAME",
    "BranchSpec",
    "ControlPoint",
    "NerveBranch",
    "NerveGeometry",
    "NerveSpec",
    "NerveVariant",
    "build_nerve",
    "build_nerves",
    "control_points",
    "load_nerve_spec",
    "nerve_centreline",
    "nerve_path",
    "pose_nerve",
    "pose_nerves",
    "resolve_landmark",
    "skinning_weights",
]
