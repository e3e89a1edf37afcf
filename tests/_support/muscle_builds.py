"""The muscles built from their data at most once per session, shared by every test process and path.

The ``muscle_build`` fixture reads the muscles as the scenes do, through the session's cache
(:meth:`viewer.cache.ArrayCache.load_or_build`): on a cold cache (CI) the first process that needs them
builds them while holding the cache's build lock, and every other process and path (the scenes, the
other pytest-xdist worker, the tests of the build) waits for that build and reads its file. Every full
build is counted by cache key (:func:`recorded_full_builds`); the session fails when one key was built
twice (:func:`_support.counters.repeated_builds`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _support.counters import SUITE_COUNTS


@dataclass
class MuscleBuild:
    """The muscles built from their data, as the session's cache holds them."""

    muscles: dict  # structure name -> MuscleGeometry, both sides, as build_muscles returns them
    right_side: list  # the right-side muscles in build order (deep first): their spec, cage and fibres as built
    saved: Path  # the cache file of the build (build_muscles reads it back, building nothing)


@contextlib.contextmanager
def recorded_full_builds() -> Iterator[None]:
    """While open, every muscle build through the cache (one made from the data, not read) is counted by key."""
    from viewer.anatomy.muscles.cache import MUSCLE_CACHE

    load_or_build = MUSCLE_CACHE.load_or_build

    def recorded_load_or_build(key, build, *args, **kwargs):
        def counted_build():
            SUITE_COUNTS["muscle builds"][key] += 1
            return build()

        return load_or_build(key, counted_build, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MUSCLE_CACHE, "load_or_build", recorded_load_or_build)
        yield


def session_build() -> MuscleBuild:
    """All muscles as the session's cache has them: built here (once, under the cache's lock) or read."""
    from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
    from viewer.anatomy.muscles import build_muscles
    from viewer.anatomy.muscles.cache import MUSCLE_CACHE, cache_key

    muscles = build_muscles()
    right_side = sorted((m for m in muscles.values() if m.side == "right"), key=lambda m: m.spec.build_order)
    return MuscleBuild(muscles, right_side, MUSCLE_CACHE.path(cache_key(load_bone_surfaces(), load_landmarks())))
