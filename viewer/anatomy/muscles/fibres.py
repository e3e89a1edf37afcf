"""Fibres as polylines pulled tight over the obstacles (bones and deeper muscles).

A fibre starts as the piecewise-straight path through its pinned points (origin,
via constraints, insertion). Relaxation alternates a smoothing step, which
shortens the path like a string under tension, with a push out of every
obstacle along the distance-field gradient. The fixed point approximates the
shortest path that wraps over the surfaces, which is what wrapping surfaces do
in musculoskeletal models. Everything is vectorised over all fibres at once so
re-posing can warm-start from the previous solution in a couple of iterations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from viewer.types import FloatArray

Obstacle = Callable[[FloatArray], tuple[FloatArray, FloatArray]]  # points -> (distance, outward direction)


def pinned_indices(stations: Sequence[float], n_samples: int) -> np.ndarray:
    """Sample index of each pinned station (0 = origin, 1 = insertion)."""
    return np.round(np.asarray(stations) * (n_samples - 1)).astype(int)


def initial_fibres(nodes: Sequence[FloatArray], stations: Sequence[float], n_samples: int) -> FloatArray:
    """Piecewise-straight fibres through ``nodes`` (each (n_fibres, 3)) placed at ``stations``."""
    index = pinned_indices(stations, n_samples)
    samples = np.arange(n_samples)
    segment = np.clip(np.searchsorted(index, samples, side="right") - 1, 0, len(index) - 2)
    start, end = index[segment], index[segment + 1]
    weight = ((samples - start) / np.maximum(end - start, 1))[None, :, None]
    stacked = np.stack(nodes, axis=1)  # (n_fibres, n_nodes, 3)
    return stacked[:, segment] * (1 - weight) + stacked[:, segment + 1] * weight


def escape(
    fibres: FloatArray, free: np.ndarray, obstacle: Obstacle, clearance: FloatArray, direction: FloatArray | None
) -> FloatArray:
    """Move free points that start inside an obstacle out along ``direction`` (or the gradient)."""
    fibres = fibres.copy()
    distance, outward = obstacle(fibres)
    stuck = (distance < clearance) & free[None, :]
    step = 1.0
    for _ in range(150):
        if not stuck.any():
            break
        move = (
            np.broadcast_to(np.asarray(direction, float) / np.linalg.norm(direction), outward.shape)
            if direction is not None
            else outward
        )
        fibres[stuck] += step * move[stuck]
        distance, outward = obstacle(fibres)
        stuck &= distance < clearance
    return fibres


def relax(
    fibres: FloatArray,
    free: np.ndarray,
    obstacle: Obstacle,
    clearance: FloatArray,
    iterations: int = 60,
    stiffness: float = 0.5,
    membrane: float = 0.0,
) -> FloatArray:
    """Shorten the fibres over the obstacles: smoothing with pinned samples, then push out to ``clearance``.

    ``membrane`` > 0 also smooths across neighbouring fibres (interior ones), so a sheet
    behaves like a membrane instead of independent strings and cannot fold between fibres.
    """
    fibres = fibres.copy()
    clearance = np.broadcast_to(clearance, fibres.shape[:2])
    inner = free[1:-1]
    for _ in range(iterations):
        average = 0.5 * (fibres[:, :-2] + fibres[:, 2:])
        fibres[:, 1:-1][:, inner] += stiffness * (average - fibres[:, 1:-1])[:, inner]
        if membrane > 0 and len(fibres) > 2:
            across = 0.5 * (fibres[:-2] + fibres[2:]) - fibres[1:-1]
            fibres[1:-1] += membrane * across * free[None, :, None]
        fibres = push_out(fibres, free, obstacle, clearance)
    return fibres


def push_out(fibres: FloatArray, free: np.ndarray, obstacle: Obstacle, clearance: FloatArray) -> FloatArray:
    """One projection of the free points onto the allowed region (distance >= clearance)."""
    distance, outward = obstacle(fibres)
    depth = np.clip(clearance - distance, 0, None) * free[None, :]
    return fibres + depth[..., None] * outward


def rounded_at_pins(fibres: FloatArray, pins: Sequence[int], reach: int) -> FloatArray:
    """Fibres whose corners at via pins are rounded: each stays pinned but turns smoothly through it.

    A string pulled tight over a pin turns all at once there (piriformis 64 degrees within one sample at the
    edge of the greater sciatic notch). Over ``reach`` samples either side of each pin the fibre is replaced by
    two cubic Hermite pieces: from the sample ``reach`` before the pin, along the fibre's own direction there,
    to the pin, along the mean of the two runs' directions, and on in the same way. The pin keeps its place;
    the samples beside it move to the outside of the bend.

    Parameters
    ----------
    fibres : (n_u, n_s, 3) float array
        Fibre samples, mm.
    pins : sequence of int
        Sample index of each via pin, at least ``reach + 1`` samples from either end.
    reach : int
        Samples either side of a pin that are replaced.

    Returns
    -------
    (n_u, n_s, 3) float array
    """
    fibres = fibres.copy()
    t = np.linspace(0.0, 1.0, reach + 1)[None, :, None]
    h00, h10, h01, h11 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t, -2 * t**3 + 3 * t**2, t**3 - t**2
    for pin in pins:
        start, stop = pin - reach, pin + reach
        slope = {k: 0.5 * (fibres[:, k + 1] - fibres[:, k - 1]) for k in (start, stop)}
        slope[pin] = (fibres[:, stop] - fibres[:, start]) / (2 * reach)
        for a, b in ((start, pin), (pin, stop)):
            fibres[:, a : b + 1] = (
                h00 * fibres[:, a, None] + h10 * reach * slope[a][:, None] + h01 * fibres[:, b, None] + h11 * reach * slope[b][:, None]
            )
    return fibres
