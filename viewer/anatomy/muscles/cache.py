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
from viewer.types import FloatArray

# Bump whenever build.py, fibres.py, sheet.py, distance_field.py, derived_landmarks.py or nerve_bed.py change
# the shapes they produce (the muscle cache and the shipped pose space are then rebuilt/rebaked).
BUILD_VERSION = "muscles-build-15"
# Bump whenever forms.py or binding.py change the display surfaces or their binding: only the muscle cache is
# rebuilt (the cages, and so the pose space, are unchanged: :func:`build_key` leaves this out).
FORMS_VERSION = "muscle-forms-34"

# Fields of the muscle data files that only say, name or colour things: no effect on geometry.
PRESENTATION_FIELDS = frozenset(
    {"display_name", "common_names", "colour", "appearance", "info", "note", "notes", "sources", "source", "reference", "layer_name"}
)

# The block of a muscle data file that shapes only its display surface (forms.py), not its cage.
FORM_FIELD = "form"

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
        name: {key: value for key, value in document.items() if key != FORM_FIELD}
        for name, document in _geometry_documents().items()
    }
    parts: list[object] = [BUILD_VERSION, documents]
    for name in sorted(bones):
        parts += [name, np.asarray(bones[name].vertices, dtype=np.float64), np.asarray(bones[name].faces, np.int64)]
    for name in sorted(landmarks):
        parts += [name, np.asarray(landmarks[name], dtype=np.float64)]
    return content_key(*parts)


def cache_key(bones: dict[str, Surface], landmarks: dict[str, FloatArray]) -> str:
    """Key of the muscle cache: the cages' :func:`build_key`, the data files' form blocks, the nerve's data and :data:`FORMS_VERSION`."""
    from viewer.anatomy.nerve import nerve_path

    forms = {name: document.get(FORM_FIELD) for name, document in _geometry_documents().items()}
    nerve = geometry_fields(json.loads(nerve_path().read_text(encoding="utf-8")))  # the forms leave the nerve its channel
    return content_key(build_key(bones, landmarks), FORMS_VERSION, forms, nerve)


def _geometry_documents() -> dict[str, dict]:
    """Every muscle data file by file name, parsed, without its presentation fields."""
    return {
        path.name: geometry_fields(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(muscles_dir().glob("*.json"))
    }
