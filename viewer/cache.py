"""The one disk cache: arrays the viewer computes once and reuses on later starts.

Every cached thing (built muscles, relaxed nerves, the bone distance grids) is a
set of numpy arrays stored as one ``.npz`` file named ``<kind>-<key>.npz`` in
the user cache folder (``platformdirs``; ``GLUTE_VIEWER_CACHE`` overrides it).

- **Keys** come from the input *data* (bone and landmark arrays, the parsed
  geometry fields of the data files) plus explicit format-version constants
  that a developer bumps when the code that makes the arrays changes: see
  :func:`content_key`. Source files are never hashed, so a comment or a
  refactor never invalidates a cache or the shipped pose space.
- **Writes are atomic** (:func:`atomic_write`: a temporary file in the same
  folder, then an ``os.replace``), so a crash or a kill never leaves a damaged
  file; leftovers of interrupted writes and files of other keys of the same
  kind are removed after each successful save.
- **One builder at a time**: :meth:`ArrayCache.load_or_build` holds a lock file while it
  builds, so a second process that needs the same arrays at the same time (two windows
  started together, two test workers on a cold cache) waits for the first and reads its
  file instead of building them again.
- **Reads are checked**: a truncated, corrupt or inconsistent file (missing
  arrays, non-finite numbers) is discarded with a one-line notice and the
  caller rebuilds it; never a traceback.

Only numpy and the standard library (plus platformdirs) here: the anatomy
layer uses this module.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import platformdirs

APP_NAME = "glute-viewer"
CACHE_ENV = "GLUTE_VIEWER_CACHE"
_TEMPORARY_SUFFIX = ".tmp"
LEFTOVER_AGE_S = 600.0  # a temporary file older than this is an interrupted write, not one under way
_LOCK_SUFFIX = ".lock"
BUILD_WAIT_S = 900.0  # longest wait for another process's build before building anyway
_LOCK_POLL_S = 0.2

log = logging.getLogger(__name__)

# What an unreadable array file raises when numpy opens it.
UNREADABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    zipfile.BadZipFile,
    zlib.error,
)


def cache_dir() -> Path:
    """The folder of all cache files (created on first write)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    return platformdirs.user_cache_path(APP_NAME, appauthor=False)


def content_key(*parts: object) -> str:
    """A short stable hash of data: arrays, strings, bytes, numbers and JSON-like dicts/lists.

    Parameters
    ----------
    *parts
        Anything the cached result depends on. numpy arrays hash their dtype, shape and bytes;
        dicts and lists hash as canonical JSON (sorted keys), so formatting does not matter;
        a format-version string should be one of the parts.

    Returns
    -------
    str
        24 hexadecimal characters.
    """
    digest = hashlib.sha256()
    for part in parts:
        _update(digest, part)
    return digest.hexdigest()[:24]


def _update(digest, part: object) -> None:
    if isinstance(part, np.ndarray):
        array = np.ascontiguousarray(part)
        digest.update(f"array:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    elif isinstance(part, bytes):
        digest.update(b"bytes:" + part)
    elif isinstance(part, str):
        digest.update(b"str:" + part.encode())
    elif isinstance(part, Mapping | list | tuple | int | float | bool) or part is None:
        digest.update(b"json:" + json.dumps(part, sort_keys=True, default=_json_default).encode())
    else:
        raise TypeError(f"content_key cannot hash a {type(part).__name__}")


def _json_default(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"content_key cannot hash a {type(value).__name__}")


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` through ``write(temporary_path)``, then move it into place in one step.

    The temporary file lies in the same folder (so the final rename never crosses file systems)
    and is removed if ``write`` fails or is interrupted; the previous ``path``, if any, is kept
    intact until the new one is complete.

    Parameters
    ----------
    path
        The file to create or replace.
    write
        Called with the temporary path; must write the complete file there.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TEMPORARY_SUFFIX, dir=path.parent)
    os.close(descriptor)
    temporary = Path(name)
    try:
        write(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _mode_for(path: Path) -> int:
    """The permissions a replaced file had, or the usual ones for a new file (mkstemp makes 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file (no pickles). Raises one of :data:`UNREADABLE_ERRORS` when damaged."""
    # the file is opened here so that it is closed even when numpy fails to read a damaged zip (numpy then
    # leaves its own handle open)
    with open(path, "rb") as stream, np.load(stream, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


class ArrayCache:
    """One kind of cached arrays (``muscles``, ``nerve``, ``pose-grids``) in :func:`cache_dir`.

    Parameters
    ----------
    kind
        File-name prefix of this kind.
    compressed
        Store with zip compression (smaller, slower to write).
    keep_other_keys
        Keep files of other keys of this kind (several variants used side by side, e.g. one
        nerve per side and variant); otherwise a save removes them as stale.
    """

    def __init__(self, kind: str, compressed: bool = False, keep_other_keys: bool = False) -> None:
        self.kind = kind
        self.compressed = compressed
        self.keep_other_keys = keep_other_keys

    def path(self, key: str) -> Path:
        """The cache file of ``key`` for this kind of arrays."""
        return cache_dir() / f"{self.kind}-{key}.npz"

    def load(
        self,
        key: str,
        required: Iterable[str] = (),
        check: Callable[[dict[str, np.ndarray]], str | None] | None = None,
    ) -> dict[str, np.ndarray] | None:
        """The arrays saved under ``key``, or None when absent, damaged or inconsistent (then discarded).

        Parameters
        ----------
        key
            From :func:`content_key`.
        required
            Array names that must be present; a file lacking one is discarded.
        check
            Optional consistency check of the arrays: returns why they cannot be used, or None.
        """
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            arrays = read_arrays(path)
        except UNREADABLE_ERRORS as error:
            return self._discard(path, f"unreadable ({type(error).__name__})")
        missing = [name for name in required if name not in arrays]
        if missing:
            return self._discard(path, f"missing array {missing[0]!r}")
        for name, array in arrays.items():
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                return self._discard(path, f"non-finite values in {name!r}")
        reason = check(arrays) if check is not None else None
        if reason:
            return self._discard(path, reason)
        return arrays

    def load_or_build(
        self,
        key: str,
        build: Callable[[], Mapping[str, np.ndarray]],
        required: Iterable[str] = (),
        check: Callable[[dict[str, np.ndarray]], str | None] | None = None,
    ) -> dict[str, np.ndarray]:
        """The arrays saved under ``key``, or ``build()``'s (then saved), built by one process at a time.

        While it builds, a process holds a lock file beside the cache file; another process asking for the
        same key meanwhile waits for it (up to :data:`BUILD_WAIT_S`) and then reads the saved file instead of
        building the arrays a second time. ``required`` and ``check`` are as in :meth:`load`.
        """
        arrays = self.load(key, required, check)
        if arrays is not None:
            return arrays
        with self._building(key):
            arrays = self.load(key, required, check)  # built by another process while this one waited
            if arrays is None:
                arrays = dict(build())
                self.save(key, arrays)
        return arrays

    @contextlib.contextmanager
    def _building(self, key: str):
        """Hold this key's build lock (none where the folder cannot be written or locks are not supported)."""
        try:
            import fcntl
        except ImportError:  # not a POSIX system: each process builds for itself
            yield
            return
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path.parent / f".{path.stem}{_LOCK_SUFFIX}", "a+b")  # noqa: SIM115 (held while yielding)
        except OSError:
            yield
            return
        with handle:
            deadline = time.monotonic() + BUILD_WAIT_S
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.monotonic() > deadline:  # a stuck builder: build without the lock
                        break
                    time.sleep(_LOCK_POLL_S)
            yield  # closing the file releases the lock

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Store atomically and prune stale files; a read-only or full disk costs only a rebuild next time."""
        path = self.path(key)
        saver = np.savez_compressed if self.compressed else np.savez
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda temporary: _save_npz(saver, temporary, arrays))
        except OSError as error:
            log.warning("glute-viewer: cannot write the cache in %s (%s); the next start rebuilds it", path.parent, error)
            return
        self._prune(path)

    def _discard(self, path: Path, reason: str) -> None:
        log.warning("glute-viewer: discarded cache file %s: %s; rebuilding it", path.name, reason)
        path.unlink(missing_ok=True)
        return None

    def _prune(self, kept: Path) -> None:
        leftovers = [*kept.parent.glob(f".{self.kind}-*{_TEMPORARY_SUFFIX}"), *kept.parent.glob(f"{self.kind}-*.tmp.npz")]
        for leftover in leftovers:  # interrupted writes (the second pattern: earlier versions' naming)
            if _age_seconds(leftover) > LEFTOVER_AGE_S:
                _unlink_quietly(leftover)
        if not self.keep_other_keys:
            for stale in kept.parent.glob(f"{self.kind}-*.npz"):
                if stale != kept:
                    _unlink_quietly(stale)
            for lock in kept.parent.glob(f".{self.kind}-*{_LOCK_SUFFIX}"):  # other keys' build locks
                if lock.name != f".{kept.stem}{_LOCK_SUFFIX}":
                    _unlink_quietly(lock)


def _save_npz(saver: Callable[..., None], temporary: Path, arrays: Mapping[str, np.ndarray]) -> None:
    with open(temporary, "wb") as handle:  # a file object: numpy would otherwise append ".npz" to the name
        saver(handle, **arrays)


def _age_seconds(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
