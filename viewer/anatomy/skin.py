"""The skin of the hip region (a real body surface), its skinning weights, and the surface landmarks on it.

The skin is the MakeHuman body (CC0) fitted to the atlas by
``python -m viewer.tools.build_skin`` (see :mod:`viewer.anatomy.body_skin`) for
two body types, an average adult woman and man, committed as
``assets/meshes/skin_female.ply`` and ``skin_male.ply`` with their provenance in
the PLY header and per-vertex skinning weights (thigh and shank of each side).
The bones and muscles are the same for both; only the surface and its fat change.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from viewer.anatomy.body_skin import BODIES, DEFAULT_BODY, WEIGHT_COLUMNS
from viewer.anatomy.bones import Surface, load_bone_surfaces, load_landmarks, read_surface
from viewer.anatomy.geometry import first_hits
from viewer.io.ply import read_ply_table
from viewer.paths import meshes_dir
from viewer.types import FloatArray

BODY_LICENCE_FILE = "LICENSE-CC0-body.txt"


def skin_file(body: str) -> str:
    """File name of one body type's skin mesh."""
    return f"skin_{body}.ply"


# Surface landmarks: skin name -> (bony landmark, outward direction on the right side or None for the bone normal).
SKIN_LANDMARKS: dict[str, tuple[str, tuple[float, float, float] | None]] = {
    "psis": ("psis", (-1.0, 0.0, 0.0)),
    "iliac_crest": ("iliac_crest_summit", (-0.2, 0.5, 0.85)),
    "greater_trochanter": ("greater_trochanter", (0.0, 0.0, 1.0)),
    "ischial_tuberosity": ("ischial_tuberosity", (-0.45, -0.9, 0.0)),
}
MIDLINE_SKIN_LANDMARKS: dict[str, tuple[str, tuple[float, float, float]]] = {
    "sacrum": ("sacral_midline_s3", (-1.0, 0.0, 0.0)),
    "coccyx": ("coccyx_tip", (-0.8, -0.6, 0.0)),
}


class SkinError(RuntimeError):
    """The skin asset is missing or unusable; the message names the file and how to rebuild it."""


# --- inputs ---------------------------------------------------------------------------------
def region_landmarks(bones: dict[str, Surface], landmarks: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """Bony landmarks plus the midline sacral and coccygeal points the skin needs (pelvis frame, mm)."""
    from viewer.anatomy.muscles.derived_landmarks import derive_landmarks

    derived = derive_landmarks(bones, landmarks)
    points = dict(landmarks)
    for name in ("iliac_crest_posterior", "coccyx_tip", "sacral_midline_s3"):
        points[f"{name}_right"] = derived[f"{name}_right"]
        points[f"{name}_left"] = derived[f"{name}_left"]
    # the derived midline points come as a mirrored pair; the midline point is their mean
    for name in ("coccyx_tip", "sacral_midline_s3"):
        points[name] = (derived[f"{name}_right"] + derived[f"{name}_left"]) / 2
    # upper sacral crest (S1): the most posterior sacrum vertex near the midline at PSIS height
    sacrum = bones["sacrum"].vertices
    psis_y = (landmarks["psis_right"][1] + landmarks["psis_left"][1]) / 2
    near = sacrum[(np.abs(sacrum[:, 2]) < 8) & (np.abs(sacrum[:, 1] - (psis_y - 12)) < 8)]
    points["sacral_midline_s1"] = near[near[:, 0].argmin()] * np.array([1.0, 1.0, 0.0])
    return points


# --- the shaft axis the fit pins the thigh to ------------------------------------------------
def femoral_shaft_axis(bones: dict[str, Surface], sign: float) -> tuple[FloatArray, FloatArray]:
    """A straight line (X and Z as linear functions of Y) through the femoral shaft's cross-section centres."""
    femur = bones["femur_right" if sign > 0 else "femur_left"].vertices
    top, bottom = femur[:, 1].max(), femur[:, 1].min()
    length = top - bottom
    shaft = femur[(femur[:, 1] < top - 0.3 * length) & (femur[:, 1] > top - 0.75 * length)]
    return np.polyfit(shaft[:, 1], shaft[:, 0], 1), np.polyfit(shaft[:, 1], shaft[:, 2], 1)


# --- the shipped asset ------------------------------------------------------------------------
def skin_path(body: str = DEFAULT_BODY) -> Path:
    """Where one body type's committed skin mesh lives."""
    return meshes_dir() / skin_file(body)


@dataclass(frozen=True)
class SkinAsset:
    """One body type's skin surface and its per-vertex skinning weights."""

    surface: Surface
    weights: dict[str, FloatArray]  # "thigh_right", "thigh_left", "shank_right", "shank_left" -> (n,) 0..1


@cache
def load_skin_asset(body: str = DEFAULT_BODY) -> SkinAsset:
    """The committed skin of one body type and its skinning weights (cached)."""
    if body not in BODIES:
        raise SkinError(f"unknown body type {body!r}; choose one of: {', '.join(BODIES)}")
    path = skin_path(body)
    if not path.is_file():
        raise SkinError(f"{path}: skin mesh not found (regenerate with: python -m viewer.tools.build_skin)")
    try:
        surface = read_surface(path)
        table, _ = read_ply_table(path)
        weights = {name: np.asarray(table[f"weight_{name}"], dtype=float) for name in WEIGHT_COLUMNS}
    except (RuntimeError, ValueError) as error:
        raise SkinError(f"{path}: {error} (regenerate with: python -m viewer.tools.build_skin)") from error
    return SkinAsset(surface, weights)


def load_skin(body: str = DEFAULT_BODY) -> Surface:
    """The committed skin surface of one body type (cached)."""
    return load_skin_asset(body).surface


# --- queries -------------------------------------------------------------------------------------
def project_to_skin(point: FloatArray, direction: FloatArray, skin: Surface) -> FloatArray:
    """Where the ray from a bony point along ``direction`` leaves the skin (nearest skin vertex if it misses)."""
    hits = first_hits(skin.vertices, skin.faces, point[None], np.asarray(direction, dtype=float)[None])
    if np.isfinite(hits[0]):
        unit = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
        return point + hits[0] * unit
    return skin.vertices[np.linalg.norm(skin.vertices - point, axis=1).argmin()]


@dataclass(frozen=True)
class SkinLandmark:
    """A palpable point on the skin and the bony landmark under it (pelvis frame, mm)."""

    name: str  # e.g. skin_psis_right
    bony_landmark: str
    bone_point: FloatArray
    skin_point: FloatArray

    @property
    def depth_mm(self) -> float:
        """Tissue between skin and bone along the palpation direction."""
        return float(np.linalg.norm(self.skin_point - self.bone_point))


def skin_landmarks(skin: Surface | None = None, body: str = DEFAULT_BODY) -> dict[str, SkinLandmark]:
    """Surface landmarks on the skin: PSIS, iliac crest, greater trochanter, ischial tuberosity (both sides), sacrum and coccyx.

    Each is the bony landmark carried outward along its palpation direction (a
    fixed outward direction per landmark, mirrored for the left side) to where
    that ray leaves the skin.
    """
    skin = load_skin(body) if skin is None else skin
    bones = load_bone_surfaces()
    points = region_landmarks(bones, load_landmarks())
    result = {}
    for short, (landmark, direction) in SKIN_LANDMARKS.items():
        for side, sign in (("right", 1.0), ("left", -1.0)):
            bone_point = points[f"{landmark}_{side}"]
            outward = np.array(direction) * np.array([1.0, 1.0, sign])
            name = f"skin_{short}_{side}"
            result[name] = SkinLandmark(
                name, f"{landmark}_{side}", bone_point, project_to_skin(bone_point, outward, skin)
            )
    for short, (landmark, direction) in MIDLINE_SKIN_LANDMARKS.items():
        bone_point = points[landmark]
        name = f"skin_{short}"
        result[name] = SkinLandmark(name, landmark, bone_point, project_to_skin(bone_point, np.array(direction), skin))
    return result


def inside(points: FloatArray, surface: Surface, spacing: float = 1.5) -> np.ndarray:
    """Which points lie inside a closed, outward-facing surface: (n,) bool.

    The surface's winding number on a voxel grid at ``spacing`` mm (signed ray crossings, see
    :func:`~viewer.anatomy.muscles.distance_field.winding_voxels`), covered once or more or not at all,
    interpolated trilinearly at each point (inside where it exceeds one half), so only points within about a
    voxel of the surface can be misjudged. Where the posed skin folds through itself (the thigh into the flank
    in deep flexion) what lies under the double layer counts as inside, as it is: ray parity called it outside.
    """
    from scipy import ndimage

    from viewer.anatomy.muscles.distance_field import winding_at

    margin = 4 * spacing
    origin = surface.vertices.min(axis=0) - margin
    shape = tuple(int(n) for n in np.ceil((surface.vertices.max(axis=0) + margin - origin) / spacing) + 1)
    index = ((np.asarray(points, dtype=float).reshape(-1, 3) - origin) / spacing).T
    # the interpolation reads the eight voxels round each point, and only those are counted (winding_at): put
    # into a block of the grid round the points (moved by whole voxels: the same fractions), zero elsewhere
    corners = np.floor(index.T).astype(np.int64)[:, None, :] + np.array(list(np.ndindex(2, 2, 2)))[None]
    corners = corners.reshape(-1, 3)
    corners = corners[np.all((corners >= 0) & (corners < shape), axis=1)]  # (a voxel shared is counted twice)
    if not len(corners):  # every point a voxel or more beyond the grid: outside
        return np.zeros(index.shape[1], dtype=bool)
    low = corners.min(axis=0)
    covered = np.zeros(tuple(corners.max(axis=0) - low + 1), dtype=np.float32)
    winding = winding_at(surface.vertices, surface.faces, origin, spacing, shape, corners)
    covered[tuple((corners - low).T)] = winding > 0
    share = ndimage.map_coordinates(covered, index - low[:, None], order=1, mode="constant", cval=0.0)
    return share > 0.5


__all__ = [
    "BODY_LICENCE_FILE",
    "MIDLINE_SKIN_LANDMARKS",
    "SKIN_LANDMARKS",
    "SkinAsset",
    "SkinError",
    "SkinLandmark",
    "femoral_shaft_axis",
    "inside",
    "load_skin",
    "load_skin_asset",
    "project_to_skin",
    "region_landmarks",
    "skin_file",
    "skin_landmarks",
    "skin_path",
]
