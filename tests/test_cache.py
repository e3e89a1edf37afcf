"""The one disk cache: atomic writes, self-healing reads, keys from data (never from source files)."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest

from viewer.cache import ArrayCache, atomic_write, cache_dir, content_key


@pytest.fixture()
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GLUTE_VIEWER_CACHE", str(folder))
    return folder


def test_cache_folder_follows_the_environment(private_cache):
    assert cache_dir() == private_cache


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "picture.png"
    target.write_bytes(b"old picture")

    def failing(temporary: Path) -> None:
        temporary.write_bytes(b"half a pic")
        raise KeyboardInterrupt  # Ctrl-C in the middle of a write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, failing)
    assert target.read_bytes() == b"old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["picture.png"]  # no temporary left behind


def test_atomic_write_replaces_with_the_usual_permissions(tmp_path):
    target = tmp_path / "new.bin"
    atomic_write(target, lambda temporary: temporary.write_bytes(b"complete"))
    assert target.read_bytes() == b"complete"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_saved_arrays_round_trip_and_stale_keys_are_pruned(private_cache):
    cache = ArrayCache("things")
    cache.save("aaa", {"x": np.arange(3.0)})
    cache.save("bbb", {"x": np.arange(4.0)})
    assert not cache.path("aaa").exists()
    np.testing.assert_array_equal(cache.load("bbb", ["x"])["x"], np.arange(4.0))


def test_old_leftovers_of_interrupted_writes_are_removed(private_cache):
    cache = ArrayCache("things")
    private_cache.mkdir(parents=True)
    old = private_cache / ".things-zzz.npz.abc.tmp"
    recent = private_cache / ".things-yyy.npz.def.tmp"
    legacy = private_cache / "things-xxx.1234.tmp.npz"
    for leftover in (old, recent, legacy):
        leftover.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    for leftover in (old, legacy):
        os.utime(leftover, (an_hour_ago, an_hour_ago))
    cache.save("key", {"x": np.zeros(2)})
    assert not old.exists() and not legacy.exists()
    assert recent.exists(), "a write that may still be under way in another process is left alone"


@pytest.mark.parametrize(
    "damage",
    ["truncate", "zero", "garbage", "nan", "missing", "inconsistent"],
)
def test_damaged_cache_files_are_discarded_with_one_notice(private_cache, caplog, damage):
    cache = ArrayCache("things")
    cache.save("key", {"x": np.arange(10.0), "y": np.arange(4)})
    path = cache.path("key")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "zero":
        path.write_bytes(b"\0" * len(data))
    elif damage == "garbage":
        path.write_bytes(b"[" * 1000)
    elif damage == "nan":
        cache.save("key", {"x": np.array([1.0, np.nan]), "y": np.arange(4)})
    elif damage == "missing":
        cache.save("key", {"x": np.arange(10.0)})
    with caplog.at_level(logging.WARNING, logger="viewer.cache"):
        check = (lambda arrays: "y too short" if len(arrays["y"]) < 5 else None) if damage == "inconsistent" else None
        assert cache.load("key", ["x", "y"], check=check) is None
    notices = [r.getMessage() for r in caplog.records]
    assert len(notices) == 1 and "discarded cache file" in notices[0] and "\n" not in notices[0]
    assert not path.exists(), "the damaged file is removed so the rebuild can replace it"


def test_unwritable_cache_folder_is_a_notice_not_an_error(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GLUTE_VIEWER_CACHE", str(blocker / "cache"))
    with caplog.at_level(logging.WARNING, logger="viewer.cache"):
        ArrayCache("things").save("key", {"x": np.zeros(1)})
    assert any("cannot write the cache" in r.getMessage() for r in caplog.records)


def test_content_key_hashes_values_not_formatting():
    assert content_key({"a": 1, "b": [1, 2]}) == content_key({"b": [1, 2], "a": 1})
    assert content_key(np.zeros(3)) != content_key(np.zeros(4))
    assert content_key(np.zeros(3, np.float32)) != content_key(np.zeros(3, np.float64))
    assert content_key("v1", 1.0) != content_key("v2", 1.0)


def test_muscle_key_ignores_student_text_but_not_geometry(asset_copy):
    from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
    from viewer.anatomy.muscles.cache import build_key

    bones, landmarks = load_bone_surfaces(), load_landmarks()
    before = build_key(bones, landmarks)
    path = asset_copy / "annotations" / "muscles" / "piriformis.json"
    document = json.loads(path.read_text())
    document["info"]["sources"] = ["A rewritten citation"]
    document["display_name"] = "Musculus piriformis"
    document["origin"]["note"] = "reworded"
    path.write_text(json.dumps(document, indent=1))
    assert build_key(bones, landmarks) == before
    document["thickness"]["target_volume_cm3"] = 44
    path.write_text(json.dumps(document, indent=1))
    assert build_key(bones, landmarks) != before


def test_a_form_block_reshapes_the_display_surface_but_not_the_cages(asset_copy):
    """The "form" block only shapes the display surface: the muscle cache is rebuilt, the baked pose space kept."""
    from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
    from viewer.anatomy.muscles.cache import build_key, cache_key

    bones, landmarks = load_bone_surfaces(), load_landmarks()
    before = build_key(bones, landmarks), cache_key(bones, landmarks)
    path = asset_copy / "annotations" / "muscles" / "piriformis.json"
    document = json.loads(path.read_text())
    document["form"] = {**document["form"], "tendon_radius_mm": document["form"].get("tendon_radius_mm", 2.0) + 1.0}
    path.write_text(json.dumps(document, indent=1))
    assert build_key(bones, landmarks) == before[0]
    assert cache_key(bones, landmarks) != before[1]


def test_pose_space_key_reads_no_source_file(monkeypatch):
    """A comment added to any module must not make the shipped pose space stale."""
    from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
    from viewer.anatomy.pose_space import pose_space_key

    bones, landmarks = load_bone_surfaces(), load_landmarks()
    read: list[str] = []
    original_read_bytes, original_read_text = Path.read_bytes, Path.read_text
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original_read_bytes(self))
    monkeypatch.setattr(
        Path, "read_text", lambda self, *a, **k: read.append(self.name) or original_read_text(self, *a, **k)
    )
    pose_space_key(bones, landmarks)
    assert read and not [name for name in read if name.endswith(".py")]


def test_corrupt_shipped_pose_space_falls_back_with_a_notice(asset_copy, caplog):
    from viewer.anatomy.muscles import build_muscles
    from viewer.anatomy.pose_space import load_pose_space

    path = asset_copy / "meshes" / "muscle_pose_space.npz"
    path.write_bytes(path.read_bytes()[:1000])
    with caplog.at_level(logging.WARNING):
        assert load_pose_space(build_muscles()) is None
    assert any("unreadable" in r.getMessage() for r in caplog.records)


def test_two_processes_asking_at_once_build_the_arrays_once(private_cache):
    """On a cold cache the second asker waits for the first one's build and reads its file (two windows started
    together, or two test workers, each built the muscles: a minute of CPU twice)."""
    import threading

    cache = ArrayCache("things")
    started, release, builds, results = threading.Event(), threading.Event(), [], []

    def slow_build() -> dict:
        builds.append(threading.current_thread().name)
        started.set()
        release.wait(10)
        return {"x": np.arange(5.0)}

    def ask() -> None:
        results.append(cache.load_or_build("key", slow_build, ["x"]))

    first = threading.Thread(target=ask, name="first")
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=ask, name="second")  # its own open lock file, as another process's
    second.start()
    time.sleep(0.5)
    assert second.is_alive(), "the second asker did not wait for the build under way"
    release.set()
    first.join(10)
    second.join(10)
    assert builds == ["first"]
    assert len(results) == 2
    for arrays in results:
        np.testing.assert_array_equal(arrays["x"], np.arange(5.0))
    assert cache.load_or_build("key", slow_build)["x"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]  # now read, not built
    assert builds == ["first"]


def test_the_suite_counts_each_muscle_build_and_fails_on_a_repeat(private_cache, monkeypatch):
    """The test session counts the muscle builds through the cache by key (tests/_support/muscle_builds.py): a read
    counts nothing, a second build of the same key is named, and the session then fails (tests/conftest.py)."""
    from collections import Counter

    from _support.counters import SUITE_COUNTS, repeated_builds

    from viewer.anatomy.muscles.cache import MUSCLE_CACHE

    builds: Counter = Counter()
    monkeypatch.setitem(SUITE_COUNTS, "muscle builds", builds)  # this test's builds only, not the session's
    for _ in range(2):
        MUSCLE_CACHE.load_or_build("k1", lambda: {"x": np.arange(3.0)}, ["x"])
    assert builds == {"k1": 1} and repeated_builds(builds) == []
    MUSCLE_CACHE.path("k1").unlink()
    MUSCLE_CACHE.load_or_build("k1", lambda: {"x": np.arange(3.0)}, ["x"])
    assert builds == {"k1": 2}
    assert len(repeated_builds(builds)) == 1 and "k1 were built 2x" in repeated_builds(builds)[0]
