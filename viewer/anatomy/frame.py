"""The one anatomical frame the viewer works in: the ISB pelvis frame, its mirror and a sphere fit.

Frame: millimetres, ISB pelvis frame (Wu et al. 2002): origin midway between
the anterior superior iliac spines, Z towards the right ASIS, X anterior in the
plane of both ASIS and the PSIS midpoint, Y = Z x X superior.
"""

from __future__ import annotations

import numpy as np

from viewer.anatomy.geometry import unit
from viewer.types import FloatArray

FRAME_DESCRIPTION = {
    "name": "ISB pelvis frame (Wu et al. 2002, J Biomech 35:543)",
    "origin": "midpoint of the left and right anterior superior iliac spines",
    "x": "anterior",
    "y": "superior",
    "z": "right",
    "units": "mm",
}


def pelvis_frame(
    asis_right: FloatArray, asis_left: FloatArray, psis_right: FloatArray, psis_left: FloatArray
) -> FloatArray:
    """4x4 transform taking source coordinates into the ISB pelvis frame."""
    origin = (asis_right + asis_left) / 2
    z_axis = unit(asis_right - asis_left)
    anterior = origin - (psis_right + psis_left) / 2
    x_axis = unit(anterior - anterior.dot(z_axis) * z_axis)
    y_axis = np.cross(z_axis, x_axis)
    rotation = np.vstack([x_axis, y_axis, z_axis])
    transform = np.eye(4)
    transform[:3, :3] = rotation
    transform[:3, 3] = -rotation @ origin
    return transform


def reflect_z(points: FloatArray) -> FloatArray:
    """Mirror through the midsagittal plane (Z = 0): left structures become right ones."""
    mirrored = np.array(points, dtype=float, copy=True)
    mirrored[..., 2] *= -1
    return mirrored


def fit_sphere(points: FloatArray) -> tuple[FloatArray, float]:
    """Least-squares sphere through ``points``: (centre, radius)."""
    points = np.asarray(points, dtype=float)
    design = np.hstack([2 * points, np.ones((len(points), 1))])
    rhs = (points**2).sum(axis=1)
    solution, *_ = np.linalg.lstsq(design, rhs, rcond=None)
    centre = solution[:3]
    radius = float(np.sqrt(solution[3] + centre @ centre))
    return centre, radius
