"""How muscle looks: fascicle striations along the fibres and bellies that pale into tendon.

A muscle's surface carries its fibre coordinates (``Structure.fibre_uv``: across-fibre
millimetres, along-fibre fraction). They become texture coordinates in millimetres on a
small tileable greyscale image of fascicles (bundles 1.5-2.5 mm wide separated by darker
septa, wavering gently along their length), so the striations run exactly along the fibres
and keep their true size whatever the muscle's shape or pose. The image modulates whatever
colour the surface has (its atlas colour, or the stretch colour map), is mip-mapped so that
at small sizes it fades to an even tone instead of aliasing, and repeats across the muscle.

The belly's colour turns into the tendon colour near the attachments (the along-fibre
coordinate within the data file's ``origin_tendon``/``insertion_tendon`` shares), as per-vertex
colours. Everything here is numpy apart from :func:`striation_texture`.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyvista as pv

TILE_ACROSS_MM = 16.0  # the texture's width across the fibres: 8 fascicles of 1.5-2.5 mm
TILE_ALONG_MM = 48.0  # its length along them
TILE_PX = (256, 128)  # texels across, along (1/16 mm across: each septum several texels wide)
FASCICLES_PER_TILE = 8
FASCICLE_WIDTH_MM = (1.5, 2.5)
SEPTUM_DEPTH = 0.16  # how much darker the thin septa between fascicles are than a fascicle's crown
SEPTUM_WIDTH_MM = 0.2
ROUNDING_DEPTH = 0.08  # each fascicle's rounded flanks, darkening broadly towards its septa
ROUNDING_WIDTH_MM = 0.6
FASCICLE_TONE = 0.08  # fascicles differ in tone by up to this much
WAVER_MM = 0.18  # how far a septum wavers sideways along the tile
TENDON_BLEND = 0.06  # along-fibre share over which belly turns into tendon
MAX_ANISOTROPY = 1.0  # off: 8x anisotropic filtering cost 70% more per frame in software GL; mip-maps suffice
SEED = 15  # the one fixed pattern: the same picture every run


@cache
def fascicle_image(contrast: float = 1.0) -> np.ndarray:
    """A tileable greyscale picture of fascicles running along its rows' axis.

    Parameters
    ----------
    contrast
        0 (flat white: no striation) .. 1 (full depth of the septa and tone differences).

    Returns
    -------
    (along_px, across_px, 3) uint8
        Image rows run along the fibres (texture t), columns across them (texture u); brightest 255.
        Both directions wrap seamlessly.
    """
    across_px, along_px = TILE_PX
    rng = np.random.default_rng(SEED)
    widths = rng.uniform(*FASCICLE_WIDTH_MM, FASCICLES_PER_TILE)
    widths *= TILE_ACROSS_MM / widths.sum()  # exactly one tile, so the pattern wraps across
    septa = np.cumsum(widths) - widths[0] * rng.uniform(0.2, 0.8)  # (k,) mm, start off the tile's edge
    tones = 1.0 - FASCICLE_TONE * rng.uniform(0, 1, (FASCICLES_PER_TILE, 2))
    phases = rng.uniform(0, 2 * np.pi, (FASCICLES_PER_TILE, 2))
    x = (np.arange(across_px) + 0.5) * TILE_ACROSS_MM / across_px  # (across,) mm
    t = (np.arange(along_px) + 0.5) / along_px  # (along,) fraction of the tile's length
    waves = 2 * np.pi * np.array([1.0, 2.0])  # whole periods per tile: the pattern wraps along
    # septum positions along the tile: (along, k)
    waver = WAVER_MM * (
        np.sin(waves[0] * t[:, None] + phases[None, :, 0]) + 0.5 * np.sin(waves[1] * t[:, None] + phases[None, :, 1])
    )
    positions = septa[None, :] + waver
    gap = (x[None, :, None] - positions[:, None, :] + TILE_ACROSS_MM / 2) % TILE_ACROSS_MM - TILE_ACROSS_MM / 2
    nearest = np.abs(gap).min(axis=2)  # (along, across) mm to the nearest septum
    septum = np.exp(-((nearest / SEPTUM_WIDTH_MM) ** 2))
    rounding = np.exp(-((nearest / ROUNDING_WIDTH_MM) ** 2))
    fascicle = np.searchsorted(septa, x, side="right") % FASCICLES_PER_TILE  # which fascicle each column is in
    tone = tones[fascicle, 0][None, :] + (tones[fascicle, 1] - tones[fascicle, 0])[None, :] * (
        0.5 + 0.5 * np.sin(waves[0] * t[:, None] + phases[fascicle, 1][None, :])
    )
    shade = tone * (1.0 - SEPTUM_DEPTH * septum) * (1.0 - ROUNDING_DEPTH * rounding)
    shade = 1.0 - contrast * (1.0 - shade / shade.max())
    grey = np.round(255 * shade).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def striation_texture(contrast: float = 1.0) -> pv.Texture:
    """The fascicle image as a repeating, mip-mapped, interpolated texture (see :func:`fascicle_image`)."""
    texture = pv.Texture(fascicle_image(round(float(contrast), 3)))
    texture.repeat = True
    texture.interpolate = True
    texture.mipmap = True
    texture.SetMaximumAnisotropicFiltering(MAX_ANISOTROPY)
    return texture


def texture_coordinates(fibre_uv: np.ndarray, fibre_length_mm: float) -> np.ndarray:
    """Texture coordinates in tiles from fibre coordinates, so the pattern keeps its size in millimetres.

    Parameters
    ----------
    fibre_uv
        (n, 2) per vertex: across-fibre mm, along-fibre fraction 0..1.
    fibre_length_mm
        The muscle's mean fibre length at rest (turns the fraction into millimetres).

    Returns
    -------
    (n, 2) float32
        (across / :data:`TILE_ACROSS_MM`, along mm / :data:`TILE_ALONG_MM`).
    """
    uv = np.asarray(fibre_uv, dtype=float)
    return np.column_stack([uv[:, 0] / TILE_ACROSS_MM, uv[:, 1] * fibre_length_mm / TILE_ALONG_MM]).astype(np.float32)


def tendon_weight(s: np.ndarray, origin_tendon: float, insertion_tendon: float) -> np.ndarray:
    """How much of the tendon colour each point takes: 1 within the tendon shares, easing to 0 in the belly.

    Parameters
    ----------
    s
        (n,) along-fibre fraction, 0 at the origin, 1 at the insertion.

    Returns
    -------
    (n,) in 0..1.
    """

    def ease(x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0.0, 1.0)
        return x * x * (3 - 2 * x)

    s = np.asarray(s, dtype=float)
    at_origin = ease((origin_tendon + TENDON_BLEND - s) / TENDON_BLEND) if origin_tendon > 0 else np.zeros_like(s)
    at_insertion = (
        ease((s - (1.0 - insertion_tendon - TENDON_BLEND)) / TENDON_BLEND) if insertion_tendon > 0 else np.zeros_like(s)
    )
    return np.maximum(at_origin, at_insertion)


def belly_and_tendon_colours(
    belly: str, tendon: str, s: np.ndarray, origin_tendon: float, insertion_tendon: float
) -> np.ndarray:
    """Per-vertex colours: the belly's colour turning into the tendon's near the attachments.

    Parameters
    ----------
    belly, tendon
        Colours as ``#rrggbb``.
    s
        (n,) along-fibre fraction per vertex.

    Returns
    -------
    (n, 3) uint8 RGB.
    """
    weight = tendon_weight(s, origin_tendon, insertion_tendon)[:, None]
    rgb = (1 - weight) * np.array(pv.Color(belly).float_rgb) + weight * np.array(pv.Color(tendon).float_rgb)
    return np.round(255 * rgb).astype(np.uint8)
