"""Display surfaces bound to their muscle's cage by one linear map, so posing stays a sparse product.

Every muscle is posed as a cage: its (u, s) fibre sheet thickened into a box (vertices: the deep
face rows, then the top face rows, ``2 * n_u * n_s`` of them). The display surface (any closed
surface near the cage, see :mod:`viewer.anatomy.muscles.forms`) is bound to it once, at rest:

- each surface vertex finds its nearest cage cell, the hexahedron between the deep and the top
  face of one (u, s) grid cell, and the parameters (a, b, c) of that cell's trilinear map that
  give the vertex; outside the box the map is continued linearly from the cell's nearest point (in
  a frame of a few cells where one thin cell would amplify the offset), so rounded margins and
  bellies beyond the box go with it. These weights (up to sixteen) are one row
  of a sparse matrix ``B`` (n_surface, n_cage) with ``B @ rest_cage = rest_surface``; the weights
  of each row sum to one, so a rigidly moved cage moves every bound vertex rigidly;
- the displacement is smoothed over the surface mesh by a few Taubin passes ``S`` (a crease of the
  cage at a twisted pose does not print on the surface; the rest shape is untouched, since only
  displacements are smoothed), and ``M = S @ B`` is stored. Smoothing on an uneven mesh would
  bend even a rigid motion (an umbrella step does not keep a linear field where the mesh is
  irregular or sharp), so only the part of the displacement that no affine map explains is
  smoothed: with ``P`` the least-squares affine fit over the surface (``P = X K``, X = [x, 1],
  rank 4), the map is ``S B + (I - S) P B = M + U V`` with ``U = X - S X`` (n, 4) and
  ``V = K B`` (4, n_cage). A rigid (or any affine) motion of the cage moves the form exactly so
  (``U`` is computed as ``X - M C``, C the cage in the same coordinates, so it stays exact after the
  smallest weights of ``M`` are pruned).

A rod's form (:mod:`~viewer.anatomy.muscles.rods`: a narrow tube posed with rigid cross-sections) is bound
by section instead of by cell (:func:`section_matrix`); everything else is the same.

A pose is then ``surface = rest_surface + M @ d + U @ (V @ d)``, ``d = posed_cage - rest_cage``: a
sparse product and two thin dense ones.
The fibre lines drawn over a muscle are the cage's top-face fibres projected onto the display
surface at rest; each projected point is the barycentric blend of its triangle's vertices, so the
lines are carried by the same map and stay on the surface in every pose.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sparse
from scipy.spatial import cKDTree

from viewer.anatomy.geometry import vertex_normals
from viewer.anatomy.muscles.sheet import sheet_fibre_uv
from viewer.types import FloatArray, IntArray

CANDIDATE_CELLS = 8  # nearest cell centres tried per surface vertex
NEWTON_STEPS = 20
SMOOTHING_PASSES = 4  # Taubin pairs (shrink, inflate) applied to the displacement field
TAUBIN = (0.5, -0.53)  # (lambda, mu): smooths without shrinking the smoothed field
PRUNE = 1e-2  # weights below this (after smoothing) are dropped and the row renormalised
RIDGE = 1e-4  # continuation outside a cell: directions of the cell shorter than this share of its size are damped
AMPLIFICATION_MM = 0.2  # choosing a cell: mm of distance worth one unit of extra weight magnitude
AMPLIFICATION_FREE = 2.0  # ... beyond this much extra weight magnitude, which the cell's own continuation may have
CONTINUATION_SPANS = (0, 1, 2, 4)  # cells beyond a vertex's own tried on each side to continue its map off the cage
# The broad fans' forms are carried by blended local affine maps of their cages (:func:`blended_matrix`), their
# Gaussian this many cells wide: bound cell by cell, a smooth (quadratic) motion of maximus' cage at flexion 90
# with the knee at 90 creased 1.6% of its form's edges, the same motion applied to the form directly 0.4%.
BLENDED_REACH = 1.0
BLENDED_PASSES = 8  # Taubin pairs smoothing a fan's displacement (minimus at 90/45/45: 3.0% creased with 4, 2.6%)
# Blended rows are wider: weights below this are dropped (renormalising the sum turns the dropped share into an
# error of that share of the cage's motion, vertex by vertex; at PRUNE medius creased 2.4% at 90/45/45, here 1.5%)
BLENDED_PRUNE = 3e-3
BLENDED_NEAR = 0.0  # a point within this many cells of the box is carried by the map of reach BLENDED_REACH; ...
BLENDED_GROWTH = 1.0  # ... one lying farther, by a map this many cells wider per cell farther ...
BLENDED_REACH_MAX = 4.0  # ... up to this reach
# A thin fascial band's form (forms.band_surface: a 2 mm sheet round a mid-sheet) is carried by blended maps this
# many cells wide, each vertex by the map of its point on the mid-sheet (:func:`sheet_anchors`) and its displacement
# not smoothed: smoothed over the form's mesh (uneven: 1 mm rounded margins beside 4.5 mm rows) it moved the two
# faces of the band unlike each other and turned its margins inside out (the band bound cell by cell with 4 Taubin
# passes creased 4.4 / 4.4 / 1.7 / 3.8 / 3.8% of its edges at flexion 90 knee 90 / frog / external rotation with
# adduction / prone knee 90 / 90/45/45; 1.2 / 2.0 / 0.2 / 1.0 / 2.2% unsmoothed; blended by its own place
# 0.6 / 0.8 / 0.05 / 0.5 / 1.2%, by its mid-sheet's 0.4 / 0.5 / 0.05 / 0.3 / 1.1%; reach 1: 0.3 / 0.8 / 0.07 /
# 0.2 / 1.3%, reach 3: 0.6 / 0.7 / 0.06 / 0.5 / 1.1%; 2 smoothing passes at reach 2.5: 4.9 / 3.7 / 1.2 / 2.9 / 4.1%)
SHEET_REACH = 2.0
# A block (quadratus femoris) is carried by blended maps BLOCK_REACH cells wide, inside its box and beyond it alike:
# its rounded end caps and borders lie millimetres beyond a cage that tapers, twists or turns into a cushion, and
# continued cell by cell they creased at its end-face rims (3.1% of its edges in external rotation with adduction,
# 1.3% at flexion 90 with the knee at 90; carried by maps one cell wide 1.3% and 1.2%, four cells wide 0.4% and 0.5%).
BLOCK_REACH = 4.0


@dataclass(frozen=True)
class Binding:
    """A display surface bound to its cage (see the module docstring).

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix, (n_surface, n_cage)
        ``M = S @ B``: rows sum to one.
    affine : (n_surface, 4) float array
        ``U = X - S X``: puts back the affine part of the displacement that smoothing bent.
    basis : (4, n_cage) float array
        ``V = K B``: the affine fit of the displacement, from the cage displacement.
    fibre_uv : (n_surface, 2) float array
        Per surface vertex: across-fibre distance (mm) from the u = 0 fibre, measured on the rest
        sheet, and along-fibre fraction s in 0..1 (origin 0, insertion 1).
    fibre_carry : scipy.sparse.csr_matrix, (n_u * n_s, n_surface)
        Each projected fibre line point as the barycentric blend of its triangle's vertices.
    fibre_lines : (n_u, n_s, 3) float array
        The top-face fibre polylines projected onto the rest surface.
    anchor_matrix : scipy.sparse.csr_matrix, (n_surface, n_cage)
        Each surface vertex's anchor on the cage: its cell's point at the same (a, b) on the deep face
        (sheets) or midway through the thickness (tubes), or the centre of its sections (rods, bound by
        :func:`section_matrix`), or its own point on the mid-sheet (thin bands, bound with ``anchors``). Thickening a form moves its vertices away from their anchors, the way the
        pose space thickens a cage.
    """

    matrix: sparse.csr_matrix
    affine: FloatArray
    basis: FloatArray
    fibre_uv: FloatArray
    fibre_carry: sparse.csr_matrix
    fibre_lines: FloatArray
    anchor_matrix: sparse.csr_matrix

    def posed(self, rest_surface: FloatArray, rest_cage: FloatArray, posed_cage: FloatArray) -> FloatArray:
        """Surface vertices (n_surface, 3) for the cage at ``posed_cage`` (n_cage, 3)."""
        moved = posed_cage - rest_cage
        return rest_surface + self.matrix @ moved + self.affine @ (self.basis @ moved)

    def posed_fibre_lines(self, posed_surface: FloatArray) -> FloatArray:
        """The drawn fibre polylines (n_u, n_s, 3) on the surface at a pose: they stay on it."""
        return (self.fibre_carry @ posed_surface).reshape(self.fibre_lines.shape)

    def mirrored(self) -> Binding:
        """The binding of the mirrored surface and cage (the same maps; the rest lines reflected in z)."""
        return replace(self, fibre_lines=self.fibre_lines * np.array([1.0, 1.0, -1.0]))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Flat arrays for the muscle cache, names starting with ``prefix``."""
        result = {f"{prefix}__{name}": getattr(self, name) for name in _DENSE}
        for name in _SPARSE:
            matrix = getattr(self, name)
            result[f"{prefix}__{name}_data"] = matrix.data
            result[f"{prefix}__{name}_indices"] = matrix.indices
            result[f"{prefix}__{name}_indptr"] = matrix.indptr
            result[f"{prefix}__{name}_shape"] = np.array(matrix.shape, np.int64)
        return result

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> Binding:
        """The binding :meth:`arrays` stored."""

        def matrix(name: str) -> sparse.csr_matrix:
            parts = tuple(arrays[f"{prefix}__{name}_{k}"] for k in ("data", "indices", "indptr"))
            return sparse.csr_matrix(parts, shape=tuple(int(n) for n in arrays[f"{prefix}__{name}_shape"]))

        dense = {name: np.asarray(arrays[f"{prefix}__{name}"], float) for name in _DENSE}
        return cls(**dense, **{name: matrix(name) for name in _SPARSE})

    @staticmethod
    def array_names(prefix: str) -> list[str]:
        """Names :meth:`arrays` writes (to check a cache file is complete)."""
        matrices = [f"{prefix}__{name}_{k}" for name in _SPARSE for k in ("data", "indices", "indptr", "shape")]
        return [f"{prefix}__{name}" for name in _DENSE] + matrices


_DENSE = ("affine", "basis", "fibre_uv", "fibre_lines")
_SPARSE = ("matrix", "fibre_carry", "anchor_matrix")


def cell_corners(n_u: int, n_s: int) -> IntArray:
    """Cage vertex indices of every cell's eight corners, (n_cells, 8), in trilinear order.

    Corner k has offsets (k & 1 along u, k >> 1 & 1 along s, k >> 2 along the thickness: deep 0, top 1).
    """
    grid = np.arange(n_u * n_s).reshape(n_u, n_s)
    i, j = np.meshgrid(np.arange(n_u - 1), np.arange(n_s - 1), indexing="ij")
    corners = [grid[i + (k & 1), j + (k >> 1 & 1)] + (k >> 2) * n_u * n_s for k in range(8)]
    return np.stack([c.ravel() for c in corners], axis=1)


_OFFSETS = (np.arange(8)[:, None] >> np.arange(3)) & 1  # (8, 3) corner offsets along (a, b, c)


def trilinear(parameters: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Weights (p, 8) and their derivatives (p, 8, 3) at cell parameters (p, 3) = (a, b, c)."""
    factors = [np.where(_OFFSETS[:, d], parameters[:, d : d + 1], 1.0 - parameters[:, d : d + 1]) for d in range(3)]
    signs = np.where(_OFFSETS, 1.0, -1.0)
    weights = factors[0] * factors[1] * factors[2]
    derivatives = np.stack(
        [
            signs[:, 0] * factors[1] * factors[2],
            signs[:, 1] * factors[0] * factors[2],
            signs[:, 2] * factors[0] * factors[1],
        ],
        axis=2,
    )
    return weights, derivatives


def _jacobian(derivatives: FloatArray, corners: FloatArray) -> FloatArray:
    """d(point)/d(parameters), (p, 3, 3), slightly regularised so a flat cell still solves."""
    jacobian = np.matmul(corners.transpose(0, 2, 1), derivatives)
    scale = np.abs(jacobian).max(axis=(1, 2), keepdims=True) + 1e-12
    return jacobian + 1e-9 * scale * np.eye(3)


def cell_weights(corners: FloatArray, points: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weights (p, 8) of each cell's corners (p, 8, 3) that reproduce its point (p, 3); and the gap (p,) in mm.

    Inside the cell these are the trilinear weights of the point. Outside, the map is continued linearly
    from the nearest point of the cell (parameters clamped to [0, 1]): weights = w(p) + dw(p) @ q with
    q = J(p)^-1 (point - x(p)) (a ridge-damped solve: a collapsed cell does not amplify). Both parts are linear in the corners and the weights sum to one, so a
    rigid motion of the cell moves the point rigidly; a linear continuation stays tame far from the box,
    where the trilinear polynomial itself would swing with the product of its parameters. ``gap`` is the
    distance from the point to the cell's nearest point (0 inside).
    """
    parameters = np.full((len(points), 3), 0.5)
    active = np.arange(len(points))
    for _ in range(NEWTON_STEPS):  # projected Newton: converges to the point, or to the nearest face point
        weights, derivatives = trilinear(parameters[active])
        error = points[active] - np.matmul(weights[:, None, :], corners[active])[:, 0]
        step = np.linalg.solve(_jacobian(derivatives, corners[active]), error[..., None])[..., 0]
        moved = np.clip(parameters[active] + step, 0.0, 1.0)
        still = np.abs(moved - parameters[active]).max(axis=1) > 1e-12
        parameters[active] = moved
        active = active[still]
        if not len(active):
            break
    weights, derivatives = trilinear(parameters)
    error = points - np.einsum("pk,pkd->pd", weights, corners)
    jacobian = _jacobian(derivatives, corners)
    ridge = (RIDGE * np.abs(jacobian).max(axis=(1, 2))) ** 2  # damps the directions a collapsed cell lacks
    normal = np.matmul(jacobian.transpose(0, 2, 1), jacobian) + ridge[:, None, None] * np.eye(3)
    offset = np.linalg.solve(normal, np.matmul(jacobian.transpose(0, 2, 1), error[..., None]))[..., 0]
    return weights + np.einsum("pkj,pj->pk", derivatives, offset), np.linalg.norm(error, axis=1), parameters


def locate(cage: FloatArray, n_u: int, n_s: int, points: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """Each point's cage cell (flat index over (n_u - 1, n_s - 1)), its corner weights (p, 8) and parameters (p, 3).

    Of the nearest cells by centre, the one lying nearest the point wins (a cell whose continuation would
    amplify cage motion, a collapsed one, is handicapped); among cells holding the point, any is right
    (neighbouring maps agree on their shared face). Parameters are clamped to the cell.
    """
    corners = cell_corners(n_u, n_s)
    cells = cage[corners]  # (n_cells, 8, 3)
    count = min(CANDIDATE_CELLS, len(cells))
    _, candidates = cKDTree(cells.mean(axis=1)).query(points, k=count)
    candidates = candidates.reshape(len(points), count)
    weights, gap, parameters = cell_weights(cells[candidates.ravel()], np.repeat(points, count, axis=0))
    amplification = np.abs(weights).sum(axis=1) - 1.0  # 0 inside a cell; large from a collapsed cell
    best = np.argmin((gap + AMPLIFICATION_MM * amplification).reshape(len(points), count), axis=1)
    pick = np.arange(len(points)) * count + best
    return candidates[np.arange(len(points)), best], weights[pick], parameters[pick]


def cage_matrix(
    cage: FloatArray, n_u: int, n_s: int, points: FloatArray
) -> tuple[sparse.csr_matrix, IntArray, FloatArray]:
    """``B`` (p, n_cage): each point as its cell's blend of cage vertices; plus the cells and (clamped) parameters.

    A point beyond the cage is its cell's nearest point plus the offset, continued linearly in a frame around
    the cell: the cell itself, or a block reaching CONTINUATION_SPANS more cells each way along u and s, the first
    that reproduces the point without amplifying more than AMPLIFICATION_FREE (else the least amplifying one) (:func:`_frame_continuation`). A thin cell continued
    10 mm beyond the box weighs its corners by +-5 and throws the rounded margin of a folded muscle far
    off (the quadratus femoris's fin at external rotation with adduction); a wider frame spreads it.
    """
    cell, _, parameters = locate(cage, n_u, n_s, points)
    corners = cell_corners(n_u, n_s)[cell]
    on_box, _ = trilinear(parameters)
    offset = points - np.einsum("pk,pkd->pd", on_box, cage[corners])
    best_score = np.full(len(points), np.inf)
    columns, weights = np.zeros((len(points), 16), np.int64), np.zeros((len(points), 16))
    for span in CONTINUATION_SPANS:
        frame, continued = _frame_continuation(cage, n_u, n_s, cell, parameters, offset, span)
        trial_columns, trial = np.hstack([corners, frame]), np.hstack([on_box, continued])
        error = np.linalg.norm(np.einsum("pk,pkd->pd", trial, cage[trial_columns]) - points, axis=1)
        score = error + AMPLIFICATION_MM * np.maximum(np.abs(trial).sum(axis=1) - 1.0 - AMPLIFICATION_FREE, 0.0)
        better = score < best_score - 1e-12
        best_score[better], columns[better], weights[better] = score[better], trial_columns[better], trial[better]
    rows = np.repeat(np.arange(len(points)), 16)
    matrix = sparse.csr_matrix((weights.ravel(), (rows, columns.ravel())), shape=(len(points), len(cage)))
    return matrix, cell, parameters


def blended_matrix(
    cage: FloatArray, n_u: int, n_s: int, points: FloatArray, reach: float, anchors: FloatArray | None = None
) -> tuple[sparse.csr_matrix, IntArray, FloatArray]:
    """``B`` (p, n_cage): each point carried by the affine map that best fits the cage around its place; plus the
    cells and (clamped) parameters (:func:`locate`) of the ``anchors`` (p, 3), where given, else of the points.

    Moving least squares (Schaefer et al. 2006, "Image deformation using moving least squares", affine): the map
    is fitted to the cage vertices of both faces weighted by a Gaussian of their grid distance (in cells, ``reach``
    its width) from the point's place on the sheet, and evaluated at the point itself. The weights vary smoothly
    from point to point, inside the box and beyond it alike: a point beyond the box is carried by the map of the
    cage around its nearest place, not continued from one thin cell (whose continuation, chosen cell by cell,
    jumps between neighbouring points and creases a rounded margin as soon as the cage bends or thickens
    unevenly). A point lying beyond the box is carried by a wider patch, ``BLENDED_GROWTH`` cells more per cell it
    lies off (maximus' rounded lower margin, 13 mm beyond its cage, folded to 162 degrees at flexion 90 with the
    knee at 90 when carried by the map one cell wide). Any affine motion of the cage moves every point exactly so.
    A point with an anchor takes the map (its patch and width) of the anchor's place, still evaluated at the point.
    """
    anchors = points if anchors is None else anchors
    cell, _, parameters = locate(cage, n_u, n_s, anchors)
    i, j = np.divmod(cell, n_s - 1)
    place = np.column_stack([i + parameters[:, 0], j + parameters[:, 1]])  # (p, 2) on the (u, s) grid
    corners = cage[cell_corners(n_u, n_s)[cell]]
    on_box = np.einsum("pk,pkd->pd", trilinear(parameters)[0], corners)
    size = 0.5 * (  # the cell's mean edge along u and along s, mm
        np.linalg.norm(corners[:, [1, 3, 5, 7]] - corners[:, [0, 2, 4, 6]], axis=2).mean(axis=1)
        + np.linalg.norm(corners[:, [2, 3, 6, 7]] - corners[:, [0, 1, 4, 5]], axis=2).mean(axis=1)
    )
    # a point far beyond the box is carried by the map of a wider patch (as many more cells as it lies off)
    beyond = np.maximum(np.linalg.norm(anchors - on_box, axis=1) / size - BLENDED_NEAR, 0.0)
    widths = np.minimum(reach + BLENDED_GROWTH * beyond, BLENDED_REACH_MAX)
    window = int(np.ceil(3.0 * widths.max()))
    du, ds = np.meshgrid(np.arange(-window, window + 2), np.arange(-window, window + 2), indexing="ij")
    grid_u = np.clip(np.floor(place[:, :1]).astype(int) + du.ravel(), -1, n_u)  # (p, w) candidate columns
    grid_s = np.clip(np.floor(place[:, 1:]).astype(int) + ds.ravel(), -1, n_s)
    inside = (grid_u >= 0) & (grid_u < n_u) & (grid_s >= 0) & (grid_s < n_s)
    distance = (grid_u - place[:, :1]) ** 2 + (grid_s - place[:, 1:]) ** 2
    weight = np.where(inside, np.exp(-distance / (widths[:, None] ** 2)), 0.0)
    column = np.clip(grid_u, 0, n_u - 1) * n_s + np.clip(grid_s, 0, n_s - 1)
    columns = np.concatenate([column, column + n_u * n_s], axis=1)  # both faces
    weight = np.concatenate([weight, weight], axis=1)
    offsets = cage[columns] - points[:, None, :]  # (p, 2w, 3) centred on the point
    homogeneous = np.concatenate([offsets, np.ones((*offsets.shape[:2], 1))], axis=2)  # (p, 2w, 4)
    moment = np.einsum("pk,pki,pkj->pij", weight, homogeneous, homogeneous)
    scale = np.abs(moment).max(axis=(1, 2), keepdims=True)
    moment += 1e-9 * scale * np.eye(4)
    row = np.linalg.solve(moment, np.broadcast_to(np.eye(4)[3], (len(points), 4))[..., None])[..., 0]  # M^-1 e4
    weights = weight * np.einsum("pi,pki->pk", row, homogeneous)
    rows = np.repeat(np.arange(len(points)), columns.shape[1])
    matrix = sparse.csr_matrix((weights.ravel(), (rows, columns.ravel())), shape=(len(points), len(cage)))
    matrix.sum_duplicates()
    return matrix, cell, parameters


def sheet_anchors(vertices: FloatArray, faces: IntArray, half: float) -> FloatArray:
    """(n, 3): each vertex of a thin closed sheet (half-thickness ``half`` mm, rounded margins) moved ``half`` mm in
    along its normal, onto the mid-sheet it was swept round (both faces, the rounded margins and ends alike)."""
    return vertices - half * vertex_normals(vertices, faces)


def section_matrix(
    cage: FloatArray, n_u: int, n_s: int, points: FloatArray, reach: int, place: FloatArray | None = None
) -> tuple[sparse.csr_matrix, IntArray, FloatArray]:
    """``B`` (p, n_cage) of a rod's cage (:mod:`~viewer.anatomy.muscles.rods`): each point carried by the affine
    maps of its cage sections; plus the cells and (clamped) parameters (:func:`locate`).

    The affine map of section k is the least-squares fit over the sections within ``reach`` of it (both faces),
    linear in the cage; a point between sections k and k + 1 blends their maps by its place between them. A
    rod's posed sections are its rest sections turned and thickened as a whole, so every point, however far
    beyond the few millimetres of sheet, moves as a rigid piece of a smoothly bent rod; continued from one cell
    of a narrow sheet, it swung by several times that cell's own motion.
    """
    cell, _, parameters = locate(cage, n_u, n_s, points)
    first, between = _between_sections(rod_places(cell, parameters, n_s) if place is None else place, n_s)
    homogeneous = np.hstack([points, np.ones((len(points), 1))])
    grid = np.arange(n_u * n_s).reshape(n_u, n_s)
    rows, columns, weights = [], [], []
    for section in range(n_s):
        window = grid[:, max(section - reach, 0) : section + reach + 1].ravel()
        corners = np.concatenate([window, window + n_u * n_s])
        fit = np.linalg.pinv(np.hstack([cage[corners], np.ones((len(corners), 1))]))  # (4, m): affine map's weights
        share = np.where(first == section, 1.0 - between, 0.0) + np.where(first + 1 == section, between, 0.0)
        near = np.flatnonzero(share > 0.0)
        rows.append(np.repeat(near, len(corners)))
        columns.append(np.tile(corners, len(near)))
        weights.append((share[near, None] * (homogeneous[near] @ fit)).ravel())
    matrix = sparse.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(columns))), shape=(len(points), len(cage))
    )
    matrix.sum_duplicates()
    return matrix, cell, parameters


def rod_places(
    cell: IntArray, parameters: FloatArray, n_s: int, faces: IntArray | None = None, passes: int = 0
) -> FloatArray:
    """(p,) each point's place along a rod (0 at the first section, n_s - 1 at the last), from its nearest cell
    (:func:`locate`) and ``parameters`` (p, 3), averaged ``passes`` times over the mesh ``faces`` (m, 3).

    Round a sharp bend of a rod's cage (piriformis where its fibres converge on the greater sciatic notch) the
    nearest cell of neighbouring form vertices jumps by up to six sections, and carried by maps of sections that
    far apart, the form folded there as soon as the bend changed (single edges bending 165-180 degrees at 90/45/45
    and in external rotation with adduction): averaged, the place runs along the form as it runs along the rod.
    """
    place = cell % (n_s - 1) + parameters[:, 1]
    if passes and faces is not None:
        mean = umbrella_operator(faces, len(place))
        for _ in range(passes):
            place = 0.5 * place + 0.5 * (mean @ place)
    return place


def _between_sections(place: FloatArray, n_s: int) -> tuple[IntArray, FloatArray]:
    """The section (p,) before each place (p,) along a rod and its share (p,) of the way to the next."""
    first = np.clip(np.floor(place).astype(int), 0, n_s - 2)
    return first, place - first


def section_centres(place: FloatArray, n_u: int, n_s: int) -> sparse.csr_matrix:
    """(p, 2 * n_u * n_s): each point's place on the centre line of a rod's cage (the mean of both faces' samples
    of its two sections, blended; ``place`` (p,) from :func:`rod_places`), which a thickened rod's form moves
    away from."""
    first, between = _between_sections(place, n_s)
    grid = np.arange(n_u * n_s).reshape(n_u, n_s)
    section = np.concatenate([grid, grid + n_u * n_s]).T  # (n_s, 2 n_u) each section's samples
    columns = np.hstack([section[first], section[first + 1]])
    weights = np.hstack([np.repeat(1.0 - between[:, None], 2 * n_u, 1), np.repeat(between[:, None], 2 * n_u, 1)])
    rows = np.repeat(np.arange(len(place)), columns.shape[1])
    matrix = sparse.csr_matrix(
        ((weights / (2 * n_u)).ravel(), (rows, columns.ravel())), shape=(len(place), 2 * n_u * n_s)
    )
    matrix.sum_duplicates()
    return matrix


def _frame_continuation(
    cage: FloatArray, n_u: int, n_s: int, cell: IntArray, parameters: FloatArray, offset: FloatArray, span: int
) -> tuple[IntArray, FloatArray]:
    """Corners (p, 8) of each point's frame, ``span`` cells beyond its cell each way, and their weights (p, 8).

    The weights are the frame's trilinear derivative at the point's place in it times the offset in the frame's
    parameters (a ridge-damped solve): they sum to zero and carry any affine motion of the cage exactly.
    """
    i, j = np.divmod(cell, n_s - 1)
    low_u, high_u = np.maximum(i - span, 0), np.minimum(i + 1 + span, n_u - 1)
    low_s, high_s = np.maximum(j - span, 0), np.minimum(j + 1 + span, n_s - 1)
    grid = np.arange(n_u * n_s).reshape(n_u, n_s)
    frame = np.stack(
        [
            grid[np.where(k & 1, high_u, low_u), np.where(k >> 1 & 1, high_s, low_s)] + (k >> 2) * n_u * n_s
            for k in range(8)
        ],
        axis=1,
    )
    place = np.column_stack(
        [
            (i + parameters[:, 0] - low_u) / (high_u - low_u),
            (j + parameters[:, 1] - low_s) / (high_s - low_s),
            parameters[:, 2],
        ]
    )
    _, derivatives = trilinear(place)
    jacobian = _jacobian(derivatives, cage[frame])
    ridge = (RIDGE * np.abs(jacobian).max(axis=(1, 2))) ** 2
    normal = np.matmul(jacobian.transpose(0, 2, 1), jacobian) + ridge[:, None, None] * np.eye(3)
    step = np.linalg.solve(normal, np.matmul(jacobian.transpose(0, 2, 1), offset[..., None]))[..., 0]
    return frame, np.einsum("pkj,pj->pk", derivatives, step)


def _cell_rows(cell: IntArray, weights: FloatArray, n_u: int, n_s: int) -> sparse.csr_matrix:
    """(p, 2 * n_u * n_s) sparse rows: each point's eight corner ``weights`` (p, 8) in its ``cell``."""
    columns = cell_corners(n_u, n_s)[cell]
    rows = np.repeat(np.arange(len(cell)), 8)
    return sparse.csr_matrix((weights.ravel(), (rows, columns.ravel())), shape=(len(cell), 2 * n_u * n_s))


def umbrella_operator(faces: IntArray, count: int) -> sparse.csr_matrix:
    """(count, count) sparse mean of each vertex's mesh neighbours (uniform weights)."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    both = np.concatenate([edges, edges[:, ::-1]])
    adjacency = sparse.csr_matrix((np.ones(len(both)), (both[:, 0], both[:, 1])), shape=(count, count))
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    return sparse.diags(1.0 / np.maximum(degree, 1.0)) @ adjacency


def taubin(values, faces: IntArray, passes: int, count: int | None = None, mean: sparse.csr_matrix | None = None):
    """Taubin smoothing (a shrinking and an inflating umbrella step per pass) of per-vertex values.

    ``values`` is a dense (n, k) array or a sparse (n, m) matrix (each column smoothed over the mesh); ``mean``, the
    mesh's :func:`umbrella_operator` when the caller keeps it (per pose), else built from ``faces``. Dense float32
    values with a float32 ``mean`` stay float32.
    """
    if mean is None:
        mean = umbrella_operator(faces, values.shape[0] if count is None else count)
    for _ in range(passes):
        for factor in TAUBIN:
            values = values + factor * (mean @ values - values)
        if sparse.issparse(values):  # keep the smoothed weights sparse: far tails are negligible
            values = sparse.csr_matrix(values)
            values.data[np.abs(values.data) < PRUNE * 0.1] = 0.0
            values.eliminate_zeros()
    return values


def prune_rows(matrix: sparse.csr_matrix, threshold: float = PRUNE) -> sparse.csr_matrix:
    """Drop tiny weights and renormalise every row to sum one (so translations stay exact)."""
    matrix = sparse.csr_matrix(matrix)
    matrix.data[np.abs(matrix.data) < threshold] = 0.0
    matrix.eliminate_zeros()
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    return sparse.csr_matrix(sparse.diags(1.0 / np.where(np.abs(sums) > 1e-12, sums, 1.0)) @ matrix)


def fibre_coordinates(fibres: FloatArray, cell: IntArray, parameters: FloatArray) -> FloatArray:
    """(p, 2): the sheet's fibre coordinates (:func:`~viewer.anatomy.muscles.sheet.sheet_fibre_uv`) at cell parameters.

    Bilinear in the (u, s) cell, clamped to it: across-fibre mm (constant along a fibre) and along-fibre fraction.
    """
    _n_u, n_s = fibres.shape[:2]
    i, j = np.divmod(cell, n_s - 1)
    a, b = parameters[:, 0][:, None], parameters[:, 1][:, None]
    uv = sheet_fibre_uv(fibres)
    coordinates = (1 - b) * ((1 - a) * uv[i, j] + a * uv[i + 1, j]) + b * (
        (1 - a) * uv[i, j + 1] + a * uv[i + 1, j + 1]
    )
    coordinates[:, 1] = np.clip(coordinates[:, 1], 0.0, 1.0)
    return coordinates


def closest_points(vertices: FloatArray, faces: IntArray, points: FloatArray, candidates: int = 16):
    """Nearest point on a triangle mesh to each point: (triangle index (p,), barycentric weights (p, 3)).

    Exact among the ``candidates`` triangles whose centroids lie nearest (enough on an even mesh).
    """
    triangles = vertices[faces]
    count = min(candidates, len(faces))
    _, near = cKDTree(triangles.mean(axis=1)).query(points, k=count)
    near = near.reshape(len(points), count)
    a, b, c = (triangles[near][:, :, k] for k in range(3))  # (p, count, 3)
    weights = _closest_barycentric(a, b, c, points[:, None, :])
    closest = weights[..., :1] * a + weights[..., 1:2] * b + weights[..., 2:] * c
    best = np.argmin(np.linalg.norm(closest - points[:, None, :], axis=2), axis=1)
    rows = np.arange(len(points))
    return near[rows, best], weights[rows, best]


def _closest_barycentric(a: FloatArray, b: FloatArray, c: FloatArray, p: FloatArray) -> FloatArray:
    """Barycentric weights (..., 3) of the point of triangle (a, b, c) nearest p (Ericson's regions, vectorised)."""
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    bp = p - b
    d3, d4 = (ab * bp).sum(-1), (ac * bp).sum(-1)
    cp = p - c
    d5, d6 = (ab * cp).sum(-1), (ac * cp).sum(-1)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    total = np.where(np.abs(va + vb + vc) > 1e-18, va + vb + vc, 1e-18)
    result = np.stack([va / total, vb / total, vc / total], axis=-1)  # inside the face

    def edge(mask, t, first, second):
        t = np.clip(np.nan_to_num(t), 0.0, 1.0)
        weights = np.zeros((*mask.shape, 3))
        weights[..., first] = 1 - t
        weights[..., second] = t
        result[mask] = weights[mask]

    with np.errstate(divide="ignore", invalid="ignore"):
        edge((vc <= 0) & (d1 >= 0) & (d3 <= 0), d1 / (d1 - d3), 0, 1)
        edge((vb <= 0) & (d2 >= 0) & (d6 <= 0), d2 / (d2 - d6), 0, 2)
        edge((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), (d4 - d3) / ((d4 - d3) + (d5 - d6)), 1, 2)
    for mask, corner in (((d1 <= 0) & (d2 <= 0), 0), ((d3 >= 0) & (d4 <= d3), 1), ((d6 >= 0) & (d5 <= d6), 2)):
        result[mask] = np.eye(3)[corner]
    return result


def bind_surface(
    vertices: FloatArray,
    faces: IntArray,
    cage: FloatArray,
    fibres: FloatArray,
    passes: int = SMOOTHING_PASSES,
    anchor_depth: float = 0.0,
    sections: int | None = None,
    reach: float | None = None,
    anchors: FloatArray | None = None,
    place_passes: int = 0,
) -> Binding:
    """Bind a closed display surface to its cage (see the module docstring).

    Parameters
    ----------
    vertices, faces
        The display surface at rest: (n, 3) mm and (m, 3) vertex indices.
    cage
        The rest cage (2 * n_u * n_s, 3): deep face rows, then top face rows.
    fibres
        The rest fibres (n_u, n_s, 3), for the fibre coordinates.
    passes
        Taubin smoothing passes of the displacement field (0: the bare trilinear map).
    anchor_depth
        Where thickening starts, through the cage's thickness: 0 the deep face (sheets), 0.5 the middle (tubes).
    sections
        For a rod's cage, the reach of its sections' affine maps (:func:`section_matrix`); None binds by cell.
    reach
        Bind by the cage's blended local affine maps (:func:`blended_matrix`), their Gaussian this many cells wide;
        None binds by cell.
    anchors
        (n, 3) with ``reach``: the points whose place on the cage chooses each vertex's map (default the vertices
        themselves); a thin sheet's two faces carried by the map of their common mid-sheet point stay parallel.
        They are then the vertices' anchors too (the form thickens about them).
       place_passes
        With ``sections``: passes averaging each vertex's place along the rod over the mesh (:func:`rod_places`).
    """
    n_u, n_s = fibres.shape[:2]
    vertices = np.asarray(vertices, float)
    if len(cage) != 2 * n_u * n_s:
        raise ValueError(f"cage has {len(cage)} vertices, expected 2 x {n_u} x {n_s}")
    if reach is not None:
        bare, cell, parameters = blended_matrix(cage, n_u, n_s, vertices, reach, anchors)
    elif sections is None:
        bare, cell, parameters = cage_matrix(cage, n_u, n_s, vertices)
    else:
        cell, _, parameters = locate(cage, n_u, n_s, vertices)
        place = rod_places(cell, parameters, n_s, faces, place_passes)
        bare, cell, parameters = section_matrix(cage, n_u, n_s, vertices, sections, place)
    centre = vertices.mean(axis=0)
    affine_fit = np.hstack([vertices - centre, np.ones((len(vertices), 1))])  # X (n, 4)
    prune = PRUNE if reach is None else BLENDED_PRUNE
    matrix = prune_rows(taubin(bare, faces, passes, len(vertices)), prune) if passes else bare
    # U = X - M C (C: the cage in the same affine coordinates; B C = X): with M = S B this is X - S X, and it
    # keeps an affine motion exact whatever pruning did to M
    affine = affine_fit - matrix @ np.hstack([cage - centre, np.ones((len(cage), 1))])
    fit = np.linalg.solve(affine_fit.T @ affine_fit, affine_fit.T)  # K (4, n): least-squares affine fit
    basis = np.asarray((bare.T @ fit.T).T)  # V = K B (4, n_cage)
    anchor_weights, _ = trilinear(np.column_stack([parameters[:, :2], np.full(len(cell), anchor_depth)]))
    if anchors is not None:  # a thin sheet thickens about its own mid-sheet (not lifted off the cage's deep face)
        anchor_matrix = blended_matrix(cage, n_u, n_s, anchors, reach, anchors)[0]
    elif sections is None:
        anchor_matrix = _cell_rows(cell, anchor_weights, n_u, n_s)
    else:
        anchor_matrix = section_centres(place, n_u, n_s)
    top = cage[n_u * n_s :].reshape(n_u, n_s, 3)
    triangle, weights = closest_points(vertices, faces, top.reshape(-1, 3))
    carry = sparse.csr_matrix(
        (weights.ravel(), (np.repeat(np.arange(len(triangle)), 3), faces[triangle].ravel())),
        shape=(len(triangle), len(vertices)),
    )
    return Binding(
        matrix=sparse.csr_matrix(matrix),
        affine=affine,
        basis=basis,
        fibre_uv=fibre_coordinates(fibres, cell, parameters),
        fibre_carry=carry,
        fibre_lines=(carry @ vertices).reshape(top.shape),
        anchor_matrix=sparse.csr_matrix(anchor_matrix),
    )


__all__ = ["BLOCK_REACH", "Binding", "bind_surface", "cage_matrix", "section_matrix", "sheet_anchors", "taubin"]
