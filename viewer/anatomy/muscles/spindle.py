"""The tensor fasciae latae posed as a spindle rod: its belly bent smoothly from the hip bone onto the thigh.

The tensor is a spindle in a fascial sheath, from the anterior superior iliac spine to the iliotibial band a
third of the way down the thigh. Handed from the pelvis to the thigh by level (``posing.FASCIA_RIDE_LEVELS``),
its samples above the hip's axis swung back at 90 degrees of flexion up to 50 mm behind the spine and its
cage folded into a hairpin: a blade above the belly, 6-16% of the form's edges bending over 40 degrees.

Posed as a rod instead (:class:`~viewer.anatomy.muscles.rods.Rod`: rigid rest cross-sections turned smoothly
along a centre line, hinged at the attachments), its centre line is:

- a cubic from the origin, leaving the hip bone in its rest direction, to the insertion on the thigh (where
  the relaxed path puts it), arriving in the direction of the path's last piece there, its end tangents
  TANGENT_SCALE of the chord; the rest centre line's own departure from the cubic drawn the same way at rest
  is added back (shrunk with the chord), so at rest the curve is the rest centre line;
- bowed out along the sections' mean normal (a sine from end to end) where the cubic would be shorter than
  MIN_LENGTH of the rest centre line: at 120 degrees of flexion with abduction and rotation the ends come within
  a third of their rest distance, and the sections, a third of their rest spacing apart, turned past each other
  and folded the cage (0.78 of its volume; 0.99 bowed). But the fascia lata holds the belly to the hip: bowed
  out wherever it came under half its rest length, it stood up to 28 mm off its chord at flexion 90 with
  abduction and rotation 45 and 37-40 mm at flexion 120, through both skins (33 mm out of the female skin with
  the correctives of the tensor handed over by level, 1465 of its vertices outside with the correctives rebuilt
  over it). Only a centre line under MIN_LENGTH, past the pose grid, is bowed now;
- with its sections where the belly takes the shortening and the part that ends in the band on the thigh half
  as much (``shares``), so that part keeps to the thigh (the rest shares, shortening evenly: up to 21 mm up the
  thigh at flexion 90, 15 allowed; the belly squeezed more creases a little more, 1.4% at flexion 90 against
  1.2%).

A squeezed section (rest over posed spacing of the sections, spread along the rod) is shortened along the rod
by its squeeze (the sections are oblique, the origin running along the crest: kept whole, they overlapped
their neighbours and sheared the sheet flat) and swells mostly across the rod, little in thickness
(``WIDENING``), which holds its volume: flattened in its sheath, the tensor spreads over the hip rather than
standing out of it. Thickened alone, the belly stood twice as thick as wide at 90 degrees of flexion and creased
more; swollen by the square root of the squeeze both ways, and thickened again by the poser's volume hold (1.5
times), it stood out of the skin too. The poser's volume hold leaves a spindle alone: the poser widens it further
across (``gain``, ``posing.SPINDLE_HOLD_STEPS``) until its form holds its volume. Swollen all across (``WIDENING``
1), its hind border swung 14 mm behind the origin at flexion 90 with abduction and rotation 45 (10 allowed; 0.75:
8.3).

What creases a squeezed form is its own fine relief squeezed along: the rest form squeezed uniformly along the rod
(swollen across and in thickness to keep its volume) bends 0.7-1.1% of its edges over 40 degrees squeezed 2 times
and 2.1-2.8% 3 times, the less the more of the swelling goes into thickness. The belly is squeezed 2.1 times at
flexion 90 with the knee at 90 and 2.5 times at flexion 90 with abduction and rotation 45 (3.2 before SHORTEST).
That relief is taken off the rest form where it is coarse (rings 20-30 mm apart along the belly: the form's
surface_smoothing, muscle-forms-33) and flattened as the form is squeezed where it is fine
(:class:`~viewer.anatomy.muscles.forms_posing.SquashedRelief`), leaving what the pose space stores, the rod's
sections, as it was: 1.02 / 2.94% -> 0.59 / 0.75% of the form creased at those two poses (baked).

The form is bound by the cage's blended local affine maps, as the gluteal fans' are (bound by section like the
gemelli, its compressed belly rippled at every section: 3.4% of its edges bending over 40 degrees at flexion 90 with
the knee at 90, against 1.4% by cell; by cell, 4.5% at flexion 90 with abduction and rotation 45, against 3.2%). Leaving
the origin towards the chord (rather than in the rest direction, 0.6 of the way) creased it a little less at
flexion 90 with abduction and rotation 45 (2.7%) but slid its lower part 16.8 mm off the thigh at flexion 90 (15
allowed).
Geometry only, numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.anatomy.geometry import arc_length
from viewer.anatomy.muscles.rods import Rod
from viewer.types import FloatArray, IntArray

# Muscles posed as spindle rods (by data-file name). Before the tensor was posed so (handed over by level, see the
# module docstring) 6.0% / 8.0% / 10.0% of its form's edges bent over 40 degrees at flexion 90 with the knee at 90, in
# the frog position and at flexion 90 with abduction and rotation 45.
SPINDLES: tuple[str, ...] = ("tensor_fasciae_latae",)
# The cubic's end tangents, in chords: 1.0 leaves a longer centre line to squeeze into and keeps the part on the
# thigh closer to it (bound by blended maps and the belly shortened to half at most, 0.8: 1.06% of the form creased
# at flexion 90 knee 90, its part on the thigh 14.7 mm off where the thigh carries it; 1.0: 0.96%, 13.0 mm).
TANGENT_SCALE = 1.0
MIN_LENGTH = 0.3  # a centre line shorter than this share of the rest one is bowed out to it (0.5: see above)
BOW_STEPS = 16  # bisections of the bow's height
CURVE_SAMPLES = 64  # points of the cubic measured for its arc length
# Where a shortened rod shortens: fully over the belly, fading from the first to the second fraction of its length
# to END_SHORTENS of that towards the insertion; no piece by more than SHORTEST of its rest length before the rest
# is spread evenly. A muscle fibre shortens to about half its rest length at most (its sarcomeres from about 2.7 to
# 1.3-1.5 micrometres): with the belly let shorten to a fifth (0.8), at flexion 90 with abduction and rotation 45 it
# was squeezed 3.2 times, 3.3% of the form's edges bent over 40 degrees and its hind border swung 12.3 mm behind
# the origin; at half, 2.7% and 9.3 mm (the part on the thigh rides up it 22 mm rather than 19). Flexion 90 with the
# knee at 90 (the belly at 0.52) is left as it was.
BELLY_SHORTENS = (0.5, 0.85)
END_SHORTENS = 0.5
SHORTEST = 0.5
SQUEEZE_SPREAD = 20  # passes spreading each section's squeeze along the rod
# A squeezed section swells by its squeeze to this power across the rod, the rest in thickness. 0.5: the square root
# both ways stood out of the skin (thickened again by the forms' hold; held by widening, 134 vertices out of the
# female skin at 100/20/20); 1.0: the hind border 14 mm behind the origin; 0.75: 1.14% of the form creased at
# flexion 90 knee 90; 0.6: 1.06% (0.96% with TANGENT_SCALE 1.0, its hind border 8.0 mm behind the origin at 90/45/45).
WIDENING = 0.6


def _hermite(start: FloatArray, end: FloatArray, leave: FloatArray, arrive: FloatArray, t: FloatArray) -> FloatArray:
    """Cubic Hermite curve (n, 3) at parameters ``t`` (n,) from ``start`` to ``end`` (3,); the unit tangents
    ``leave`` and ``arrive`` (3,) are scaled by the chord."""
    chord = TANGENT_SCALE * float(np.linalg.norm(end - start))
    t = t[:, None]
    t2, t3 = t * t, t * t * t
    return (
        (2 * t3 - 3 * t2 + 1) * start
        + (t3 - 2 * t2 + t) * chord * leave
        + (-2 * t3 + 3 * t2) * end
        + (t3 - t2) * chord * arrive
    )


def _unit(vector: FloatArray) -> FloatArray:
    return vector / (float(np.linalg.norm(vector)) + 1e-12)


@dataclass
class SpindleRod(Rod):
    """A rod whose centre line is a cubic from the hip bone onto the thigh (see the module docstring).

    Attributes (besides :class:`Rod`'s)
    ----------
    rest_centre : (n_s, 3) float array
        The rest centre line.
    residual : (n_s, 3) float array
        The rest centre line less the cubic drawn the same way at rest.
    """

    rest_centre: FloatArray | None = None
    residual: FloatArray | None = None
    rest_length: float = 0.0
    gain: float = 1.0  # further widening across the rod at the current pose, which holds the form's volume

    @classmethod
    def spindle_at_rest(
        cls, grid: IntArray, points: FloatArray, normals: FloatArray, ends: IntArray, muscle: object = None
    ) -> SpindleRod:
        """The spindle rod of the samples ``grid`` (n_u, n_s) of rest ``points`` and sheet ``normals`` (n, 3)."""
        rod = cls.at_rest(grid, points, normals, ends, muscle)
        rod.rest_centre = points[grid].mean(axis=0)
        rod.residual = np.zeros_like(rod.rest_centre)
        rod.rest_length = float(arc_length(rod.rest_centre)[-1])
        rod.residual = rod.rest_centre - rod.centre_line(rod.rest_centre, rod.frames[:, 2])
        return rod

    def centre_line(self, relaxed: FloatArray, normals: FloatArray) -> FloatArray:
        """The cubic (n_s, 3) between the relaxed centre line's (n_s, 3) ends, at the rest shares of its arc length,
        the rest residual added; bowed out along the sections' mean normal (``normals`` (n_s, 3)) where it would be
        shorter than MIN_LENGTH of the rest centre line."""
        start, end = relaxed[0], relaxed[-1]
        arrive = _unit(end - relaxed[-2])
        leave = _unit(self.rest_centre[1] - self.rest_centre[0])  # the origin rides the pelvis
        t = np.linspace(0.0, 1.0, CURVE_SAMPLES)
        curve = _hermite(start, end, leave, arrive, t)
        outward = normals.mean(axis=0)
        outward = _unit(outward - (outward @ _unit(end - start)) * _unit(end - start))
        bump = np.sin(np.pi * t)[:, None] * outward
        wanted = MIN_LENGTH * self.rest_length
        height = 0.0
        if arc_length(curve)[-1] < wanted:  # bisect the bow's height
            low, high = 0.0, wanted
            for _ in range(BOW_STEPS):
                height = 0.5 * (low + high)
                low, high = (height, high) if arc_length(curve + height * bump)[-1] < wanted else (low, height)
        arc = arc_length(curve + height * bump)
        at = np.interp(self.shares(arc[-1]) * arc[-1], arc, t)
        shrink = min(
            float(np.linalg.norm(end - start) / np.linalg.norm(self.rest_centre[-1] - self.rest_centre[0])), 1.0
        )
        bowed = _hermite(start, end, leave, arrive, at) + height * np.sin(np.pi * at)[:, None] * outward
        return bowed + shrink * self.residual

    def shares(self, posed_length: float) -> FloatArray:
        """Shares (n_s,) of a posed centre line's arc length (mm) at the sections: the rest shares where it is not
        shorter than at rest; shortened, the belly shortens most and the part that ends in the band least, so the
        lower part keeps its place on the thigh (see the module docstring)."""
        if posed_length >= self.rest_length:
            return self.arc
        pieces = np.diff(self.arc) * self.rest_length
        middle = 0.5 * (self.arc[1:] + self.arc[:-1])
        fade = np.clip((middle - BELLY_SHORTENS[0]) / (BELLY_SHORTENS[1] - BELLY_SHORTENS[0]), 0.0, 1.0)
        weight = 1.0 - (1.0 - END_SHORTENS) * fade * fade * (3.0 - 2.0 * fade)
        share = min((self.rest_length - posed_length) / float(weight @ pieces), SHORTEST)
        pieces = pieces * (1.0 - share * weight)
        return np.concatenate([[0.0], np.cumsum(pieces)]) / pieces.sum()

    def squeeze(self, centre: FloatArray) -> FloatArray:
        """How much each section (n_s,) is squeezed on a posed centre line (n_s, 3): its rest spacing over its posed
        spacing, spread along the rod (a section squeezed between its neighbours swells with them)."""
        rest, posed = (np.gradient(arc_length(line)) for line in (self.rest_centre, centre))
        ratio = rest / np.maximum(posed, 1e-6)
        for _ in range(SQUEEZE_SPREAD):
            ratio[1:-1] = 0.5 * ratio[1:-1] + 0.25 * (ratio[:-2] + ratio[2:])
        return ratio

    def thickening(self, centre: FloatArray) -> FloatArray:
        """How much each section (n_s,) thickens on a posed centre line (n_s, 3): what its widening leaves of the
        swelling that holds its volume."""
        return self.squeeze(centre) ** (1.0 - WIDENING)

    def section_offsets(self, centre: FloatArray) -> FloatArray:
        """The rest samples less their section's centre (n_u, n_s, 3), as squeezed on the posed ``centre`` (n_s, 3):
        shortened along the rod with it and swollen across it, less so towards the insertion (``blend``), whose
        line of samples stays where the thigh carries it (squeezed there too, the insertion left the femur by up to
        18.6 mm at 120 degrees of flexion, 15 allowed). The sections at the origin are squeezed as the centre
        line's spacing there is, as the belly next to them: spared like the insertion's, their whole length along
        the crest kept while the sections beside them were squeezed to half of theirs, the upper border folded
        there (single edges of the form bending up to 170 degrees at flexion 90 with the knee at 90, 114 now;
        0.68% of the form creased, 0.55% now, less its loose island over the origin, which creases a little more).

        The sections are oblique (the origin runs along the crest): kept whole along the rod while their spacing
        halved, they overlapped their neighbours and the sheet sheared flat (its area, and so the volume hold's
        estimate, gone where the belly shortened most).
        """
        spared = np.where(np.arange(len(self.blend)) < len(self.blend) / 2, 0.0, self.blend)  # the insertion
        squeeze = (self.squeeze(centre) ** (1.0 - spared))[None, :, None]
        along = self.frames[:, 0]  # (n_s, 3) rest direction along each section
        part = np.einsum("usk,sk->us", self.offsets, along)[..., None] * along[None]
        return part / squeeze + (self.offsets - part) * squeeze**WIDENING * self.gain
