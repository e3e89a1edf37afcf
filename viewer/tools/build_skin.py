"""Regenerate ``assets/meshes/skin.ply``: the skin surface of the hip region.

Run ``python -m viewer.tools.build_skin`` after the bones or muscles change.
The output is committed; a test rebuilds it into a temporary folder and
compares. Provenance (parameters, inputs, date-free so rebuilds are
byte-stable) is written as comment lines in the PLY header.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from viewer.anatomy.bones import Surface, load_bone_surfaces
from viewer.anatomy.metrics import is_watertight, signed_volume
from viewer.anatomy.skin import SKIN_FILE, SkinParameters, build_skin, parameters_record
from viewer.paths import meshes_dir


def input_digest(bones: dict[str, Surface], muscles: dict[str, Surface]) -> str:
    """Short hash of the bone and muscle geometry the skin was built from."""
    digest = hashlib.sha256()
    for name in sorted(bones) + sorted(muscles):
        surface = bones.get(name) or muscles[name]
        digest.update(name.encode())
        digest.update(np.round(surface.vertices, 3).astype(np.float64).tobytes())
    return digest.hexdigest()[:16]


def ply_bytes(surface: Surface, comments: list[str]) -> bytes:
    """Binary little-endian PLY (float32 vertices, uchar/int triangle lists) with header comments."""
    header = ["ply", "format binary_little_endian 1.0"]
    header += [f"comment {line}" for line in comments]
    header += [
        f"element vertex {len(surface.vertices)}",
        "property float x",
        "property float y",
        "property float z",
        f"element face {len(surface.faces)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    faces = np.zeros(len(surface.faces), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    faces["n"] = 3
    faces["i"] = surface.faces
    body = np.asarray(surface.vertices, dtype="<f4").tobytes() + faces.tobytes()
    return ("\n".join(header) + "\n").encode("ascii") + body


def build(out_dir: Path, params: SkinParameters | None = None) -> dict:
    """Build the skin, write ``skin.ply`` into ``out_dir`` and return its statistics."""
    from viewer.anatomy.muscles import build_muscles

    params = params or SkinParameters()
    start = time.perf_counter()
    bones = load_bone_surfaces()
    muscles = {name: m.surface() for name, m in build_muscles().items()}
    skin = build_skin(bones, muscles, params=params)
    seconds = time.perf_counter() - start
    stats = {
        "vertices": len(skin.vertices),
        "triangles": len(skin.faces),
        "watertight": is_watertight(skin.faces),
        "volume_cm3": round(signed_volume(skin.vertices, skin.faces) / 1000.0, 1),
        "build_seconds": round(seconds, 1),
    }
    comments = [
        "glute-viewer skin of the hip region, mm, ISB pelvis frame (X anterior, Y superior, Z right)",
        "built by python -m viewer.tools.build_skin from the atlas bones and the built muscles",
        f"inputs sha256 {input_digest(bones, muscles)}",
        "parameters " + json.dumps(parameters_record(params), separators=(",", ":")),
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / SKIN_FILE).write_bytes(ply_bytes(skin, comments))
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m viewer.tools.build_skin", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="mesh folder to write (default: assets/meshes)")
    args = parser.parse_args(argv)
    out = args.out or meshes_dir()
    stats = build(out)
    print(f"wrote {out / SKIN_FILE}: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
