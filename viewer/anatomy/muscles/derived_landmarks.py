"""Attachment landmarks derived from the bone meshes, existing landmarks and published model coordinates.

The shipped landmark set stops at the big bony points; muscle attachments need
more (iliac tubercle, sacral borders, trochanteric facets...). Each one is
defined in ``assets/annotations/muscles/derived_landmarks.json`` by a method
and its inputs, never by a bare coordinate: published coordinates are first
registered to the atlas by shared landmarks, and everything is snapped onto its
bone. Built for the right side, mirrored for the left.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np

from viewer.anatomy.bones import Surface
from viewer.anatomy.geometry import ray_hit_distance
from viewer.io.annotations import AnnotationError, field_path, read_json
from viewer.paths import annotations_dir
from viewer.types import FloatArray

SIDED_BONES = ("hip_bone", "femur", "tibia_fibula", "patella")


def definitions_path() -> Path:
    """The JSON file defining the landmarks derived from the bones (``assets/annotations/muscles``)."""
    return annotations_dir() / "muscles" / "derived_landmarks.json"


def bone_key(bone: str, side: str = "right") -> str:
    """Structure name of a bone given without side (``femur`` -> ``femur_right``)."""
    return f"{bone}_{side}" if bone in SIDED_BONES else bone


def resolve(name: str, known: dict[str, FloatArray]) -> str | None:
    """Key of a landmark given without side: the right one if it exists, else the unsided one."""
    for candidate in (f"{name}_right", name):
        if candidate in known:
            return candidate
    return None


def load_definitions(path: Path | None = None) -> dict:
    """The derivation file, validated against its schema (errors name the file and field)."""
    path = path or definitions_path()
    data = read_json(path)
    text = resources.files("viewer.anatomy.muscles").joinpath("derived_landmarks.schema.json").read_text()
    errors = sorted(
        jsonschema.Draft202012Validator(json.loads(text)).iter_errors(data), key=lambda e: len(e.absolute_path)
    )
    if errors:
        raise AnnotationError(path, errors[0].message, field_path(errors[0].absolute_path))
    return data


def similarity(pairs: list[tuple[FloatArray, FloatArray]]) -> tuple[FloatArray, float, FloatArray]:
    """Rotation, scale and translation taking published points onto atlas points (one or two pairs)."""
    (source0, target0) = pairs[0]
    rotation, scale = np.eye(3), 1.0
    if len(pairs) > 1:
        a, b = pairs[1][0] - source0, pairs[1][1] - target0
        scale = float(np.linalg.norm(b) / np.linalg.norm(a))
        rotation = rotation_between(a, b)
    return rotation, scale, target0 - scale * rotation @ source0


def rotation_between(a: FloatArray, b: FloatArray) -> FloatArray:
    """Smallest rotation taking direction ``a`` onto direction ``b`` (Rodrigues)."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    axis, cosine = np.cross(a, b), float(a @ b)
    skew = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + skew + skew @ skew / (1 + cosine)


class _Deriver:
    """Evaluates definitions in file order, so later ones may use earlier ones."""

    def __init__(self, data: dict, path: Path, bones: dict[str, Surface], landmarks: dict[str, FloatArray]) -> None:
        self.data, self.path, self.bones = data, path, bones
        self.known = dict(landmarks)
        self.derived: dict[str, FloatArray] = {}

    def point(self, name: str, field: str) -> FloatArray:
        key = resolve(name, self.known)
        if key is None:
            raise AnnotationError(self.path, f"unknown landmark '{name}' (neither in landmarks.json nor derived above)", field)
        return self.known[key]

    def combination(self, weights: dict[str, float], field: str) -> FloatArray:
        return sum(w * self.point(name, f"{field}.{name}") for name, w in weights.items())

    def frame_transform(self, frame: str, field: str):
        frames = self.data["frames"]
        if frame not in frames:
            raise AnnotationError(self.path, f"unknown frame '{frame}'", field)
        scale_to_mm = frames[frame]["scale_to_mm"]
        pairs = [
            (np.array(published, float) * scale_to_mm, self.point(name, f"frames.{frame}.pairs[{i}]"))
            for i, (name, published) in enumerate(frames[frame]["pairs"])
        ]
        if len(pairs) > 1 and min(np.linalg.norm(pairs[1][k] - pairs[0][k]) for k in (0, 1)) < 1e-6:
            # two coincident points give no scale (0/0 = NaN would move every landmark of the frame)
            raise AnnotationError(self.path, "the two pairs' points must differ (published and atlas)", f"frames.{frame}.pairs")
        rotation, scale, shift = similarity(pairs)
        return lambda p: scale * rotation @ (np.asarray(p, float) * scale_to_mm) + shift

    def hole_centre(self, vertices: FloatArray, faces: np.ndarray, corners: list[FloatArray]) -> FloatArray:
        a, b, c = corners
        normal = np.cross(b - a, c - a)
        normal /= np.linalg.norm(normal)
        w = np.stack(np.meshgrid(np.linspace(0, 1, 40), np.linspace(0, 1, 40)), -1).reshape(-1, 2)
        w = w[w.sum(1) <= 1]
        samples = a + w[:, :1] * (b - a) + w[:, 1:] * (c - a)
        misses = np.isinf(ray_hit_distance(vertices, faces, samples, normal)) & np.isinf(
            ray_hit_distance(vertices, faces, samples, -normal)
        )
        if not misses.any():
            raise AnnotationError(self.path, "no opening found inside the landmark triangle", "triangle")
        return samples[misses].mean(axis=0)

    def evaluate(self, index: int, entry: dict) -> FloatArray:
        field = f"landmarks[{index}]"
        bone = bone_key(entry["bone"])
        if bone not in self.bones:
            raise AnnotationError(self.path, f"unknown bone '{entry['bone']}'", f"{field}.bone")
        vertices, faces = self.bones[bone].vertices, self.bones[bone].faces
        method = entry["method"]
        if method == "extreme":
            centre = self.combination(entry["near"], f"{field}.near")
            nearby = vertices[np.linalg.norm(vertices - centre, axis=1) <= entry["radius_mm"]]
            if len(nearby) == 0:
                raise AnnotationError(self.path, "no bone vertex within radius_mm of 'near'", f"{field}.radius_mm")
            point = nearby[np.argmax(nearby @ np.asarray(entry["direction"], float))]
        elif method == "combination":
            point = self.combination(entry["weights"], f"{field}.weights")
        elif method == "published":
            point = self.frame_transform(entry["frame"], f"{field}.frame")(entry["position"])
        else:
            corners = [self.point(n, f"{field}.triangle[{i}]") for i, n in enumerate(entry["triangle"])]
            point = self.hole_centre(vertices, faces, corners)
        if entry.get("on_surface", True):
            point = vertices[np.argmin(np.linalg.norm(vertices - point, axis=1))]
        return np.asarray(point, dtype=float)

    def run(self) -> dict[str, FloatArray]:
        for index, entry in enumerate(self.data["landmarks"]):
            point = self.evaluate(index, entry)
            self.known[f"{entry['name']}_right"] = point
            self.derived[f"{entry['name']}_right"] = point
            self.derived[f"{entry['name']}_left"] = point * np.array([1.0, 1.0, -1.0])
        return self.derived


def derive_landmarks(
    bones: dict[str, Surface], landmarks: dict[str, FloatArray], path: Path | None = None
) -> dict[str, FloatArray]:
    """Derived landmarks for both sides (``<name>_right`` / ``<name>_left``), mm, pelvis frame."""
    path = path or definitions_path()
    return _Deriver(load_definitions(path), path, bones, landmarks).run()
