"""Lagrange element bases of the fieldwork atlas meshes, in plain numpy.

The atlas bones (musculoskeletal-models, MPL-2.0) are stored as piecewise
Lagrange surfaces. Rather than depend on gias3 (which calls ``scipy.dot``, gone
from current SciPy), each basis is rebuilt here from its node lattice: the
nodes of a degree-n element sit on a regular lattice in element coordinates,
and the basis is the unique polynomial interpolant on that lattice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from viewer.types import FloatArray, IntArray


@dataclass(frozen=True)
class ElementBasis:
    """Node lattice and monomial exponents of one element type."""

    name: str
    nodes: FloatArray  # (n_nodes, 2) element coordinates of the nodes
    exponents: IntArray  # (n_nodes, 2) monomial powers spanning the space
    inverse_vandermonde: FloatArray  # maps monomial values to basis values
    is_triangle: bool

    def evaluate(self, xi: FloatArray) -> FloatArray:
        """Basis values, shape (n_points, n_nodes), at element coordinates ``xi``."""
        xi = np.atleast_2d(np.asarray(xi, dtype=float))
        monomials = xi[:, None, 0] ** self.exponents[None, :, 0] * xi[:, None, 1] ** self.exponents[None, :, 1]
        return monomials @ self.inverse_vandermonde


def _quad_lattice(order_0: int, order_1: int) -> tuple[FloatArray, IntArray]:
    # fieldwork ordering: xi0 varies fastest
    nodes = [(i / order_0, j / order_1) for j in range(order_1 + 1) for i in range(order_0 + 1)]
    exponents = [(i, j) for j in range(order_1 + 1) for i in range(order_0 + 1)]
    return np.array(nodes), np.array(exponents)


def _triangle_lattice(order: int) -> tuple[FloatArray, IntArray]:
    # fieldwork ordering: rows of constant xi1, xi0 varying fastest along each row
    nodes = [(i / order, j / order) for j in range(order + 1) for i in range(order + 1 - j)]
    exponents = [(i, j) for j in range(order + 1) for i in range(order + 1 - j)]
    return np.array(nodes), np.array(exponents)


# Element type names as they appear in the atlas ``.ens`` files.
_LATTICES = {
    "quad_L3_L3": lambda: _quad_lattice(3, 3),
    "quad_L4_L4": lambda: _quad_lattice(4, 4),
    "quad_L4_L3": lambda: _quad_lattice(4, 3),
    "simplex_L3_L3": lambda: _triangle_lattice(3),
    "simplex_L4_L4": lambda: _triangle_lattice(4),
}


@cache
def element_basis(name: str) -> ElementBasis:
    """The basis for an atlas element type such as ``quad_L3_L3``."""
    if name not in _LATTICES:
        raise ValueError(f"unsupported element basis {name!r}; known: {sorted(_LATTICES)}")
    nodes, exponents = _LATTICES[name]()
    vandermonde = nodes[:, None, 0] ** exponents[None, :, 0] * nodes[:, None, 1] ** exponents[None, :, 1]
    return ElementBasis(
        name=name,
        nodes=nodes,
        exponents=exponents,
        inverse_vandermonde=np.linalg.inv(vandermonde),
        is_triangle=name.startswith("simplex"),
    )


def sample_grid(is_triangle: bool, samples: int) -> tuple[FloatArray, IntArray]:
    """Element coordinates of a regular sampling and its triangles.

    ``samples`` is the number of intervals along each element edge. Triangles
    are wound counter-clockwise in (xi0, xi1).
    """
    n = samples
    if not is_triangle:
        xi = np.array([(i / n, j / n) for j in range(n + 1) for i in range(n + 1)])
        tris = []
        for j in range(n):
            for i in range(n):
                a = j * (n + 1) + i
                b, c, d = a + 1, a + n + 1, a + n + 2
                tris += [(a, b, d), (a, d, c)]
        return xi, np.array(tris)
    index: dict[tuple[int, int], int] = {}
    points = []
    for j in range(n + 1):
        for i in range(n + 1 - j):
            index[(i, j)] = len(points)
            points.append((i / n, j / n))
    tris = []
    for j in range(n):
        for i in range(n - j):
            tris.append((index[(i, j)], index[(i + 1, j)], index[(i, j + 1)]))
            if i + j + 2 <= n:
                tris.append((index[(i + 1, j)], index[(i + 1, j + 1)], index[(i, j + 1)]))
    return np.array(points), np.array(tris)
