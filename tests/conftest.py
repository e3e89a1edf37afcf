"""Shared fixtures: one scene per session (building it reads every asset once)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def scene():
    from viewer.model.scene import build_scene

    return build_scene()


@pytest.fixture()
def fresh_scene():
    """A scene a test may pose and change freely."""
    from viewer.model.scene import build_scene

    return build_scene()


@pytest.fixture()
def bones_scene():
    """Bones and landmarks only: for kinematics tests that need no muscles."""
    from viewer.model.scene import build_scene

    return build_scene(muscles=False)


@pytest.fixture()
def asset_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of assets/ that a test may break; the viewer is pointed at it."""
    from viewer.anatomy.bones import clear_caches
    from viewer.paths import assets_dir

    copy = tmp_path / "assets"
    shutil.copytree(assets_dir(), copy)
    monkeypatch.setenv("GLUTE_VIEWER_ASSETS", str(copy))
    clear_caches()
    yield copy
    clear_caches()
