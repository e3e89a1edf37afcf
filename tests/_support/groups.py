"""Which tests share a pytest-xdist worker, and in which order they go out (``-n auto --dist loadgroup``).

Tests go to the workers file by file: a module's fixtures (its window, its scenes) are built once. A long
test that uses no fixture of its module is a group of its own (:data:`ALONE`), so that the rest of its file
can run on the other worker meanwhile. The groups go out heaviest first (``--no-loadscope-reorder`` keeps
this order; xdist would otherwise order them by their number of tests): a worker given a long group near
the end of the run keeps running alone while the other idles, so the long groups run first and the short
ones fill in at the end.
"""

from __future__ import annotations

import pytest

# long tests that need none of their module's fixtures: each runs as a group of its own
ALONE = {"tests/test_skin.py::test_rebuild_matches_the_committed_skin"}

# CPU seconds of the heaviest groups (``--file-times``, ``--durations``; warm cache, 2 workers); the others
# follow in collection order. Only the order depends on these figures: a stale one costs balance, never a test.
GROUP_CPU_S: dict[str, float] = {
    "tests/test_classroom_gui.py": 93.0,
    "tests/test_skin.py::test_rebuild_matches_the_committed_skin": 75.0,
    "tests/test_gui.py": 75.0,
    "tests/test_handouts.py": 70.0,
}


def group_of(item) -> str:
    """The test's xdist group: its own node id when it runs alone, else its file."""
    return item.nodeid if item.nodeid in ALONE else item.location[0]


def assign_groups(items) -> None:
    """Mark each test with its group and put the heaviest groups first (the tests of a group keep their order)."""
    items.sort(key=lambda item: -GROUP_CPU_S.get(group_of(item), 0.0))
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item)))
