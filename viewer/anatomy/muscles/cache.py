"""What the built muscles depend on, as a cache key (see :mod:`viewer.cache`).

The key hashes the *geometry* the muscle data files ask for (attachments, grids,
thickness targets, build order...), the bones and the landmarks, plus
:data:`BUILD_VERSION`. Student text, names, colours and sources are left out, so
editing what the info panel says never makes the cache or the baked pose space
stale; changing the code that builds the shapes means bumping the version.
"""

from __future__ import annotations

import json

import numpy as np

from viewer.anatomy.bones import Surface
from viewer.anatomy.muscles.spec import muscles_dir
from viewer.cache import ArrayCache, content_key

FloatArray = np.ndarray

# Bump whenever build.py, fibres.py, sheet.py, distance_field.py or derived_landmarks.py change
# the shapes they produce (the muscle cache and the shipped pose space are then rebuilt/rebaked).
BUILD_VERSION = "muscles-build-1"

# Fields of the muscle data files that only say, name or colour things: no effect on geometry.
PRESENTATION_FIELDS = frozenset(
    {"display_name", "common_names", "colour", "appearance", "info", "note", "notes", "sources", "source", "reference", "layer_name"}
)

MUSCLE_CACHE = ArrayCache("muscles")


def geometry_fields(document: object) -> object:
    """A parsed data file without its presentation fields (at any depth)."""
    if isinstance(document, dict):
        return {k: geometry_fields(v) for k, v in document.items() if k not in PRESENTATION_FIELDS}
    if isinstance(document, list):
        return [geometry_fields(v) for v in document]
    return document


def build_key(bones: dict[str, Surface], landmarks: dict[str, FloatArray]) -> str:
    """Key of the muscle build: the geometry fields of every muscle data file, bones, landmarks, version.

    Parameters
    ----------
    bones
        Bone surfaces by name (vertices (n, 3) mm, faces (m, 3)).
    landmarks
        Landmark points (3,) mm by name.
    """
    documents = {
        path.name: geometry_fields(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(muscles_dir().glob("*.json"))
    }
    parts: list[object] = [BUILD_VERSION, documents]
    for name in sorted(bones):
        parts += [name, np.asarray(bones[name].vertices, dtype=np.float64), np.asarray(bones[name].faces, np.int64)]
    for name in sorted(landmarks):
        parts += [name, np.asarray(landmarks[name], dtype=np.float64)]
    return content_key(*parts)
