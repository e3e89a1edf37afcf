"""Fit the MakeHuman body surface to the atlas: the skin from the waist to below the knees.

Steps (all deterministic, so a rebuild reproduces the committed mesh):

1. read the base mesh's ``body`` group and apply the macro targets of an
   average young adult woman or man (:func:`viewer.anatomy.makehuman.macro_targets`);
2. convert to our frame (millimetres; X anterior, Y superior, Z right) and bring
   the legs from MakeHuman's A-pose to anatomical position: each leg turns about
   its hip helper by the rig's own leg weights until the knee lies under the hip;
3. scale so hip-to-knee matches the atlas, then warp with a thin-plate spline
   from MakeHuman surface points to the atlas: the skin over each palpable bony
   landmark goes to that landmark plus an adult soft-tissue depth along its
   palpation direction (PSIS, iliac crest, ASIS, greater trochanter, sacrum,
   coccyx, pubis, femoral epicondyles), and the thigh's cross-section centres go
   to the femoral shaft;
4. keep the region (30 mm or more above the iliac crests to below the knees),
   subdivide once (Loop), push the surface out wherever a muscle or bone of the
   atlas comes nearer than a minimum cover, clip flat at both ends and close the
   cut with a rounded rim and a flat cap.

Soft-tissue depths (mm, women / men) follow adult ultrasound and CT ranges: PSIS
and ASIS 1-3 cm, greater trochanter 2-5 cm, sacrum 1-4 cm, thicker in women.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from viewer.anatomy.bones import SIDES, Surface
from viewer.anatomy.makehuman import (
    MakeHumanData,
    apply_targets,
    bone_weights,
    macro_targets,
    read_base_mesh,
)
from viewer.types import FloatArray, IntArray

BODIES = ("female", "male")
DEFAULT_BODY = "female"
# skinning weight columns stored with the mesh: pelvis is one minus their sum
WEIGHT_COLUMNS = ("thigh_right", "thigh_left", "shank_right", "shank_left")
_RIG_BONES = {  # MakeHuman default-rig bones whose weights make each of our segments (.R is the figure's right)
    "thigh_right": ("upperleg01.R", "upperleg02.R"),
    "thigh_left": ("upperleg01.L", "upperleg02.L"),
    "shank_right": ("lowerleg01.R", "lowerleg02.R", "foot.R"),
    "shank_left": ("lowerleg01.L", "lowerleg02.L", "foot.L"),
}

_ARM_BONES = tuple(
    f"{bone}.{side}"
    for side in ("L", "R")
    for bone in (
        "clavicle", "shoulder01", "upperarm01", "upperarm02", "lowerarm01", "lowerarm02", "wrist",
        *(f"metacarpal{i}" for i in range(1, 5)),
        *(f"finger{i}-{j}" for i in range(1, 6) for j in range(1, 4)),
    )
)  # fmt: skip

# landmark -> (soft-tissue key, palpation direction on the right side). The posterior iliac crest is not
# pinned: its palpation line runs through the upper gluteus maximus, and the skin drawn in there stood as a
# ridge beside the PSIS once lifted off the muscle.
_BILATERAL_TARGETS = {
    "psis": ("psis", (-1.0, 0.0, 0.0)),
    "iliac_crest_summit": ("iliac_crest", (-0.2, 0.15, 1.0)),
    "asis": ("asis", (1.0, 0.0, 0.35)),
    "greater_trochanter": ("greater_trochanter", (0.0, 0.0, 1.0)),
    "lateral_epicondyle": ("epicondyle", (0.0, 0.0, 1.0)),
    "medial_epicondyle": ("epicondyle", (0.0, 0.0, -1.0)),
}
_MIDLINE_TARGETS = {
    "sacral_midline_s1": ("sacrum", (-1.0, 0.0, 0.0)),
    "sacral_midline_s3": ("sacrum", (-1.0, 0.0, 0.0)),
    "coccyx_tip": ("coccyx", (-0.8, -0.6, 0.0)),
    "pubic_symphysis": ("pubis", (1.0, -0.3, 0.0)),
}


@dataclass(frozen=True)
class BodyParameters:
    """Everything the fit depends on besides the MakeHuman data and the atlas (recorded in the PLY)."""

    body: str = DEFAULT_BODY
    depths_mm: dict[str, float] = field(default_factory=dict)  # soft tissue over each bony landmark
    thigh_levels_mm: tuple[float, ...] = (-220.0, -300.0, -380.0)  # thigh cross-sections pinned to the femur
    femur_medial_offset_mm: float = 10.0  # the shaft lies this far lateral of the thigh's centre
    knee_anterior_mm: float = (
        12.0  # the knee's cross-section centre lies this far in front of the epicondyles' midpoint
    )
    top_above_crest_mm: float = 40.0  # waist cut above the higher iliac crest summit
    # lower cut below the knee (mean epicondyle level): a hand's breadth, so the calf's upper bulk shows (at 70 mm the
    # flexed shank was a stub whose cut end met the parted crease behind the knee in a fin)
    below_knee_mm: float = 110.0
    rim_radius_mm: float = 10.0  # rounding of the cut edge into its cap
    min_cover_mm: float = 6.0  # least skin and fat over any muscle or bone
    smoothing_passes: int = 30  # how broadly a lift over a muscle spreads (umbrella passes per round)
    warp_smoothing: float = 1.0
    medius_levels_mm: tuple[float, ...] = (-20.0, 15.0)  # the hip's side pinned over gluteus medius at these heights
    # the shank's cross-section centre pinned this far below the knee (20 mm below the cut when the cut lay 70 mm
    # below it; kept there when the cut went lower, which with the pin moved along reshaped the male's thigh 2 mm and
    # raised the lump over tensor fasciae latae at 90/45/45 from 8.8 to 14.9 mm)
    shank_pin_mm: float = 90.0
    calf_behind_tibia_mm: float = 20.0  # the shank's cross-section centre lies this far behind the tibia's
    # gluteus maximus sampled at these heights, up to its upper border beside the PSIS (without the upper
    # samples the skin lay inside the muscle there and lifting it raised two ridges beside the PSIS)
    buttock_levels_mm: tuple[float, ...] = (-130.0, -90.0, -50.0, -15.0, 15.0, 40.0)
    buttock_columns_mm: tuple[float, ...] = (45.0, 85.0, 125.0)  # ... and these distances from the midline
    # the skin is smoothed (umbrella passes, fading with distance) around these landmarks of both sides, mm:
    # beside the PSIS the buttock's upper edge otherwise stood as a ridge, and the lateral knee was lumpy
    smoothed_around: tuple[tuple[str, float], ...] = (("psis", 45.0), ("lateral_epicondyle", 35.0))
    # ... and around midline points (landmark, offset from it mm, radius mm), without the extra cover: where the
    # natal cleft's crease ran out above the perineum it ended in a pinched notch, dark between the thighs, and in
    # front of it the perineum hung a small drop (6-8 mm, edges bent up to 78 degrees) at the top of the gap
    smoothed_midline: tuple[tuple[str, tuple[float, float, float], float], ...] = (
        ("coccyx_tip", (20.0, -45.0, 0.0), 18.0),
        ("coccyx_tip", (72.0, -66.0, 0.0), 20.0),
    )
    region_smoothing_passes: int = 60
    # the last lift, after the skin was drawn in over the bony points, in rounds of so many smoothing passes each: in
    # one unsmoothed round (and with the rounds before ending unsmoothed) it copied the edges of what it lifted off,
    # a row of ridges up to 5.8 mm high over the side of gluteus maximus behind the male's greater trochanter
    settle_lift_rounds: int = 20
    settle_lift_passes: int = 8
    smoothed_extra_cover_mm: float = 12.0  # ... where the skin is first lifted this much further off the muscles
    band_top_mm: float = -140.0  # the iliotibial band pins the lateral thigh from this height down to the knee ...
    band_spacing_mm: float = 40.0  # ... every so many mm (sparse samples left it wrinkled and lumpy at the knee)
    # drawn in to their depth: (soft-tissue key, width of the dimple mm). Over the PSIS the skin is tethered to the
    # bone in a narrow dimple: gluteus maximus, arising beside and below the spine, lies 15-19 mm under the skin
    # around it, and with the broad 20 mm falloff of the sacrum and ASIS the lift over it filled the hollow (the
    # dimple stood 1-2 mm out of its form)
    settled: tuple[tuple[str, float], ...] = (("psis", 14.0), ("sacrum", 20.0), ("asis", 20.0))
    # the leg's skin passes from thigh to shank between these heights above and below the knee's axis (the rig's own
    # weights spread it over the whole 7 cm left below the knee, so the flexed calf lagged behind the shank and the
    # skin behind the knee collapsed into a thin lip)
    knee_blend_mm: tuple[float, float] = (30.0, 40.0)
    # the natal cleft's walls stay with the pelvis: within the first distance (mm) of the midsagittal plane no leg moves
    # them, fading back to the rig's weights over the second; skin a leg carries more than the weights' range
    # (0.2-0.5) is a thigh's and keeps its weights, and only the skin behind the coccyx's tip (fading in over the
    # last pair, mm behind it) is the cleft's. Its walls lie under a millimetre apart, and the flexed leg's 0.06
    # carried its wall through the other (40 crossing triangle pairs at flexion 90 abduction 45, female). In front,
    # at the perineum, the stiller skin sheared against the rotating thigh (73 pairs at internal rotation 40).
    midline_still_mm: tuple[float, float] = (4.0, 15.0)
    midline_leg_weights: tuple[float, float] = (0.2, 0.5)
    cleft_behind_coccyx_mm: tuple[float, float] = (-15.0, 5.0)

    def depth(self, key: str) -> float:
        """Soft-tissue depth (mm) over the landmark group ``key`` for this body."""
        return self.depths_mm[key]


# Over the PSIS the skin is tethered to the bone with thin fat (the dimples of Venus): 17 / 14 mm, drawn in over a
# narrow dimple (see BodyParameters.settled) so the skin over gluteus maximus around it stays lifted.
SOFT_TISSUE_MM = {
    "female": {"psis": 17.0, "iliac_crest": 22.0, "asis": 18.0,
               "greater_trochanter": 36.0, "sacrum": 16.0, "buttock": 24.0, "hip_side": 22.0, "thigh_side": 16.0, "coccyx": 12.0, "pubis": 30.0, "epicondyle": 13.0},
    "male": {"psis": 14.0, "iliac_crest": 16.0, "asis": 14.0,
             "greater_trochanter": 28.0, "sacrum": 12.0, "buttock": 15.0, "hip_side": 15.0, "thigh_side": 10.0, "coccyx": 10.0, "pubis": 22.0, "epicondyle": 10.0},
}  # fmt: skip


def body_parameters(body: str = DEFAULT_BODY) -> BodyParameters:
    """The soft-tissue depths of ``body`` (``female`` or ``male``); a ValueError names the choices."""
    if body not in BODIES:
        raise ValueError(f"body must be one of {', '.join(BODIES)}, not {body!r}")
    return BodyParameters(body=body, depths_mm=dict(SOFT_TISSUE_MM[body]))


def parameters_record(params: BodyParameters) -> dict:
    """``params`` as a plain dict, for the build's provenance record."""
    return asdict(params)


@dataclass(frozen=True)
class BodySkin:
    """The fitted skin, its per-vertex skinning weights and the provenance of its source."""

    surface: Surface
    weights: FloatArray  # (n, 4) in WEIGHT_COLUMNS order
    provenance: list[str]


# --- MakeHuman to our frame -------------------------------------------------------------------
def to_atlas_axes(points: FloatArray) -> FloatArray:
    """MakeHuman decimetres (Y up, facing +Z, right at -X) to millimetres (X anterior, Y up, Z right)."""
    points = np.atleast_2d(points)
    return np.column_stack([points[:, 2], points[:, 1], -points[:, 0]]) * 100.0


def _rotation_x(angle: float) -> FloatArray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _triangles(quads: IntArray) -> IntArray:
    triangles = np.vstack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    return triangles[(triangles[:, 0] != triangles[:, 1]) & (triangles[:, 1] != triangles[:, 2])]


def _ray_point(point: FloatArray, direction: FloatArray, vertices: FloatArray, faces: IntArray) -> FloatArray:
    """The surface point nearest ``point`` on the line through it along ``direction`` (either way)."""
    from viewer.anatomy.geometry import first_hits

    unit = direction / np.linalg.norm(direction)
    hits = first_hits(vertices, faces, np.array([point, point]), np.array([unit, -unit]))
    if not np.isfinite(hits).any():
        raise RuntimeError(f"no MakeHuman surface along {np.round(unit, 2)} from {np.round(point)}")
    along = hits[0] if hits[0] <= hits[1] else -hits[1]
    return point + along * unit


def section_centre(vertices: FloatArray, faces: IntArray, level: float) -> FloatArray:
    """Centre of the cross-section of a surface by the plane Y = level (its segments' midpoints, length-weighted)."""
    heights = vertices[faces][:, :, 1] - level
    crossing = (heights.min(axis=1) < 0) & (heights.max(axis=1) >= 0)
    midpoints, lengths = [], []
    for triangle, h in zip(vertices[faces[crossing]], heights[crossing], strict=True):
        ends = [
            triangle[i] + (triangle[j] - triangle[i]) * (h[i] / (h[i] - h[j]))
            for i, j in ((0, 1), (1, 2), (2, 0))
            if (h[i] < 0) != (h[j] < 0)
        ]
        midpoints.append((ends[0] + ends[1]) / 2)
        lengths.append(np.linalg.norm(ends[1] - ends[0]))
    if not lengths:
        raise RuntimeError(f"the MakeHuman leg has no cross-section at Y = {level:.0f} mm")
    return np.average(np.array(midpoints), axis=0, weights=np.array(lengths) + 1e-9)


def _lateral_pairs(
    solid: FloatArray, levels, band_mm: float, sign: float, depth: float, vertices: FloatArray, faces: IntArray
) -> list[tuple[FloatArray, FloatArray]]:
    """(source, target) pairs at each level: the MakeHuman skin beside a solid's outermost point (within
    ``band_mm`` of the level) -> that point plus ``depth`` straight out to the side (``sign`` +1 right, -1 left)."""
    lateral = np.array([0.0, 0.0, sign])
    pairs = []
    for level in levels:
        near = solid[np.abs(solid[:, 1] - level) < band_mm]
        if len(near):
            outermost = near[(near[:, 2] * sign).argmax()]
            pairs.append((_ray_point(outermost, lateral, vertices, faces), outermost + depth * lateral))
    return pairs


def correspondences(
    vertices: FloatArray,
    faces: IntArray,
    bones: dict[str, Surface],
    landmarks: dict[str, FloatArray],
    params: BodyParameters,
    muscles: dict[str, Surface] | None = None,
    weights: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """(source, target) point pairs for the warp: MakeHuman skin over each landmark -> atlas landmark + depth."""
    from viewer.anatomy.skin import femoral_shaft_axis

    sources, targets = [], []
    for landmark, (key, direction) in _BILATERAL_TARGETS.items():
        for side, sign in (("right", 1.0), ("left", -1.0)):
            outward = np.array(direction) * np.array([1.0, 1.0, sign])
            outward /= np.linalg.norm(outward)
            bone_point = landmarks[f"{landmark}_{side}"]
            sources.append(_ray_point(bone_point, outward, vertices, faces))
            targets.append(bone_point + params.depth(key) * outward)
    for landmark, (key, direction) in _MIDLINE_TARGETS.items():
        outward = np.array(direction) / np.linalg.norm(direction)
        bone_point = landmarks[landmark] * np.array([1.0, 1.0, 0.0])
        sources.append(_ray_point(bone_point, outward, vertices, faces))
        targets.append(bone_point + params.depth(key) * outward)
    for sign in (1.0, -1.0):
        axis_x, axis_z = femoral_shaft_axis(bones, sign)
        column = 0 if sign > 0 else 1
        on_side = vertices[:, 2] * sign > 15.0
        if weights is not None:  # this leg's skin, not the hands hanging beside it
            on_side &= weights[:, column] + weights[:, column + 2] > 0.5
        leg_faces = faces[on_side[faces].all(axis=1)]
        for level in params.thigh_levels_mm:
            shaft = np.array([np.polyval(axis_x, level), level, np.polyval(axis_z, level)])
            sources.append(section_centre(vertices, leg_faces, level))
            targets.append(shaft - np.array([0.0, 0.0, sign * params.femur_medial_offset_mm]))
        side = "right" if sign > 0 else "left"
        knee = (landmarks[f"lateral_epicondyle_{side}"] + landmarks[f"medial_epicondyle_{side}"]) / 2
        if muscles:  # the lateral thigh lies over the iliotibial band, from below the trochanter to the knee
            levels = np.arange(params.band_top_mm, knee[1] + params.band_spacing_mm / 2, -params.band_spacing_mm)
            band = muscles[f"iliotibial_band_{side}"].vertices
            for source, target in _lateral_pairs(band, levels, 10.0, sign, params.depth("thigh_side"), vertices, faces):
                sources.append(source)
                targets.append(target)
        sources.append(section_centre(vertices, leg_faces, knee[1]))
        targets.append(knee + np.array([params.knee_anterior_mm, 0.0, 0.0]))
        shank_level = knee[1] - params.shank_pin_mm  # keeps the shank straight under the knee
        tibia = bones[f"tibia_fibula_{side}"].vertices
        tibia = tibia[np.abs(tibia[:, 1] - shank_level) < 10.0]
        sources.append(section_centre(vertices, leg_faces, shank_level))
        targets.append(np.array([tibia[:, 0].mean() - params.calf_behind_tibia_mm, shank_level, tibia[:, 2].mean()]))
        if muscles:  # the side of the hip over gluteus medius
            medius = muscles[f"gluteus_medius_{side}"].vertices
            levels = params.medius_levels_mm
            for source, target in _lateral_pairs(medius, levels, 8.0, sign, params.depth("hip_side"), vertices, faces):
                sources.append(source)
                targets.append(target)
        femur = bones[f"femur_{side}"].vertices
        condyles = femur[np.abs(femur[:, 1] - knee[1] - 10.0) < 15.0]
        back = condyles[condyles[:, 0].argmin()]  # the back of the femoral condyles, under the popliteal fossa
        sources.append(_ray_point(back, np.array([-1.0, 0.0, 0.0]), vertices, faces))
        targets.append(back + np.array([-2.5 * params.min_cover_mm, 0.0, 0.0]))
        if muscles:  # the buttock: subcutaneous fat over the back of gluteus maximus
            maximus = muscles[f"gluteus_maximus_{side}"].vertices
            for height in params.buttock_levels_mm:
                for across in params.buttock_columns_mm:
                    near = maximus[
                        (np.abs(maximus[:, 1] - height) < 8.0) & (np.abs(maximus[:, 2] - sign * across) < 8.0)
                    ]
                    if len(near):
                        back = near[near[:, 0].argmin()]
                        sources.append(_ray_point(back, np.array([-1.0, 0.0, 0.0]), vertices, faces))
                        targets.append(back - np.array([params.depth("buttock"), 0.0, 0.0]))
    return np.array(sources), np.array(targets)


def posed_makehuman(
    data: MakeHumanData, params: BodyParameters
) -> tuple[FloatArray, IntArray, FloatArray, list[str], dict]:
    """The targeted body in our axes, legs in anatomical position: vertices, body triangles, weights, notes, joint helpers."""
    base = read_base_mesh(data)
    targets = macro_targets(params.body)
    vertices = to_atlas_axes(apply_targets(data, base.vertices, targets))
    weights = np.column_stack([bone_weights(data, _RIG_BONES[name], len(vertices)) for name in WEIGHT_COLUMNS])
    notes = ["macro targets " + ", ".join(f"{name.split('/')[-1]} x{weight:.3f}" for name, weight in targets.items())]
    for column, (side, helper) in enumerate((("right", "r"), ("left", "l"))):
        hip = vertices[np.unique(base.groups[f"joint-{helper}-upper-leg"])].mean(axis=0)
        knee = vertices[np.unique(base.groups[f"joint-{helper}-knee"])].mean(axis=0)
        leg = knee - hip
        angle = float(np.arctan2(leg[2], -leg[1]))  # the A-pose's abduction in the frontal plane
        moved = (vertices - hip) @ _rotation_x(angle).T + hip
        leg_weight = np.clip(weights[:, column] + weights[:, column + 2], 0.0, 1.0)
        vertices = vertices + leg_weight[:, None] * (moved - vertices)
        notes.append(
            f"{side} leg adducted {np.degrees(angle):.2f} deg about its hip helper by the default rig's weights"
        )
    helpers = {
        f"{joint}_{side}": vertices[np.unique(base.groups[f"joint-{h}-{group}"])].mean(axis=0)
        for side, h in (("right", "r"), ("left", "l"))
        for joint, group in (("hip", "upper-leg"), ("knee", "knee"))
    }
    arms = bone_weights(data, _ARM_BONES, len(vertices)) > 0.5
    triangles = _triangles(base.groups["body"])
    triangles = triangles[~arms[triangles].any(axis=1)]  # the hands hang beside the thighs in the A-pose
    return vertices, triangles, weights, notes, helpers


# --- fitting ----------------------------------------------------------------------------------
def region_limits(landmarks: dict[str, FloatArray], params: BodyParameters) -> tuple[float, float]:
    """(bottom, top) cut levels along Y: below the knees and above the iliac crests."""
    crest = max(landmarks["iliac_crest_summit_right"][1], landmarks["iliac_crest_summit_left"][1])
    knee = np.mean([landmarks[f"{n}_epicondyle_{s}"][1] for n in ("lateral", "medial") for s in ("right", "left")])
    return float(knee - params.below_knee_mm), float(crest + params.top_above_crest_mm)


def warp(
    vertices: FloatArray,
    faces: IntArray,
    helpers: dict[str, FloatArray],
    bones: dict[str, Surface],
    landmarks: dict[str, FloatArray],
    params: BodyParameters,
    muscles: dict[str, Surface] | None = None,
    weights: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Scale hip-to-knee to the atlas, shift by the correspondences' median offset, then the thin-plate warp.

    Returns the warped vertices and the target points.
    """
    from scipy.interpolate import RBFInterpolator

    hip = (landmarks["femoral_head_centre_right"] + landmarks["femoral_head_centre_left"]) / 2
    knee = np.mean([landmarks[f"{n}_epicondyle_{s}"] for n in ("lateral", "medial") for s in ("right", "left")], axis=0)
    mh_hip = (helpers["hip_right"] + helpers["hip_left"]) / 2
    mh_knee = (helpers["knee_right"] + helpers["knee_left"]) / 2
    scale = (hip[1] - knee[1]) / (mh_hip[1] - mh_knee[1])
    vertices = (vertices - mh_hip) * scale + hip
    # the joint helpers place the body only roughly: shift it by the correspondences' median offset first
    sources, targets = correspondences(vertices, faces, bones, landmarks, params, muscles, weights)
    vertices = vertices + np.median(targets - sources, axis=0)
    sources, targets = correspondences(vertices, faces, bones, landmarks, params, muscles, weights)
    spline = RBFInterpolator(sources, targets - sources, kernel="thin_plate_spline", smoothing=params.warp_smoothing)
    return vertices + spline(vertices), targets


def _faces_of(mesh) -> IntArray:
    return np.asarray(mesh.faces).reshape(-1, 4)[:, 1:].astype(np.int64)


def union_distance(
    solids: list[Surface],
    spacing: float = 2.5,
    margin: float = 40.0,
    bounds: tuple[FloatArray, FloatArray] | None = None,
    exact_mm: float | None = None,
):
    """Signed distance grid (mm) to the union of closed solids (thin sheets marked by their vertices too).

    The grid spans the solids plus ``margin``, or only the box ``bounds`` ((3,) low and high corners) when given.
    With ``exact_mm``, distances outside the solids are exact up to about that much (whole voxels, rounded up)
    and beyond it only known to be greater, which is cheaper to compute (see
    :func:`~viewer.anatomy.muscles.distance_field.near_distance`); inside they are always exact.
    """
    from scipy import ndimage

    from viewer.anatomy.muscles.distance_field import DistanceGrid, inside_depth, inside_voxels, near_distance

    low = np.min([s.vertices.min(axis=0) for s in solids], axis=0) - margin
    high = np.max([s.vertices.max(axis=0) for s in solids], axis=0) + margin
    if bounds is not None:
        low, high = np.maximum(low, bounds[0]), np.minimum(high, bounds[1])
    shape = tuple(int(n) for n in np.ceil((high - low) / spacing) + 1)
    occupied = np.zeros(shape, dtype=bool)
    for solid in solids:
        occupied |= inside_voxels(solid.vertices, solid.faces, low, spacing, shape)
        index = np.round((solid.vertices - low) / spacing).astype(int)
        index = index[np.all((index >= 0) & (index < shape), axis=1)]
        occupied[index[:, 0], index[:, 1], index[:, 2]] = True
    if exact_mm is None:
        outside = ndimage.distance_transform_edt(~occupied) * spacing
    else:
        outside = near_distance(occupied, int(np.ceil(exact_mm / spacing))) * spacing
    inside = inside_depth(occupied) * spacing
    values = np.where(occupied, -(inside - spacing / 2), outside - spacing / 2)
    return DistanceGrid(origin=low, spacing=spacing, values=values, gradient=np.stack(np.gradient(values, spacing)))


def _edges(faces: IntArray) -> IntArray:
    edges = np.unique(np.sort(np.vstack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1), axis=0)
    return edges


def edge_table(faces: IntArray) -> tuple[IntArray, IntArray]:
    """A mesh's edges once, for the edges of many of its regions (:func:`region_edges`).

    Returns (the edges (e, 2) as :func:`_edges` gives them, the edge of each face's three sides (f, 3)).
    """
    sides = np.sort(np.stack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]], axis=1), axis=2)
    edges, side_edge = np.unique(sides.reshape(-1, 2), axis=0, return_inverse=True)
    return edges, side_edge.reshape(-1, 3)


def region_edges(table: tuple[IntArray, IntArray], kept: np.ndarray, local: IntArray) -> IntArray:
    """The edges of a mesh's ``kept`` faces ((f,) bool) in a region's numbering: ``_edges(local[faces[kept]])``.

    ``table`` is the mesh's :func:`edge_table`; ``local`` (n,) gives each vertex's index in the region, rising
    with the mesh's own (so the edges keep their order), -1 outside it.
    """
    edges, side_edge = table
    used = np.zeros(len(edges), dtype=bool)
    used[side_edge[kept]] = True
    return local[edges[used]]


def umbrella_operator(edges: IntArray, n: int):
    """(n, n) sparse matrix of one umbrella smoothing pass: each vertex takes the mean of itself and its neighbours.

    ``edges`` (e, 2) of a mesh of ``n`` vertices. Built once per mesh and applied as often as needed (building it
    cost more than applying it).
    """
    from scipy import sparse

    ends = np.concatenate([edges, edges[:, ::-1]])
    umbrella = sparse.coo_matrix((np.ones(len(ends)), (ends[:, 0], ends[:, 1])), shape=(n, n)).tocsr()
    umbrella += sparse.identity(n, format="csr")
    return sparse.diags(1.0 / np.asarray(umbrella.sum(axis=1)).ravel()) @ umbrella


def _smooth(values: FloatArray, edges: IntArray, passes: int, operator=None) -> FloatArray:
    """Umbrella smoothing of per-vertex values (each takes the mean of itself and its neighbours).

    ``values`` (n, k), ``edges`` (e, 2); one sparse product a pass (the skin's correctives smooth every pose).
    ``operator``: the mesh's :func:`umbrella_operator`, when the caller already has it.
    """
    umbrella = umbrella_operator(edges, len(values)) if operator is None else operator
    for _ in range(passes):
        values = umbrella @ values
    return values


def push_out(
    vertices: FloatArray,
    faces: IntArray,
    distance,
    cover: float | FloatArray,
    iterations: int = 40,
    passes: int = 4,
    outward: FloatArray | None = None,
    edges: IntArray | None = None,
    smooth_last: bool = False,
) -> FloatArray:
    """Lift the skin off the muscles and bones to at least ``cover`` mm (one value or (n,) per vertex), smoothly.

    Each round moves every vertex that is too near a solid out along the
    distance field's gradient by what it lacks, then smooths the accumulated
    displacement over the mesh, so a muscle under the skin raises a broad rounded
    area rather than a tent; a last unsmoothed round settles what is left (with ``smooth_last`` that round is
    smoothed too: the cover may then fall short by a little, but the lift never copies the shape of the edge of
    what it lifts off, which on the male buttock's side left a row of ridges over gluteus maximus).
    With ``outward`` ((n, 3): unit outward normals, or zero rows where the gradient is
    to be trusted) a vertex inside a solid whose gradient turns against its normal (a skin
    sunk past the middle of a muscle, nearer its deep face) is moved along ``outward``
    instead, never on through the muscle. ``edges``: the mesh's :func:`_edges`, when the caller has them.
    """
    operator = None  # the smoothing pass, built on the first round that smooths
    offset = np.zeros_like(vertices)
    for round_index in range(iterations + 1):
        points = vertices + offset
        need = np.clip(cover - distance.distance(points), 0.0, None)
        if need.max() < 0.2:
            break
        lacking = np.flatnonzero(need > 0.0)  # only these move: the gradient is looked up there alone
        way = np.zeros_like(points)
        way[lacking] = distance.direction(points[lacking])
        if outward is not None:
            turned = (np.einsum("ij,ij->i", way, outward) < 0.0) & (need > cover)  # inward, from inside a solid
            way = np.where(turned[:, None], outward, way)
        offset += need[:, None] * way
        if round_index < iterations or (smooth_last and iterations):
            if operator is None:
                operator = umbrella_operator(_edges(faces) if edges is None else edges, len(vertices))
            offset = _smooth(offset, None, passes, operator)
    return vertices + offset


def near_weight(vertices: FloatArray, centres: list[tuple[FloatArray, float]]) -> FloatArray:
    """(n,) in 0..1: the strongest Gaussian weight of any (point, radius mm) centre at each vertex."""
    weight = np.zeros(len(vertices))
    for point, radius in centres:
        weight = np.maximum(weight, np.exp(-((vertices - point) ** 2).sum(axis=1) / (2 * radius**2)))
    return weight


def smooth_around(
    vertices: FloatArray, faces: IntArray, centres: list[tuple[FloatArray, float]], passes: int
) -> FloatArray:
    """Smooth the surface near some points: umbrella passes whose strength fades with distance (Gaussian).

    ``centres`` holds (point, radius mm) pairs; a vertex moves by its strongest weight each pass, so ridges
    and lumps there melt into the surrounding form (the caller lifts the skin off the muscles again).
    """
    weight = near_weight(vertices, centres)
    operator = umbrella_operator(_edges(faces), len(vertices))
    for _ in range(passes):
        mean = _smooth(vertices, None, 1, operator)
        vertices = vertices + weight[:, None] * (mean - vertices)
    return vertices


def depth_targets(
    landmarks: dict[str, FloatArray], params: BodyParameters, keys: tuple[tuple[str, float], ...]
) -> list[tuple]:
    """(bony point, outward unit direction, soft-tissue depth, dimple width) for the landmarks of the given
    (soft-tissue key, dimple width mm) pairs."""
    widths = dict(keys)
    result = []
    for landmark, (key, direction) in _BILATERAL_TARGETS.items():
        for side, sign in (("right", 1.0), ("left", -1.0)):
            if key in widths:
                outward = np.array(direction) * np.array([1.0, 1.0, sign])
                outward /= np.linalg.norm(outward)
                result.append((landmarks[f"{landmark}_{side}"], outward, params.depth(key), widths[key]))
    for landmark, (key, direction) in _MIDLINE_TARGETS.items():
        if key in widths:
            outward = np.array(direction) / np.linalg.norm(direction)
            result.append((landmarks[landmark] * np.array([1.0, 1.0, 0.0]), outward, params.depth(key), widths[key]))
    return result


def settle_over_bone(vertices: FloatArray, faces: IntArray, targets: list[tuple], passes: int = 3) -> FloatArray:
    """Sink the skin over each palpable bony point to its soft-tissue depth (a smooth dimple, Gaussian falloff).

    Where lifting the skin over the muscles around a bony point (the PSIS between
    the gluteus maximus origins, the sacral crest) left it deeper (or shallower)
    than the adult depth, the skin within a few centimetres is moved along the
    palpation direction to that depth. ``targets`` holds (bony point (3,), outward unit
    direction (3,), depth mm, dimple width mm: the Gaussian falloff's sigma) tuples.
    """
    from viewer.anatomy.geometry import first_hits

    vertices = vertices.copy()
    for _ in range(passes):  # neighbouring dimples overlap: a few passes settle them together
        for point, direction, depth, falloff_mm in targets:
            found = first_hits(vertices, faces, point[None], direction[None])[0]
            if not np.isfinite(found):
                continue
            exit_point = point + found * direction
            distance2 = ((vertices - exit_point) ** 2).sum(axis=1)
            vertices -= ((found - depth) * np.exp(-distance2 / (2 * falloff_mm**2)))[:, None] * direction
    return vertices


def _boundary_loops(faces: IntArray) -> list[IntArray]:
    """Ordered vertex loops of the open edges of a triangle mesh."""
    edges = np.vstack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    keys, counts = np.unique(np.sort(edges, axis=1), axis=0, return_counts=True)
    open_edges = {tuple(e) for e in keys[counts == 1]}
    directed = {a: b for a, b in edges if (min(a, b), max(a, b)) in open_edges}
    loops = []
    while directed:
        start, _ = directed.popitem()
        directed[start] = _  # put it back; walk from it
        loop = [start]
        while True:
            following = directed.pop(loop[-1])
            if following == start:
                break
            loop.append(following)
        loops.append(np.array(loop))
    return loops


def _inside_polygon(points: FloatArray, polygon: FloatArray) -> np.ndarray:
    """(k,) bool: which 2D ``points`` (k, 2) lie inside the closed ``polygon`` (m, 2) (even-odd rule)."""
    a, b = polygon, np.roll(polygon, -1, axis=0)
    x, y = points[:, None, 0], points[:, None, 1]
    spans = (a[None, :, 1] > y) != (b[None, :, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = a[None, :, 0] + (y - a[None, :, 1]) * (b[None, :, 0] - a[None, :, 0]) / (b[None, :, 1] - a[None, :, 1])
    return (spans & (x < at)).sum(axis=1) % 2 == 1


def _disc(ring: FloatArray, spacing: float) -> tuple[FloatArray, IntArray]:
    """Fill a closed planar loop (m, 3) lying in a plane Y = constant with even triangles.

    Returns the interior points (k, 3) (on a triangular lattice of ``spacing`` mm, none nearer the loop than 0.6 of
    it) and the triangles (t, 3) over the loop's points followed by them (Delaunay, kept where their centre lies inside
    the loop), unoriented. A fan from one centre made long slivers whose shading showed as radial lines.
    """
    from scipy.spatial import Delaunay, cKDTree

    flat = ring[:, [0, 2]]
    low, high = flat.min(axis=0), flat.max(axis=0)
    rows = np.arange(low[1], high[1] + spacing, spacing * np.sqrt(3.0) / 2)
    lattice = np.array(
        [
            (x + (i % 2) * spacing / 2, z)
            for i, z in enumerate(rows)
            for x in np.arange(low[0], high[0] + spacing, spacing)
        ]
    )
    lattice = lattice[_inside_polygon(lattice, flat)]
    lattice = lattice[cKDTree(flat).query(lattice)[0] > 0.6 * spacing] if len(lattice) else lattice
    points = np.vstack([flat, lattice])
    triangles = Delaunay(points).simplices
    triangles = triangles[_inside_polygon(points[triangles].mean(axis=1), flat)]
    interior = np.column_stack([lattice[:, 0], np.full(len(lattice), ring[:, 1].mean()), lattice[:, 1]])
    return interior, triangles


def cap(
    vertices: FloatArray, faces: IntArray, weights: FloatArray, radius: float, steps: int = 3, spacing: float = 8.0
):
    """Close each planar cut loop with a rounded rim (a quarter circle of ``radius``) and a flat cap of even triangles
    (about ``spacing`` mm, see :func:`_disc`); the cap's points take the loop's mean weights."""
    vertices, faces, weights = list(vertices), [faces], list(weights)
    array = np.asarray(vertices)
    for loop in _boundary_loops(faces[0]):
        ring = array[loop]
        centre = ring.mean(axis=0)
        outward = np.array([0.0, 1.0 if centre[1] > array[:, 1].mean() else -1.0, 0.0])
        inward = centre - ring
        inward /= np.linalg.norm(inward, axis=1, keepdims=True)
        previous = loop
        points = ring
        for step in range(1, steps + 1):
            angle = 0.5 * np.pi * step / steps
            points = ring + radius * np.sin(angle) * outward + radius * (1 - np.cos(angle)) * inward
            current = np.arange(len(vertices), len(vertices) + len(loop))
            vertices.extend(points)
            weights.extend(np.asarray(weights)[loop])
            following = np.roll(np.arange(len(loop)), -1)
            # the loop runs along the open edges' direction, so new faces wind the other way round
            faces.append(np.column_stack([previous[following], previous, current]))
            faces.append(np.column_stack([previous[following], current, current[following]]))
            previous = current
        interior, triangles = _disc(points, spacing)
        index = np.concatenate([previous, np.arange(len(vertices), len(vertices) + len(interior))])
        vertices.extend(interior)
        weights.extend(np.repeat(np.asarray(weights)[loop].mean(axis=0)[None], len(interior), axis=0))
        corners = np.asarray(vertices)[index[triangles]]
        normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        triangles = np.where((normal @ outward > 0)[:, None], triangles, triangles[:, ::-1])
        # wound as the rim: its last band runs along the loop (point i to i + 1), so the cap runs back (i + 1 to i)
        directed = {
            tuple(edge) for edge in np.vstack([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
        }
        if (1, 0) not in directed:
            triangles = triangles[:, ::-1]
        faces.append(index[triangles])
    return np.asarray(vertices), np.vstack(faces), np.asarray(weights)


def fit_body(
    data: MakeHumanData,
    params: BodyParameters,
    bones: dict[str, Surface],
    muscles: dict[str, Surface],
    landmarks: dict[str, FloatArray],
) -> BodySkin:
    """The fitted, closed skin of one body type with its skinning weights (see the module docstring)."""
    from viewer.anatomy.geometry import is_watertight, signed_volume

    vertices, faces, weights, notes, helpers = posed_makehuman(data, params)
    vertices, _ = warp(vertices, faces, helpers, bones, landmarks, params, muscles, weights)
    bottom, top = region_limits(landmarks, params)
    mesh = _region(
        vertices, faces, weights, bottom - 40.0, top + 40.0, landmarks["sacral_midline_s3"] * [1.0, 1.0, 0.0]
    )
    solids = list(muscles.values()) + [
        bones[n] for n in ("hip_bone_right", "hip_bone_left", "sacrum", "femur_right", "femur_left")
    ]
    distance = union_distance(solids)
    centres = [(landmarks[f"{name}_{side}"], radius) for name, radius in params.smoothed_around for side in SIDES]
    for passes in (params.smoothing_passes, 1):  # broad lifts on the once-subdivided mesh, then what Loop smoothed off
        mesh = mesh.subdivide(1, "loop")
        points = np.asarray(mesh.points, dtype=float)
        # near the smoothed places the lift keeps extra room, so smoothing there never sinks the skin into a muscle
        cover = params.min_cover_mm + params.smoothed_extra_cover_mm * near_weight(points, centres)
        mesh.points = push_out(points, _faces_of(mesh), distance, cover, passes=passes, smooth_last=True)
    mesh.points = smooth_around(
        np.asarray(mesh.points, dtype=float),
        _faces_of(mesh),
        centres + [(landmarks[name] + offset, radius) for name, offset, radius in params.smoothed_midline],
        params.region_smoothing_passes,
    )
    settled = settle_over_bone(
        np.asarray(mesh.points, dtype=float),
        _faces_of(mesh),
        depth_targets(landmarks, params, params.settled),
    )
    mesh.points = push_out(  # lifts the skin back off the muscles where sinking it over the bones drew it in
        settled, _faces_of(mesh), distance, params.min_cover_mm, params.settle_lift_rounds, params.settle_lift_passes,
        smooth_last=True,
    )
    mesh = mesh.clip(normal=(0, 1, 0), origin=(0, top - params.rim_radius_mm, 0), invert=True)
    mesh = mesh.clip(normal=(0, -1, 0), origin=(0, bottom + params.rim_radius_mm, 0), invert=True)
    mesh = mesh.extract_surface(algorithm="dataset_surface").triangulate().clean()
    columns = np.asarray(mesh.point_data["weights"], dtype=float)
    skin_vertices, skin_faces, columns = cap(
        np.asarray(mesh.points, dtype=float), _faces_of(mesh), columns, params.rim_radius_mm
    )
    columns = knee_weights(skin_vertices, columns, landmarks, params.knee_blend_mm)
    columns = cleft_weights(skin_vertices, columns, landmarks["coccyx_tip"], params)
    if not is_watertight(skin_faces):
        raise RuntimeError(f"the {params.body} skin is not closed after capping")
    if signed_volume(skin_vertices, skin_faces) < 0:
        skin_faces = skin_faces[:, ::-1].copy()
    return BodySkin(Surface(skin_vertices, skin_faces), np.clip(columns, 0.0, 1.0), notes)


def knee_weights(
    vertices: FloatArray, columns: FloatArray, landmarks: dict[str, FloatArray], blend_mm: tuple[float, float]
) -> FloatArray:
    """Share each leg's weight (thigh plus shank) between them by height about the knee's axis.

    Above ``blend_mm[0]`` over the axis (the epicondyles' midpoint) the leg's skin is all thigh, below ``blend_mm[1]``
    under it all shank, with a smoothstep between, so the calf flexes with the shank as one piece and the skin bends
    over the knee only.

    Parameters
    ----------
    vertices : (n, 3) array
    columns : (n, 4) array
        Skinning weights in :data:`WEIGHT_COLUMNS` order.
    landmarks : dict
        The atlas landmarks (epicondyles).
    blend_mm : (above, below)

    Returns
    -------
    (n, 4) array
    """
    from viewer.anatomy.kinematics import joint_centres

    columns = np.array(columns, dtype=float)
    above, below = blend_mm
    for side in SIDES:
        thigh, shank = WEIGHT_COLUMNS.index(f"thigh_{side}"), WEIGHT_COLUMNS.index(f"shank_{side}")
        knee = joint_centres(landmarks, side)[1]
        leg = columns[:, thigh] + columns[:, shank]
        x = np.clip((knee[1] + above - vertices[:, 1]) / (above + below), 0.0, 1.0)
        share = x * x * (3.0 - 2.0 * x)
        columns[:, thigh], columns[:, shank] = leg * (1.0 - share), leg * share
    return columns


def _smoothstep(x: FloatArray) -> FloatArray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def cleft_weights(vertices: FloatArray, columns: FloatArray, coccyx: FloatArray, params: BodyParameters) -> FloatArray:
    """Leave the natal cleft's walls to the pelvis (see ``BodyParameters.midline_still_mm``).

    Parameters
    ----------
    vertices : (n, 3) array
    columns : (n, 4) array
        Skinning weights in :data:`WEIGHT_COLUMNS` order.
    coccyx : (3,) array
        The coccyx's tip: the cleft is the skin behind it.
    params : BodyParameters
        ``midline_still_mm`` (core, fade): within ``core`` mm of the plane Z = 0 the legs' weights go to nothing,
        fading back over ``fade`` mm beyond; ``midline_leg_weights`` (low, high): skin the legs carry (the columns'
        sum) up to ``low`` is the trunk's, from ``high`` on a thigh's (untouched); ``cleft_behind_coccyx_mm`` (start,
        full): how far in front of (negative) or behind the coccyx's tip the cleft begins and is whole.

    Returns
    -------
    (n, 4) array
    """
    core, fade = params.midline_still_mm
    low, high = params.midline_leg_weights
    start, full = params.cleft_behind_coccyx_mm
    near = 1.0 - _smoothstep((np.abs(vertices[:, 2]) - core) / fade)
    trunk = 1.0 - _smoothstep((columns.sum(axis=1) - low) / (high - low))
    behind = _smoothstep((coccyx[0] - start - vertices[:, 0]) / (full - start))
    return columns * (1.0 - near * trunk * behind)[:, None]


def _region(vertices: FloatArray, faces: IntArray, weights: FloatArray, low: float, high: float, inside: FloatArray):
    """The connected piece of the triangles between two levels nearest ``inside`` (not the hanging hands), weights carried."""
    import pyvista as pv

    mesh = pv.PolyData(vertices, np.column_stack([np.full(len(faces), 3), faces]).ravel())
    mesh.point_data["weights"] = weights
    ys = vertices[faces][:, :, 1]
    band = np.flatnonzero((ys.max(axis=1) > low) & (ys.min(axis=1) < high))
    piece = mesh.extract_cells(band).extract_surface(algorithm="dataset_surface")
    return piece.connectivity("closest", closest_point=inside).clean().triangulate()
