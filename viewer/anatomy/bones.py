"""Load the committed bone meshes and named landmarks (pelvis frame, mm).

Meshes are binary PLY read with a small numpy reader (importing trimesh just
to read them would cost most of a second at start-up), so vertex order is
exactly what the build step wrote. Any missing or corrupt file raises
:class:`AssetError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from viewer.io.annotations import AnnotationError, load_annotation
from viewer.io.ply import PlyError, read_ply
from viewer.paths import annotations_dir, meshes_dir
from viewer.types import FloatArray, IntArray

SIDES = ("right", "left")
LANDMARK_REACH_MM = 30.0  # a landmark lies on its bone (centres of the femoral head and acetabulum: 20-25 mm in)


class AssetError(RuntimeError):
    """A shipped asset (mesh or annotation) that cannot be used."""


@dataclass(frozen=True)
class BoneSpec:
    """What the annotation file says about one bone structure."""

    name: str  # structure name, e.g. femur_right
    display_name: str
    colour: str
    side: str | None


@dataclass(frozen=True)
class Surface:
    """A closed triangle surface in the pelvis frame."""

    vertices: FloatArray
    faces: IntArray

    def trimesh(self):
        """As a ``trimesh.Trimesh`` (imported on demand: geometry tools only, not start-up)."""
        import trimesh

        return trimesh.Trimesh(self.vertices, self.faces, process=False)


def bone_specs() -> list[BoneSpec]:
    """Every bone structure (paired ones once per side), in the annotation file's order."""
    try:
        config = load_annotation("bones")
    except AnnotationError as error:
        raise AssetError(str(error)) from error
    specs = []
    for bone in config["bones"]:
        sides: tuple[str | None, ...] = SIDES if bone["paired"] else (None,)
        for side in sides:
            name = f"{bone['name']}_{side}" if side else bone["name"]
            display = f"{bone['display_name']} ({side})" if side else bone["display_name"]
            specs.append(BoneSpec(name=name, display_name=display, colour=bone["colour"], side=side))
    return specs


def read_surface(path: Path) -> Surface:
    """Read one PLY surface; raise :class:`AssetError` naming the file if it is unusable."""
    if not path.is_file():
        raise AssetError(f"{path}: mesh file not found (regenerate with: python -m viewer.tools.build_assets)")
    try:
        vertices, faces = read_ply(path)
    except PlyError as error:  # already names the file and what is wrong
        raise AssetError(str(error)) from error
    except (OSError, ValueError, KeyError, IndexError) as error:
        raise AssetError(f"{path}: not a readable PLY mesh ({type(error).__name__}: {error})") from error
    if len(vertices) == 0 or len(faces) == 0 or faces.max() >= len(vertices) or not np.isfinite(vertices).all():
        raise AssetError(f"{path}: mesh is empty or malformed")
    return Surface(vertices, faces)


@cache
def load_bone_surfaces() -> dict[str, Surface]:
    """All bone surfaces by structure name (cached: they never change at run time).

    A bone ``bones.json`` names but no mesh was built for is an error in ``bones.json`` (naming the
    field), not a missing mesh: the meshes folder is what the build step made of the shipped list.
    """
    folder = meshes_dir()
    specs = bone_specs()
    for spec in specs:
        if not (folder / f"{spec.name}.ply").is_file():
            names = [bone["name"] for bone in load_annotation("bones")["bones"]]
            base = spec.name.removesuffix(f"_{spec.side}") if spec.side else spec.name
            raise AnnotationError(
                annotations_dir() / "bones.json",
                f"no mesh {spec.name}.ply was built for this bone (unknown bone or side; meshes in {folder})",
                f"bones[{names.index(base)}]",
            )
    return {spec.name: read_surface(folder / f"{spec.name}.ply") for spec in specs}


@cache
def load_landmarks() -> dict[str, FloatArray]:
    """Named landmark positions (mm, pelvis frame), e.g. ``asis_right``."""
    data = load_annotation("landmarks")
    bones = load_bone_surfaces()
    path = annotations_dir() / "landmarks.json"
    landmarks = {}
    for name, entry in data["landmarks"].items():
        position = np.array(entry["position"], dtype=float)
        on = [bones[b].vertices for b in (entry["bone"], *(f"{entry['bone']}_{side}" for side in SIDES)) if b in bones]
        if not on:
            raise AnnotationError(path, f"unknown bone '{entry['bone']}'", f"landmarks.{name}.bone")
        distance = float(np.linalg.norm(np.concatenate(on) - position, axis=1).min())
        if distance > LANDMARK_REACH_MM:
            raise AnnotationError(
                path, f"{position.round(1).tolist()} is {distance:.0f} mm from the {entry['bone']} (at most "
                f"{LANDMARK_REACH_MM:g} mm: a landmark lies on its bone)", f"landmarks.{name}.position"
            )
        landmarks[name] = position
    return landmarks


@cache
def landmark_info() -> dict[str, dict]:
    """Display names and bones of the landmarks, for labels and the info panel."""
    data = load_annotation("landmarks")
    return {name: {"display_name": e["display_name"], "bone": e["bone"]} for name, e in data["landmarks"].items()}


def clear_caches() -> None:
    """Forget loaded assets (tests that swap the asset folder call this)."""
    load_bone_surfaces.cache_clear()
    load_landmarks.cache_clear()
    landmark_info.cache_clear()


__all__ = [
    "SIDES",
    "AssetError",
    "BoneSpec",
    "Surface",
    "annotations_dir",
    "bone_specs",
    "clear_caches",
    "landmark_info",
    "load_bone_surfaces",
    "load_landmarks",
    "read_surface",
]
