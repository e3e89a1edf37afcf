"""The muscles' display forms at a pose: their cages posed by any muscle deformer, the forms carried along.

One place turns posed cages into posed forms, so every consumer of the scene (render, sections,
probe, skin enclosure, overlaps, techniques) sees the forms. All muscles of both sides are carried
by one block-diagonal sparse product per leg; lengths still come from the cage fibres, untouched.

A cage holds its volume (the pose space thickens it), but a form bound to a folded cage can still
lose some. When the deformer is made, every form is posed at the PROBE_POSES (the corners of the
joint ranges and the therapist positions); the forms that stray there more than HOLD_TOLERANCE
from their rest volume are measured at every pose and thickened back away from their anchors on the
cage by one secant step, as the pose space settles its cages (all held forms of a leg are measured
in one float32 pass over their triangles, a fraction of a millisecond; measuring every form at every
pose would cost more than carrying them).

A spindle's form (spindle.py) is squeezed two to three times along its rod, and its rest form's fine relief with
it, which creases: its relief is flattened as much as its surface is squeezed (:class:`SquashedRelief`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import scipy.sparse as sparse

from viewer.anatomy.bones import SIDES, load_landmarks
from viewer.anatomy.geometry import ClosedVolumes, signed_volume
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.leg_memo import LegMemo
from viewer.anatomy.muscles.binding import taubin, umbrella_operator
from viewer.anatomy.muscles.posing import PosedMuscle
from viewer.anatomy.muscles.spindle import SPINDLES
from viewer.anatomy.posed import Deformer
from viewer.cache import ArrayCache, content_key
from viewer.types import FloatArray

HOLD_TOLERANCE = 0.05  # a form whose volume strays more than this share from rest is thickened or thinned
HOLD_PROBE = 1.1  # thickening used to measure a form's volume response
HOLD_RANGE = (0.67, 1.5)  # how far one holding step may thicken or thin a form
HOLD_STEPS = 2  # secant steps at most per pose
HELD_VERSION = "held-2"  # bump when what decides a held form changes (besides the constants and arrays keyed)
HELD_CACHE = ArrayCache("forms-held")  # the forms that strayed at the probe poses, by cages and forms
# A spindle's relief (its form less its envelope, the form smoothed by RELIEF_PASSES Taubin pairs) is scaled by the
# surface's least stretch (the smaller singular value of each envelope triangle's map from rest, averaged at the
# vertices and smoothed by RELIEF_SPREAD pairs) to the power RELIEF_POWER. The tensor's form, smoothed at rest
# (form surface_smoothing) and carried by blended maps 3 cells wide, baked: 0.68 / 0.42 / 0.18 / 0.17 / 1.03% of its
# edges bending over 40 degrees (flexion 90 knee 90 / frog / external rotation with adduction / prone / 90/45/45);
# its relief flattened so, 0.59 / 0.31 / 0.15 / 0.15 / 0.75%, 3 ms a pose (a leg's forms carried in 26, with the other
# sessions' load). Carried by maps 4 cells wide, 16 smoothing passes (0.96% at 90/45/45 unflattened): 5 and 5 pairs
# 0.75%; 15 and 10 pairs 0.67% but 9 ms; 8 and 5: 0.72%, 5 ms; the power 1 (15, 10 pairs): 0.73%; 40 pairs, the
# envelope itself flatter: 0.66%.
RELIEF_PASSES = 5
RELIEF_SPREAD = 5
RELIEF_POWER = 2.0
PROBE_POSES = [
    LegPose(hip_flexion=flexion, hip_abduction=abduction, hip_rotation=rotation)
    for flexion in (-20, 120)
    for abduction in (-30, 45)
    for rotation in (-45, 45)
] + [
    LegPose(hip_flexion=90, knee_flexion=90),
    LegPose(hip_flexion=45, hip_abduction=40, hip_rotation=20, knee_flexion=90),  # frog
    LegPose(hip_flexion=10, hip_abduction=-25, hip_rotation=-35),  # external rotation with adduction
    LegPose(knee_flexion=90, hip_rotation=40),  # prone, knee 90, internal rotation
]


class FormDeformer:
    """Wraps a cage deformer (pose space or solver): its posed cages become posed forms and fibre lines.

    Each leg's forms are carried apart (:class:`LegForms`): a leg at rest keeps its rest forms, and a leg whose
    cages come back unchanged (the pose space hands back the very arrays of a leg that did not move) keeps the
    forms it had, so moving one leg costs one leg.

    Parameters
    ----------
    cages
        The deformer posing the cages (``MuscleGeometry.vertices``), e.g. :class:`~viewer.anatomy.pose_space.PoseSpace`.
    muscles
        The muscles by structure name; those with a ``form`` and ``binding`` are carried.
    """

    def __init__(self, cages: Deformer, muscles: Mapping) -> None:
        self.cages = cages
        self.names = [n for n, m in muscles.items() if m.form is not None and m.binding is not None]
        sides = [getattr(muscles[n], "side", None) for n in self.names]
        self.legs = [
            LegForms([n for n, s in zip(self.names, sides, strict=True) if s == side], muscles)
            for side in dict.fromkeys(sides)
        ]
        if self.names:
            straying = self._straying(PROBE_POSES)
            for leg in self.legs:  # one hold per leg: a leg at rest costs nothing
                held = [k for k, name in enumerate(leg.names) if name in straying]
                if held:
                    leg.hold = VolumeHold(held, leg.bound, leg.form_rows, leg.cage_rows, leg.rest_volumes)

    @property
    def held(self) -> set[str]:
        """Names of the muscles whose form volume is held at every pose."""
        return {leg.names[k] for leg in self.legs if leg.hold is not None for k in leg.hold.muscles}

    def __getattr__(self, name: str):
        """Everything else (warm start, reset, grids...) is the cage deformer's."""
        if name == "cages":
            raise AttributeError(name)
        return getattr(self.cages, name)

    def pose(
        self, transforms: Mapping[str, FloatArray], poses: Mapping[str, LegPose] | None = None
    ) -> dict[str, PosedMuscle]:
        """Every muscle at the pose: form vertices, the cage fibres (lengths) and the fibre lines on the form."""
        posed = dict(self.cages.pose(transforms, poses))
        for leg in self.legs:
            posed.update(leg.carry(posed))
        return posed

    def _straying(self, probes: list[LegPose]) -> set[str]:
        """The forms whose carried volume strays more than HOLD_TOLERANCE at any probe pose (both legs posed).

        The cages are posed at every probe; carrying and measuring the forms there (most of the work) is done once
        for those cages and forms and kept in the cache (:data:`HELD_CACHE`), keyed by both.
        """
        landmarks = load_landmarks()
        cages = []
        for pose in probes:
            legs = dict.fromkeys(SIDES, pose)
            posed = self.cages.pose(segment_transforms(legs, landmarks), legs)
            cages.append({name: replace(posed[name], vertices=np.array(posed[name].vertices)) for name in self.names})
        reset = getattr(self.cages, "reset", None)
        if reset is not None:  # a warm-starting solver begins from anatomical position, as if never probed
            reset()
        key = content_key(
            HELD_VERSION,
            HOLD_TOLERANCE,
            [RELIEF_PASSES, RELIEF_SPREAD, RELIEF_POWER, *SPINDLES],
            self.names,
            *(part for leg in self.legs for part in leg.key_parts()),
            *(probe[name].vertices for probe in cages for name in self.names),
        )
        found = HELD_CACHE.load_or_build(key, lambda: {"straying": np.array(sorted(self._measured(cages)), str)})
        return set(found["straying"].tolist())

    def _measured(self, cages: list[dict[str, PosedMuscle]]) -> set[str]:
        """The forms whose volume, carried by each of the posed ``cages`` (name -> posed cage), strays more than
        HOLD_TOLERANCE from rest."""
        straying = set()
        for posed in cages:
            for leg in self.legs:
                carried = leg.carry(posed)
                for k, name in enumerate(leg.names):
                    volume = signed_volume(carried[name].vertices, leg.faces[k])
                    if abs(volume / leg.rest_volumes[k] - 1) > HOLD_TOLERANCE:
                        straying.add(name)
        for leg in self.legs:
            leg.latest.forget()  # the forms were carried without their holds
        return straying


class LegForms:
    """The forms of one leg's muscles carried by their cages, all at once.

    Per pose: ``M @ d`` for all the leg's muscles at once (block-diagonal, float32: ample for mm), then each
    muscle's thin dense ``U (V d)`` (its affine fit; as sparse columns the dense U would cost a quarter of the
    product), the volume hold, and the fibre lines ``C @ forms``.

    Parameters
    ----------
    names
        The leg's muscles carried (each with a ``form`` and a ``binding``).
    muscles
        All muscles by structure name.
    """

    def __init__(self, names: list[str], muscles: Mapping) -> None:
        self.names = names
        self.bound = [muscles[n] for n in names]
        bound = self.bound
        self.rest_cage = _stack([m.vertices for m in bound])
        self.rest_form = _stack([m.form.vertices for m in bound])
        self.basis = _blocks([sparse.csr_matrix(m.binding.basis) for m in bound]).astype(np.float32)
        self.affine = [np.asarray(m.binding.affine, np.float32) for m in bound]
        self.line_map = _blocks([m.binding.fibre_carry for m in bound])
        self.line_shapes = [m.binding.fibre_lines.shape for m in bound]
        self.line_rows = _offsets([int(np.prod(shape[:2])) for shape in self.line_shapes])
        self.form_rows = _offsets([len(m.form.vertices) for m in bound])
        self.cage_rows = _offsets([len(m.vertices) for m in bound])
        self.surface_map = _blocks([m.binding.matrix for m in bound]).astype(np.float32)
        self.faces = [m.form.faces for m in bound]
        self.rest_volumes = np.array([signed_volume(m.form.vertices, m.form.faces) for m in bound])
        self.hold: VolumeHold | None = None
        self.reliefs = [  # the spindles' (structure names end in their side)
            (k, SquashedRelief(m.form.vertices, m.form.faces))
            for k, (name, m) in enumerate(zip(names, bound, strict=True))
            if name.rsplit("_", 1)[0] in SPINDLES
        ]
        self.latest: LegMemo[dict[str, PosedMuscle]] = LegMemo()  # the cages carried last time, their forms

    def key_parts(self) -> list:
        """What the carried forms depend on, for a cache key: rest cages and forms, faces, the maps."""
        maps = [self.surface_map, self.basis]
        return [
            self.rest_cage,
            self.rest_form,
            *self.faces,
            *self.affine,
            *(part for matrix in maps for part in (matrix.data, matrix.indices, matrix.indptr)),
        ]

    def carry(self, posed: Mapping[str, PosedMuscle]) -> dict[str, PosedMuscle]:
        """The leg's muscles with their forms and fibre lines carried by the posed cages in ``posed``."""
        cages = [posed[n].vertices for n in self.names]
        return self.latest.get("leg", cages, lambda: self._carried(cages, posed))  # the same cages: the same forms

    def _carried(self, cages: list[FloatArray], posed: Mapping[str, PosedMuscle]) -> dict[str, PosedMuscle]:
        """The forms and fibre lines carried by ``cages`` (the leg's posed cage vertices, each (n_k, 3))."""
        stacked = _stack(cages)
        moved = (stacked - self.rest_cage).astype(np.float32)
        if not moved.any():  # at rest: the rest forms themselves
            forms = self.rest_form
        else:
            forms = self.mapped(moved)
            for k, relief in self.reliefs:
                rows = slice(int(self.form_rows[k]), int(self.form_rows[k + 1]))
                forms[rows] = relief(forms[rows])
            if self.hold is not None:
                self.hold.apply(forms, stacked, moved)
        lines = self.line_map @ forms  # (a small product: 3 form vertices a line point)
        carried = {}
        for k, name in enumerate(self.names):
            form = forms[self.form_rows[k] : self.form_rows[k + 1]]
            line = lines[self.line_rows[k] : self.line_rows[k + 1]].reshape(self.line_shapes[k])
            carried[name] = PosedMuscle(form, posed[name].fibres, line)
        return carried

    def mapped(self, moved: FloatArray) -> FloatArray:
        """The leg's forms (n_form, 3) carried by the cage displacements ``moved`` (n_cage, 3)."""
        columns = np.ascontiguousarray(moved.T)  # one sparse product per axis: faster than on (n, 3) rows
        forms = np.empty_like(self.rest_form)
        for axis in range(3):
            forms[:, axis] = self.surface_map @ columns[axis]
        forms += self.rest_form
        fits = (self.basis @ moved).reshape(-1, 4, 3)  # each muscle's affine fit of its displacement
        for k, affine in enumerate(self.affine):  # (thin dense products: cheaper than one sparse)
            forms[self.form_rows[k] : self.form_rows[k + 1]] += affine @ fits[k]
        return forms


class SquashedRelief:
    """Flattens a squeezed form's fine relief as much as its surface is squeezed (see RELIEF_PASSES).

    A spindle's form is squeezed along its rod two to three times and swollen across it; its rest relief (rings
    20-30 mm apart along the tensor's belly) squeezed with it steepens into folds. A muscle shortened in its sheath
    bulges smoothly: here its relief (the form less its envelope) is scaled by the surface's least stretch from rest
    to the power RELIEF_POWER, so at rest, or only bent or stretched, the form is the one carried.

    Parameters
    ----------
    vertices
        (n, 3) rest form, mm.
    faces
        (m, 3) its triangles.
    """

    def __init__(self, vertices: FloatArray, faces: np.ndarray) -> None:
        faces = np.asarray(faces, np.int64)
        self.faces = faces
        self.mean = umbrella_operator(faces, len(vertices)).astype(np.float32)
        incidence = sparse.csr_matrix(
            (np.ones(faces.size), (faces.ravel(), np.repeat(np.arange(len(faces)), 3))),
            shape=(len(vertices), len(faces)),
        )
        counts = np.asarray(incidence.sum(axis=1)).ravel()
        self.corners = sparse.csr_matrix(sparse.diags(1.0 / np.maximum(counts, 1.0)) @ incidence)  # (n, m) face mean
        edges = self._edges(self._smoothed(np.asarray(vertices, float), RELIEF_PASSES))  # (m, 2, 3)
        along = edges[:, 0] / np.linalg.norm(edges[:, 0], axis=1, keepdims=True)
        normal = np.cross(edges[:, 0], edges[:, 1])
        across = np.cross(normal / np.linalg.norm(normal, axis=1, keepdims=True), along)
        plane = np.stack([np.einsum("fek,fk->fe", edges, along), np.einsum("fek,fk->fe", edges, across)], axis=2)
        self.inverse = np.linalg.inv(plane)  # (m, 2, 2): rest edges (in their triangle's plane) to the unit square

    def _edges(self, points: FloatArray) -> FloatArray:
        """Two edges (m, 2, 3) of every triangle of ``points`` (n, 3), from its first corner."""
        first = points[self.faces[:, 0]]
        return np.stack([points[self.faces[:, 1]] - first, points[self.faces[:, 2]] - first], axis=1)

    def _smoothed(self, values: FloatArray, passes: int) -> FloatArray:
        """Taubin pairs (binding.taubin) of ``values`` (n, k) over the mesh, in float32."""
        return taubin(np.asarray(values, np.float32), self.faces, passes, mean=self.mean).astype(float)

    def __call__(self, form: FloatArray) -> FloatArray:
        """The carried ``form`` (n, 3) with its relief flattened where it is squeezed."""
        envelope = self._smoothed(np.asarray(form, float), RELIEF_PASSES)
        first, second = self._edges(envelope).transpose(1, 0, 2)  # (m, 3) each
        a, b = self.inverse[:, 0], self.inverse[:, 1]  # (m, 2): rows of each triangle's inverse rest plane
        dots = ((first * first).sum(1), (first * second).sum(1), (second * second).sum(1))  # the edges' Gram matrix

        def entry(p: FloatArray, q: FloatArray) -> FloatArray:  # p^T (edges' Gram) q: of the map's Gram matrix
            return (
                p[:, 0] * q[:, 0] * dots[0]
                + (p[:, 0] * q[:, 1] + p[:, 1] * q[:, 0]) * dots[1]
                + p[:, 1] * q[:, 1] * dots[2]
            )

        aa, ab, bb = entry(a, a), entry(a, b), entry(b, b)
        half = 0.5 * (aa + bb)
        determinant = aa * bb - ab * ab
        least = np.sqrt(np.maximum(half - np.sqrt(np.maximum(half * half - determinant, 0.0)), 0.0))  # (m,)
        stretch = self._smoothed((self.corners @ least)[:, None], RELIEF_SPREAD)[:, 0]
        scale = np.clip(stretch, 0.0, 1.0) ** RELIEF_POWER
        return envelope + scale[:, None] * (form - envelope)


class VolumeHold:
    """Holds the volume of some forms of one leg: all measured in one pass, each that strayed thickened back.

    A form that strays more than HOLD_TOLERANCE from its rest volume is thickened (or thinned) away from its
    anchors on the cage, ``x = a + f (x - a)``: its volume is measured again at ``f = HOLD_PROBE`` and ``f`` is
    the secant's (clipped to HOLD_RANGE; a fold that answers thickening by losing volume, at the probe or over the
    whole step, is left as it is).
    Usually one or two forms stray at a pose, so only theirs are anchored and probed.

    Parameters
    ----------
    muscles
        Indices of the held forms among ``bound``.
    bound
        The carried muscles, in the deformer's order.
    form_rows, cage_rows
        (n_bound + 1,) offsets of each form's and each cage's vertices in the stacked forms and cages.
    rest_volumes
        (n_bound,) rest volume of each form, mm^3.
    """

    def __init__(
        self, muscles: list[int], bound: list, form_rows: np.ndarray, cage_rows: np.ndarray, rest_volumes: FloatArray
    ) -> None:
        self.muscles = list(muscles)
        self.forms = [slice(int(form_rows[k]), int(form_rows[k + 1])) for k in muscles]
        self.cages = [slice(int(cage_rows[k]), int(cage_rows[k + 1])) for k in muscles]
        self.rows = np.concatenate([np.arange(form_rows[k], form_rows[k + 1]) for k in muscles])
        local = _offsets([int(form_rows[k + 1] - form_rows[k]) for k in muscles])
        faces = np.concatenate([np.asarray(bound[k].form.faces, np.int64) + local[i] for i, k in enumerate(muscles)])
        self.volumes = ClosedVolumes(faces, _offsets([len(bound[k].form.faces) for k in muscles])[:-1])
        self.each = [ClosedVolumes(np.asarray(bound[k].form.faces, np.int64), np.zeros(1, np.int64)) for k in muscles]
        self.anchors = [bound[k].binding.anchor_matrix for k in muscles]
        self.rest = rest_volumes[np.asarray(muscles, np.int64)]
        self.cage_rows = np.concatenate([np.arange(cage_rows[k], cage_rows[k + 1]) for k in muscles])

    def apply(self, forms: FloatArray, cages: FloatArray, moved: FloatArray) -> None:
        """Thicken or thin, in place in the stacked ``forms`` (n, 3), the held forms that strayed.

        ``cages`` (n_cage, 3) are the posed cages stacked and ``moved`` (n_cage, 3) their displacements: the
        forms of a leg at rest are not even measured (they keep their rest volume).
        """
        if not moved[self.cage_rows].any():
            return
        volumes = self.volumes(forms[self.rows])
        for _ in range(HOLD_STEPS):  # a form squeezed to half its volume needs a second secant step
            straying = np.flatnonzero(np.abs(volumes / self.rest - 1.0) > HOLD_TOLERANCE)
            for i in straying:
                form = forms[self.forms[i]]
                anchors = _product(self.anchors[i], cages[self.cages[i]])
                spread = form - anchors
                gain = float(self.each[i](anchors + HOLD_PROBE * spread)[0]) - volumes[i]
                if gain <= 0:  # a fold answers thickening by losing volume: leave it
                    continue
                factor = np.clip(1.0 + (HOLD_PROBE - 1.0) * (self.rest[i] - volumes[i]) / gain, *HOLD_RANGE)
                held = anchors + factor * spread
                volume = float(self.each[i](held)[0])
                if abs(volume / self.rest[i] - 1.0) >= abs(volumes[i] / self.rest[i] - 1.0):
                    continue  # a fold answers the whole step by losing volume (past the probe): leave it
                forms[self.forms[i]], volumes[i] = held, volume


def _product(matrix: sparse.csr_matrix, points: FloatArray) -> FloatArray:
    """``matrix @ points`` for (n, 3) ``points``, one axis at a time on contiguous columns (the same sums, faster)."""
    columns = np.ascontiguousarray(points.T)
    return np.column_stack([matrix @ column for column in columns])


def _stack(arrays: list[FloatArray]) -> FloatArray:
    return np.concatenate(arrays) if arrays else np.zeros((0, 3))


def _blocks(matrices: list) -> sparse.csr_matrix:
    """The block-diagonal CSR matrix of ``matrices`` (each (n_k, m_k)), assembled from their CSR arrays directly."""
    if not matrices:
        return sparse.csr_matrix((0, 0))
    parts = [sparse.csr_matrix(matrix) for matrix in matrices]
    rows = _offsets([part.shape[0] for part in parts])
    columns = _offsets([part.shape[1] for part in parts])
    entries = _offsets([part.nnz for part in parts])
    indptr = np.concatenate([[0]] + [part.indptr[1:] + entries[k] for k, part in enumerate(parts)])
    indices = np.concatenate([part.indices + columns[k] for k, part in enumerate(parts)])
    data = np.concatenate([part.data for part in parts])
    result = sparse.csr_matrix((data, indices, indptr), shape=(int(rows[-1]), int(columns[-1])))
    result.has_canonical_format = all(part.has_canonical_format for part in parts)  # then nothing to sort or sum
    return result


def _offsets(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
