"""Build every muscle on the right side, deep to superficial, then mirror to the left.

Each muscle's fibres avoid the bones and every muscle built before it (its
build order comes from the data files), so layering is true by construction.
Thickness is scaled until the closed surface holds the reference volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.anatomy.bones import Surface
from viewer.anatomy.geometry import resample as resample_path
from viewer.anatomy.geometry import signed_volume
from viewer.anatomy.kinematics import SEGMENTS, segment_bones
from viewer.anatomy.muscles.derived_landmarks import bone_key, resolve
from viewer.anatomy.muscles.distance_field import DistanceGrid, distance_grid, union_distance
from viewer.anatomy.muscles.fibres import escape, initial_fibres, pinned_indices, push_out, relax, rounded_at_pins
from viewer.anatomy.muscles.sheet import box_faces, box_vertices, drawn_within, sheet_normals, thickness_profile
from viewer.anatomy.muscles.spec import Attachment, MuscleSpec
from viewer.types import FloatArray

RIGHT_BONES = tuple(bone for segment in SEGMENTS for bone in segment_bones(segment, "right"))  # pelvis outward
PELVIC_BONES = segment_bones("pelvis", "right")  # attachments on either are laid onto the nearer of the two
# Attachment points this near a bone are laid onto it (chords between landmarks cut through curved bone by
# up to about 10 mm); farther ones are off the atlas bones on purpose (coccyx, sacrotuberous ligament).
SNAP_REACH_MM = 12.0
SURFACE_LIFT_MM = 0.8  # attachment points sit just off the bone so the deep face never dips into it
MUSCLE_GRID_SPACING_MM = 2.0
VERTEX_CLEARANCE_MM = 1.0  # covers the distance grids' interpolation error
VIA_EASE_SAMPLES = 4  # samples either side of a tube's via pin over which its clearance eases and its corner rounds
MEMBRANE = 0.25  # across-fibre smoothing of sheets during relaxation (keeps them from folding)
# Passes that smooth a tube drawn alongside another muscle (Builder.drawn_alongside), each followed by a push out
# of the obstacles: the draw leaves a corner where it sets in (the inferior gemellus' centre line then turned 17 and
# 11 degrees at two samples near its origin; 5 and 6 after 10 passes, 4 after 30)
ALONGSIDE_PASSES = 20


@dataclass
class RightMuscle:
    """Right-side build result: the (u, s) grid state a re-pose starts from."""

    spec: MuscleSpec
    fibres: FloatArray  # (n_fibres, n_samples, 3)
    free: np.ndarray  # (n_samples,) False where the fibre is pinned
    thickness: FloatArray  # (n_fibres, n_samples) mm
    vertices: FloatArray
    faces: np.ndarray


class Builder:
    """Holds the obstacle fields while the muscles are built one after another."""

    def __init__(self, bones: dict[str, Surface], landmarks: dict[str, FloatArray]) -> None:
        self.landmarks = landmarks
        self.bone_grids = {
            name: distance_grid(bones[name].vertices, bones[name].faces) for name in RIGHT_BONES if name in bones
        }
        self.muscle_grids: list[DistanceGrid] = []
        self.built: dict[str, RightMuscle] = {}  # by data-file name, for ``alongside``

    def obstacle(self, points: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Distance (mm) and outward direction from bones and built muscles at ``points`` (..., 3): shapes (...) and
        (..., 3)."""
        grids = list(self.bone_grids.values()) + self.muscle_grids
        flat = points.reshape(-1, 3)
        distance, direction = union_distance(grids, flat)
        return distance.reshape(points.shape[:-1]), direction.reshape(points.shape)

    def attachment_points(self, attachment: Attachment, count: int, lift: float, snap: bool) -> FloatArray:
        """``count`` points (count, 3) along an attachment's landmark path, laid onto its bone when ``snap``,
        ``lift`` mm off it."""
        path = np.stack([self.landmarks[resolve(name, self.landmarks)] for name in attachment.landmarks])
        points = resample_path(path, count)
        grids = self.attachment_grids(attachment.bone)
        if snap:  # chords between landmarks cut through curved bone: bring them back onto the surface
            for _ in range(3):
                distance, direction = union_distance(grids, points)
                near = np.abs(distance) < SNAP_REACH_MM
                points[near] -= distance[near, None] * direction[near]
        return points + (attachment.offset_mm + lift) * union_distance(grids, points)[1]

    def attachment_grids(self, bone: str) -> list[DistanceGrid]:
        """Grids an attachment on ``bone`` is laid onto: both pelvic bones for either of them.

        An origin that runs from the ilium onto the sacrum and coccyx (gluteus maximus) must lie on
        whichever of the two is nearer, not be pulled across the sacroiliac joint onto the ilium.
        """
        key = bone_key(bone)
        if key in PELVIC_BONES:
            return [self.bone_grids[name] for name in PELVIC_BONES]
        return [self.bone_grids[key]]

    def build(self, spec: MuscleSpec) -> RightMuscle:
        """One right-side muscle from its spec: fibres relaxed between origin and insertion, then its cage."""
        n_u, n_s = spec.n_fibres, spec.n_samples
        minimum, shape = thickness_profile(n_u, n_s, spec.thickness)
        tube = spec.shape == "tube"
        lift = SURFACE_LIFT_MM + (minimum.max() / 2 if tube else 0.0)
        nodes = [self.attachment_points(spec.origin, n_u, lift, True)]
        nodes += [self.attachment_points(via, n_u, 0.0, False) for via in spec.via]
        nodes.append(self.attachment_points(spec.insertion, n_u, lift, True))
        stations = [0.0] + [via.at for via in spec.via] + [1.0]
        free = np.ones(n_s, bool)
        free[pinned_indices(stations, n_s)] = False
        vias = pinned_indices(stations[1:-1], n_s)
        fibres = initial_fibres(nodes, stations, n_s)
        direction = np.asarray(spec.escape_direction, float) if spec.escape_direction else None
        target = spec.thickness.get("target_volume_cm3")
        slab = spec.thickness.get("offset_direction")  # None: the top face along the sheet's normal
        scale = 0.0 if target is None else 10.0
        for round_ in range(3 if tube else 1):
            thickness = minimum + scale * shape
            clearance = spec.clearance_mm + (thickness / 2 if tube else 0.0)
            if tube:
                clearance = self.eased_to_pins(fibres, clearance, vias)
            if round_ == 0 and spec.approach_mm > 0:  # drape from outside: start clear and let tension pull it down
                fibres = fibres + spec.approach_mm * free[None, :, None] * direction / np.linalg.norm(direction)
            if round_ == 0:
                fibres = escape(fibres, free, self.obstacle, clearance, direction)
            iterations = (400 if spec.approach_mm > 0 else 60) if round_ == 0 else 25
            fibres = relax(
                fibres, free, self.obstacle, clearance, iterations=iterations, membrane=0.0 if tube else MEMBRANE
            )
            if target is not None:
                scale = self.calibrate(fibres, minimum, shape, tube, scale, target * 1000.0, slab)
        thickness = minimum + scale * shape
        if tube:
            clearance = self.eased_to_pins(fibres, spec.clearance_mm + thickness / 2, vias)
            if spec.alongside is not None:
                fibres = self.drawn_alongside(spec, fibres, free, clearance)
            fibres = push_out(rounded_at_pins(fibres, vias, VIA_EASE_SAMPLES), free, self.obstacle, clearance)
            if target is not None:  # pushed out of its neighbours a tube's cross-sections spread: recalibrate
                scale = self.calibrate(fibres, minimum, shape, tube, scale, target * 1000.0, slab)
                thickness = minimum + scale * shape
        vertices, faces = self.surface(fibres, thickness, tube, slab)
        extent = np.prod(vertices.max(axis=0) - vertices.min(axis=0))
        spacing = 1.0 if extent < 1.5e6 else MUSCLE_GRID_SPACING_MM  # thin tendons need the finer grid
        self.muscle_grids.append(distance_grid(vertices, faces, spacing, margin=12.0))
        self.built[spec.name] = RightMuscle(spec, fibres, free, thickness, vertices, faces)
        return self.built[spec.name]

    def drawn_alongside(self, spec: MuscleSpec, fibres: FloatArray, free: np.ndarray, clearance: FloatArray) -> FloatArray:
        """A tube's relaxed fibres drawn to within ``spec.alongside["gap_mm"]`` of an earlier muscle's centre line.

        Relaxed, a tube is a taut chord between its attachments. The inferior gemellus' chord, from the outer
        surface of the ischial tuberosity to the trochanteric fossa, ran free in space behind and below the
        obturator internus tendon (its centre line 20 mm from the tendon's, 14 mm from both the tendon's cage
        and the bone) while the gemellus lies along the tendon's lower border; its display form, drawn to the
        tendon (``form.alongside``), then lay 11 mm off the cage it is posed with. Its cross-sections are drawn
        here (each moved as a whole by its centre's draw, on its own side of the partner's centre line), then
        smoothed along the fibres (:data:`ALONGSIDE_PASSES`, pins held) and pushed out of the bones and earlier
        muscles (so out of the partner's cage too) after each pass.

        Parameters
        ----------
        spec : MuscleSpec
            The tube's spec; ``spec.alongside`` names the partner (built earlier) and the gap (mm).
        fibres : (n_u, n_s, 3) float array
            The relaxed fibres, mm.
        free : (n_s,) bool array
            False at pinned samples.
        clearance : (n_u, n_s) float array
            Distance (mm) each sample keeps from the obstacles.

        Returns
        -------
        (n_u, n_s, 3) float array
            The drawn fibres.
        """
        centre = self.built[spec.alongside["muscle"]].fibres.mean(axis=0)  # built earlier (load_muscle_specs)
        line = resample_path(centre, 20 * len(centre))
        middle = fibres.mean(axis=0)  # each cross-section moves as a whole: drawn point by point the sheet
        # narrowed, and the volume then made it a slab twice as thick (22 mm), pressing on quadratus femoris
        shift = drawn_within(middle, line, spec.alongside["gap_mm"]) - middle
        fibres = fibres + free[None, :, None] * shift[None]
        for _ in range(ALONGSIDE_PASSES):
            fibres = push_out(fibres, free, self.obstacle, clearance)
            smoothed = fibres.copy()
            smoothed[:, 1:-1] = 0.5 * fibres[:, 1:-1] + 0.25 * (fibres[:, :-2] + fibres[:, 2:])
            fibres = np.where(free[None, :, None], smoothed, fibres)
        return fibres

    def eased_to_pins(self, fibres: FloatArray, clearance: FloatArray, pins: np.ndarray) -> FloatArray:
        """A tube's clearance eased down to its via pins' own distance from the obstacles.

        A via point lies on the bone's edge the path bends over (piriformis: 6 mm off the edge of the greater
        sciatic notch, where the line models put it and where its pin keeps it a lateral rotator up to about 56
        degrees of hip flexion), nearer than the tube's half thickness. Pushed out to the full clearance beside
        it, the samples either side left the pin in a dip 6 mm deep and 8 mm wide: piriformis' centre line
        turned 101 and 49 degrees at the notch (its middle fibres 124-130), and its form showed a waist and a
        bulge there. Over :data:`VIA_EASE_SAMPLES` either side the clearance comes down smoothly to the pin's,
        so the path bends once, at the pin, by the angle between its two runs (64 degrees for piriformis), a
        corner :func:`~viewer.anatomy.muscles.fibres.rounded_at_pins` then rounds over the same samples (15, 34
        and 16 degrees; lifted clear of the bone instead, the pin moved 19 mm out of the notch and piriformis
        stayed a lateral rotator up to 61.7 degrees of flexion).

        Parameters
        ----------
        fibres : (n_u, n_s, 3) float array
            The fibre samples, mm.
        clearance : float array broadcastable to (n_u, n_s)
            Distance (mm) each sample keeps from the obstacles.
        pins : (k,) int array
            Sample index of each via point.

        Returns
        -------
        (n_u, n_s) float array
            The eased clearance, mm.
        """
        clearance = np.array(np.broadcast_to(clearance, fibres.shape[:2]), float)
        samples = np.arange(fibres.shape[1])
        for pin in pins:
            reach = np.clip(np.abs(samples - pin) / VIA_EASE_SAMPLES, 0.0, 1.0)
            ease = reach * reach * (3 - 2 * reach)
            pinned = np.minimum(self.obstacle(fibres[:, pin])[0], clearance[:, pin])[:, None]
            clearance = np.minimum(clearance, pinned + ease[None, :] * (clearance - pinned))
        return clearance

    def clear_vertices(self, vertices: FloatArray) -> FloatArray:
        """Offset faces can graze a neighbour where the sheet bends: nudge those vertices back out."""
        for _ in range(3):
            distance, outward = self.obstacle(vertices)
            depth = np.clip(VERTEX_CLEARANCE_MM - distance, 0, None)
            if not depth.any():
                break
            vertices = vertices + depth[:, None] * outward
        return vertices

    def calibrate(self, fibres, minimum, shape, tube, scale, target_mm3, slab=None) -> float:
        """Thickness scale giving the target volume (volume is close to linear in the scale)."""
        for _ in range(3):
            base = signed_volume(*self.surface(fibres, minimum, tube, slab))
            probe = max(scale, 5.0)
            per_unit = (signed_volume(*self.surface(fibres, minimum + probe * shape, tube, slab)) - base) / probe
            scale = max((target_mm3 - base) / max(per_unit, 1e-6), 0.0)
        return scale

    def surface(
        self, fibres: FloatArray, thickness: FloatArray, tube: bool, slab: list[float] | None = None
    ) -> tuple[FloatArray, np.ndarray]:
        """Closed box mesh around the fibre sheet, faces wound outward.

        With ``slab`` (a direction, right side) every sample is offset that way instead of along the sheet's
        normal: the top face is the deep face moved, so faces and fibres stay parallel (an even slab; offset
        along the normals of a sheet curving at its attachment the top face converges and folds).
        """
        normals = sheet_normals(fibres)
        if slab is not None:
            normals = np.broadcast_to(np.asarray(slab, float) / np.linalg.norm(slab), normals.shape)
        _, outward = self.obstacle(fibres)
        if np.einsum("ijk,ijk->", normals, outward) < 0:
            normals = -normals
        offset = normals * thickness[..., None]
        lower, upper = (fibres - offset / 2, fibres + offset / 2) if tube else (fibres, fibres + offset)
        if tube:  # lift whole cross-sections off what lies beneath, so the faces never cross each other
            shift = self.clear_vertices(lower.reshape(-1, 3)).reshape(lower.shape) - lower
            lower, upper = lower + shift, upper + shift
        vertices = self.clear_vertices(box_vertices(lower, upper))
        faces = box_faces(*fibres.shape[:2])
        if signed_volume(vertices, faces) < 0:
            faces = faces[:, ::-1].copy()
        return vertices, faces


def build_right_side(
    specs: list[MuscleSpec], bones: dict[str, Surface], landmarks: dict[str, FloatArray]
) -> list[RightMuscle]:
    """All muscles of the right side, in build order."""
    builder = Builder(bones, landmarks)
    return [builder.build(spec) for spec in sorted(specs, key=lambda s: s.build_order)]
