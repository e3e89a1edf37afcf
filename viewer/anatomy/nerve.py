"""The sciatic nerve in the gluteal region: course, tube geometry, variants and posing.

The course is data (``assets/annotations/nerve.json``): landmark-anchored
control points per branch and per anatomical variant. :func:`nerve_centreline`
runs a smooth curve through them and relaxes it out of bones and muscles with a
clearance, flattening the nerve where the plane between gluteus maximus and the
deep rotators is thinner than the nerve. :func:`build_nerve` wraps that in a
closed, slightly flattened tube, built for the right side and mirrored for the left;
:mod:`viewer.anatomy.nerve_posing` carries it through a pose. Geometry only: no Qt,
no rendering.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline

from viewer.anatomy.bones import SIDES, Surface, load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import arc_length, resample
from viewer.anatomy.kinematics import segment_bones
from viewer.anatomy.nerve_mesh import (
    SurfaceField,
    interpolate_at,
    limit_bend,
    point_polyline_distance,
    section_frames,
    tube,
    tube_vertices,
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
    _posing: object = field(default=None, repr=False)  # what posing needs, made once (see nerve_posing)

    @property
    def centrelines(self) -> list[FloatArray]:
        """Each branch's centreline at anatomical position, a list of (m_k, 3) arrays (mm)."""
        return [b.centreline for b in self.branches]

    def distance(self, points: FloatArray, centrelines: list[FloatArray] | None = None) -> FloatArray:
        """Distance from points to the nerve surface (conservative: the larger semi-axis; < 0 inside).

        Pass posed ``centrelines`` (one per branch, as :func:`~viewer.anatomy.nerve_posing.pose_nerve` returns) for a posed nerve.
        """
        points = np.atleast_2d(np.asarray(points, dtype=float))
        lines = centrelines if centrelines is not None else self.centrelines
        best = np.full(len(points), np.inf)
        for branch, line in zip(self.branches, lines, strict=False):
            d, at = point_polyline_distance(points, line)
            best = np.minimum(best, d - interpolate_at(branch.half_width, at))
        return best

    def posed_centrelines(self, centreline_all: FloatArray) -> list[FloatArray]:
        """Split the stacked centreline returned by :func:`~viewer.anatomy.nerve_posing.pose_nerve` into branches."""
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
    from viewer.anatomy.nerve_posing import prepare_posing

    prepare_posing(result)  # what posing needs is made now, not at the first frame
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


def _relaxed_course(
    bones: dict[str, Surface], cages: list, landmarks: dict[str, FloatArray], spec: NerveSpec
) -> list[tuple[BranchSpec, tuple[FloatArray, ...]]]:
    """Every branch of every variant on the right side, relaxed against the bones and the muscle ``cages``
    exactly as :func:`build_nerve` relaxes it (same disk cache): (branch, (centre, half width, half thickness,
    depth axis, width axis)) per branch."""
    muscles = {f"{cage.spec.name}_right": _Cage(cage.spec, cage.vertices, cage.faces) for cage in cages}
    return [
        (
            branch_spec,
            _relaxed_branch(
                *_unrelaxed(spec, branch_spec, "right", landmarks), spec, variant, branch_spec, "right", bones, muscles
            ),
        )
        for variant in spec.variants.values()
        for branch_spec in variant.branches
    ]


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
    courses = _relaxed_course(bones, cages, landmarks, load_nerve_spec(landmarks=landmarks))
    return [(course[0], course[1], tuple(branch.passes_through)) for branch, course in courses]


def nerve_tubes(
    bones: dict[str, Surface], cages: list, landmarks: dict[str, FloatArray] | None = None
) -> list[tuple[FloatArray, tuple[str, ...]]]:
    """The nerve's tubes on the right side as :func:`build_nerve` makes them, for the muscle cages to make room.

    Same arguments as :func:`nerve_channels`. Returns, per branch of every variant: the tube's vertices
    (n, 3) mm and the names of the muscles it passes through.
    """
    landmarks = load_landmarks() if landmarks is None else landmarks
    spec = load_nerve_spec(landmarks=landmarks)
    sides, cap_rings = spec.cross_section["sides"], _cap_rings(spec)
    return [
        (tube_vertices(*course, sides=sides, cap_rings=cap_rings), tuple(branch.passes_through))
        for branch, course in _relaxed_course(bones, cages, landmarks, spec)
    ]


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
    "resolve_landmark",
    "skinning_weights",
]
