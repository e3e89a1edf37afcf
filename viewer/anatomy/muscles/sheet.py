"""Closed surfaces on the structured (fibre u, along-fibre s) grid.

The fibre sheet is one face; the other is the sheet offset along its normal by a
thickness profile. The two faces and four side strips share the grid's vertex
numbering, so the mesh is watertight by construction and a re-posed muscle keeps
the same vertex identity (only positions change).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from viewer.types import FloatArray


def thickness_profile(n_fibres: int, n_samples: int, settings: dict) -> tuple[FloatArray, FloatArray]:
    """(minimum, shape) arrays (n_fibres, n_samples): thickness = minimum + T * shape for a scale T."""
    s = np.linspace(0, 1, n_samples)
    u = np.linspace(0, 1, n_fibres)
    if "fixed_mm" in settings:
        return np.full((n_fibres, n_samples), float(settings["fixed_mm"])), np.zeros((n_fibres, n_samples))
    start, end = settings.get("origin_tendon", 0.0), settings.get("insertion_tendon", 0.2)
    peak = settings.get("peak_at", 0.5)
    w = np.clip((s - start) / max(1 - start - end, 1e-6), 0, 1)
    w = w ** (np.log(0.5) / np.log(peak))  # moves the belly's thickest point to ``peak``
    power = settings.get("belly_power", 0.7)  # smaller: flatter, fuller belly; 0: an even slab, ends included
    belly = np.ones_like(w) if power == 0 else np.sin(np.pi * w) ** power
    taper = settings.get("edge_taper", 0.25)
    edge = np.ones_like(u) if taper == 0 else np.sin(0.5 * np.pi * np.clip(np.minimum(u, 1 - u) / taper, 0, 1)) ** 0.8
    edge = np.maximum(edge, 0.15)
    minimum = np.full((n_fibres, n_samples), float(settings.get("min_mm", 1.5)))
    return minimum, edge[:, None] * belly[None, :]


def sheet_normals(fibres: FloatArray, smoothing: int = 4) -> FloatArray:
    """Unit normals of the fibre sheet (cross of the u and s tangents), smoothed to avoid folds."""
    du = np.gradient(fibres, axis=0)
    ds = np.gradient(fibres, axis=1)
    normals = np.cross(du, ds)
    for _ in range(smoothing):
        padded = np.pad(normals, ((1, 1), (1, 1), (0, 0)), mode="edge")
        normals = (4 * normals + padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]) / 8
    return normals / np.maximum(np.linalg.norm(normals, axis=2, keepdims=True), 1e-9)


def drawn_within(points: FloatArray, line: FloatArray, gap_mm: float) -> FloatArray:
    """Points farther than ``gap_mm`` from a polyline moved towards their nearest point on it, keeping their side.

    Parameters
    ----------
    points : (n, 3) float array
        The points, mm.
    line : (m, 3) float array
        The polyline, sampled densely (its vertices stand for it: spacing well under ``gap_mm``), mm.
    gap_mm : float
        Distance from the line the points are drawn to; nearer points stay.

    Returns
    -------
    (n, 3) float array
        The drawn points.
    """
    from scipy.spatial import cKDTree

    distance, nearest = cKDTree(line).query(points)
    offset = points - line[nearest]
    return line[nearest] + offset * (np.minimum(distance, gap_mm) / np.maximum(distance, 1e-9))[:, None]


@cache
def box_faces(n_u: int, n_s: int) -> np.ndarray:
    """Triangles of the closed grid box: lower face, upper face (vertex index + n_u*n_s) and side strips."""
    grid = np.arange(n_u * n_s).reshape(n_u, n_s)
    v00, v10, v11, v01 = grid[:-1, :-1], grid[1:, :-1], grid[1:, 1:], grid[:-1, 1:]
    lower = np.concatenate([np.stack([v00, v10, v11], -1).reshape(-1, 3), np.stack([v00, v11, v01], -1).reshape(-1, 3)])
    upper = lower[:, ::-1] + n_u * n_s
    loop = np.concatenate([grid[::-1, 0], grid[0, 1:], grid[1:, -1], grid[-1, -2::-1][:-1]])
    p, q = loop, np.roll(loop, -1)
    offset = n_u * n_s
    sides = np.concatenate([np.stack([p, q, q + offset], -1), np.stack([p, q + offset, p + offset], -1)])
    return np.concatenate([lower, upper, sides]).astype(np.int64)


def box_vertices(lower: FloatArray, upper: FloatArray) -> FloatArray:
    """The cage's vertices (2 n_u n_s, 3): the deep face ``lower`` then the top face ``upper``, each (n_u, n_s, 3)."""
    return np.concatenate([lower.reshape(-1, 3), upper.reshape(-1, 3)])


def sheet_fibre_uv(fibres: FloatArray) -> FloatArray:
    """Fibre coordinates of the (u, s) grid: across-fibre distance and along-fibre fraction.

    Parameters
    ----------
    fibres
        (n_u, n_s, 3) fibre polylines, origin (s = 0) to insertion (s = 1), mm.

    Returns
    -------
    (n_u, n_s, 2)
        ``[..., 0]``: distance (mm) across the fibres from the u = 0 edge, measured along the sheet at each
        station and averaged along the fibre, so it is constant along each fibre (its surface gradient points
        across the fibres; where a fan converges the same millimetres crowd together, as its fascicles do);
        ``[..., 1]``: arc-length fraction along the fibre, 0 at the origin and 1 at the insertion.
    """
    across = np.linalg.norm(np.diff(fibres, axis=0), axis=2)  # (n_u - 1, n_s)
    u_mm = np.concatenate([[0.0], np.cumsum(across.mean(axis=1))])  # (n_u,)
    along = np.linalg.norm(np.diff(fibres, axis=1), axis=2)  # (n_u, n_s - 1)
    arc = np.concatenate([np.zeros((fibres.shape[0], 1)), np.cumsum(along, axis=1)], axis=1)
    s = arc / np.maximum(arc[:, -1:], 1e-9)
    return np.stack([np.broadcast_to(u_mm[:, None], s.shape), s], axis=-1)


def box_fibre_uv(fibres: FloatArray) -> FloatArray:
    """Fibre coordinates (see :func:`sheet_fibre_uv`) of every vertex of the box mesh around ``fibres``.

    The box's deep-face rows come first and its top-face rows second (:func:`box_vertices`); both faces take
    the coordinates of the fibre sheet point they are built on.

    Parameters
    ----------
    fibres
        (n_u, n_s, 3) the fibre sheet the box was built on, mm.

    Returns
    -------
    (2 * n_u * n_s, 2)
        (across-fibre mm, along-fibre fraction) per vertex.
    """
    uv = sheet_fibre_uv(np.asarray(fibres, dtype=float)).reshape(-1, 2)
    return np.concatenate([uv, uv])
