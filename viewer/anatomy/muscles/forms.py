"""Atlas rest forms of the right-side muscles: one label volume, all surfaces extracted at once.

The (u, s) cages (:mod:`viewer.anatomy.muscles.build`) stay the mechanics: their fibres
lengthen and shorten with the pose. Their boxes look like slabs, so the display
surfaces come from a label volume instead (Abdrashitov et al. 2021, "Interactive
Modelling of Volumetric Musculoskeletal Anatomy", ACM Trans. Graph. 40(4)):

1. Each muscle gets a clean field from its cage: the cage's mid-sheet, smoothed so the
   crumples of the small rotators do not carry over, narrowed into a tendon where the
   muscle has one, and swept by balls whose radius follows a belly profile
   (``R = tendon radius + k * belly(s) * edge(u)``). A voxel's value is the smallest
   ``k`` whose balls reach it, so the muscle for a given ``k`` is that union of balls.
2. Deep muscles first, each takes the free voxels (not bone, not a deeper muscle) with
   the smallest values until it holds its reference volume: the threshold is a quantile,
   so the volume is met exactly whatever the neighbours took.
3. Narrow clefts between two muscles are given to the nearer one, so neighbours touch.
4. SurfaceNets (``pyvista.ImageData.contour_labels``) extracts every boundary at once,
   so neighbours share their faces; each muscle is decimated and smoothed with a
   windowed-sinc filter (which keeps volume).

The iliotibial band is fascia about 2 mm thick, too thin for the voxels: it is swept as a
thin closed sheet with rounded edges around its cage's smoothed mid-sheet.

Per-muscle parameters (tendon lengths and widths, belly profile) are the optional
``form`` block of each muscle's annotation file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from viewer.anatomy.bones import Surface
from viewer.anatomy.geometry import edge_bends, face_normals, is_watertight, signed_volume, unit
from viewer.anatomy.muscles.build import RIGHT_BONES, RightMuscle
from viewer.anatomy.muscles.distance_field import inside_depth, inside_voxels
from viewer.anatomy.muscles.form_metrics import FOLD_DEGREES
from viewer.anatomy.muscles.sheet import drawn_within, sheet_normals
from viewer.types import FloatArray

VOXEL_MM = 1.5
BONE_LABEL = 1
NERVE_FAT_LABEL = 2  # the fat round the sciatic nerve: free only to a muscle's attachment core
FIRST_MUSCLE_LABEL = 3
GRID_MARGIN_MM = 30.0
EXTRACTION_SMOOTHING = 8  # SurfaceNets' own smoothing shrinks thin muscles; the windowed sinc does the rest
BAND_CLEARANCE_MM = 1.0  # muscles stay this far under the fascial band
NERVE_FAT_MM = 2.5  # fat kept free of muscle around the sciatic nerve, beyond its half width
CLEFT_PASSES = 2  # clefts up to about this many voxels wide between two muscles are closed
ATTACHMENT_ROWS = 0.03  # fraction of the fibre length at each end reserved for the muscle before any claims
FOOTPRINT = 0.06  # fraction of the fibre length over which a tendon spreads onto its attachment
SINC = {"pass_band": 0.01, "non_manifold_smoothing": True, "normalize_coordinates": True}  # windowed-sinc settings
# A cap is a triangle with one corner over CAP_DEGREES: its far vertex lies almost on its long edge, and a pose that
# moves the three a little apart turns it over. Decimation left gluteus maximus one on its upper margin (corner 178
# degrees; edges bending 146 and 150 degrees at flexion 90 with the knee at 90 and in internal rotation) and one on
# its lower border (156 degrees, on a 30-degree bend: 94 in external rotation with adduction); their long edges are
# flipped (flipped_caps). Flipping also the corners over 140 degrees (82 of maximus' 8000 faces) took maximus'
# largest posed bend to 85 in the frog position, over 130 degrees (234 faces) to 171.
CAP_DEGREES = 150.0
CAP_ROUNDS = 8
FORM_DEFAULTS = {
    "sheet_smoothing": 20,  # Laplacian passes over the cage's mid-sheet (ends pinned)
    "sheet_depth": 0.5,  # where through the cage's thickness the swept sheet lies: 0 its deep face, 1 its top face
    "smooth_along_normal": False,  # those passes move the sheet along its normal only (it keeps its extent)
    "origin_tendon": 0.0,  # fractions of the fibre length that are tendon
    "insertion_tendon": 0.0,
    "tendon_radius_mm": 1.5,
    "tendon_width_mm": None,  # narrow the sheet to this width in the tendons (None: keep the cage's width)
    "max_width_mm": None,  # narrow the whole sheet to at most this width (a spindle round its centre line)
    "belly_peak": 0.5,  # where along the fibres the belly is thickest
    "belly_power": 0.6,  # smaller: fuller belly
    "end_floor": [0.3, 0.3],  # relative belly at fleshy origin and insertion
    "edge_taper": 0.25,  # fraction of the width over which the margins thin
    "edge_floor": [0.35, 0.35],  # relative thickness at the u = 0 and u = 1 margins
    "vertex_budget": 3000,
    "surface_smoothing": 0,  # more windowed-sinc iterations on the decimated surface (ripples a pose would sharpen)
    "binding_passes": None,  # Taubin pairs smoothing a blended form's displacement (None: binding.BLENDED_PASSES)
    "binding_reach": None,  # width in cells of the blended local affine maps carrying a fan's form (None: BLENDED_REACH)
    "blended_binding": False,  # carried by blended local affine maps of its cage like the fans (else cell by cell)
    "band_thickness_mm": 2.0,
    "min_width_mm": None,  # band: spread the sheet to at least this width (mm) down to its insertion
    "insertion_fade": 0.15,  # band: fraction of the length over which that spread fades into the insertion
    "lift_fade_rows": 1,  # band: rows of its fine sheet over which the lift off the muscles fades in from an attachment
    "lift_smoothing": 8,  # band: Laplacian passes smoothing that lift
    "bone_settle": None,  # band: [start, full] fractions of the length from which it settles onto the bones near its insertion
    "bone_gap_mm": 3.0,  # band: what lies between it and the bone there (fat pad), mm
    "under_band": False,  # the muscle gives way where the fascial band is draped over it (make_room_for_band)
    "alongside": None,  # {"muscle", "gap_mm", "from"}: run beside a deeper muscle's tendon (see alongside_sheet)
    "core_first": False,  # its attachment rows are claimed before those of the deeper muscles (where they meet)
    "band_over_core": False,  # its attachment cores stay where the band is draped; the band is lifted over them
    "nerve_rim_mm": 0.0,  # its rims beside the nerve's channel rounded to this radius (rounded_beside_nerve)
}
ALONGSIDE_RAMP = 0.25  # fraction of the fibre length over which a muscle comes alongside its partner
# A piece of a muscle's extracted surface with fewer than this share of its largest piece's vertices is a splinter
# and is dropped (gluteus medius kept a speck of 0.1 mm3 beyond its origin on the crest, 48 vertices, that the band's
# room left), unless the muscle's attachment core is kept under the band (the tensor's origin on the crest, cut off
# its belly beside the anterior superior iliac spine: band_over_core)
SPLINTER_SHARE = 0.05


def form_settings(muscle: RightMuscle) -> dict:
    """The muscle's ``form`` block over the defaults."""
    return {**FORM_DEFAULTS, **muscle.spec.form}


def is_band(muscle: RightMuscle) -> bool:
    """Whether the muscle is a fascial band (no reference volume): swept as a thin sheet, not claimed in voxels."""
    return "target_volume_cm3" not in muscle.spec.thickness


# --- the clean field of one muscle -------------------------------------------------------------


def mid_sheet(muscle: RightMuscle, depth: float = 0.5) -> FloatArray:
    """The sheet ``depth`` of the way from the cage's deep face (0) to its superficial face (1), (n_u, n_s, 3)."""
    n_u, n_s = muscle.fibres.shape[:2]
    count = n_u * n_s
    deep, top = muscle.vertices[:count], muscle.vertices[count : 2 * count]
    return (deep + depth * (top - deep)).reshape(n_u, n_s, 3)


def smooth_sheet(sheet: FloatArray, passes: int, along_normal: bool = False) -> FloatArray:
    """Laplacian smoothing over (u, s) with the attachment rows (s = 0 and s = 1) pinned.

    With ``along_normal`` each step keeps only its part along the sheet's normal: bumps flatten but the
    sheet keeps its extent (plain smoothing draws the margins in, gluteus maximus' 303 cm2 to 237 cm2 in 20
    passes, and the same volume then stands thicker).
    """
    sheet = sheet.copy()
    for _ in range(passes):
        padded = np.pad(sheet, ((1, 1), (1, 1), (0, 0)), mode="edge")
        average = (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]) / 4
        step = 0.5 * (average - sheet)
        if along_normal:
            normal = sheet_normals(sheet)
            step = np.sum(step * normal, axis=2, keepdims=True) * normal
        sheet[:, 1:-1] += step[:, 1:-1]
    return sheet


def tendon_weight(s: FloatArray, settings: dict) -> FloatArray:
    """1 in the tendons, 0 in the belly, with a smooth step between (same shape as ``s``)."""
    start, end = settings["origin_tendon"], settings["insertion_tendon"]
    ramp = 0.08
    origin = np.clip((start + ramp - s) / ramp, 0, 1) if start > 0 else np.zeros_like(s)
    insertion = np.clip((s - (1 - end - ramp)) / ramp, 0, 1) if end > 0 else np.zeros_like(s)
    weight = np.maximum(origin, insertion)
    return weight * weight * (3 - 2 * weight)


def narrowed_sheet(sheet: FloatArray, settings: dict) -> FloatArray:
    """The sheet drawn in towards its centre line: to ``max_width_mm`` everywhere, to the tendon's width in tendons."""
    centre = sheet.mean(axis=0, keepdims=True)
    width = np.maximum(np.linalg.norm(sheet[-1] - sheet[0], axis=1), 1e-6)
    s = np.linspace(0, 1, sheet.shape[1])
    footprint = np.clip((s - (1 - FOOTPRINT)) / FOOTPRINT, 0, 1) + np.clip((FOOTPRINT - s) / FOOTPRINT, 0, 1)
    scale = np.ones(sheet.shape[1])
    if settings.get("max_width_mm") is not None:
        scale = np.minimum(1.0, settings["max_width_mm"] / width)
    if settings["tendon_width_mm"] is not None:
        factor = np.minimum(scale, settings["tendon_width_mm"] / width)
        weight = tendon_weight(s, settings) * (1 - footprint**2)
        scale = scale - weight * (scale - factor)
    scale = 1 - (1 - scale) * (1 - footprint**2)  # every narrowed muscle flares onto its whole bony footprint
    return centre + (sheet - centre) * scale[None, :, None]


def widened_sheet(sheet: FloatArray, settings: dict) -> FloatArray:
    """The sheet spread about its centre line to at least ``min_width_mm`` wide, back to its own width at the insertion.

    The spread fades out (a smooth step) over the last ``insertion_fade`` of the fibre length, so a
    band keeps its narrow insertion.
    """
    if settings.get("min_width_mm") is None:
        return sheet
    centre = sheet.mean(axis=0, keepdims=True)
    width = np.maximum(np.linalg.norm(sheet[-1] - sheet[0], axis=1), 1e-6)
    s = np.linspace(0, 1, sheet.shape[1])
    fade = settings["insertion_fade"]
    keep = np.clip((s - (1 - fade)) / max(fade, 1e-6), 0, 1)
    spread = 1 - keep * keep * (3 - 2 * keep)
    scale = 1 + spread * np.maximum(settings["min_width_mm"] / width - 1, 0)
    return centre + (sheet - centre) * scale[None, :, None]


def settled_sheet(sheet: FloatArray, bones: dict[str, Surface], settings: dict, clearance: float) -> FloatArray:
    """A band's sheet laid onto the bones towards its insertion, ``bone_gap_mm`` plus ``clearance`` off them.

    From the ``bone_settle`` start fraction of its length the sheet comes down onto the bones (a smooth
    step, complete at the second fraction): the iliotibial band leaves the thick vastus lateralis (not
    modelled) above the knee and lies on the lateral femoral condyle, only a fat pad between them, on its
    way to Gerdy's tubercle. The shift is smoothed over the sheet so the band curves down without a kink.
    """
    if settings.get("bone_settle") is None:
        return sheet
    start, full = settings["bone_settle"]
    s = np.linspace(0, 1, sheet.shape[1])
    weight = np.clip((s - start) / max(full - start, 1e-6), 0, 1)
    rows = weight > 0
    part = sheet[:, rows]
    near = LabelGrid(part.reshape(-1, 3).min(axis=0) - GRID_MARGIN_MM, part.reshape(-1, 3).max(axis=0) + GRID_MARGIN_MM)
    near.mark_bones(bones)
    gap = np.full(part.shape[0] * part.shape[1], settings["bone_gap_mm"] + clearance)
    shift = np.zeros_like(sheet)
    shift[:, rows] = near.lift(part.reshape(-1, 3), gap, near.bone_distance, settle=True).reshape(part.shape) - part
    shift[:, -1] = 0.0  # the insertion stays on its tubercle
    weight = (weight * weight * (3 - 2 * weight))[None, :, None]
    return sheet + smooth_sheet(weight * shift, settings["lift_smoothing"])


def alongside_sheet(sheet: FloatArray, partner: FloatArray, gap_mm: float, start: float) -> FloatArray:
    """The sheet drawn to within ``gap_mm`` of the centre line of a deeper muscle's ``partner`` sheet.

    From fibre fraction ``start`` on (a smooth ramp of :data:`ALONGSIDE_RAMP`), every point
    farther than ``gap_mm`` from the partner's centre line moves towards its nearest point
    there, keeping its own side: the gemelli run along the upper and lower borders of the
    obturator internus tendon into the common tendon. The bony footprint rows are left
    where the cage put them.

    Parameters
    ----------
    sheet, partner : (n_u, n_s, 3) and (m_u, m_s, 3) mid-sheets, mm.
    """
    line = fine_sheet(partner.mean(axis=0, keepdims=True), 1, 20 * partner.shape[1])[0]
    drawn = drawn_within(sheet.reshape(-1, 3), line, gap_mm)
    s = np.linspace(0, 1, sheet.shape[1])
    ramp = np.clip((s - start) / ALONGSIDE_RAMP, 0, 1)
    weight = ramp * ramp * (3 - 2 * ramp) * (1 - np.clip((s - (1 - FOOTPRINT)) / FOOTPRINT, 0, 1) ** 2)
    return sheet + weight[None, :, None] * (drawn.reshape(sheet.shape) - sheet)


def belly_profile(u: FloatArray, s: FloatArray, settings: dict) -> FloatArray:
    """Relative belly radius at sheet coordinates (u, s): 0 in the tendons, up to 1 mid-belly."""
    start, end = settings["origin_tendon"], settings["insertion_tendon"]
    w = np.clip((s - start) / max(1 - start - end, 1e-6), 0, 1)
    w = w ** (np.log(0.5) / np.log(settings["belly_peak"]))
    belly = np.sin(np.pi * w) ** settings["belly_power"]
    floor_origin, floor_insertion = settings["end_floor"]
    belly = np.maximum(belly, np.where(w < 0.5, floor_origin, floor_insertion))
    belly *= 1 - tendon_weight(s, settings)
    taper = settings["edge_taper"]
    low, high = settings["edge_floor"]
    edge = np.sin(0.5 * np.pi * np.clip(np.minimum(u, 1 - u) / max(taper, 1e-6), 0, 1)) ** 0.8
    floor = np.where(u < 0.5, low, high)
    return belly * (floor + (1 - floor) * edge)


def dense_samples(sheet: FloatArray, spacing: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Points on the sheet no further apart than ``spacing``, with their (u, s) coordinates."""
    n_u, n_s = sheet.shape[:2]
    across = np.linalg.norm(np.diff(sheet, axis=0), axis=2).sum(axis=0).max() if n_u > 1 else 0.0
    along = np.linalg.norm(np.diff(sheet, axis=1), axis=2).sum(axis=1).max()
    count_u = max(2, int(np.ceil(across / spacing)) + 1)
    count_s = max(2, int(np.ceil(along / spacing)) + 1)
    u, s = np.meshgrid(np.linspace(0, 1, count_u), np.linspace(0, 1, count_s), indexing="ij")
    coordinates = np.stack([u.ravel() * (n_u - 1), s.ravel() * (n_s - 1)])
    points = np.stack([ndimage.map_coordinates(sheet[..., k], coordinates, order=1) for k in range(3)], axis=1)
    return points, u.ravel(), s.ravel()


class LabelGrid:
    """The label volume of the right side: uint8 labels on a regular grid (voxel centres)."""

    def __init__(self, low: FloatArray, high: FloatArray, spacing: float = VOXEL_MM) -> None:
        self.spacing = spacing
        self.origin = np.asarray(low, float)
        self.shape = tuple(int(n) for n in np.ceil((np.asarray(high) - low) / spacing) + 1)
        self.labels = np.zeros(self.shape, np.uint8)
        self.bone_distance: tuple[FloatArray, FloatArray] | None = None  # set by mark_bones

    def mark_bones(self, bones: dict[str, Surface]) -> None:
        """Label the voxels inside the right-side bones as bone, and measure the distance to bone."""
        for name in RIGHT_BONES:
            if name in bones:
                inside = inside_voxels(bones[name].vertices, bones[name].faces, self.origin, self.spacing, self.shape)
                self.labels[inside] = BONE_LABEL
        self.bone_distance = self.distance_to(self.labels == BONE_LABEL)

    def keep_nerve_channel(self, channels: list[tuple[FloatArray, FloatArray, tuple[str, ...]]]) -> None:
        """Reserve the voxels within half width + :data:`NERVE_FAT_MM` of the nerve's course: no muscle claims them.

        The sciatic nerve runs in the fat between gluteus maximus and the short rotators; without
        this the rounder forms close over it. Branches that pierce a muscle (``passes_through``)
        are left out: the muscle they pierce must stay whole around them. The nerve itself is as
        unclaimable as bone (the bone distance stays bone-only); the fat round it is
        :data:`NERVE_FAT_LABEL`, which only attachment cores take: a muscle arising right beside the
        nerve (superior gemellus on the ischial spine) still reaches its bone.
        """
        for centre, half_width, passes_through in channels:
            if passes_through:
                continue
            radius = half_width + NERVE_FAT_MM
            box = self.box(centre.min(axis=0) - radius.max(), centre.max(axis=0) + radius.max())
            points = self.centres(box)
            gap = np.full(points.shape[:-1], np.inf)  # how far beyond the nerve's half width, mm
            for a, b, r in zip(centre[:-1], centre[1:], np.maximum(half_width[:-1], half_width[1:]), strict=True):
                along = b - a
                t = np.clip((points - a) @ along / max(float(along @ along), 1e-9), 0.0, 1.0)
                gap = np.minimum(gap, np.linalg.norm(points - a - t[..., None] * along, axis=-1) - r)
            region = self.labels[box]
            region[(gap <= NERVE_FAT_MM) & (region == 0)] = NERVE_FAT_LABEL
            region[(gap <= 0) & (region == NERVE_FAT_LABEL)] = BONE_LABEL

    def distance_to(self, solid: np.ndarray) -> tuple[FloatArray, FloatArray]:
        """Signed distance (mm) to the ``solid`` voxels (negative inside), and its gradient (3, *shape)."""
        outside = ndimage.distance_transform_edt(~solid)
        distance = ((outside - inside_depth(solid)) * self.spacing).astype(np.float32)
        return distance, np.stack(np.gradient(distance, self.spacing))

    def drape(
        self,
        sheet: FloatArray,
        clearance: float,
        field: tuple[FloatArray, FloatArray],
        fade_rows: int = 1,
        passes: int = 8,
    ) -> FloatArray:
        """A (n_u, n_s, 3) sheet lifted ``clearance`` off the solid of ``field``, the lift smoothed over the sheet.

        The attachment rows (s = 0 and s = 1) stay where they are; the lift fades in from them over
        ``fade_rows`` rows (a smooth step) and is smoothed by ``passes`` Laplacian passes.
        """
        flat = np.full(sheet.shape[0] * sheet.shape[1], clearance)
        rows = np.arange(sheet.shape[1])
        fade = np.clip(np.minimum(rows, rows[-1] - rows) / max(fade_rows, 1), 0.0, 1.0)
        fade = (fade * fade * (3 - 2 * fade))[None, :, None]
        for _ in range(4):
            lifted = self.lift(sheet.reshape(-1, 3), flat, field).reshape(sheet.shape)
            shift = lifted - sheet
            shift[:, [0, -1]] = 0.0
            sheet = sheet + fade * smooth_sheet(shift, passes)
        return sheet

    def lift(
        self, points: FloatArray, clearance: FloatArray, field: tuple[FloatArray, FloatArray], settle: bool = False
    ) -> FloatArray:
        """Points moved up the distance ``field`` until each is ``clearance`` (per point) from the solid.

        With ``settle`` the points farther than ``clearance`` also move down the field, onto the solid.
        """
        distance, gradient = field
        within = np.all((points > self.origin) & (points < self.origin + self.spacing * (np.array(self.shape) - 1)), 1)
        for _ in range(4):
            index = ((points - self.origin) / self.spacing).T
            depth = clearance - ndimage.map_coordinates(distance, index, order=1, mode="nearest")
            depth[~within] = 0.0
            if np.abs(depth).max() <= 0.05 if settle else depth.max() <= 0.05:
                break
            way = np.stack([ndimage.map_coordinates(g, index, order=1, mode="nearest") for g in gradient], axis=1)
            way /= np.maximum(np.linalg.norm(way, axis=1, keepdims=True), 1e-6)
            points = points + (depth if settle else np.clip(depth, 0, None))[:, None] * way
        return points

    def box(self, low: FloatArray, high: FloatArray) -> tuple[slice, ...]:
        """Index slices of the sub-box covering [low, high] (clipped to the grid)."""
        start = np.clip(np.floor((low - self.origin) / self.spacing).astype(int), 0, self.shape)
        stop = np.clip(np.ceil((high - self.origin) / self.spacing).astype(int) + 1, 0, self.shape)
        return tuple(slice(a, b) for a, b in zip(start, stop, strict=True))

    def centres(self, box: tuple[slice, ...]) -> FloatArray:
        """Centres (i, j, k, 3) of the grid voxels in ``box`` (three slices), mm."""
        axes = [self.origin[k] + self.spacing * np.arange(box[k].start, box[k].stop) for k in range(3)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


def lattice_grid(points: FloatArray) -> LabelGrid:
    """A label grid over (n, 3) points with :data:`GRID_MARGIN_MM` to spare, its voxels on a fixed lattice.

    The corner is rounded down to a multiple of :data:`VOXEL_MM`, so a muscle reaching a little farther
    (gluteus maximus arising lower on the sacrotuberous ligament) does not shift every other muscle's voxels.
    """
    low = np.floor((points.min(axis=0) - GRID_MARGIN_MM) / VOXEL_MM) * VOXEL_MM
    return LabelGrid(low, points.max(axis=0) + GRID_MARGIN_MM)


def reach_field(
    grid: LabelGrid, box: tuple[slice, ...], points: FloatArray, tendon: FloatArray, belly: FloatArray
) -> FloatArray:
    """Per voxel of ``box``: the scale ``k`` at which the ball sweep ``tendon + k * belly`` first covers it.

    Each voxel takes ``k`` from the sweep point nearest it (a distance transform from the points' voxels).
    """
    shape = tuple(b.stop - b.start for b in box)
    index = np.round((points - grid.origin) / grid.spacing).astype(int) - [b.start for b in box]
    keep = np.all((index >= 0) & (index < shape), axis=1)
    seeds = np.full(shape, -1, np.int64)
    inside = np.flatnonzero(keep)
    voxel = np.ravel_multi_index(tuple(index[keep].T), shape)
    order = np.lexsort((belly[inside], voxel))  # by voxel, fullest belly last
    last = np.r_[voxel[order][1:] != voxel[order][:-1], True]
    # a voxel holding several sweep points seeds with the fullest: were it any of them, a narrow sheet's
    # thin margin points would win some voxels and its centre others, and the sweep would grow fins and knobs
    seeds.flat[voxel[order][last]] = inside[order][last]
    nearest = ndimage.distance_transform_edt(seeds < 0, return_distances=False, return_indices=True)
    sample = seeds[tuple(nearest)]
    distance = np.linalg.norm(grid.centres(box) - points[sample], axis=-1)
    return (distance - tendon[sample]) / np.maximum(belly[sample], 1e-3)


@dataclass
class SweptField:
    """A muscle's clean field: ball centres on its sheet with radius ``tendon + k * belly``."""

    points: FloatArray  # (n, 3)
    s: FloatArray  # (n,) along the fibres, 0 origin .. 1 insertion
    tendon: FloatArray  # (n,) mm
    belly: FloatArray  # (n,) relative
    sheet: FloatArray  # (n_u, n_s, 3) the draped sheet the points were sampled from

    @classmethod
    def of(
        cls, grid: LabelGrid, muscle: RightMuscle, settings: dict, deeper: dict[str, SweptField] | None = None
    ) -> SweptField:
        """The muscle's field; ``deeper`` holds the fields built before it (by name), for ``alongside``."""
        sheet = mid_sheet(muscle, settings["sheet_depth"])
        smooth = smooth_sheet(sheet, settings["sheet_smoothing"], settings["smooth_along_normal"])
        sheet = narrowed_sheet(smooth, settings)
        if settings["alongside"] is not None:
            partner = settings["alongside"]
            if partner["muscle"] not in (deeper or {}):
                raise ValueError(
                    f"{muscle.spec.name}.json: form.alongside.muscle {partner['muscle']!r} is not a deeper muscle"
                )
            sheet = alongside_sheet(sheet, deeper[partner["muscle"]].sheet, partner["gap_mm"], partner["from"])
        radius = float(settings["tendon_radius_mm"])
        sheet = grid.drape(sheet, radius + grid.spacing / 2, grid.bone_distance)  # tendons lie on bone, not in it
        points, u, s = dense_samples(sheet, grid.spacing / 2)
        return cls(points, s, np.full(len(points), radius), belly_profile(u, s, settings), sheet)

    def attachment_core(self, grid: LabelGrid) -> tuple[tuple[slice, ...], np.ndarray]:
        """Voxels within the tendon radius of the sheet's first and last rows (the muscle must reach its bones)."""
        ends = (self.s <= ATTACHMENT_ROWS) | (self.s >= 1 - ATTACHMENT_ROWS)
        points, tendon = self.points[ends], self.tendon[ends]
        box = grid.box(points.min(axis=0) - tendon.max(), points.max(axis=0) + tendon.max())
        return box, reach_field(grid, box, points, tendon, np.ones(len(points))) <= 0


def seat_attachment_cores(grid: LabelGrid, fields: dict[int, SweptField]) -> None:
    """Every muscle reaches its bones whatever lies over it: its attachment cores (by label, in the order given:
    muscles whose form says ``core_first`` come first where attachments meet) take the free voxels and the fat kept
    round the nerve (:data:`NERVE_FAT_LABEL`), never bone, the nerve or another muscle."""
    for label, field in fields.items():
        box, core = field.attachment_core(grid)
        grid.labels[box][core & np.isin(grid.labels[box], (0, NERVE_FAT_LABEL))] = label


def claim(grid: LabelGrid, muscle: RightMuscle, field_of: SweptField, label: int) -> None:
    """Give the muscle the free voxels of lowest reach until it holds its reference volume."""
    points, tendon, belly = field_of.points, field_of.tendon, field_of.belly
    target = muscle.spec.thickness["target_volume_cm3"] * 1000.0 / grid.spacing**3
    reach = 0.8 * float(muscle.thickness.max()) + 15.0
    for _ in range(4):
        box = grid.box(points.min(axis=0) - reach, points.max(axis=0) + reach)
        field = reach_field(grid, box, points, tendon, belly)
        free = (grid.labels[box] == 0) | (grid.labels[box] == label)
        values = field[free]
        count = int(min(target, len(values)))
        threshold = np.partition(values, count - 1)[count - 1]
        if threshold * belly.max() + tendon.max() < 0.9 * reach or reach > 150:
            break
        reach *= 1.6
    for _ in range(3):  # opening trims slivers a voxel thin; take back what it trimmed
        raw = free & (field <= threshold)
        chosen = largest_component(ndimage.binary_opening(raw) | (raw & (field <= 0)))  # tendons stay
        count = int(np.clip(count + target - chosen.sum(), 1, len(values)))
        threshold = np.partition(values, count - 1)[count - 1]
    region = grid.labels[box]
    region[(region == label) & ~chosen] = 0
    region[chosen] = label


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest connected part of a boolean voxel ``mask`` (same shape); the mask itself if it is one piece."""
    parts, count = ndimage.label(mask)
    if count <= 1:
        return mask
    sizes = np.bincount(parts.ravel())
    sizes[0] = 0
    return parts == sizes.argmax()


def close_clefts(labels: np.ndarray, passes: int = CLEFT_PASSES) -> None:
    """Free voxels touching two different muscles go to the nearer one, so neighbours meet without gaps."""
    for _ in range(passes):
        muscle = labels >= FIRST_MUSCLE_LABEL
        free = labels == 0
        nearest = ndimage.distance_transform_edt(~muscle, return_distances=False, return_indices=True)
        nearest_label = labels[tuple(nearest)]
        touching = np.zeros(labels.shape, np.int8)
        for label in np.unique(labels[muscle]):
            touching += ndimage.binary_dilation(labels == label) & free
        cleft = free & (touching >= 2)
        if not cleft.any():
            break
        labels[cleft] = nearest_label[cleft]


def diagonal_contacts(mask: np.ndarray) -> np.ndarray:
    """Cells of ``mask`` that touch another cell of ``mask`` only across a voxel edge or corner.

    SurfaceNets splits a region at such contacts into sheets with open edges; each flagged
    cell is the far one of a diagonal pair whose connecting cells all lie outside the region.
    """
    flagged = np.zeros_like(mask)
    m = mask
    for axes in ((0, 1), (0, 2), (1, 2)):
        for sign in (1, -1):
            shift_a = [0, 0, 0]
            shift_a[axes[0]] = 1
            shift_b = [0, 0, 0]
            shift_b[axes[1]] = sign
            both = np.roll(m, shift_a, (0, 1, 2))
            diagonal = np.roll(both, shift_b, (0, 1, 2))
            side_a = np.roll(m, shift_a, (0, 1, 2))
            side_b = np.roll(m, shift_b, (0, 1, 2))
            flagged |= m & diagonal & ~side_a & ~side_b
    for signs in ((1, 1, 1), (1, 1, -1), (1, -1, 1), (1, -1, -1)):
        corner = np.roll(m, signs, (0, 1, 2))
        between = np.zeros_like(m)
        for k in range(3):
            partial = list(signs)
            partial[k] = 0
            between |= np.roll(m, partial, (0, 1, 2))
            single = [0, 0, 0]
            single[k] = signs[k]
            between |= np.roll(m, single, (0, 1, 2))
        flagged |= m & corner & ~between
    return flagged


def remove_diagonal_contacts(labels: np.ndarray, first_label: int = FIRST_MUSCLE_LABEL, passes: int = 6) -> None:
    """Make every muscle region meet itself across voxel faces only, so its SurfaceNets surface is manifold."""
    for label in np.unique(labels[labels >= first_label]):
        box = tuple(slice(max(int(a.min()) - 2, 0), int(a.max()) + 3) for a in np.nonzero(labels == label))
        region = labels[box]
        for _ in range(passes):
            flagged = diagonal_contacts(region == label)
            if not flagged.any():
                break
            region[flagged] = 0


# --- surfaces ----------------------------------------------------------------------------------


def extract_surfaces(grid: LabelGrid, labels: dict[int, str], settings: dict[str, dict]) -> dict[str, Surface]:
    """SurfaceNets over the whole volume, then each muscle's closed surface without splinters (:func:`without_splinters`),
    decimated and smoothed (``settings``: each muscle's form settings by name, for its ``vertex_budget``,
    ``surface_smoothing`` and ``band_over_core``)."""
    import pyvista

    image = pyvista.ImageData(dimensions=grid.shape, spacing=(grid.spacing,) * 3, origin=grid.origin)
    image.point_data["labels"] = grid.labels.ravel(order="F")
    nets = image.contour_labels(
        boundary_style="all", output_mesh_type="triangles", smoothing=True, smoothing_iterations=EXTRACTION_SMOOTHING
    )
    faces = nets.regular_faces
    sides = np.asarray(nets.cell_data["boundary_labels"])
    surfaces = {}
    for label, name in labels.items():
        own = faces[sides[:, 0] == label]
        other = faces[sides[:, 1] == label][:, ::-1]  # faces are wound outward from their first label
        used, local = np.unique(np.concatenate([own, other]), return_inverse=True)
        mesh = pyvista.PolyData.from_regular_faces(np.asarray(nets.points)[used], local.reshape(-1, 3))
        if not settings[name]["band_over_core"]:
            mesh = without_splinters(mesh)
        surfaces[name] = finish_surface(
            mesh, int(settings[name]["vertex_budget"]), int(settings[name]["surface_smoothing"])
        )
    return surfaces


def without_splinters(mesh, share: float = SPLINTER_SHARE):
    """The pyvista triangle ``mesh`` without its pieces of fewer than ``share`` of its largest piece's vertices."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    faces = np.asarray(mesh.regular_faces)
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(mesh.n_points,) * 2)
    count, piece = connected_components(graph, directed=False)
    if count <= 1:
        return mesh
    sizes = np.bincount(piece, minlength=count)
    kept = sizes[piece[faces[:, 0]]] >= share * sizes.max()
    used, local = np.unique(faces[kept], return_inverse=True)
    return type(mesh).from_regular_faces(np.asarray(mesh.points)[used], local.reshape(-1, 3))


def finish_surface(mesh, vertex_budget: int, smoothing: int = 0) -> Surface:
    """Smooth (windowed sinc, which keeps volume), decimate to about ``vertex_budget`` vertices, wind outward.

    Quadric decimation now and then pinches a thin part into a non-manifold edge, or folds a
    few triangles back onto their neighbours: then a gentler reduction is tried, and the full
    surface is kept if none stays closed. ``smoothing`` more windowed-sinc iterations on the decimated surface take
    out ripples of the voxels (a fan's margin on the bone) that a pose shortening it to half sharpens. Edges still bending sharply after that are relaxed
    locally (:func:`relax_creases`); the first closed surface with no fold over
    :data:`~viewer.anatomy.muscles.form_metrics.FOLD_DEGREES` wins, else the first closed one.
    """
    smooth = mesh.smooth_taubin(n_iter=40, **SINC)
    rough = mesh.decimate(max(0.0, 1.0 - 4 * vertex_budget / mesh.n_points), volume_preservation=True)
    rough = rough.smooth_taubin(n_iter=40, **SINC)  # the other order, for when the first pinches
    first = None
    for budget in vertex_budget * np.array([1.0, 1.25, 1.6, 2.0, 3.0]):
        candidates = [
            close_pinholes(drop_fins(start.decimate(1.0 - budget / start.n_points, volume_preservation=True)))
            for start in (smooth, rough)
            if start.n_points > budget
        ]
        if not candidates:
            break
        for candidate in candidates:
            if is_watertight(np.asarray(candidate.regular_faces)):
                smoothed = candidate.smooth_taubin(n_iter=20, pass_band=0.1, normalize_coordinates=True)
                if smoothing:
                    smoothed = smoothed.smooth_taubin(n_iter=smoothing, **SINC)
                surface = relaxed_surface(smoothed)
                first = first or surface
                if edge_bends(surface.vertices, surface.faces)[0].max() <= FOLD_DEGREES:
                    return surface
    return first or relaxed_surface(smooth)


def drop_fins(mesh):
    """The pyvista mesh without its fins: triangles hanging off an edge that two others already share.

    Quadric decimation now and then leaves such a triangle on a closed surface (its other two edges open, the
    edge it hangs from used three times); on the 1.5 mm label lattice gluteus medius had one at every budget,
    which left the whole reduction unused.
    """
    import pyvista

    faces = np.asarray(mesh.regular_faces, np.int64)
    edges = np.sort(np.stack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]], axis=1), axis=2).reshape(-1, 2)
    _, which, uses = np.unique(edges, axis=0, return_inverse=True, return_counts=True)
    per_face = uses[which.ravel()].reshape(-1, 3)
    fins = ((per_face == 1).sum(axis=1) == 2) & ((per_face > 2).sum(axis=1) == 1)
    if not fins.any():
        return mesh
    used, local = np.unique(faces[~fins], return_inverse=True)
    return pyvista.PolyData.from_regular_faces(np.asarray(mesh.points)[used], local.reshape(-1, 3))


def close_pinholes(mesh):
    """The pyvista mesh with its one-triangle holes closed, wound to match (else the mesh itself).

    Quadric decimation now and then drops a single triangle (gluteus maximus at its budget lost one on the
    iliac crest), which would leave the whole reduction unused.
    """
    import pyvista

    faces = np.asarray(mesh.regular_faces, np.int64)
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    paired = {(a, b) for a, b in edges.tolist()}
    following = {a: b for a, b in edges.tolist() if (b, a) not in paired}  # the holes' rims, a -> b
    patches = [
        (a, c, b)  # its edges run against the rim's
        for a, b in following.items()
        if (c := following.get(b)) is not None and following.get(c) == a and a < min(b, c)
    ]
    if not patches:
        return mesh
    return pyvista.PolyData.from_regular_faces(np.asarray(mesh.points), np.concatenate([faces, patches]))


def relaxed_surface(mesh) -> Surface:
    """The pyvista mesh as a :class:`Surface` with its creases relaxed, wound outward.

    Decimation and smoothing now and then press a few vertices onto each other, leaving a pocket of
    back-to-back triangles (an edge bending 180 degrees) that no smoothing opens: the pocket is welded
    shut when the surface stays closed without it. Pleats still folded over :data:`FOLD_DEGREES` are
    collapsed (:func:`collapse_folds`).
    """
    faces = np.asarray(mesh.regular_faces, np.int64)
    vertices = relax_creases(np.asarray(mesh.points, float), faces)
    welded, welded_faces = drop_collapsed(*weld(vertices, faces))
    if len(welded_faces) and is_watertight(welded_faces):
        vertices, faces = relax_creases(welded, welded_faces), welded_faces
    vertices, faces = collapse_folds(vertices, faces, FOLD_DEGREES)
    faces = flipped_caps(vertices, faces)
    if signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1].copy()
    return Surface(vertices, faces)


def corner_angles(vertices: FloatArray, faces: np.ndarray) -> FloatArray:
    """(m, 3) angle (radians) of each of the (m, 3) ``faces`` at its corners, of the (n, 3) ``vertices``."""
    corners = vertices[faces]
    angles = np.empty(faces.shape)
    for k in range(3):
        ahead, behind = corners[:, (k + 1) % 3] - corners[:, k], corners[:, (k + 2) % 3] - corners[:, k]
        angles[:, k] = np.arccos(np.clip(np.einsum("ij,ij->i", unit(ahead), unit(behind)), -1.0, 1.0))
    return angles


def flipped_caps(vertices: FloatArray, faces: np.ndarray, rounds: int = CAP_ROUNDS) -> np.ndarray:
    """The (m, 3) ``faces`` with the long edges of their caps flipped (the same closed surface, better triangles).

    The long edge of a cap (a corner over :data:`CAP_DEGREES`) is flipped, the quad of the cap and its neighbour
    split along its other diagonal, where the Delaunay criterion asks for it (the two corners facing the edge add
    up to over 180 degrees), the other diagonal is not an edge already and both new triangles face within 60
    degrees of the neighbour. Only caps: quadric decimation leaves the long edges of far more non-Delaunay pairs
    along the surface's flatter direction, and flipped too (683 of maximus' 12000 edges) they crossed its
    curvature and maximus creased four times as much when posed.

    Parameters
    ----------
    vertices : (n, 3) float array
    faces : (m, 3) int array
        A closed, consistently wound surface.
    rounds : int
        Passes over the caps (a flip can make a neighbouring pair a candidate).

    Returns
    -------
    (m, 3) int array
    """
    faces = np.array(faces, np.int64)
    count = len(faces)
    for _ in range(rounds):
        directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])  # edge k: corners k, k + 1
        owner, local = np.tile(np.arange(count), 3), np.repeat(np.arange(3), count)
        order = np.lexsort(np.sort(directed, axis=1).T[::-1])
        directed, owner, local = directed[order], owner[order], local[order]
        pair = np.flatnonzero(np.all(np.sort(directed[1:], axis=1) == np.sort(directed[:-1], axis=1), axis=1))
        first, second = owner[pair], owner[pair + 1]
        facing = np.stack([(local[pair] + 2) % 3, (local[pair + 1] + 2) % 3], axis=1)  # corners opposite the edge
        angles = np.degrees(corner_angles(vertices, faces))
        opposite = np.stack([angles[first, facing[:, 0]], angles[second, facing[:, 1]]], axis=1)
        widest = opposite.max(axis=1)
        wanted = (widest > CAP_DEGREES) & (opposite.sum(axis=1) > 180.0)
        normals = unit(face_normals(vertices, faces))
        edges = {tuple(edge) for edge in np.sort(directed, axis=1).tolist()}
        touched: set[int] = set()
        for k in np.flatnonzero(wanted)[np.argsort(-widest[wanted])]:
            cap, other = (first[k], second[k]) if opposite[k, 0] >= opposite[k, 1] else (second[k], first[k])
            if cap in touched or other in touched:
                continue
            a, b = directed[pair[k]]  # the edge as the first triangle runs it; the second runs b -> a
            c, d = faces[first[k], facing[k, 0]], faces[second[k], facing[k, 1]]
            if (min(c, d), max(c, d)) in edges:
                continue
            split = np.array([[a, d, c], [d, b, c]])  # the quad a -> d -> b -> c split along c-d, wound as before
            if (unit(face_normals(vertices, split)) @ normals[other] <= 0.5).any():
                continue
            faces[[first[k], second[k]]] = split
            edges.add((min(c, d), max(c, d)))
            touched.update((cap, other))
        if not touched:
            break
    return faces


def collapse_folds(vertices: FloatArray, faces: np.ndarray, limit: float, collapses: int = 60) -> tuple:
    """Collapse the edges bending more than ``limit`` degrees, worst first, while the surface stays closed.

    A pleat a few triangles wide (the surface folded back on itself) is a spike no smoothing
    removes: its vertices already sit at their neighbours' average. Merging the two ends of the
    folded edge and dropping the triangles that collapse flattens it.

    Returns
    -------
    (n, 3) vertices and (m, 3) faces.
    """
    for _ in range(collapses):
        bends, edges = edge_bends(vertices, faces)
        for k in np.argsort(bends)[::-1][:20]:
            if bends[k] <= limit:
                return vertices, faces
            a, b = edges[k]
            merged = vertices.copy()
            merged[a] = (vertices[a] + vertices[b]) / 2
            candidate = drop_collapsed(merged, np.where(faces == b, a, faces))
            if len(candidate[1]) and is_watertight(candidate[1]):
                vertices, faces = relax_creases(*candidate), candidate[1]
                break
        else:
            break
    return vertices, faces


def drop_collapsed(vertices: FloatArray, faces: np.ndarray) -> tuple[FloatArray, np.ndarray]:
    """Faces with a repeated vertex dropped, back-to-back pairs cancelled, unused vertices removed."""
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    _, inverse, counts = np.unique(np.sort(faces, axis=1), axis=0, return_inverse=True, return_counts=True)
    faces = faces[counts[inverse.ravel()] == 1]
    used, local = np.unique(faces, return_inverse=True)
    return vertices[used], local.reshape(-1, 3)


def weld(vertices: FloatArray, faces: np.ndarray, tolerance: float = 1e-4) -> tuple[FloatArray, np.ndarray]:
    """(n, 3) vertices closer than ``tolerance`` mm merged, and the (m, 3) faces that collapse dropped."""
    rounded = np.round(vertices / tolerance).astype(np.int64)
    _, unique_index, inverse = np.unique(rounded, axis=0, return_index=True, return_inverse=True)
    faces = inverse.ravel()[faces]
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    return vertices[unique_index], faces


def relax_creases(vertices: FloatArray, faces: np.ndarray, limit: float = 35.0, passes: int = 12) -> FloatArray:
    """Laplacian-smooth only the neighbourhoods of edges bending more than ``limit`` degrees."""
    from scipy import sparse

    n = len(vertices)
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    adjacency = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    adjacency = ((adjacency + adjacency.T) > 0).astype(float)
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    for _ in range(passes):
        bends, edge_vertices = edge_bends(vertices, faces)
        sharp = np.zeros(n, bool)
        sharp[edge_vertices[bends > limit].ravel()] = True
        if not sharp.any():
            break
        sharp |= (adjacency @ sharp.astype(float)) > 0  # and their one-ring
        average = (adjacency @ vertices) / np.maximum(degree, 1)[:, None]
        vertices = np.where(sharp[:, None], 0.5 * vertices + 0.5 * average, vertices)
    return vertices


def fine_sheet(sheet: FloatArray, columns: int = 16, rows: int = 100) -> FloatArray:
    """The sheet resampled (bilinear) on a (columns, rows) grid."""
    n_u, n_s = sheet.shape[:2]
    u, s = np.meshgrid(np.linspace(0, n_u - 1, columns), np.linspace(0, n_s - 1, rows), indexing="ij")
    coords = np.stack([u.ravel(), s.ravel()])
    return np.stack([ndimage.map_coordinates(sheet[..., k], coords, order=1) for k in range(3)], -1).reshape(
        columns, rows, 3
    )


def band_surface(fine: FloatArray, half: float, arc: int = 8) -> Surface:
    """A thin closed sheet of half-thickness ``half`` around a (columns, rows, 3) mid-sheet: half-round edges and ends."""
    columns = fine.shape[0]
    normal = sheet_normals(fine)
    across = np.gradient(fine, axis=0)
    across /= np.linalg.norm(across, axis=2, keepdims=True)
    along = np.gradient(fine, axis=1)
    along /= np.linalg.norm(along, axis=2, keepdims=True)
    angles = np.linspace(0, np.pi, arc + 1)[1:-1]
    ring = []  # around the cross-section: top row, far edge arc, bottom row reversed, near edge arc
    for j in range(columns):
        ring.append(fine[j] + half * normal[j])
    for a in angles:
        ring.append(fine[-1] + half * (np.cos(a) * normal[-1] + np.sin(a) * across[-1]))
    for j in range(columns - 1, -1, -1):
        ring.append(fine[j] - half * normal[j])
    for a in angles:
        ring.append(fine[0] + half * (-np.cos(a) * normal[0] - np.sin(a) * across[0]))
    ring = np.stack(ring)  # (ring, rows, 3)
    # rounded ends: quarter turns that close each ring onto the mid-line of the sheet
    centre_line = np.concatenate(
        [fine[:, :], np.repeat(fine[-1:], arc - 1, 0), fine[::-1], np.repeat(fine[:1], arc - 1, 0)]
    )
    caps = []
    for end, sign in ((0, -1.0), (-1, 1.0)):
        offsets = ring[:, end] - centre_line[:, end]
        tip = along[:, end].mean(axis=0)
        tip /= np.linalg.norm(tip)
        steps = [
            centre_line[:, end] + np.cos(t) * offsets + sign * half * np.sin(t) * tip
            for t in np.linspace(0, np.pi / 2, 5)[1:]
        ]
        caps.append(np.stack(steps, axis=1))
    body = np.concatenate([caps[0][:, ::-1], ring, caps[1]], axis=1)  # (ring, rows + 8, 3)
    return closed_tube(body)


def closed_tube(rings: FloatArray) -> Surface:
    """Triangles of a ring-by-row grid, periodic around the ring, whose first and last rows are collapsed lines."""
    n_ring, n_rows = rings.shape[:2]
    index = np.arange(n_ring * n_rows).reshape(n_ring, n_rows)
    nxt = np.roll(index, -1, axis=0)
    a, b, c, d = index[:, :-1], nxt[:, :-1], nxt[:, 1:], index[:, 1:]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    vertices, faces = weld(rings.reshape(-1, 3), faces)
    if signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    return Surface(vertices, np.ascontiguousarray(faces, dtype=np.int64))


def build_forms(
    built: list[RightMuscle],
    bones: dict[str, Surface],
    nerve_channels: list[tuple[FloatArray, FloatArray, tuple[str, ...]]] = (),
) -> dict[str, Surface]:
    """Rest display surfaces of the right-side muscles, keyed by spec name ("piriformis", ...).

    Parameters
    ----------
    built : the right-side cages in build order (deep first), from :func:`build_right_side`.
    bones : bone surfaces (mm, pelvis frame) by structure name.
    nerve_channels : the nerve's course per branch (centreline (n, 3) mm, half width (n,) mm, muscles it
        pierces), from :func:`viewer.anatomy.nerve.nerve_channels`; kept free of muscle.

    Returns
    -------
    Closed, manifold, outward-wound surfaces (vertices (n, 3) mm, faces (m, 3) int64).
    """
    muscles = [m for m in built if not is_band(m)]
    sheets = np.concatenate([mid_sheet(m).reshape(-1, 3) for m in muscles])
    grid = lattice_grid(sheets)
    grid.mark_bones(bones)
    grid.keep_nerve_channel(list(nerve_channels))
    muscles = sorted(muscles, key=lambda m: m.spec.build_order)
    labels = {FIRST_MUSCLE_LABEL + offset: muscle.spec.name for offset, muscle in enumerate(muscles)}
    deeper: dict[str, SweptField] = {}
    for muscle in muscles:
        deeper[muscle.spec.name] = SweptField.of(grid, muscle, form_settings(muscle), deeper)
    fields = list(deeper.values())
    by_priority = sorted(
        zip(labels, fields, muscles, strict=True), key=lambda item: not form_settings(item[2])["core_first"]
    )
    seat_attachment_cores(grid, {label: field for label, field, _ in by_priority})
    for (label, field), muscle in zip(zip(labels, fields, strict=True), muscles, strict=True):
        claim(grid, muscle, field, label)
    close_clefts(grid.labels)
    covered = grid.distance_to(grid.labels > 0)  # the band lies over muscles and bone
    kept = kept_cores(grid, labels, deeper, muscles)
    kept_field = grid.distance_to(kept) if kept.any() else None
    attached = grid.bone_distance if kept_field is None else lowest_field(grid, grid.bone_distance, kept_field)
    bands = {}
    for band in (m for m in built if m not in muscles):
        settings = form_settings(band)
        half = settings["band_thickness_mm"] / 2
        sheet = fine_sheet(widened_sheet(smooth_sheet(mid_sheet(band), settings["sheet_smoothing"]), settings))
        clearance = half + BAND_CLEARANCE_MM
        ends = sheet[:, [0, -1]].reshape(-1, 3)  # attached on bone (or over a kept core), not sunk into it
        sheet[:, [0, -1]] = grid.lift(ends, np.full(len(ends), clearance), attached).reshape(-1, 2, 3)
        sheet = grid.drape(sheet, clearance, covered, settings["lift_fade_rows"], settings["lift_smoothing"])
        if kept_field is not None:  # over a kept core from its first row on, not faded in
            sheet = grid.drape(sheet, clearance, kept_field)
        bands[band.spec.name] = (settled_sheet(sheet, bones, settings, clearance), half)
    under = [label for label, muscle in zip(labels, muscles, strict=True) if form_settings(muscle)["under_band"]]
    for sheet, half in bands.values():  # the drape is smooth, the muscles under it are not: they give way
        make_room_for_band(grid, sheet, half + BAND_CLEARANCE_MM, under, kept, half)
    for label, muscle in zip(labels, muscles, strict=True):
        rounded_beside_nerve(grid, label, form_settings(muscle)["nerve_rim_mm"])
    remove_diagonal_contacts(grid.labels)
    surfaces = extract_surfaces(grid, labels, {m.spec.name: form_settings(m) for m in muscles})
    for name, (sheet, half) in bands.items():
        surfaces[name] = band_surface(sheet, half)
    return {m.spec.name: surfaces[m.spec.name] for m in built}


def rounded_beside_nerve(grid: LabelGrid, label: int, radius: float) -> None:
    """The muscle ``label``'s rims beside the nerve's channel rounded to ``radius`` mm (0: left alone).

    Within three radii of the fat round the nerve the muscle keeps only the voxels that a ball of that radius
    lying wholly in it covers (a morphological opening), so it gives up the sharp rims where its faces meet the
    channel and never takes a voxel: gluteus maximus, cut round the nerve where the nerve leaves its lower
    border, had a slot with sharp rims there that folded over when posed (179 degrees at flexion 90 with the
    knee at 90; 109 in external rotation with adduction at the rim of the channel in its deep face).
    """
    if radius <= 0 or not (grid.labels == NERVE_FAT_LABEL).any():
        return
    steps = int(np.ceil(radius / grid.spacing))
    reach = 3 * steps
    fat = np.argwhere(grid.labels == NERVE_FAT_LABEL)
    low, high = np.maximum(fat.min(axis=0) - reach - steps, 0), np.minimum(fat.max(axis=0) + reach + steps + 1, grid.shape)
    box = tuple(slice(a, b) for a, b in zip(low, high, strict=True))
    region = grid.labels[box]
    offsets = np.arange(-steps, steps + 1) * grid.spacing
    ball = np.add.outer(np.add.outer(offsets**2, offsets**2), offsets**2) <= radius * radius
    mine = region == label
    kept = ndimage.binary_opening(mine, structure=ball)
    near = ndimage.distance_transform_edt(region != NERVE_FAT_LABEL) <= reach
    region[mine & ~kept & near] = 0


def make_room_for_band(
    grid: LabelGrid,
    sheet: FloatArray,
    reach: float,
    labels: list[int],
    kept: np.ndarray | None = None,
    kept_reach: float = 0.0,
) -> None:
    """Free the voxels of the muscles ``labels`` within ``reach`` mm of a draped (columns, rows, 3) band sheet.

    The drape lifts the band over the muscles with its lift smoothed along the sheet, and its
    attachment rows stay on the bone: where a muscle bulges (gluteus medius under the band, its
    origin on the same iliac crest) the band would pass through it. Voxels of ``kept`` (a boolean
    mask over the grid: attachment cores the band is lifted over, see :func:`kept_cores`) stay unless
    they lie within ``kept_reach`` mm of the sheet (in the band itself, where it meets their bone).
    """
    points = dense_samples(sheet, grid.spacing / 2)[0]
    box = grid.box(points.min(axis=0) - reach, points.max(axis=0) + reach)
    distance = reach_field(grid, box, points, np.zeros(len(points)), np.ones(len(points)))
    region = grid.labels[box]
    free = (distance <= reach) & np.isin(region, labels)
    if kept is not None:
        free &= ~kept[box] | (distance <= kept_reach)
    region[free] = 0


def kept_cores(
    grid: LabelGrid, labels: dict[int, str], fields: dict[str, SweptField], muscles: list[RightMuscle]
) -> np.ndarray:
    """Boolean mask over the grid: the attachment cores of the muscles whose form says ``band_over_core``.

    The tensor fasciae latae arises from the anterior superior iliac spine and the outer lip of the crest,
    where the iliotibial band arises too: enclosed in the fascia lata, its origin stays on the bone and the
    band passes over it (given way to the band, its thin origin tendon was freed and it ended 31 mm short).
    """
    kept = np.zeros(grid.shape, bool)
    for (label, name), muscle in zip(labels.items(), muscles, strict=True):
        if form_settings(muscle)["band_over_core"]:
            box, core = fields[name].attachment_core(grid)
            kept[box] |= core & (grid.labels[box] == label)
    return kept


def lowest_field(grid: LabelGrid, *fields: tuple[FloatArray, FloatArray]) -> tuple[FloatArray, FloatArray]:
    """The distance to the nearest of several solids (the least of their distance ``fields``) and its gradient."""
    distance = np.minimum.reduce([field[0] for field in fields])
    return distance, np.stack(np.gradient(distance, grid.spacing))
