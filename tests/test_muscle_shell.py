"""The broad fans' cages solved as-rigid-as-possible at a pose (viewer.anatomy.muscles.shell)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from viewer.anatomy.muscles.shell import ElasticShell, quaternion_matrices, rotational_parts

N_U, N_S, THICKNESS_MM = 6, 14, 30.0


def slab() -> tuple[np.ndarray, np.ndarray]:
    """Rest deep and top faces (N_U, N_S, 3) of a flat fan 50 mm across, 120 mm along its fibres, 30 mm thick."""
    u, s = np.meshgrid(np.linspace(0, 50, N_U), np.linspace(0, 120, N_S), indexing="ij")
    lower = np.stack([u, s, np.zeros_like(u)], axis=-1)
    return lower, lower + np.array([0.0, 0.0, THICKNESS_MM])


def cell_bends(grid: np.ndarray) -> float:
    """Largest angle (degrees) between the normals of neighbouring cells of a (n_u, n_s, 3) grid."""
    areas = np.cross(grid[1:, 1:] - grid[:-1, :-1], grid[:-1, 1:] - grid[1:, :-1])
    normals = areas / np.linalg.norm(areas, axis=-1, keepdims=True)
    across = np.einsum("ijk,ijk->ij", normals[1:], normals[:-1])
    along = np.einsum("ijk,ijk->ij", normals[:, 1:], normals[:, :-1])
    return float(np.degrees(np.arccos(np.clip(min(across.min(), along.min()), -1.0, 1.0))))


def test_the_rotational_part_of_a_stretched_or_mirrored_cell_is_found_from_the_rest_orientation():
    rng = np.random.default_rng(3)
    turns = Rotation.from_rotvec(Rotation.random(40, random_state=3).as_rotvec() * rng.uniform(0.1, 0.65, (40, 1)))
    rotations = turns.as_matrix()  # up to 117 degrees, as far as a fan's cells turn with the thigh
    factors = rng.normal(size=(40, 3, 3))
    stretches = np.eye(3) + 0.15 * (factors + factors.transpose(0, 2, 1))  # symmetric, positive definite
    rest = np.tile([1.0, 0.0, 0.0, 0.0], (40, 1))
    found = quaternion_matrices(rotational_parts(rotations @ stretches, rest, 30))
    np.testing.assert_allclose(found, rotations, atol=1e-4)
    mirrored = quaternion_matrices(rotational_parts(rotations @ np.diag([1.0, 1.0, -1.0]), rest, 30))
    np.testing.assert_allclose(np.linalg.det(mirrored), 1.0, atol=1e-9)  # an inverted cell still turns rigidly


def test_a_cage_that_did_not_move_stays_as_it_is():
    lower, upper = slab()
    cage = ElasticShell(lower, upper).pose(lower.reshape(-1, 3), upper.reshape(-1, 3), np.ones(N_U), np.ones(N_U * N_S))
    np.testing.assert_allclose(cage, np.concatenate([lower.reshape(-1, 3), upper.reshape(-1, 3)]), atol=1e-6)


def test_a_shortened_fan_laid_off_unevenly_bulges_evenly():
    """Its fibres at half their length, the fan is twice as thick (its volume). Laid off sample by sample (each
    fibre thickened by its own shortening, pushed out of bone, held to its volume) its top face comes out lumpy,
    neighbouring cells bending 160 degrees against each other; solved as one elastic body it is an even slab."""
    lower, upper = slab()
    posed = lower * [1.0, 0.5, 1.0]
    rng = np.random.default_rng(0)
    uneven = 1.0 + 0.25 * rng.standard_normal((N_U, N_S))
    uneven[:, [0, -1]] = 1.0  # the attachments are laid off as they are held
    laid = posed + np.outer(2.0 * THICKNESS_MM * uneven, [0.0, 0.0, 1.0]).reshape(N_U, N_S, 3)
    assert cell_bends(laid) > 150.0
    cage = ElasticShell(lower, upper).pose(
        posed.reshape(-1, 3), laid.reshape(-1, 3), np.full(N_U, 0.5), np.full(N_U * N_S, 2.0)
    )
    deep, top = cage[: N_U * N_S].reshape(N_U, N_S, 3), cage[N_U * N_S :].reshape(N_U, N_S, 3)
    assert cell_bends(top) < 5.0
    np.testing.assert_allclose(np.linalg.norm(top - deep, axis=-1), 2.0 * THICKNESS_MM, rtol=0.02)
    assert np.abs(deep - posed).max() < 1.0  # the deep face stays on the posed sheet
    np.testing.assert_array_equal(top[:, [0, -1]], laid[:, [0, -1]])  # the attachments are held


def test_a_lighter_pull_lets_the_cells_round_a_sharp_fold_of_the_sheet():
    """A sheet folded into a tent (its cells turning 60 degrees at the ridge): drawn to it at the full pull the deep
    face still turns 36 degrees there, at a tenth of it (medius, shell.DEEP_PULLS) under 10 and the top face under 6,
    the deep face then lying up to 12 mm off the ridge."""
    lower, upper = slab()
    posed = lower.copy()
    posed[..., 2] = np.clip(25.0 - np.abs(lower[..., 1] - 60.0) * 2.0, 0.0, None)
    laid = posed + np.array([0.0, 0.0, THICKNESS_MM])
    assert cell_bends(posed) > 55.0
    bends = {}
    for pull in (1.0, 0.1):
        cage = ElasticShell(lower, upper, pull).pose(
            posed.reshape(-1, 3), laid.reshape(-1, 3), np.ones(N_U), np.ones(N_U * N_S)
        )
        deep, top = cage[: N_U * N_S].reshape(N_U, N_S, 3), cage[N_U * N_S :].reshape(N_U, N_S, 3)
        bends[pull] = (cell_bends(deep), cell_bends(top))
        assert np.abs(deep - posed).max() < 15.0
    assert bends[1.0][0] > 30.0
    assert bends[0.1][0] < 12.0 and bends[0.1][1] < 8.0
