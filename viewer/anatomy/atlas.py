"""Read the fieldwork atlas files and evaluate them into triangle surfaces.

Only the asset build step uses this module; the viewer itself loads the
committed meshes. Formats (all JSON):

* ``*.geof``: node coordinates, ``field_parameters["node 00000012"]["dim 0"]``.
* ``*.mesh``: ``elements`` (number -> "level type") and ``connectivity``
  ("element_point" -> shared "element_point"s).
* ``*.ens``: ``basis`` (type -> Lagrange basis name) and ``custom_map``.

Global node numbers follow fieldwork's mapper: element points are visited in
sorted (element, point) order and each unassigned one takes the next number,
together with every element point it is connected to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viewer.anatomy.lagrange import element_basis, sample_grid
from viewer.types import FloatArray, IntArray


class AtlasFormatError(ValueError):
    """An atlas file that cannot be read as the documented format."""


@dataclass(frozen=True)
class AtlasElement:
    """One Lagrange element: its basis and the global nodes it interpolates."""

    number: int
    basis: str
    nodes: tuple[int, ...]


def _read_json(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise AtlasFormatError(f"{path}: cannot read atlas file ({error})") from error
    if not isinstance(data, dict):
        raise AtlasFormatError(f"{path}: expected a JSON object")
    return data


def read_nodes(geof_path: Path) -> FloatArray:
    """Node coordinates (n, 3) of a ``.geof`` geometric field, in file order."""
    data = _read_json(geof_path)
    try:
        parameters = data["field_parameters"]
        keys = sorted(parameters, key=lambda key: int(key.split()[1]))
        return np.array([[float(parameters[k][f"dim {d}"]) for d in range(3)] for k in keys])
    except (KeyError, ValueError, IndexError) as error:
        raise AtlasFormatError(f"{geof_path}: field 'field_parameters' malformed ({error})") from error


def read_elements(mesh_path: Path, ensemble_path: Path) -> list[AtlasElement]:
    """Elements of a ``.mesh`` with global node numbers assigned as fieldwork does."""
    mesh = _read_json(mesh_path)
    ensemble = _read_json(ensemble_path)
    custom_map = ensemble.get("custom_map")
    if custom_map and any(int(k) != v for k, v in custom_map.items()):
        raise AtlasFormatError(f"{ensemble_path}: field 'custom_map' is not the identity; not supported")
    try:
        basis_names = ensemble["basis"]
        element_types = {int(k): v.split()[1] for k, v in mesh["elements"].items()}
        connectivity = {
            tuple(map(int, key.split("_"))): [tuple(map(int, p.split("_"))) for p in value.split()]
            for key, value in mesh["connectivity"].items()
        }
    except (KeyError, ValueError, IndexError, AttributeError) as error:
        raise AtlasFormatError(f"{mesh_path}: fields 'elements'/'connectivity' malformed ({error})") from error
    if any(element < 0 for element, _ in connectivity):
        raise AtlasFormatError(f"{mesh_path}: hanging points are not supported")

    global_number: dict[tuple[int, int], int] = {}
    next_number = 0
    for element_point in sorted(connectivity):
        if element_point in global_number:
            continue
        global_number[element_point] = next_number
        for shared in connectivity[element_point]:
            global_number[shared] = next_number
        next_number += 1

    elements = []
    for number in sorted(element_types):
        basis = basis_names[element_types[number]]
        size = len(element_basis(basis).nodes)
        nodes = tuple(global_number[(number, p)] for p in range(size))
        elements.append(AtlasElement(number=number, basis=basis, nodes=nodes))
    return elements


@dataclass(frozen=True)
class SampledSurface:
    """Triangles sampled from atlas elements, before shared edges are welded."""

    vertices: FloatArray
    faces: IntArray
    face_element: IntArray  # atlas element number of each face


def sample_elements(elements: list[AtlasElement], nodes: FloatArray, samples: int) -> SampledSurface:
    """Evaluate every element on a regular grid with ``samples`` intervals a side."""
    vertices, faces, face_element = [], [], []
    offset = 0
    for element in elements:
        basis = element_basis(element.basis)
        xi, tris = sample_grid(basis.is_triangle, samples)
        points = basis.evaluate(xi) @ nodes[list(element.nodes)]
        vertices.append(points)
        faces.append(tris + offset)
        face_element.append(np.full(len(tris), element.number))
        offset += len(points)
    return SampledSurface(np.vstack(vertices), np.vstack(faces), np.concatenate(face_element))


def element_points(elements: list[AtlasElement], nodes: FloatArray, numbers: list[int], samples: int) -> FloatArray:
    """Surface points of the chosen elements, e.g. the femoral head for a sphere fit."""
    chosen = [e for e in elements if e.number in set(numbers)]
    return sample_elements(chosen, nodes, samples).vertices
