"""The bones' obstacle grids the muscle posers and the impingement check sample.

Five signed-distance grids (the pelvis, each femur, each tibia with its patella), each in its
bones' own rest frame, packed as int16 rows (distance and gradient, :class:`PackedGrid`) and
cached on disk under a key from the bones' data and :data:`_GRID_VERSION`. They are built once
and only ever sampled.
"""

from __future__ import annotations

import numpy as np

from viewer.anatomy.bones import SIDES, Surface
from viewer.anatomy.kinematics import segment_bones
from viewer.anatomy.muscles.distance_field import inside_depth, inside_voxels
from viewer.cache import ArrayCache, content_key
from viewer.types import FloatArray

GRID_SPACING_MM = 2.0
GRID_MARGIN_MM = 24.0
FAR_MM = 60.0  # distances beyond this are stored clamped (posing clearances never exceed its cap + a few mm)
_GRID_VERSION = "pose-grids-2"  # bump when the grids change (spacing, margin, bone groups, packing)


class PackedGrid:
    """Signed distance and its gradient packed as int16 rows, sampled with one gather per point.

    The value at a point is the first-order expansion about the nearest grid node
    (value + gradient . offset): one row gather instead of the eight of trilinear
    interpolation, with an error of second order in the grid spacing.
    """

    def __init__(self, origin: FloatArray, spacing: float, table: FloatArray, shape: tuple[int, int, int]) -> None:
        self.origin = np.asarray(origin, float)
        self.spacing = float(spacing)
        self.table = table  # (nx * ny * nz, 4) int16: distance, gradient (fixed point, see ``pack``)
        _, ny, nz = shape
        self.strides = (ny * nz, nz)
        self.upper = np.array(shape) - 1

    UNITS = np.array([0.01, 1e-4, 1e-4, 1e-4])  # mm and gradient per int16 step

    @staticmethod
    def pack(values: FloatArray, spacing: float) -> np.ndarray:
        """Fixed-point rows; far from the bone (beyond FAR_MM) values are clamped, so the cache compresses well."""
        gradient = np.stack(np.gradient(values, spacing), axis=-1)
        far = np.abs(values) > FAR_MM
        gradient[far] = np.rint(gradient[far] * 10) / 10  # coarse far away, where only the sign of "far" matters
        rows = np.concatenate([np.clip(values, -FAR_MM, FAR_MM)[..., None], np.clip(gradient, -3, 3)], axis=-1)
        return np.rint(rows.reshape(-1, 4) / PackedGrid.UNITS).astype(np.int16)

    def sample(self, points: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(distance, gradient) at each point; beyond the grid, extrapolated from its boundary."""
        index = np.rint((points - self.origin) / self.spacing).astype(np.int64)
        np.clip(index, 0, self.upper, out=index)
        rows = self.table[index[:, 0] * self.strides[0] + index[:, 1] * self.strides[1] + index[:, 2]] * self.UNITS
        gradient = rows[:, 1:]
        offset = points - (self.origin + index * self.spacing)
        distance = rows[:, 0] + np.einsum("ij,ij->i", gradient, offset)
        return distance, gradient


def union_grid_values(meshes: list[Surface], spacing: float, margin: float) -> tuple[FloatArray, FloatArray]:
    """(origin, signed distance values) of the union of closed meshes on one lattice."""
    from scipy import ndimage

    lows = np.min([m.vertices.min(axis=0) for m in meshes], axis=0) - margin
    highs = np.max([m.vertices.max(axis=0) for m in meshes], axis=0) + margin
    shape = tuple(int(n) for n in np.ceil((highs - lows) / spacing) + 1)
    inside = np.zeros(shape, bool)
    for mesh in meshes:
        inside |= inside_voxels(np.asarray(mesh.vertices, float), np.asarray(mesh.faces), lows, spacing, shape)
    outside_distance = ndimage.distance_transform_edt(~inside) * spacing
    inside_distance = inside_depth(inside) * spacing
    values = np.where(inside, -(inside_distance - spacing / 2), outside_distance - spacing / 2)
    return lows, values.astype(np.float32)


GRID_BONES = {  # one distance grid per rigid part: the whole pelvis, and each thigh and shank
    "pelvis": tuple(dict.fromkeys(segment_bones("pelvis", "right") + segment_bones("pelvis", "left"))),
    **{f"femur_{side}": segment_bones("thigh", side) for side in SIDES},
    **{f"tibia_{side}": segment_bones("shank", side) for side in SIDES},
}


def _grid_key(bones: dict[str, Surface]) -> str:
    parts: list[object] = [_GRID_VERSION]
    for name in sorted({b for group in GRID_BONES.values() for b in group}):
        if name in bones:
            parts += [name, np.asarray(bones[name].vertices, np.float64), np.asarray(bones[name].faces, np.int64)]
    return content_key(*parts)


_GRID_CACHE = ArrayCache("pose-grids", compressed=True)


def _grid_consistency(arrays: dict[str, np.ndarray]) -> str | None:
    """Why cached grid arrays cannot be used (a table that does not fill its grid), or None."""
    for name in GRID_BONES:
        shape = arrays[f"{name}__shape"]
        if shape.shape != (3,) or arrays[f"{name}__table"].shape != (int(np.prod(shape)), 4):
            return f"{name} table does not match its grid"
    return None


_LOADED_GRIDS: dict[str, dict[str, PackedGrid]] = {}  # by cache file: the posers and the impingement check share them


def load_pose_grids(bones: dict[str, Surface]) -> dict[str, PackedGrid]:
    """The five obstacle grids (pelvis, each femur, each tibia with patella): loaded once per process,
    from the disk cache when possible (they are only ever sampled, never changed)."""
    key = _grid_key(bones)
    if key not in _LOADED_GRIDS:
        _LOADED_GRIDS[key] = _read_or_build_grids(bones, key)
    return _LOADED_GRIDS[key]


def _read_or_build_grids(bones: dict[str, Surface], key: str) -> dict[str, PackedGrid]:
    """The grids from the cache, or built from the bones (and cached) when missing or damaged."""
    required = [f"{name}__{part}" for name in GRID_BONES for part in ("origin", "shape", "table")]
    arrays = _GRID_CACHE.load(key, required, check=_grid_consistency)
    if arrays is None:
        arrays = {}
        for name, members in GRID_BONES.items():
            origin, values = union_grid_values(
                [bones[b] for b in members if b in bones], GRID_SPACING_MM, GRID_MARGIN_MM
            )
            arrays[f"{name}__origin"], arrays[f"{name}__shape"] = origin, np.array(values.shape)
            arrays[f"{name}__table"] = PackedGrid.pack(values.astype(float), GRID_SPACING_MM)
        _GRID_CACHE.save(key, arrays)
    return {
        name: PackedGrid(
            arrays[f"{name}__origin"], GRID_SPACING_MM, arrays[f"{name}__table"], tuple(arrays[f"{name}__shape"])
        )
        for name in GRID_BONES
    }
