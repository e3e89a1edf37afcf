"""Named camera views in the pelvis frame (X anterior, Y superior, Z right)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.types import FloatArray


@dataclass(frozen=True)
class ViewPreset:
    """Where the camera looks from (unit direction from the focus) and which way is up."""

    name: str
    label: str
    direction: tuple[float, float, float]
    up: tuple[float, float, float]
    shortcut: str


_S = float(np.sqrt(0.5))
VIEWS: dict[str, ViewPreset] = {
    v.name: v
    for v in (
        ViewPreset("anterior", "Anterior", (1, 0, 0), (0, 1, 0), "A"),
        ViewPreset("posterior", "Posterior", (-1, 0, 0), (0, 1, 0), "P"),
        ViewPreset("right", "Right lateral", (0, 0, 1), (0, 1, 0), "R"),
        ViewPreset("left", "Left lateral", (0, 0, -1), (0, 1, 0), "L"),
        ViewPreset("superior", "Superior", (0, 1, 0), (1, 0, 0), "S"),
        ViewPreset("inferior", "Inferior", (0, -1, 0), (1, 0, 0), "I"),
        ViewPreset("posterolateral_right", "Posterolateral (right)", (-_S, 0, _S), (0, 1, 0), "Shift+R"),
        ViewPreset("posterolateral_left", "Posterolateral (left)", (-_S, 0, -_S), (0, 1, 0), "Shift+L"),
    )
}

# The gluteal region: pelvis and the upper thighs, where the atlas is about.
FOCUS = np.array([-45.0, -110.0, 0.0])
FOCUS_RADIUS_MM = 230.0
VIEW_ANGLE_DEG = 30.0


def camera_for(view: str, aspect: float = 1.0) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(position, focal point, up) framing the gluteal region from a named view."""
    if view not in VIEWS:
        raise KeyError(f"unknown view {view!r}; choose from {', '.join(VIEWS)}")
    preset = VIEWS[view]
    half_angle = np.radians(VIEW_ANGLE_DEG / 2)
    # a portrait window needs more distance to fit the region across its narrow width
    distance = FOCUS_RADIUS_MM / np.sin(half_angle) / min(1.0, aspect)
    position = FOCUS + distance * np.asarray(preset.direction, dtype=float)
    return position, FOCUS.copy(), np.asarray(preset.up, dtype=float)


@dataclass(frozen=True)
class CameraPose:
    """A free camera (as the user left it in the window): where it is, what it looks at, which way is up."""

    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    up: tuple[float, float, float]
    view_angle: float = VIEW_ANGLE_DEG


def view_facing(normal: FloatArray) -> str:
    """The named view that looks most nearly along ``-normal`` (at a cut whose normal points to the viewer)."""
    normal = np.asarray(normal, dtype=float)
    return max(
        (v for v in VIEWS.values() if not v.name.startswith("posterolateral")),
        key=lambda v: float(np.dot(v.direction, normal)),
    ).name
