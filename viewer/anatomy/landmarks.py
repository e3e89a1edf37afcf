"""Landmark finders that work on bone surfaces already in the pelvis frame.

Each finder answers one anatomical question with plain geometry, so the
definitions in ``assets/annotations/landmark_definitions.json`` stay data.
"""

from __future__ import annotations

import numpy as np

from viewer.types import FloatArray


def extreme_point(vertices: FloatArray, direction: FloatArray) -> FloatArray:
    """The vertex furthest along ``direction`` (e.g. the lowest point of the sacrum)."""
    return vertices[int(np.argmax(vertices @ np.asarray(direction, dtype=float)))]


def notch_deepest_point(vertices: FloatArray, lower: FloatArray, upper: FloatArray) -> FloatArray:
    """Deepest point of the posterior border of the hip bone between two landmarks.

    The greater sciatic notch is the concavity of the posterior border between
    the ischial spine and the posterior iliac spines. Seen from the side, the
    border is the most posterior vertex at each height; the notch is the border
    point furthest anterior of the chord joining the two landmarks.
    """
    low, high = lower[1], upper[1]
    levels = np.linspace(low, high, 40)[1:-1]
    chord = upper - lower
    chord_xy = np.array([chord[0], chord[1]])
    normal_xy = np.array([chord_xy[1], -chord_xy[0]]) / np.linalg.norm(chord_xy)
    if normal_xy[0] < 0:  # point the normal anteriorly (+X)
        normal_xy = -normal_xy
    best, best_depth = lower, -np.inf
    half_step = (high - low) / 40
    for level in levels:
        band = vertices[np.abs(vertices[:, 1] - level) < half_step]
        if len(band) == 0:
            continue
        border = band[int(np.argmin(band[:, 0]))]
        depth = (border[:2] - lower[:2]) @ normal_xy
        if depth > best_depth:
            best, best_depth = border, depth
    return best


def tibial_anterolateral_point(
    vertices: FloatArray, lateral: FloatArray, below_plateau_mm: tuple[float, float]
) -> FloatArray:
    """Gerdy's tubercle: the most anterolateral point just below the lateral tibial plateau.

    ``vertices`` are the tibia's; the long axis is taken from the principal
    direction of the shaft, and ``lateral`` is the unit lateral direction.
    """
    centred = vertices - vertices.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    if axis[1] < 0:
        axis = -axis  # point superiorly
    height = vertices @ axis
    top = height.max()
    near, far = below_plateau_mm
    band = vertices[(height <= top - near) & (height >= top - far)]
    anterior = np.array([1.0, 0.0, 0.0])
    anterolateral = anterior + np.asarray(lateral, dtype=float)
    anterolateral -= (anterolateral @ axis) * axis
    return band[int(np.argmax(band @ anterolateral))]
