"""Muscle definitions: read ``assets/annotations/muscles/<muscle>.json`` into validated specs.

Schema checks catch missing fields and wrong types; this module adds the checks a
schema cannot do (bones and landmarks that must exist), with errors naming the
file and the field, so a typo in a data file never becomes a silent wrong shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from viewer.anatomy.bones import SIDES, bone_specs
from viewer.anatomy.muscles.derived_landmarks import definitions_path, load_definitions
from viewer.io.annotations import AnnotationError, read_json, validate
from viewer.paths import annotations_dir

MUSCLE_NAMES = (
    "gluteus_maximus",
    "gluteus_medius",
    "gluteus_minimus",
    "piriformis",
    "superior_gemellus",
    "obturator_internus",
    "inferior_gemellus",
    "quadratus_femoris",
    "tensor_fasciae_latae",
    "iliotibial_band",
)


@dataclass(frozen=True)
class Attachment:
    """A path of landmarks on one bone, sampled evenly into one point per fibre."""

    bone: str  # without side, e.g. "femur"
    landmarks: tuple[str, ...]
    offset_mm: float = 0.0
    at: float | None = None  # fibre parameter of a via constraint (0 origin .. 1 insertion)


@dataclass(frozen=True)
class Appearance:
    """How a muscle or fascia is drawn, from its data file's ``appearance`` (presentation only, never shape).

    The belly's colour is the file's ``colour``; along the fibres it turns into ``tendon_colour`` over the
    first ``origin_tendon`` and the last ``insertion_tendon`` share of each fibre.
    """

    tendon_colour: str | None = None
    origin_tendon: float = 0.0  # along-fibre fraction (0..0.5) at the origin drawn as tendon
    insertion_tendon: float = 0.0  # along-fibre fraction (0..0.5) at the insertion drawn as tendon
    opacity: float = 1.0  # default opacity: fascia is translucent
    specular: float = 0.3  # strength of the sheen
    specular_power: float = 18.0  # tightness of its highlight
    striation: float = 1.0  # contrast of the striations along the fibres, 0 (none) .. 1 (full)

    @classmethod
    def from_data(cls, data: dict) -> Appearance:
        """From a validated ``appearance`` object (its ``note`` is for readers of the file)."""
        return cls(**{k: v for k, v in data.items() if k != "note"})


@dataclass(frozen=True)
class MuscleSpec:
    """Everything the annotation file says about one muscle (no side)."""

    name: str
    display_name: str
    common_names: tuple[str, ...]
    layer: int
    layer_name: str
    colour: str
    info: dict
    build_order: int
    shape: str
    n_fibres: int
    n_samples: int
    origin: Attachment
    insertion: Attachment
    via: tuple[Attachment, ...]
    escape_direction: tuple[float, float, float] | None
    clearance_mm: float
    approach_mm: float  # > 0: start the fibres this far out along escape_direction and drape them inward
    thickness: dict
    path: Path = field(compare=False)
    form: dict = field(default_factory=dict, compare=False)  # display-form parameters (forms.py), optional
    appearance: Appearance = field(default_factory=Appearance, compare=False)
    alongside: dict | None = None  # {"muscle", "gap_mm"}: a tube's cage drawn to an earlier muscle (build.py)


def muscles_dir() -> Path:
    """The folder of the muscles' data files (``assets/annotations/muscles``)."""
    return annotations_dir() / "muscles"


def known_bones() -> set[str]:
    """Bone names without side, from the bone annotation file."""
    names = set()
    for spec in bone_specs():
        names.add(spec.name.removesuffix(f"_{spec.side}") if spec.side else spec.name)
    return names


def known_landmarks() -> set[str]:
    """Landmark names usable without side: shipped landmarks plus the derived ones."""
    shipped = read_json(annotations_dir() / "landmarks.json")["landmarks"]
    names = set()
    for name in shipped:
        names.add(name)
        for side in SIDES:
            names.add(name.removesuffix(f"_{side}"))
    names.update(entry["name"] for entry in load_definitions(definitions_path())["landmarks"])
    return names


def _attachment(data: dict, where: str, path: Path, bones: set[str], landmarks: set[str]) -> Attachment:
    if data["bone"] not in bones:
        raise AnnotationError(
            path, f"unknown bone '{data['bone']}' (known: {', '.join(sorted(bones))})", f"{where}.bone"
        )
    for index, name in enumerate(data["landmarks"]):
        if name not in landmarks:
            raise AnnotationError(path, f"unknown landmark '{name}' (not in landmarks.json nor derived_landmarks.json)", f"{where}.landmarks[{index}]")
    return Attachment(data["bone"], tuple(data["landmarks"]), float(data.get("offset_mm", 0.0)), data.get("at"))


def read_spec(path: Path, bones: set[str] | None = None, landmarks: set[str] | None = None) -> MuscleSpec:
    """Read and check one muscle file; any problem raises :class:`AnnotationError` naming file and field."""
    data = validate(read_json(path), "muscle", path)
    bones = known_bones() if bones is None else bones
    landmarks = known_landmarks() if landmarks is None else landmarks
    if data["name"] != path.stem:
        raise AnnotationError(path, f"name '{data['name']}' does not match the file name", "name")
    escape = data.get("escape_direction")
    if escape is not None and not np.any(escape):
        raise AnnotationError(path, "must not be the zero vector", "escape_direction")
    if data.get("approach_mm", 0) > 0 and escape is None:
        raise AnnotationError(path, "needs escape_direction (the side to drape from)", "approach_mm")
    return MuscleSpec(
        name=data["name"],
        display_name=data["display_name"],
        common_names=tuple(data["common_names"]),
        layer=data["layer"],
        layer_name=data["layer_name"],
        colour=data["colour"],
        info=dict(data["info"]),
        build_order=data["build_order"],
        shape=data["shape"],
        n_fibres=data["grid"]["fibres"],
        n_samples=data["grid"]["samples"],
        origin=_attachment(data["origin"], "origin", path, bones, landmarks),
        insertion=_attachment(data["insertion"], "insertion", path, bones, landmarks),
        via=tuple(_attachment(v, f"via[{i}]", path, bones, landmarks) for i, v in enumerate(data.get("via", []))),
        escape_direction=tuple(escape) if escape is not None else None,
        clearance_mm=float(data["clearance_mm"]),
        approach_mm=float(data.get("approach_mm", 0.0)),
        thickness=dict(data["thickness"]),
        path=path,
        form=dict(data.get("form", {})),
        appearance=Appearance.from_data(data["appearance"]),
        alongside=_alongside(data, path),
    )


def _alongside(data: dict, path: Path) -> dict | None:
    """The ``alongside`` block of a tube (without its note), or None; the partner must be a muscle built earlier."""
    block = data.get("alongside")
    if block is None:
        return None
    if data["shape"] != "tube":
        raise AnnotationError(path, "only a tube's cage runs alongside another muscle", "alongside")
    if block["muscle"] not in MUSCLE_NAMES:
        raise AnnotationError(path, f"unknown muscle '{block['muscle']}'", "alongside.muscle")
    return {"muscle": block["muscle"], "gap_mm": float(block["gap_mm"])}


def load_muscle_specs(directory: Path | None = None) -> list[MuscleSpec]:
    """All ten muscle specs, validated, in build order (deep structures first)."""
    directory = directory or muscles_dir()
    bones, landmarks = known_bones(), known_landmarks()
    specs = sorted(
        (read_spec(directory / f"{name}.json", bones, landmarks) for name in MUSCLE_NAMES),
        key=lambda spec: spec.build_order,
    )
    for index, spec in enumerate(specs):  # a cage drawn alongside another needs that one built first
        if spec.alongside is not None and spec.alongside["muscle"] not in {s.name for s in specs[:index]}:
            raise AnnotationError(
                spec.path, f"'{spec.alongside['muscle']}' is not built before this muscle", "alongside.muscle"
            )
    return specs
