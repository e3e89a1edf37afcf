"""The muscles built from their data once per session, for the tests of the build itself and the scenes.

On a cold cache (CI) the first scene builds the muscles from their data; the ``muscle_build`` fixture then
reuses that build instead of repeating it (a minute of CPU), and a build made by ``muscle_build`` first
seeds the session's cache for the scenes.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _support.counters import SUITE_COUNTS


@dataclass
class MuscleBuild:
    """The muscles built once from their data, with what the build made on the way."""

    muscles: dict  # structure name -> MuscleGeometry, both sides, as build_muscles returns them
    right_side: list  # the right-side cages (RightMuscle, build order) the forms and bindings were made from
    cache: Path  # the folder the build saved its arrays to (empty before: nothing was read from a cache)


@dataclass
class FullBuild:
    right_side: list  # what build_right_side returned
    saved: Path  # the cache file build_muscles saved the arrays to


@contextlib.contextmanager
def recorded_full_builds() -> Iterator[dict[str, FullBuild]]:
    """While open, every full muscle build (one that saved to the cache) by cache key, and counted."""
    import viewer.anatomy.muscles as muscles_module
    from viewer.anatomy.muscles.cache import MUSCLE_CACHE

    builds: dict[str, FullBuild] = {}
    pending: list = []
    build_right_side, save = muscles_module.build_right_side, MUSCLE_CACHE.save

    def recorded_build(*args, **kwargs):
        pending[:] = [build_right_side(*args, **kwargs)]
        SUITE_COUNTS["muscle builds"] += 1
        return pending[0]

    def recorded_save(key, arrays):
        save(key, arrays)
        if pending and MUSCLE_CACHE.path(key).is_file():
            builds[key] = FullBuild(pending.pop(), MUSCLE_CACHE.path(key))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(muscles_module, "build_right_side", recorded_build)
        patch.setattr(MUSCLE_CACHE, "save", recorded_save)
        yield builds


def build_once(folder: Path, full_builds: dict[str, FullBuild]) -> MuscleBuild:
    """All muscles built from their data with ``folder`` (empty) as the cache, or this session's earlier full build.

    ``build_muscles`` runs with the empty cache folder, so it builds (checked: the cages are built exactly
    once) and saves. When ``full_builds`` holds a build of the same key (a cold cache's), that build is
    taken instead, its file copied into the folder. A build made here seeds the session's cache.
    """
    import viewer.anatomy.muscles as muscles_module
    from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
    from viewer.anatomy.muscles.cache import MUSCLE_CACHE, cache_key
    from viewer.cache import atomic_write

    key = cache_key(load_bone_surfaces(), load_landmarks())
    shared_cache = MUSCLE_CACHE.path(key)
    earlier = full_builds.get(key)
    if earlier is not None and earlier.saved.is_file():
        shutil.copyfile(earlier.saved, folder / earlier.saved.name)

    build_right_side = muscles_module.build_right_side
    right_sides = []

    def recorded(*args, **kwargs):
        right_sides.append(build_right_side(*args, **kwargs))
        return right_sides[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GLUTE_VIEWER_CACHE", str(folder))
        patch.setattr(muscles_module, "build_right_side", recorded)
        muscles = muscles_module.build_muscles()
    if earlier is not None:
        assert not right_sides, "the session's muscle build was built twice"
        return MuscleBuild(muscles, earlier.right_side, folder)
    assert len(right_sides) == 1, "the session's muscle build read a cache instead of building"
    built = next(folder.glob("muscles-*.npz"))
    if not shared_cache.is_file():  # a cold cache: the scenes read this build instead of making their own
        shared_cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(shared_cache, lambda temporary: shutil.copyfile(built, temporary))
    return MuscleBuild(muscles, right_sides[0], folder)
