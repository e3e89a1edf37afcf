"""Gluteal muscles built from their attachments on the atlas bones.

Public API used by the scene model: :func:`load_muscle_specs` (validated data
files) and :func:`build_muscles` (closed surfaces and fibres for both sides).
Geometry only: no Qt and no rendering imports here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from viewer.anatomy.bones import SIDES, Surface, load_bone_surfaces, load_landmarks
from viewer.anatomy.metrics import polyline_lengths
from viewer.anatomy.muscles.build import RightMuscle, build_right_side
from viewer.anatomy.muscles.cache import MUSCLE_CACHE, build_key
from viewer.anatomy.muscles.derived_landmarks import derive_landmarks
from viewer.anatomy.muscles.sheet import box_fibre_uv
from viewer.anatomy.muscles.spec import MUSCLE_NAMES, Attachment, MuscleSpec, load_muscle_specs

FloatArray = np.ndarray


@dataclass
class MuscleGeometry:
    """One muscle on one side: closed surface (mm, pelvis frame) and its fibres."""

    name: str  # e.g. "gluteus_medius_right"
    spec: MuscleSpec
    side: str  # "right" | "left"
    vertices: FloatArray  # (n, 3)
    faces: np.ndarray  # (m, 3) int64, wound outward
    fibres: FloatArray  # (n_fibres, n_samples, 3), origin to insertion, on the deep face (used for lengths)
    outer_fibres: FloatArray | None = field(default=None, repr=False)  # same shape, on the superficial face (drawing)
    # (n, 2) per vertex: across-fibre mm from the sheet's u = 0 edge, along-fibre fraction 0..1 (a rest property)
    fibre_uv: FloatArray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.outer_fibres is None:
            self.outer_fibres = outer_face(self.vertices, self.fibres.shape)
        if self.fibre_uv is None:
            self.fibre_uv = box_fibre_uv(self.fibres)
        if len(self.fibre_uv) != len(self.vertices):
            raise ValueError(f"{self.name}: fibre_uv has {len(self.fibre_uv)} rows for {len(self.vertices)} vertices")

    def length_mm(self) -> float:
        """Mean fibre polyline length, origin to insertion (includes tendon)."""
        return float(polyline_lengths(self.fibres).mean())

    def surface(self) -> Surface:
        return Surface(self.vertices, self.faces)


def outer_face(vertices: FloatArray, fibre_shape: tuple[int, ...]) -> FloatArray:
    """The superficial face of a (u, s) box mesh as fibre polylines: its second half of vertices, row by row."""
    n_u, n_s = fibre_shape[:2]
    return np.array(vertices[n_u * n_s : 2 * n_u * n_s], dtype=float).reshape(n_u, n_s, 3)


def mirror(points: FloatArray) -> FloatArray:
    """Left side from right: reflect Z (the midsagittal plane)."""
    return np.asarray(points, dtype=float) * np.array([1.0, 1.0, -1.0])


def _arrays_from_build(built: list[RightMuscle]) -> dict[str, FloatArray]:
    arrays = {}
    for muscle in built:
        arrays[f"{muscle.spec.name}__vertices"] = muscle.vertices
        arrays[f"{muscle.spec.name}__faces"] = muscle.faces
        arrays[f"{muscle.spec.name}__fibres"] = muscle.fibres
    return arrays


def build_muscles(
    bones: dict[str, Surface] | None = None, landmarks: dict[str, FloatArray] | None = None, use_cache: bool = True
) -> dict[str, MuscleGeometry]:
    """All muscles on both sides by structure name (``<muscle>_<side>``), in build order (deep first)."""
    bones = load_bone_surfaces() if bones is None else bones
    landmarks = load_landmarks() if landmarks is None else landmarks
    specs = load_muscle_specs()
    key = build_key(bones, landmarks)
    required = [f"{spec.name}__{part}" for spec in specs for part in ("vertices", "faces", "fibres")]
    arrays = MUSCLE_CACHE.load(key, required) if use_cache else None
    if arrays is None:
        everything = {**landmarks, **derive_landmarks(bones, landmarks)}
        arrays = _arrays_from_build(build_right_side(specs, bones, everything))
        if use_cache:
            MUSCLE_CACHE.save(key, arrays)
    result = {}
    for side in SIDES:
        for spec in specs:
            vertices, faces, fibres = (arrays[f"{spec.name}__{part}"] for part in ("vertices", "faces", "fibres"))
            if side == "left":
                vertices, fibres, faces = mirror(vertices), mirror(fibres), faces[:, ::-1]
            name = f"{spec.name}_{side}"
            result[name] = MuscleGeometry(
                name, spec, side, np.array(vertices, float), np.array(faces, np.int64), np.array(fibres, float)
            )
    return result


from viewer.anatomy.muscles.posing import MusclePoser, PosedMuscle  # noqa: E402  (posing imports nothing from here)

__all__ = [
    "MUSCLE_NAMES",
    "Attachment",
    "MuscleGeometry",
    "MusclePoser",
    "MuscleSpec",
    "PosedMuscle",
    "build_muscles",
    "load_muscle_specs",
    "mirror",
]
