"""The gemelli in the pose space as what the solver makes of them: rods of rigid cross-sections.

The solver poses the gemelli as rods (:mod:`viewer.anatomy.muscles.rods`): every cross-section of the fibre
sheet is its rest section turned as a whole about a smoothed centre line and shifted off the bones, both faces
laid off the turned section and thickened per fibre. Their sections are 1-3 mm across, so the other muscles'
table (principal components to a 0.2 mm error) moved fibres 0.2-0.5 mm apart past each other and left the
inferior gemellus 0.80 of its volume. The table keeps instead, per rod and grid node, what the rod is: each
section's centre (a correction to its skinned centre), its rotation (a unit quaternion) and each fibre's
thickening. Replaying interpolates these between the nodes (the blended quaternions normalised) and rebuilds
the rod from its rest sections, so the sections stay rigid between the nodes too. Only what the solver did
after that (faces lifted out of bone) goes through the components, at a tighter error (ROD_RMS_MM).

The tensor fasciae latae is a spindle rod (:mod:`viewer.anatomy.muscles.spindle`): its sections are turned as
a whole too, but each is shortened along the rod, widened across it and thickened by its own squeeze. So every
rod also keeps, per section, how much its samples' rest offsets along the rod and across it are scaled and how
much it thickens (``swelling``: all ones on a gemellus). Through the components, and thickened by the bake's
holding factor to its cage's rest volume (the solver holds its form's), 1.34% of the band draped over it lay
inside it in the frog position (0.71% on the solver), its form up to 0.96 mm off the solver's. Rebuilt from its
sections and not held (``bake_poses``), 0.61% (0.71% in a bake of the eight nodes around that pose alone), its
form 0.25 mm off the solver's at most (0.07-0.94 mm at the other therapist positions) (rebuilt but held to its cage's rest volume, factors 1.026-1.037 there: 1.47%).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from viewer.anatomy.muscles import MuscleGeometry, PosedMuscle
from viewer.anatomy.muscles.rods import RODS
from viewer.anatomy.muscles.spindle import SPINDLES
from viewer.types import FloatArray

ROD_RMS_MM = 0.02  # error the components of a rod's remaining corrections (lifted faces) are compressed to
# stored per rod muscle as <name>__rod_<part>, one row per grid node: (n_s, 3) shifts of the section centres,
# (n_s, 4) rotations, (n_u,) thickenings per fibre and (n_s, 3) per section (scale along, scale across, thickening)
ROD_PARTS = ("centre", "turn", "thickness", "swelling")


_QUADRATIC = np.zeros((4, 4, 9))  # entries of R = (w^2 - v.v) I + 2 v v^T + 2 w [v]x, by the pair (i, j) of q_i q_j
for _entry, _terms in {
    0: ((0, 0, 1), (1, 1, 1), (2, 2, -1), (3, 3, -1)),
    4: ((0, 0, 1), (1, 1, -1), (2, 2, 1), (3, 3, -1)),
    8: ((0, 0, 1), (1, 1, -1), (2, 2, -1), (3, 3, 1)),
    1: ((1, 2, 2), (0, 3, -2)),
    3: ((1, 2, 2), (0, 3, 2)),
    2: ((1, 3, 2), (0, 2, 2)),
    6: ((1, 3, 2), (0, 2, -2)),
    5: ((2, 3, 2), (0, 1, -2)),
    7: ((2, 3, 2), (0, 1, 2)),
}.items():
    for _i, _j, _factor in _terms:
        _QUADRATIC[_i, _j, _entry] = _factor
QUADRATIC = _QUADRATIC.reshape(16, 9)


def rotation_matrices(quaternions: FloatArray) -> FloatArray:
    """(n, 3, 3) rotations of (n, 4) quaternions (w, x, y, z), any non-zero length (one product, no trigonometry)."""
    products = (quaternions[:, :, None] * quaternions[:, None, :]).reshape(-1, 16)
    return (products @ QUADRATIC / np.einsum("ij,ij->i", quaternions, quaternions)[:, None]).reshape(-1, 3, 3)


def is_rod(muscle: MuscleGeometry) -> bool:
    """Whether the solver poses ``muscle`` as a rod stored by its sections: a rod without via points (the gemelli;
    piriformis, in pieces, goes through the components) or a spindle (as
    :class:`~viewer.anatomy.muscles.MusclePoser` chooses)."""
    return (muscle.spec.name in RODS and not muscle.spec.via) or muscle.spec.name in SPINDLES


def rest_along(centre: FloatArray) -> FloatArray:
    """Unit directions (n_s, 3) along a rest centre line (n_s, 3), as the rod's rest frames take them
    (:func:`viewer.anatomy.muscles.rods.centre_frames`): a spindle shortens its sections along these."""
    along = np.gradient(centre, axis=0)
    return along / (np.linalg.norm(along, axis=1)[:, None] + 1e-12)


class RodReplay:
    """Every rod muscle of one side, rebuilt in the side's baked rows from its sections' parameters.

    Parameters
    ----------
    muscles : dict
        All muscles by name.
    names : list of str
        The side's muscles in the order of its rows (:func:`viewer.anatomy.pose_space.side_layout`): each
        muscle takes 3 n rows (deep face, top face, fibre samples; n = n_u n_s samples).
    arrays : dict, optional
        The baked table: ``<name>__rod_centre`` (nodes, n_s, 3), ``__rod_turn`` (nodes, n_s, 4, w first),
        ``__rod_thickness`` (nodes, n_u) and ``__rod_swelling`` (nodes, n_s, 3) per rod. Without it only
        :meth:`build` and :meth:`measure` work.
    """

    def __init__(self, muscles: dict[str, MuscleGeometry], names: list[str], arrays: dict | None = None) -> None:
        self.names, self.parts = [], []  # rod names; per rod (section slice, fibre slice) in the side's rods
        rows, section, fibre, offsets, end = [], [], [], [], []
        start, sections, fibres = 0, 0, 0
        for name in names:
            muscle = muscles[name]
            count = len(muscle.vertices) // 2
            if is_rod(muscle):
                n_u, n_s = muscle.fibres.shape[:2]
                rest = muscle.fibres.reshape(-1, 3)
                centre = muscle.fibres.mean(axis=0)  # (n_s, 3)
                samples = np.arange(count)
                from_centre = rest - centre[samples % n_s]
                along = rest_along(centre)[samples % n_s]
                along = np.einsum("kj,kj->k", from_centre, along)[:, None] * along
                rows.append(start + np.stack([samples, samples + count, samples + 2 * count]))
                section.append(sections + samples % n_s)
                end.append((samples % n_s == 0) | (samples % n_s == n_s - 1))
                fibre.append(fibres + samples // n_s)
                offsets.append(
                    np.stack(
                        [along, from_centre - along, muscle.vertices[:count] - rest, muscle.vertices[count:] - rest], 1
                    )
                )
                self.names.append(name)
                self.parts.append((slice(sections, sections + n_s), slice(fibres, fibres + n_u)))
                sections, fibres = sections + n_s, fibres + n_u
            start += 3 * count
        if not self.names:
            return
        self.deep, self.top, self.fibre_rows = np.concatenate(rows, axis=1)  # (K,) side rows each
        self.section, self.fibre = np.concatenate(section), np.concatenate(fibre)  # (K,) indices
        self.end = np.concatenate(end)  # (K,) the samples of each rod's end sections, which stay on their pins
        # (K, 3, 4) columns: from the section's centre along the rod and across it, to the deep and the top face
        self.offsets = np.concatenate(offsets).transpose(0, 2, 1)
        self.average = np.zeros((sections, len(self.section)))  # (S, K): each section's mean fibre sample
        self.average[self.section, np.arange(len(self.section))] = 1.0
        self.average /= self.average.sum(axis=1, keepdims=True)
        if arrays is not None:
            self.tables = [
                np.concatenate([np.asarray(arrays[f"{name}__rod_{part}"], float) for name in self.names], axis=1)
                for part in ROD_PARTS
            ]

    def place(self, points: FloatArray, index: np.ndarray, weight: FloatArray) -> None:
        """Rebuild every rod in the side's skinned (n_points, 3) ``points`` in place at the pose between the
        grid nodes ``index`` weighted by ``weight`` (k,) each."""
        if not self.names:
            return
        centre, turn, thickness, swelling = (t[index] for t in self.tables)  # (k, S, 3), (k, S, 4), (k, U), (k, S, 3)
        signs = np.sign(np.einsum("ksj,sj->ks", turn, turn[0]) + 1e-12)  # one hemisphere per section
        quaternions = np.einsum("ks,ksj->sj", weight[:, None] * signs, turn)
        self.build(
            points, np.tensordot(weight, centre, 1), quaternions, weight @ thickness, np.tensordot(weight, swelling, 1)
        )

    def build(
        self,
        points: FloatArray,
        shift: FloatArray,
        quaternions: FloatArray,
        thickness: FloatArray,
        swelling: FloatArray,
    ) -> None:
        """Rebuild every rod in the side's skinned ``points`` (n_points, 3) in place: each section centred on its
        skinned centre plus ``shift`` (S, 3), its rest offsets along and across the rod scaled by the first two
        columns of ``swelling`` (S, 3) and turned by ``quaternions`` (S, 4, w first, any length), both faces laid
        off the turned section ``thickness`` (U,) times the third column of ``swelling`` times their rest
        offsets."""
        if not self.names:
            return
        centres = self.average @ points[self.fibre_rows] + shift
        pins = points[self.fibre_rows[self.end]]
        turns = rotation_matrices(quaternions)[self.section]  # (K, 3, 3)
        turned = sum(turns[:, :, j, None] * self.offsets[:, None, j] for j in range(3))  # (K, 3, 4) columns
        swell = swelling[self.section]  # (K, 3)
        fibres = centres[self.section] + swell[:, :1] * turned[:, :, 0] + swell[:, 1:2] * turned[:, :, 1]
        thick = (thickness[self.fibre] * swell[:, 2])[:, None]
        points[self.deep] = fibres + thick * turned[:, :, 2]
        points[self.top] = fibres + thick * turned[:, :, 3]
        fibres[self.end] = pins  # as the solver leaves them: the end rows on their pins, their faces where the
        points[self.fibre_rows] = fibres  # turned end section put them

    def measure(
        self, skinned: FloatArray, posed: dict[str, PosedMuscle], turns: dict[str, FloatArray], scale: dict
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """What the solver made of the rods at one pose, as :meth:`build` takes it: (S, 3) shifts of the section
        centres from the ``skinned`` ones, (S, 4) quaternions (w first), (U,) thickenings per fibre and (S, 3)
        swellings per section.

        ``posed`` are the solved muscles, ``turns`` their sections' (n_s, 3, 3) rotations and ``scale`` their
        samples' (n_u, n_s) thickenings, by rod name (``MusclePoser.rod_turns`` and ``MusclePoser.scale``). A
        gemellus thickens as a whole, a spindle by section: both are a fibre's thickening times a section's. Each
        section's scales along and across the rod are the least-squares fit of its turned rest offsets to the
        solved ones (exact: a spindle scales them so, a gemellus not at all).
        """
        matrices = np.concatenate([turns[name] for name in self.names])
        thickening = np.concatenate([scale[name].ravel() for name in self.names])  # (K,)
        fibres = np.concatenate([posed[name].fibres.reshape(-1, 3) for name in self.names])
        deep = np.concatenate([posed[name].vertices[: len(posed[name].vertices) // 2] for name in self.names])
        turned = np.einsum("kij,kjc->kic", matrices[self.section], self.offsets)  # (K, 3, 4)
        # the end rows are back on their pins: their turned sections lie where the deep face was laid off
        fibres[self.end] = deep[self.end] - thickening[self.end, None] * turned[self.end, :, 2]
        centres = self.average @ fibres
        local = fibres - centres[self.section]
        swelling = np.ones((len(centres), 3))
        for column in range(2):  # the offsets along and across the rod are orthogonal: fitted one by one
            part = turned[:, :, column]
            norm = self.average @ np.einsum("kj,kj->k", part, part)
            swelling[:, column] = np.where(
                norm > 1e-12, (self.average @ np.einsum("kj,kj->k", part, local)) / np.maximum(norm, 1e-12), 1.0
            )
        by_fibre = np.concatenate([scale[name][:, 0] for name in self.names])  # (U,) at each rod's first section
        swelling[:, 2] = (self.average @ thickening) / (self.average @ by_fibre[self.fibre])
        rotations = Rotation.from_matrix(matrices).as_quat()
        return (
            centres - self.average @ skinned[self.fibre_rows],
            np.roll(rotations, 1, axis=1),  # (x, y, z, w) -> (w, x, y, z)
            by_fibre,
            swelling,
        )

    def split(
        self, shift: FloatArray, quaternions: FloatArray, thickness: FloatArray, swelling: FloatArray
    ) -> dict[str, list[FloatArray]]:
        """The parameters of :meth:`build` by rod name, in the order of ROD_PARTS."""
        return {
            name: [shift[sections], quaternions[sections], thickness[fibres], swelling[sections]]
            for name, (sections, fibres) in zip(self.names, self.parts, strict=True)
        }
