"""Narrow taut tubes posed as rods: rigid cross-sections turned smoothly along a relaxed centre line.

The gemelli are taut paths (see :mod:`viewer.anatomy.muscles.posing`) whose fibre sheets are only a few
millimetres wide, while their display forms are round bellies a centimetre and more across, bound to the
sheet by a map continued far beyond it. Pushed out of the bones sample by sample, neighbouring fibres of
such a sheet overtook each other, the sheet folded over (area elements turned against the normal along up
to half of a fibre) and the forms bound to it creased into fins (5-15% of their edges bending over 40
degrees at the therapist positions). Posed as a rod instead, every cross-section of the sheet (its fibre
samples and, in the poser, both faces' offsets) is the rest cross-section turned as a whole:

- centred on the relaxed path's centre line, the sections kept at the rest shares of its arc length between
  pins (so the belly stretches or shortens evenly, not just where the path slid, and a via point, piriformis'
  edge of the greater sciatic notch, keeps its section);
- turned by the rotation from the rest frame to the posed frame of the centre line (along it, and the rest
  sheet normal carried with the segments squared to it);
- at each attachment, by that bone's rotation plus a hinge about the attachment line (the line of pinned
  samples, which the hinge keeps in place) that turns the section after the path; the ends' rotations are
  blended in over END_SHARE of the fibre;
- the rotations then smoothed along the rod (ROTATION_SMOOTHING passes, ends held): a form lies up to a
  centimetre off the centre line, where a section turning a few degrees more than its neighbour moves it a
  millimetre against them.

Bound by section (:func:`viewer.anatomy.muscles.binding.section_matrix`), a form then follows as a smoothly
bent rod; each form vertex's place along the rod is averaged over the form's mesh first (PLACE_PASSES,
:func:`viewer.anatomy.muscles.binding.rod_places`), so neighbouring vertices take the maps of neighbouring sections
even where the cage bends sharply. Geometry only, numpy and scipy.

Piriformis is a rod too (its sheet folded where its path bends over the edge of the greater sciatic notch and
twisted on to the trochanter: 1.0-4.3% of its form's edges creased, single edges folding 163-180 degrees). Its
path has a via point there, so a rod runs in pieces between pins; a piece between two pins on the pelvis (from
the sacrum to the notch) keeps its rest sections (``fixed``: not turned, not lifted, held when the rotations
are smoothed), and the poser thickens a rod as a whole (per piece, piriformis stepped at the notch).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.spatial.transform import Rotation

from viewer.anatomy.geometry import arc_length, cross, length
from viewer.types import FloatArray, IntArray

RODS = ("superior_gemellus", "inferior_gemellus", "piriformis")  # muscles posed as rods (by data-file name)
END_SHARE = 0.1  # share of the fibre from each attachment over which the attachment's rotation is blended in
ROTATION_SMOOTHING = 100  # passes of neighbour averaging of the sections' rotations along the rod
SECTION_REACH = 2  # a rod's form is bound to affine maps each fitted over this many sections either way
# Taubin passes smoothing a rod's bound displacements (binding.SMOOTHING_PASSES elsewhere): none. With 4, 8, 16 or
# 32 (16 until muscle-forms-33) the rounded tendon ends and belly creased at a few percent of their edges while the
# places along the rod were the nearest cells'; with the places averaged over the form (PLACE_PASSES) the bare
# section maps are already smooth along the form, and the smoothed, pruned weights sheared the tendon tips instead
# (their edges stretched 0.6-1.7 times at flexion 90 with the knee at 90): single edges folded 115 degrees at
# piriformis' tip on the trochanter and 91 at the superior gemellus' (prone, knee 90, internal rotation) with 16
# passes, 111 and 89 with 2, 69 and 70 with none (baked table of 0796fa5, bench_posed_forms.py)
BINDING_PASSES = 0
# passes averaging each form vertex's place along the rod over the form's mesh (binding.rod_places): bound to its
# nearest cage cell, piriformis' form at the bend of its cage over the greater sciatic notch took maps up to six
# sections apart on neighbouring vertices and folded single edges 169-179 degrees in external rotation with
# adduction and at 90/45/45 (0 passes; 20: 172 and 77; 60: 90 and 68; 100: 79 and 57; 200: 72 and 58, but the
# superior gemellus' tip then folded 157 degrees at flexion 90)
PLACE_PASSES = 100
FORM_CLEARANCE_MM = 0.5  # a rod's form is lifted this far out of the bones (sections shifted, see Rod.lifted)
LIFT_SPREAD = 15  # passes spreading a section's lift along the rod (2: the lifted forms creased more)
LIFT_STEPS = 3  # lift and look again


def centre_frames(centre: FloatArray, normal: FloatArray) -> FloatArray:
    """Frames (n_s, 3, 3), rows along / across / normal, of a centre line (n_s, 3) with rough normals (n_s, 3)."""
    along = np.gradient(centre, axis=0)
    along /= length(along)[:, None] + 1e-12
    normal = normal - np.einsum("ij,ij->i", normal, along)[:, None] * along
    normal /= length(normal)[:, None] + 1e-12
    return np.stack([along, cross(normal, along), normal], axis=1)


def smooth_rotations(rotations: Rotation, passes: int, held: FloatArray | None = None) -> Rotation:
    """Rotations along a line averaged with their neighbours ``passes`` times (quaternions), the two ends held.

    ``held`` (n,) bool marks further rotations kept as they are.
    """
    quaternions = rotations.as_quat()
    for k in range(1, len(quaternions)):  # one hemisphere, so neighbours average instead of cancelling
        if quaternions[k] @ quaternions[k - 1] < 0:
            quaternions[k] = -quaternions[k]
    kept = quaternions.copy()
    for _ in range(passes):
        quaternions[1:-1] = 2.0 * quaternions[1:-1] + quaternions[:-2] + quaternions[2:]
        quaternions /= np.linalg.norm(quaternions, axis=1)[:, None]
        if held is not None:
            quaternions[held] = kept[held]
    return Rotation.from_quat(quaternions)


def hinged(bone: Rotation, axis: FloatArray, rest_along: FloatArray, along: FloatArray) -> Rotation:
    """A bone's rotation followed by the turn about its attachment line that best points the section along the path.

    ``axis`` and ``rest_along`` are rest directions (3,) at the attachment (the line of pinned samples and the
    path); ``along`` the posed path direction.
    """
    axis, carried = bone.apply(axis), bone.apply(rest_along)
    carried = carried - (carried @ axis) * axis
    along = along - (along @ axis) * axis
    angle = np.arctan2(axis @ np.cross(carried, along), carried @ along)
    return Rotation.from_rotvec(angle * axis) * bone


@dataclass
class Rod:
    """One muscle posed as a rod (see the module docstring).

    Attributes
    ----------
    grid : (n_u, n_s) int array
        Rows of its fibre samples in the poser's concatenated arrays.
    offsets : (n_u, n_s, 3) float array
        Rest samples less their section's centre.
    frames : (n_s, 3, 3) float array
        Rest frames of the centre line (rows along / across / normal).
    arc : (n_s,) float array
        Rest share of the centre line's arc length at each section, within its piece between two pins.
    stations : (k,) int array
        Sections pinned to bone (origin, via points, insertion): the pieces' ends, first 0 and last n_s - 1.
    hinges : (2, 3) float array
        Rest directions of the origin and insertion lines (first to last fibre).
    ends : (2,) int array
        Index of the bone carrying the origin and the insertion (the poser's segment matrices).
    blend : (n_s,) float array
        Weight of the nearer attachment's rotation at each section (1 at the ends).
    """

    grid: IntArray
    offsets: FloatArray
    frames: FloatArray
    arc: FloatArray
    stations: IntArray
    hinges: FloatArray
    ends: IntArray
    blend: FloatArray
    muscle: object = None  # its MuscleGeometry (rest cage, form and binding), for lifting the form out of bone
    rest_depth: FloatArray | None = None  # (n_form,) how far each form vertex lay within FORM_CLEARANCE_MM of bone at rest
    fixed: FloatArray | None = None  # (n_s,) bool: sections of a piece between two pins on the pelvis, rigid with it

    @classmethod
    def at_rest(
        cls,
        grid: IntArray,
        points: FloatArray,
        normals: FloatArray,
        ends: IntArray,
        muscle: object = None,
        stations: IntArray | None = None,
    ) -> Rod:
        """The rod of the samples ``grid`` (n_u, n_s) of rest ``points`` and sheet ``normals`` (n, 3).

        ``stations`` are the pinned sections (default: the two ends), ``ends`` the bones of the first and last.
        """
        centre = points[grid].mean(axis=0)
        stations = np.array([0, grid.shape[1] - 1] if stations is None else stations, int)
        arc = np.zeros(grid.shape[1])
        for start, stop in pairwise(stations):
            piece = arc_length(centre[start : stop + 1])
            arc[start : stop + 1] = piece / max(piece[-1], 1e-12)
        fraction = np.linspace(0.0, 1.0, grid.shape[1])
        hinges = points[grid[-1, [0, -1]]] - points[grid[0, [0, -1]]]
        return cls(
            grid=grid,
            offsets=points[grid] - centre,
            frames=centre_frames(centre, normals[grid].mean(axis=0)),
            arc=arc,
            stations=stations,
            hinges=hinges / (length(hinges)[:, None] + 1e-12),
            ends=np.asarray(ends),
            blend=0.5 + 0.5 * np.cos(np.pi * np.clip(np.minimum(fraction, 1.0 - fraction) / END_SHARE, 0.0, 1.0)),
            muscle=muscle,
        )

    def centre_line(self, relaxed: FloatArray, normals: FloatArray) -> FloatArray:
        """The posed centre line (n_s, 3) from the relaxed one (n_s, 3): the sections at the rest shares of its arc.

        ``normals`` (n_s, 3) are the sections' rough normals (the rest sheet normals carried with the segments).
        """
        centre = relaxed.copy()
        for start, stop in pairwise(self.stations):  # piece by piece between the pins
            piece = relaxed[start : stop + 1]
            arc = arc_length(piece)
            centre[start : stop + 1] = np.column_stack(
                [np.interp(self.arc[start : stop + 1] * arc[-1], arc, piece[:, k]) for k in range(3)]
            )
        return centre

    def pose(self, points: FloatArray, normals: FloatArray, bones: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Rigid sections (n_u, n_s, 3) and their rotations (n_s, 3, 3) from relaxed ``points`` (n, 3).

        ``normals`` (n, 3) are the rest sheet normals carried with the segments, ``bones`` (k, 3, 3) the
        rotations the ``ends`` index.
        """
        centre = self.centre_line(points[self.grid].mean(axis=0), normals[self.grid].mean(axis=0))
        frames = centre_frames(centre, normals[self.grid].mean(axis=0))
        turns = Rotation.from_matrix(np.einsum("sji,sjk->sik", frames, self.frames))
        count = len(centre)
        attachments = [
            hinged(Rotation.from_matrix(bones[self.ends[k]]), self.hinges[k], self.frames[s, 0], frames[s, 0])
            for k, s in enumerate((0, count - 1))
        ]
        nearer = Rotation.concatenate([attachments[0 if s < count / 2 else 1] for s in range(count)])
        towards = (turns.inv() * nearer).as_rotvec() * self.blend[:, None]
        rotations = turns * Rotation.from_rotvec(towards)
        if self.fixed is not None:  # the pelvis is the poser's frame: its pieces keep their rest sections
            rotvecs = rotations.as_rotvec()
            rotvecs[self.fixed] = 0.0
            rotations = Rotation.from_rotvec(rotvecs)
        rotations = smooth_rotations(rotations, ROTATION_SMOOTHING, self.fixed).as_matrix()
        return centre + np.einsum("sij,usj->usi", rotations, self.section_offsets(centre)), rotations

    def section_offsets(self, centre: FloatArray) -> FloatArray:
        """The samples (n_u, n_s, 3) less their section's centre, before turning, on the posed ``centre`` (n_s, 3)."""
        return self.offsets

    def lifted(self, cage: FloatArray, nearest_bone) -> FloatArray:
        """Shifts (n_s, 3) of the sections that lift the form bound to the posed ``cage`` (2 n_u n_s, 3) off the bones.

        The form lies up to a centimetre beyond the cage, so a cage clear of the bones does not keep it clear
        (a rigid section turned where the path wraps the ischium sank a tenth of the gemelli's forms 2 mm and
        more into it in external rotation with adduction). Where the rest form already lay on a bone
        (``rest_depth``: piriformis on the sacrum and in the greater sciatic notch) only the part sunk deeper than
        at rest counts, or the lift, spread along the rod, would bend its sections where nothing moved (piriformis
        at flexion 90, abduction 45, rotation 45: 0.9% of its edges creased against 0.5%). Each section is moved
        along the mean outward direction by the depth of the deepest form vertex near it, the shifts spread along the rod and faded
        out towards the pinned attachments. ``nearest_bone(points)`` gives the distance (mm, negative inside)
        and outward unit direction of the nearest bone.
        """
        muscle = self.muscle
        form = muscle.binding.posed(muscle.form.vertices, muscle.vertices, cage)
        distance, outward = nearest_bone(form)
        depth = np.maximum(FORM_CLEARANCE_MM - distance, 0.0)
        if self.rest_depth is not None:  # only what sank deeper than at rest
            depth = np.maximum(depth - self.rest_depth, 0.0)
        count = self.grid.shape[1]
        shifts = np.zeros((count, 3))
        if not depth.any():
            return shifts
        section = np.rint(muscle.binding.fibre_uv[:, 1] * (count - 1)).astype(int)
        deepest = np.zeros(count)
        np.maximum.at(deepest, section, depth)
        np.add.at(shifts, section, depth[:, None] * outward)
        shifts *= (deepest / (length(shifts) + 1e-12))[:, None]
        for _ in range(LIFT_SPREAD):
            shifts[1:-1] = 0.5 * shifts[1:-1] + 0.25 * (shifts[:-2] + shifts[2:])
        shifts *= (1.0 - self.blend)[:, None]
        if self.fixed is not None:
            shifts[self.fixed] = 0.0
        return shifts
