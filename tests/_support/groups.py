"""Which tests share a pytest-xdist worker (``-n auto --dist loadgroup`` in pyproject.toml).

Tests go to the workers file by file: a module's fixtures (its window, its scenes) are built once.
"""

from __future__ import annotations

import pytest


def assign_groups(items) -> None:
    """Mark each test with its file as its group."""
    for item in items:
        item.add_marker(pytest.mark.xdist_group(item.location[0]))
