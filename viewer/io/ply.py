"""A small, strict reader for binary little-endian PLY triangle meshes.

The viewer reads its own committed meshes at every start; importing trimesh
for that alone costs most of a second, so this reads them with numpy. It
accepts exactly what the build step writes (float or double x/y/z vertices,
triangle faces as a list property) and rejects anything else by name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from viewer.types import FloatArray, IntArray

_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
    "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip
MAX_HEADER_BYTES = 4096
MAX_COORDINATE_MM = 3000.0  # every mesh of the region lies well within 3 m of the pelvis origin


class PlyError(ValueError):
    """A PLY file this reader cannot use; the message names the file."""


def read_ply(path: Path) -> tuple[FloatArray, IntArray]:
    """Vertices (n, 3) float64 and triangles (m, 3) int64 of a binary PLY file."""
    table, faces = read_ply_table(path)
    return points_of(table), faces


def points_of(table: np.ndarray) -> FloatArray:
    """The (n, 3) float64 positions of a structured vertex table."""
    return np.column_stack([table["x"], table["y"], table["z"]]).astype(np.float64)


def read_ply_table(path: Path) -> tuple[np.ndarray, IntArray]:
    """Every scalar vertex property (a structured (n,) array: x, y, z and any others) and the triangles."""
    path = Path(path)
    data = path.read_bytes()
    end = data.find(b"end_header\n", 0, MAX_HEADER_BYTES)
    if not data.startswith(b"ply\n") or end < 0:
        raise PlyError(f"{path}: not a PLY file (no 'ply' magic or no end_header)")
    header = data[:end].decode("ascii", errors="replace").splitlines()
    body = memoryview(data)[end + len("end_header\n") :]
    if "format binary_little_endian 1.0" not in header:
        raise PlyError(f"{path}: only binary_little_endian PLY is supported")
    elements: list[tuple[str, int, list[list[str]]]] = []
    for line in header:
        words = line.split()
        if words[:1] == ["element"] and len(words) == 3:
            elements.append((words[1], int(words[2]), []))
        elif words[:1] == ["property"] and elements:
            elements[-1][2].append(words[1:])
    offset = 0
    vertices = faces = None
    for name, count, properties in elements:
        if name == "vertex":
            dtype = np.dtype([(p[-1], "<" + _TYPES[p[0]]) for p in properties if p[0] in _TYPES])
            if len(dtype) != len(properties) or not {"x", "y", "z"} <= set(dtype.names or ()):
                raise PlyError(f"{path}: vertex properties must be scalar and include x, y, z")
            table = np.frombuffer(body, dtype=dtype, count=count, offset=offset)
            vertices = table.copy()
            offset += dtype.itemsize * count
        elif name == "face":
            if len(properties) != 1 or properties[0][0] != "list":
                raise PlyError(f"{path}: face element must hold one list property")
            count_type, index_type = _TYPES[properties[0][1]], _TYPES[properties[0][2]]
            dtype = np.dtype([("n", "<" + count_type), ("i", "<" + index_type, (3,))])
            table = np.frombuffer(body, dtype=dtype, count=count, offset=offset)
            if (table["n"] != 3).any():
                raise PlyError(f"{path}: only triangle faces are supported")
            faces = table["i"].astype(np.int64)
            offset += dtype.itemsize * count
        else:
            raise PlyError(f"{path}: unexpected element {name!r}")
    if vertices is None or faces is None:
        raise PlyError(f"{path}: needs both vertex and face elements")
    _check_geometry(path, points_of(vertices), faces)
    for name in vertices.dtype.names or ():
        column = vertices[name]
        if column.dtype.kind == "f" and not np.isfinite(column).all():
            raise PlyError(f"{path}: field 'vertex[{int(np.flatnonzero(~np.isfinite(column))[0])}].{name}': not finite")
    return vertices, faces


def _check_geometry(path: Path, vertices: FloatArray, faces: IntArray) -> None:
    """Finite vertices within the region's box and face indices that name existing vertices."""
    bad_vertex = np.flatnonzero(~np.isfinite(vertices).all(axis=1) | (np.abs(vertices) > MAX_COORDINATE_MM).any(axis=1))
    if len(bad_vertex):
        index = int(bad_vertex[0])
        raise PlyError(
            f"{path}: field 'vertex[{index}]': {vertices[index].tolist()} is not a finite point within "
            f"{MAX_COORDINATE_MM:.0f} mm of the pelvis"
        )
    bad_face = np.flatnonzero(((faces < 0) | (faces >= len(vertices))).any(axis=1))
    if len(bad_face):
        index = int(bad_face[0])
        raise PlyError(
            f"{path}: field 'face[{index}]': vertex index {faces[index].tolist()} outside 0..{len(vertices) - 1}"
        )
