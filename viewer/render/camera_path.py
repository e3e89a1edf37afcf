"""A smooth camera move between two camera states (plain numbers in mm, as scene documents store them)."""

from __future__ import annotations

import numpy as np

from viewer.render.views import VIEW_ANGLE_DEG


def _slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Unit vector between unit vectors ``a`` and ``b`` (shape (3,)) along the great circle."""
    cosine = float(np.clip(np.dot(a, b), -1.0, 1.0))
    angle = np.arccos(cosine)
    if angle < 1e-6:
        return a.copy()
    if np.pi - angle < 1e-6:  # opposite: turn about any axis at right angles to a
        axis = np.cross(a, [0.0, 0.0, 1.0] if abs(a[2]) < 0.9 else [1.0, 0.0, 0.0])
        axis /= np.linalg.norm(axis)
        return np.cos(np.pi * t) * a + np.sin(np.pi * t) * axis
    return (np.sin((1 - t) * angle) * a + np.sin(t * angle) * b) / np.sin(angle)


def camera_between(start: dict, end: dict, t: float) -> dict:
    """The camera a fraction ``t`` (0..1) of the way from ``start`` to ``end``.

    Both are exact cameras (``position``, ``focal_point``, ``up`` in mm, ``view_angle`` in degrees). The
    focal point moves in a straight line; the view direction turns along a great circle and the distance
    changes linearly, so the camera swings round the body instead of cutting through it.
    """
    focus = (1 - t) * np.asarray(start["focal_point"], float) + t * np.asarray(end["focal_point"], float)
    offsets = [np.subtract(c["position"], c["focal_point"]) for c in (start, end)]
    distances = [float(np.linalg.norm(o)) for o in offsets]
    direction = _slerp(offsets[0] / distances[0], offsets[1] / distances[1], t)
    up = _slerp(*(np.asarray(c["up"], float) / np.linalg.norm(c["up"]) for c in (start, end)), t)
    angles = [float(c.get("view_angle", VIEW_ANGLE_DEG)) for c in (start, end)]
    return {
        "position": (focus + ((1 - t) * distances[0] + t * distances[1]) * direction).tolist(),
        "focal_point": focus.tolist(),
        "up": up.tolist(),
        "view_angle": (1 - t) * angles[0] + t * angles[1],
    }
