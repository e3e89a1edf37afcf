"""Where the shipped assets live, for an installed wheel and for a source checkout.

A wheel carries ``assets/`` inside the package (``viewer/assets``); a source or
editable checkout keeps it at the top of the repository. ``GLUTE_VIEWER_ASSETS``
overrides both, which tests use to point at deliberately broken copies.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def assets_dir() -> Path:
    """The folder holding ``meshes/`` and ``annotations/``."""
    override = os.environ.get("GLUTE_VIEWER_ASSETS")
    if override:
        return Path(override)
    for candidate in (_PACKAGE_DIR / "assets", _PACKAGE_DIR.parent / "assets"):
        if (candidate / "annotations").is_dir():
            return candidate
    raise FileNotFoundError(
        f"no assets folder found beside {_PACKAGE_DIR}; reinstall the package or set GLUTE_VIEWER_ASSETS"
    )


def meshes_dir() -> Path:
    """The folder of the committed meshes (``assets/meshes``)."""
    return assets_dir() / "meshes"


def annotations_dir() -> Path:
    """The folder of the validated data files (``assets/annotations``)."""
    return assets_dir() / "annotations"
