"""Which tests share a pytest-xdist worker (``-n auto --dist loadgroup`` in pyproject.toml).

Tests go to the workers file by file (a module's fixtures, its window, are built once); the files that use
a session fixture named in :data:`SHARED_GROUPS` go to one worker together (the session's muscle build: one
build, or a cold cache's, for all of them).
"""

from __future__ import annotations

import pytest

SHARED_GROUPS = {"muscle_build": "muscle-build"}  # session fixture -> the group of every file using it


def assign_groups(items) -> None:
    """Mark each test with its file's group (its shared group if any test of the file uses one)."""
    groups: dict[str, str] = {}
    for item in items:
        path = item.location[0]
        shared = next((group for name, group in SHARED_GROUPS.items() if name in item.fixturenames), None)
        if shared is not None or path not in groups:
            groups[path] = shared or groups.get(path) or path
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[item.location[0]]))
