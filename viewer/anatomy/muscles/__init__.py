"""Gluteal muscles built from their attachments on the atlas bones.

Public API used by the scene model: :func:`load_muscle_specs` (validated data
files) and :func:`build_muscles` (closed surfaces and fibres for both sides).
Geometry only: no Qt and no rendering imports here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from viewer.anatomy.bones import SIDES, Surface, load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import polyline_lengths
from viewer.anatomy.muscles import rods
from viewer.anatomy.muscles.binding import (
    BLENDED_PASSES,
    BLENDED_REACH,
    BLOCK_REACH,
    SHEET_REACH,
    Binding,
    bind_surface,
    sheet_anchors,
)
from viewer.anatomy.muscles.build import RightMuscle, build_right_side
from viewer.anatomy.muscles.cache import MUSCLE_CACHE, cache_key
from viewer.anatomy.muscles.derived_landmarks import derive_landmarks
from viewer.anatomy.muscles.sheet import box_fibre_uv
from viewer.anatomy.muscles.spec import MUSCLE_NAMES, Attachment, MuscleSpec, load_muscle_specs
from viewer.types import FloatArray


@dataclass
class MuscleGeometry:
    """One muscle on one side: its cage (mm, pelvis frame), fibres and display surface.

    ``vertices``/``faces`` are the cage: the (u, s) fibre sheet thickened into a closed box, the shape the
    solver and the pose space move. ``form`` is the surface shown, bound to the cage by ``binding``
    (:mod:`viewer.anatomy.muscles.binding`); without a form the cage itself is shown.
    """

    name: str  # e.g. "gluteus_medius_right"
    spec: MuscleSpec
    side: str  # "right" | "left"
    vertices: FloatArray  # (2 * n_u * n_s, 3) the cage: deep face rows, then top face rows
    faces: np.ndarray  # (m, 3) int64, wound outward
    fibres: FloatArray  # (n_fibres, n_samples, 3), origin to insertion, on the deep face (used for lengths)
    outer_fibres: FloatArray | None = field(default=None, repr=False)  # same shape, drawn (on the form if any)
    form: Surface | None = field(default=None, repr=False)  # display surface at rest
    binding: Binding | None = field(default=None, repr=False)  # form displacement = binding.matrix @ cage's

    def __post_init__(self) -> None:
        if self.outer_fibres is None:
            if self.binding is not None:
                self.outer_fibres = self.binding.fibre_lines
            else:
                self.outer_fibres = outer_face(self.vertices, self.fibres.shape)

    @property
    def fibre_uv(self) -> FloatArray:
        """(n, 2) per drawn vertex (the form's, or the box's without one): across-fibre mm, along-fibre fraction."""
        return box_fibre_uv(self.fibres) if self.binding is None else self.binding.fibre_uv

    def length_mm(self) -> float:
        """Mean fibre polyline length, origin to insertion (includes tendon)."""
        return float(polyline_lengths(self.fibres).mean())

    def surface(self) -> Surface:
        """The cage as a closed surface."""
        return Surface(self.vertices, self.faces)

    def display_surface(self) -> Surface:
        """What is shown: the form, or the cage when there is none."""
        return self.form if self.form is not None else self.surface()


def outer_face(vertices: FloatArray, fibre_shape: tuple[int, ...]) -> FloatArray:
    """The superficial face of a (u, s) box mesh as fibre polylines: its second half of vertices, row by row."""
    n_u, n_s = fibre_shape[:2]
    return np.array(vertices[n_u * n_s : 2 * n_u * n_s], dtype=float).reshape(n_u, n_s, 3)


def mirror(points: FloatArray) -> FloatArray:
    """Left side from right: reflect Z (the midsagittal plane)."""
    return np.asarray(points, dtype=float) * np.array([1.0, 1.0, -1.0])


CAGE_PARTS = ("vertices", "faces", "fibres")
FORM_PARTS = ("form_vertices", "form_faces")


def _arrays_from_build(
    built: list[RightMuscle], bones: dict[str, Surface], landmarks: dict[str, FloatArray]
) -> dict[str, FloatArray]:
    """Cache arrays of the right side: cages, fibres, display forms and their bindings."""
    from viewer.anatomy.muscles.forms import build_forms, form_settings, is_band
    from viewer.anatomy.muscles.nerve_bed import make_room_for_the_nerve
    from viewer.anatomy.muscles.posing import BLOCKS, FANS
    from viewer.anatomy.muscles.spindle import SPINDLES
    from viewer.anatomy.nerve import nerve_channels

    built = make_room_for_the_nerve(built, bones, landmarks)
    forms = build_forms(built, bones, nerve_channels(bones, built, landmarks))
    arrays = {}
    for muscle in built:
        name = muscle.spec.name
        arrays[f"{name}__vertices"] = muscle.vertices
        arrays[f"{name}__faces"] = muscle.faces
        arrays[f"{name}__fibres"] = muscle.fibres
        form = forms[name]
        arrays[f"{name}__form_vertices"] = np.asarray(form.vertices, float)
        arrays[f"{name}__form_faces"] = np.asarray(form.faces, np.int64)
        depth = 0.5 if muscle.spec.shape == "tube" else 0.0  # where the pose space thickens a cage from
        rod = (
            {"sections": rods.SECTION_REACH, "passes": rods.BINDING_PASSES, "place_passes": rods.PLACE_PASSES}
            if muscle.spec.name in rods.RODS
            else {}
        )
        settings = form_settings(muscle)
        own_reach = BLENDED_REACH if settings["binding_reach"] is None else settings["binding_reach"]
        # a spindle's form too (spindle.py): its squeezed, bent belly, bound cell by cell, rippled where the cells'
        # continuations met (tensor fasciae latae at flexion 90 with abduction and rotation 45: 4.5% of its edges
        # bending over 40 degrees, 3.2% so)
        # obturator internus' tendon too (its form's blended_binding): cell by cell, it folded 175 degrees at 90/45/45
        # where the pose space lifts its cage out of the femur (76 so, bench_posed_forms.py on the table of 0796fa5)
        blends = name in (*FANS, *SPINDLES) or settings["blended_binding"]
        reach = own_reach if blends else BLOCK_REACH if name in BLOCKS else None
        passes = BLENDED_PASSES if settings["binding_passes"] is None else settings["binding_passes"]
        blended = {} if reach is None else {"reach": reach, "passes": passes}
        if is_band(muscle):  # a thin fascial sheet: both faces carried by the map at their mid-sheet point
            half = settings["band_thickness_mm"] / 2
            blended = {"reach": SHEET_REACH, "passes": 0, "anchors": sheet_anchors(form.vertices, form.faces, half)}
        binding = bind_surface(
            form.vertices, form.faces, muscle.vertices, muscle.fibres, anchor_depth=depth, **rod, **blended
        )
        arrays.update(binding.arrays(name))
    return arrays


def _required(specs: list[MuscleSpec]) -> list[str]:
    parts = [f"{spec.name}__{part}" for spec in specs for part in CAGE_PARTS + FORM_PARTS]
    return parts + [name for spec in specs for name in Binding.array_names(spec.name)]


def build_muscles(
    bones: dict[str, Surface] | None = None, landmarks: dict[str, FloatArray] | None = None, use_cache: bool = True
) -> dict[str, MuscleGeometry]:
    """All muscles on both sides by structure name (``<muscle>_<side>``), in build order (deep first)."""
    bones = load_bone_surfaces() if bones is None else bones
    landmarks = load_landmarks() if landmarks is None else landmarks
    specs = load_muscle_specs()

    def build() -> dict[str, np.ndarray]:
        everything = {**landmarks, **derive_landmarks(bones, landmarks)}
        return _arrays_from_build(build_right_side(specs, bones, everything), bones, landmarks)

    # one process builds; another starting meanwhile waits and reads its result
    key = cache_key(bones, landmarks)
    arrays = MUSCLE_CACHE.load_or_build(key, build, _required(specs)) if use_cache else build()
    result = {}
    for side in SIDES:
        for spec in specs:
            name = f"{spec.name}_{side}"
            result[name] = _geometry(spec, side, arrays)
    return result


def _geometry(spec: MuscleSpec, side: str, arrays: dict[str, np.ndarray]) -> MuscleGeometry:
    """One side's muscle from the right side's cache arrays (the left mirrored, faces flipped).

    The binding is the same on both sides: a mirrored cage keeps its vertex layout.
    """
    vertices, faces, fibres, form_vertices, form_faces = (
        np.array(arrays[f"{spec.name}__{part}"]) for part in CAGE_PARTS + FORM_PARTS
    )
    binding = Binding.from_arrays(arrays, spec.name)
    if side == "left":
        vertices, fibres, faces = mirror(vertices), mirror(fibres), faces[:, ::-1]
        form_vertices, form_faces = mirror(form_vertices), form_faces[:, ::-1]
        binding = binding.mirrored()
    return MuscleGeometry(
        f"{spec.name}_{side}",
        spec,
        side,
        np.asarray(vertices, float),
        np.asarray(faces, np.int64),
        np.asarray(fibres, float),
        form=Surface(np.asarray(form_vertices, float), np.ascontiguousarray(form_faces, np.int64)),
        binding=binding,
    )


from viewer.anatomy.muscles.posing import MusclePoser, PosedMuscle  # noqa: E402  (posing imports nothing from here)

__all__ = [
    "MUSCLE_NAMES",
    "Attachment",
    "Binding",
    "MuscleGeometry",
    "MusclePoser",
    "MuscleSpec",
    "PosedMuscle",
    "build_muscles",
    "load_muscle_specs",
    "mirror",
]
