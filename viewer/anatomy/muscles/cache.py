"""On-disk cache of built muscle geometry, keyed by everything the build reads.

A cold build takes several seconds (distance grids, relaxation, volume
calibration); start-up must not. The key hashes the muscle data files, schemas,
this package's source, and the bone meshes and landmarks actually used, so any
change rebuilds. Files are plain .npz read without pickle.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from viewer.anatomy.bones import Surface
from viewer.anatomy.muscles.spec import muscles_dir
from viewer.io.annotations import AnnotationError

FloatArray = np.ndarray
_PACKAGE = Path(__file__).resolve().parent
_SCHEMA = _PACKAGE.parent.parent / "io" / "schemas" / "muscle.schema.json"


def cache_dir() -> Path:
    override = os.environ.get("GLUTE_VIEWER_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "glute-viewer"


def build_key(bones: dict[str, Surface], landmarks: dict[str, FloatArray]) -> str:
    digest = hashlib.sha256()
    files = (
        sorted(muscles_dir().glob("*.json"))
        + sorted(_PACKAGE.glob("*.py"))
        + sorted(_PACKAGE.glob("*.json"))
        + [_SCHEMA]
    )
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for name in sorted(bones):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(bones[name].vertices, dtype=np.float64).tobytes())
        digest.update(np.ascontiguousarray(bones[name].faces, dtype=np.int64).tobytes())
    for name in sorted(landmarks):
        digest.update(name.encode())
        digest.update(np.asarray(landmarks[name], dtype=np.float64).tobytes())
    return digest.hexdigest()[:24]


def cache_path(key: str) -> Path:
    return cache_dir() / f"muscles-{key}.npz"


def read_cache(key: str) -> dict[str, FloatArray] | None:
    """Arrays saved for ``key``, or None when absent or unreadable (then the caller rebuilds)."""
    path = cache_path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, AnnotationError):
        return None


def write_cache(key: str, arrays: dict[str, FloatArray]) -> None:
    """Save atomically; a read-only or full disk only costs the next start-up a rebuild."""
    path = cache_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(temporary, **arrays)
        temporary.replace(path)
    except OSError:
        pass
