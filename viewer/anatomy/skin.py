"""A translucent skin surface over the hip region, and the surface landmarks on it.

The skin is a level set of the body's soft-tissue field, built once in
anatomical position by ``python -m viewer.tools.build_skin`` into
``assets/meshes/skin.ply`` (provenance in the PLY header comments):

1. voxelise every bone and muscle of the region on a regular grid;
2. fill the body between them in each transverse slice: front to back (the
   pelvic cavity, the thigh), and side to side within each half below the
   lumbar level (so the natal cleft and the gap between the thighs stay open)
   but across the midline above it (the erector spinae, not modelled); below
   the lesser trochanter add an elliptical thigh section round the femoral
   shaft for the quadriceps, hamstrings and adductors the atlas lacks;
3. dilate by a subcutaneous thickness: 18 mm of fat over the buttock and thigh,
   thinning to 7 mm over the palpable bony points (PSIS, sacral crest, iliac
   crest, ASIS, greater trochanter), where students feel bone under the skin;
4. clip to the region (iliac crest to mid-thigh) so the surface is capped,
   contour, smooth (Taubin, volume-preserving) and decimate.

Thicknesses: adult gluteal subcutaneous fat measures about 10-30 mm by
ultrasound and CT (thicker in women); the atlas is a mean adult, so 18 mm.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np
from scipy import ndimage

from viewer.anatomy.bones import Surface, load_bone_surfaces, load_landmarks, read_surface
from viewer.anatomy.lagrange import FloatArray, IntArray
from viewer.anatomy.metrics import is_watertight, signed_volume
from viewer.paths import meshes_dir

SKIN_FILE = "skin.ply"
REGION_BONES = ("hip_bone_right", "hip_bone_left", "sacrum", "femur_right", "femur_left")


@dataclass(frozen=True)
class SkinParameters:
    """Everything the skin build depends on besides the bones and muscles (recorded in the PLY)."""

    spacing_mm: float = 3.0
    soft_thickness_mm: float = 18.0  # subcutaneous fat over muscle (buttock, thigh)
    bony_thickness_mm: float = 7.0  # over palpable bony points
    bony_radius_mm: float = 28.0  # how far the thinning reaches around each bony point
    top_above_crest_mm: float = 10.0  # cap this far above the iliac crest summits
    thigh_fraction: float = 0.5  # bottom cap: this far from the greater trochanter to the knee (mid-thigh)
    thigh_semi_axes_mm: tuple[float, float] = (62.0, 56.0)  # (anteroposterior, mediolateral) of the thigh muscles
    thigh_offset_mm: tuple[float, float] = (-6.0, 14.0)  # ellipse centre from the femoral shaft: X, and medially
    lumbar_above_s1_mm: float = 25.0  # above this the back is filled across the midline (erector spinae)
    smoothing_iterations: int = 40
    target_triangles: int = 40000


# Palpable bony points where the skin lies close to bone.
BONY_POINTS = (
    "psis_right",
    "psis_left",
    "asis_right",
    "asis_left",
    "iliac_crest_summit_right",
    "iliac_crest_summit_left",
    "iliac_crest_posterior_right",
    "iliac_crest_posterior_left",
    "sacral_midline_s3",
    "sacral_midline_s1",
    "greater_trochanter_right",
    "greater_trochanter_left",
)

# Surface landmarks: skin name -> (bony landmark, outward direction on the right side or None for the bone normal).
SKIN_LANDMARKS: dict[str, tuple[str, tuple[float, float, float] | None]] = {
    "psis": ("psis", (-1.0, 0.0, 0.15)),
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


def region_limits(landmarks: dict[str, FloatArray], params: SkinParameters) -> tuple[float, float]:
    """(bottom, top) of the skin region along Y: mid-thigh to just above the iliac crest."""
    crest = max(landmarks["iliac_crest_summit_right"][1], landmarks["iliac_crest_summit_left"][1])
    trochanter = (landmarks["greater_trochanter_right"][1] + landmarks["greater_trochanter_left"][1]) / 2
    knee = (landmarks["lateral_epicondyle_right"][1] + landmarks["lateral_epicondyle_left"][1]) / 2
    return float(trochanter + params.thigh_fraction * (knee - trochanter)), float(crest + params.top_above_crest_mm)


# --- the field --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SkinField:
    """Signed field on a grid: negative inside the skin (mm), zero on it."""

    origin: FloatArray
    spacing: float
    values: FloatArray


def _span(mask: np.ndarray, axis: int) -> np.ndarray:
    """Fill every row of a 2D mask along ``axis`` from its first true pixel to its last."""
    forward = np.logical_or.accumulate(mask, axis=axis)
    backward = np.flip(np.logical_or.accumulate(np.flip(mask, axis=axis), axis=axis), axis=axis)
    return forward & backward


def skin_field(
    bones: dict[str, Surface],
    muscles: dict[str, Surface],
    landmarks: dict[str, FloatArray],
    params: SkinParameters = SkinParameters(),
) -> SkinField:
    """The soft-tissue field whose zero level is the skin (see the module docstring for the steps)."""
    from viewer.anatomy.muscles.distance_field import inside_voxels

    spacing = params.spacing_mm
    bottom, top = region_limits(landmarks, params)
    solids = [bones[name] for name in REGION_BONES] + list(muscles.values())
    low = np.min([s.vertices.min(axis=0) for s in solids], axis=0)
    high = np.max([s.vertices.max(axis=0) for s in solids], axis=0)
    margin = params.soft_thickness_mm + params.thigh_semi_axes_mm[0] + 3 * spacing
    low = np.array([low[0] - margin, bottom - 3 * spacing, low[2] - margin])
    high = np.array([high[0] + margin, top + 3 * spacing, high[2] + margin])
    # symmetric about the midsagittal plane so both sides voxelise alike
    half_width = max(-low[2], high[2])
    low[2], high[2] = -half_width, half_width
    shape = tuple(int(n) for n in np.ceil((high - low) / spacing) + 1)
    low[2] = -(shape[2] - 1) * spacing / 2
    occupied = np.zeros(shape, dtype=bool)
    for solid in solids:
        occupied |= inside_voxels(solid.vertices, solid.faces, low, spacing, shape)

    for solid in solids:  # thin sheets (the iliotibial band) may fall between voxel centres
        index = np.round((solid.vertices - low) / spacing).astype(int)
        occupied[index[:, 0], index[:, 1], index[:, 2]] = True

    xs = low[0] + spacing * np.arange(shape[0])
    ys = low[1] + spacing * np.arange(shape[1])
    zs = low[2] + spacing * np.arange(shape[2])
    x2, z2 = np.meshgrid(xs, zs, indexing="ij")
    lumbar_y = landmarks["sacral_midline_s1"][1] + params.lumbar_above_s1_mm
    thigh_top = (landmarks["lesser_trochanter_right"][1] + landmarks["lesser_trochanter_left"][1]) / 2
    axes = {sign: femoral_shaft_axis(bones, sign) for sign in (1.0, -1.0)}
    filled = occupied.copy()
    for j, y in enumerate(ys):
        section = occupied[:, j, :].copy()
        if y < thigh_top:
            for sign in (1.0, -1.0):
                section |= _thigh_section(axes[sign], y, x2, z2, params)
        section |= _span(section, axis=0)  # front to back: the pelvic cavity and the thigh
        if y >= lumbar_y:
            section |= _span(section, axis=1)  # the lumbar back between the iliac crests
        else:
            for sign in (1.0, -1.0):  # each side on its own: the natal cleft stays open
                half = sign * z2 >= -spacing / 2
                section |= _span(section & half, axis=1)
        filled[:, j, :] = section
    filled = ndimage.binary_closing(filled, structure=ndimage.generate_binary_structure(3, 1), iterations=2)
    filled = ndimage.binary_fill_holes(filled)

    outside = ndimage.distance_transform_edt(~filled) * spacing
    inside = ndimage.distance_transform_edt(filled) * spacing
    distance = np.where(filled, -(inside - spacing / 2), outside - spacing / 2)
    grid_points = np.stack(np.meshgrid(xs, ys, zs, indexing="ij"), axis=-1)
    values = distance - _thickness(grid_points, landmarks, params)
    limit = np.maximum(ys - top, bottom - ys)  # caps: outside above the top and below the bottom
    values = np.maximum(values, limit[None, :, None])
    return SkinField(origin=low, spacing=spacing, values=values)


def femoral_shaft_axis(bones: dict[str, Surface], sign: float) -> tuple[FloatArray, FloatArray]:
    """A straight line (X and Z as linear functions of Y) through the femoral shaft's cross-section centres."""
    femur = bones["femur_right" if sign > 0 else "femur_left"].vertices
    top, bottom = femur[:, 1].max(), femur[:, 1].min()
    length = top - bottom
    shaft = femur[(femur[:, 1] < top - 0.3 * length) & (femur[:, 1] > top - 0.75 * length)]
    return np.polyfit(shaft[:, 1], shaft[:, 0], 1), np.polyfit(shaft[:, 1], shaft[:, 2], 1)


def _thigh_section(
    axis: tuple[FloatArray, FloatArray], y: float, x2: FloatArray, z2: FloatArray, params: SkinParameters
) -> np.ndarray:
    """An elliptical cross-section of the thigh muscles round the femoral shaft at height ``y``."""
    centre_x = np.polyval(axis[0], y) + params.thigh_offset_mm[0]
    shaft_z = np.polyval(axis[1], y)
    centre_z = shaft_z - np.sign(shaft_z) * params.thigh_offset_mm[1]
    a, b = params.thigh_semi_axes_mm
    return ((x2 - centre_x) / a) ** 2 + ((z2 - centre_z) / b) ** 2 <= 1.0


def _thickness(points: FloatArray, landmarks: dict[str, FloatArray], params: SkinParameters) -> FloatArray:
    """Subcutaneous thickness at each grid point: soft value, thinning over palpable bony points."""
    shape = points.shape[:-1]
    flat = points.reshape(-1, 3)
    weight = np.zeros(len(flat))
    for name in BONY_POINTS:
        squared = ((flat - landmarks[name]) ** 2).sum(axis=1)
        weight = np.maximum(weight, np.exp(-squared / params.bony_radius_mm**2))
    thickness = params.soft_thickness_mm - (params.soft_thickness_mm - params.bony_thickness_mm) * weight
    return thickness.reshape(shape)


# --- the surface ------------------------------------------------------------------------------
def contour(field: SkinField, params: SkinParameters = SkinParameters()) -> Surface:
    """Zero level of the field, smoothed and decimated, outward wound, as a closed surface."""
    import pyvista as pv

    grid = pv.ImageData(dimensions=field.values.shape, spacing=(field.spacing,) * 3, origin=field.origin)
    grid.point_data["f"] = field.values.ravel(order="F")
    surface = grid.contour([0.0], scalars="f", method="flying_edges")
    surface = surface.extract_largest().clean().triangulate()
    surface = surface.smooth_taubin(n_iter=params.smoothing_iterations, pass_band=0.05)
    surface = surface.triangulate().clean().triangulate()
    if surface.n_cells > params.target_triangles:
        reduction = 1.0 - params.target_triangles / surface.n_cells
        decimated = surface.decimate(reduction).clean().triangulate()
        if not is_watertight(_faces(decimated)):  # quadric decimation can pinch thin places; this one cannot
            decimated = surface.decimate_pro(reduction, preserve_topology=True).clean().triangulate()
        surface = decimated
    vertices = np.asarray(surface.points, dtype=np.float64)
    faces = _faces(surface)
    if not is_watertight(faces):
        raise SkinError("the contoured skin is not closed; change the build parameters")
    if signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1].copy()
    return Surface(vertices, faces)


def _faces(surface) -> IntArray:
    return np.asarray(surface.faces).reshape(-1, 4)[:, 1:].astype(np.int64)


def build_skin(
    bones: dict[str, Surface] | None = None,
    muscles: dict[str, Surface] | None = None,
    landmarks: dict[str, FloatArray] | None = None,
    params: SkinParameters = SkinParameters(),
) -> Surface:
    """Build the skin from the shipped bones and the built muscles (a few seconds)."""
    bones = load_bone_surfaces() if bones is None else bones
    if muscles is None:
        from viewer.anatomy.muscles import build_muscles

        muscles = {name: m.surface() for name, m in build_muscles().items()}
    landmarks = region_landmarks(bones, load_landmarks() if landmarks is None else landmarks)
    return contour(skin_field(bones, muscles, landmarks, params), params)


def parameters_record(params: SkinParameters = SkinParameters()) -> dict:
    return asdict(params)


# --- the shipped asset ------------------------------------------------------------------------
def skin_path() -> Path:
    return meshes_dir() / SKIN_FILE


@cache
def load_skin() -> Surface:
    """The committed skin surface (cached)."""
    path = skin_path()
    if not path.is_file():
        raise SkinError(f"{path}: skin mesh not found (regenerate with: python -m viewer.tools.build_skin)")
    try:
        return read_surface(path)
    except RuntimeError as error:
        raise SkinError(str(error)) from error


# --- queries -------------------------------------------------------------------------------------
def ray_hits(origins: FloatArray, directions: FloatArray, vertices: FloatArray, faces: IntArray) -> FloatArray:
    """Distance along each ray (origin + t * unit direction, t > 0) to its first triangle hit; inf if none."""
    origins = np.atleast_2d(np.asarray(origins, dtype=float))
    directions = np.atleast_2d(np.asarray(directions, dtype=float))
    directions = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    a = vertices[faces[:, 0]]
    edge1 = vertices[faces[:, 1]] - a
    edge2 = vertices[faces[:, 2]] - a
    result = np.full(len(origins), np.inf)
    for k, (origin, direction) in enumerate(zip(origins, directions, strict=True)):
        p = np.cross(direction, edge2)
        det = np.einsum("ij,ij->i", edge1, p)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = origin - a
        u = np.einsum("ij,ij->i", s, p) * inv
        q = np.cross(s, edge1)
        v = (q @ direction) * inv
        t = np.einsum("ij,ij->i", edge2, q) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9)
        if hit.any():
            result[k] = t[hit].min()
    return result


def bone_normal(bone: Surface, point: FloatArray, radius: float = 12.0) -> FloatArray:
    """Mean outward normal of a bone's triangles within ``radius`` of a point."""
    tri = bone.vertices[bone.faces]
    centres = tri.mean(axis=1)
    near = np.linalg.norm(centres - point, axis=1) < radius
    if not near.any():
        near = np.linalg.norm(centres - point, axis=1) <= np.linalg.norm(centres - point, axis=1).min()
    normals = np.cross(tri[near, 1] - tri[near, 0], tri[near, 2] - tri[near, 0]).sum(axis=0)
    return normals / np.linalg.norm(normals)


def project_to_skin(point: FloatArray, direction: FloatArray, skin: Surface) -> FloatArray:
    """Where the ray from a bony point along ``direction`` leaves the skin (nearest skin vertex if it misses)."""
    hits = ray_hits(point[None], np.asarray(direction, dtype=float)[None], skin.vertices, skin.faces)
    if np.isfinite(hits[0]):
        unit = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
        return point + hits[0] * unit
    return skin.vertices[np.linalg.norm(skin.vertices - point, axis=1).argmin()]


@dataclass(frozen=True)
class SkinLandmark:
    name: str  # e.g. skin_psis_right
    bony_landmark: str
    bone_point: FloatArray
    skin_point: FloatArray

    @property
    def depth_mm(self) -> float:
        """Tissue between skin and bone along the palpation direction."""
        return float(np.linalg.norm(self.skin_point - self.bone_point))


def skin_landmarks(skin: Surface | None = None) -> dict[str, SkinLandmark]:
    """Surface landmarks on the skin: PSIS, iliac crest, greater trochanter, ischial tuberosity (both sides), sacrum and coccyx.

    Each is the bony landmark carried outward along its palpation direction (a
    fixed outward direction per landmark, mirrored for the left side) to where
    that ray leaves the skin.
    """
    skin = load_skin() if skin is None else skin
    bones = load_bone_surfaces()
    points = region_landmarks(bones, load_landmarks())
    result = {}
    for short, (landmark, direction) in SKIN_LANDMARKS.items():
        for side, sign in (("right", 1.0), ("left", -1.0)):
            bone_point = points[f"{landmark}_{side}"]
            outward = np.array(direction) * np.array([1.0, 1.0, sign])
            name = f"skin_{short}_{side}"
            result[name] = SkinLandmark(name, f"{landmark}_{side}", bone_point, project_to_skin(bone_point, outward, skin))
    for short, (landmark, direction) in MIDLINE_SKIN_LANDMARKS.items():
        bone_point = points[landmark]
        name = f"skin_{short}"
        result[name] = SkinLandmark(name, landmark, bone_point, project_to_skin(bone_point, np.array(direction), skin))
    return result


def inside(points: FloatArray, surface: Surface, spacing: float = 1.5) -> np.ndarray:
    """Which points lie inside a closed surface (voxel parity at ``spacing`` mm, then trilinear sign)."""
    from viewer.anatomy.muscles.distance_field import distance_grid

    grid = distance_grid(surface.vertices, surface.faces, spacing=spacing, margin=4 * spacing)
    return grid.distance(np.asarray(points, dtype=float)) < 0


__all__ = [
    "MIDLINE_SKIN_LANDMARKS",
    "SKIN_LANDMARKS",
    "SkinError",
    "SkinField",
    "SkinLandmark",
    "SkinParameters",
    "build_skin",
    "contour",
    "inside",
    "load_skin",
    "project_to_skin",
    "ray_hits",
    "region_landmarks",
    "region_limits",
    "skin_field",
    "skin_landmarks",
    "skin_path",
]
