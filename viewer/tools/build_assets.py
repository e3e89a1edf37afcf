"""Regenerate ``assets/meshes/`` and the landmark file from the installed atlas package.

Run ``python -m viewer.tools.build_assets`` after installing the ``build``
extra (it needs ``musculoskeletal-models``). The outputs are committed; a test
runs this build into a temporary folder and compares.

Steps: evaluate the atlas Lagrange surfaces, weld element edges, split the
combined pelvis into both hip bones and the sacrum, move everything into the
ISB pelvis frame, mirror the left lower limb into the right acetabulum, and
compute the named landmarks.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import trimesh

from viewer.anatomy import atlas
from viewer.anatomy.frame import FRAME_DESCRIPTION, fit_sphere, pelvis_frame, reflect_z
from viewer.anatomy.geometry import apply
from viewer.anatomy.landmarks import extreme_point, notch_deepest_point, tibial_anterolateral_point
from viewer.io.annotations import load_annotation
from viewer.paths import assets_dir
from viewer.types import FloatArray

SIDES = ("right", "left")
WELD_DIGITS = 5


@dataclass
class AtlasPart:
    """One atlas file set evaluated in the pelvis frame."""

    elements: list[atlas.AtlasElement]
    nodes: FloatArray  # already in the pelvis frame
    sources: dict[str, str]
    samples: int
    cache: dict = field(default_factory=dict)

    def surface(self, element_range: tuple[int, int] | None = None) -> trimesh.Trimesh:
        """The part's surface sampled from its finite elements (those numbered in ``element_range``)."""
        chosen = self.elements
        if element_range is not None:
            first, last = element_range
            chosen = [e for e in self.elements if first <= e.number <= last]
        sampled = atlas.sample_elements(chosen, self.nodes, self.samples)
        mesh = trimesh.Trimesh(sampled.vertices, sampled.faces, process=False)
        mesh.merge_vertices(digits_vertex=WELD_DIGITS)
        mesh.remove_unreferenced_vertices()
        trimesh.repair.fix_normals(mesh, multibody=True)
        return mesh

    def element_points(self, numbers: list[int]) -> FloatArray:
        """Sample points (n, 3) of the elements ``numbers``."""
        return atlas.element_points(self.elements, self.nodes, numbers, self.samples)


def atlas_folder() -> Path:
    """The atlas mesh folder inside the installed ``musculoskeletal-models`` package."""
    try:
        distribution = metadata.distribution("musculoskeletal-models")
    except metadata.PackageNotFoundError as error:
        raise SystemExit("build_assets needs 'musculoskeletal-models': pip install '.[build]'") from error
    return Path(str(distribution.locate_file("musculoskeletal/models/atlas_meshes")))


def load_parts(config: dict, folder: Path) -> tuple[dict[str, AtlasPart], FloatArray, dict[str, FloatArray]]:
    """Read every atlas part; return them in the pelvis frame with the CT->frame transform."""
    samples = config["samples_per_element"]
    raw = {}
    for name, files in config["atlas_parts"].items():
        elements = atlas.read_elements(folder / files["mesh"], folder / files["ensemble"])
        nodes = atlas.read_nodes(folder / files["nodes"])
        raw[name] = (elements, nodes, {k: files[k] for k in ("mesh", "ensemble", "nodes")})
    definitions = {d["name"]: d for d in load_annotation("landmark_definitions")["landmarks"]}
    pelvis_nodes = raw["pelvis"][1]

    def pelvis_node(name: str, side: str) -> FloatArray:
        return pelvis_nodes[definitions[name]["node"][side]]

    transform = pelvis_frame(
        pelvis_node("asis", "right"),
        pelvis_node("asis", "left"),
        pelvis_node("psis", "right"),
        pelvis_node("psis", "left"),
    )
    parts = {
        name: AtlasPart(elements, apply(transform, nodes), sources, samples)
        for name, (elements, nodes, sources) in raw.items()
    }
    return parts, transform, definitions


def mirrored(mesh: trimesh.Trimesh, offset: FloatArray) -> trimesh.Trimesh:
    """Mirror a left bone to the right and shift it; face winding flips to stay outward."""
    return trimesh.Trimesh(reflect_z(mesh.vertices) + offset, mesh.faces[:, ::-1], process=False)


def neutral_rotation_left(
    head: FloatArray, medial_epicondyle: FloatArray, lateral_epicondyle: FloatArray
) -> FloatArray:
    """Rotation that aligns the left femur's ISB axes with the pelvis frame.

    Worked on the mirror image (a right femur), where the ISB femur frame is
    y from the epicondyle midpoint to the head centre, x anterior, z lateral;
    the rotation is mirrored back for the left bone.
    """
    head_r, medial_r, lateral_r = (reflect_z(p) for p in (head, medial_epicondyle, lateral_epicondyle))
    y_axis = head_r - (medial_r + lateral_r) / 2
    y_axis /= np.linalg.norm(y_axis)
    x_axis = np.cross(y_axis, lateral_r - medial_r)
    x_axis /= np.linalg.norm(x_axis)
    z_axis = np.cross(x_axis, y_axis)
    rotation_right = np.vstack([x_axis, y_axis, z_axis])
    mirror = np.diag([1.0, 1.0, -1.0])
    return mirror @ rotation_right @ mirror


def build(out_dir: Path, annotations_out: Path) -> dict:
    """Write every bone mesh, the provenance and the landmark file; return the landmark file."""
    config = load_annotation("bones")
    folder = atlas_folder()
    parts, transform, definitions = load_parts(config, folder)
    meshes: dict[str, trimesh.Trimesh] = {}
    landmarks: dict[str, dict] = {}
    measurements: dict[str, float] = {}

    def add_landmark(name: str, side: str | None, position: FloatArray, bone: str) -> None:
        key = f"{name}_{side}" if side else name
        landmarks[key] = {
            "position": [round(float(v), 3) for v in position],
            "bone": f"{bone}_{side}" if side and bone != "sacrum" else bone,
            "display_name": definitions[name]["display_name"],
        }

    # Pelvis: hip bones and sacrum are separate element ranges of one combined mesh.
    for bone in config["bones"]:
        if bone["part"] != "pelvis":
            continue
        for side, element_range in bone["elements"].items():
            key = bone["name"] if side == "both" else f"{bone['name']}_{side}"
            meshes[key] = parts["pelvis"].surface(tuple(element_range))

    pelvis_nodes = parts["pelvis"].nodes
    acetabulum: dict[str, FloatArray] = {}
    for side in SIDES:
        acetabulum[side], radius = fit_sphere(
            parts["pelvis"].element_points(definitions["acetabulum_centre"]["elements"][side])
        )
        measurements[f"acetabulum_radius_{side}_mm"] = round(radius, 2)

    # Lower limb. The atlas seats the mean femoral head up to 5 mm into the acetabular roof, so the
    # head is centred in its acetabulum instead (a concentric joint), after turning the limb about the
    # head so the femur's ISB axes match the pelvis frame (all hip angles zero). The right limb is the
    # mirror image of the left, centred in the right acetabulum.
    head_left, head_radius = fit_sphere(
        parts["femur"].element_points(definitions["femoral_head_centre"]["elements"]["left"])
    )
    femur_nodes = parts["femur"].nodes
    epicondyles = [
        femur_nodes[definitions[name]["node"]["left"]] for name in ("medial_epicondyle", "lateral_epicondyle")
    ]
    neutral = neutral_rotation_left(head_left, *epicondyles)
    for part_name in ("femur", "tibia_fibula", "patella"):
        part = parts[part_name]
        part.nodes = (part.nodes - head_left) @ neutral.T + acetabulum["left"]
    head_left = acetabulum["left"]
    right_offset = acetabulum["right"] - reflect_z(head_left)
    for bone in config["bones"]:
        if bone["part"] == "pelvis":
            continue
        left = parts[bone["part"]].surface()
        meshes[f"{bone['name']}_left"] = left
        meshes[f"{bone['name']}_right"] = mirrored(left, right_offset)
    head = {"left": head_left, "right": reflect_z(head_left) + right_offset}
    measurements["femoral_head_radius_left_mm"] = round(head_radius, 2)
    measurements["femoral_head_radius_right_mm"] = round(head_radius, 2)

    def on_side(point: FloatArray, side: str) -> FloatArray:
        return point if side == "left" else reflect_z(point) + right_offset

    for name, definition in definitions.items():
        method, bone = definition["method"], definition["bone"]
        if method == "node":
            for side, node in definition["node"].items():
                if bone == "hip_bone":
                    add_landmark(name, side, pelvis_nodes[node], bone)
                else:
                    left_point = parts[bone].nodes[node]
                    for target in SIDES:
                        add_landmark(name, target, on_side(left_point, target), bone)
        elif method == "midpoint_of_nodes":
            add_landmark(name, None, pelvis_nodes[definition["nodes"]].mean(axis=0), bone)
        elif method == "sphere_fit":
            centres = acetabulum if bone == "hip_bone" else head
            for side in SIDES:
                add_landmark(name, side, centres[side], bone)
        elif method == "extreme":
            targets = [None] if bone == "sacrum" else list(SIDES)
            for side in targets:
                vertices = meshes[bone if side is None else f"{bone}_{side}"].vertices
                add_landmark(name, side, extreme_point(vertices, definition["direction"]), bone)
    # Landmarks that depend on others come after the node-based ones.
    for name, definition in definitions.items():
        if definition["method"] == "notch":
            low_name, high_name = definition["between"]
            for side in SIDES:
                point = notch_deepest_point(
                    meshes[f"hip_bone_{side}"].vertices,
                    np.array(landmarks[f"{low_name}_{side}"]["position"]),
                    np.array(landmarks[f"{high_name}_{side}"]["position"]),
                )
                add_landmark(name, side, point, definition["bone"])
        elif definition["method"] == "tibial_anterolateral":
            for side in SIDES:
                shells = meshes[f"tibia_fibula_{side}"].split(only_watertight=False)
                tibia = max(shells, key=lambda shell: abs(shell.volume))
                lateral = np.array([0.0, 0.0, 1.0 if side == "right" else -1.0])
                point = tibial_anterolateral_point(tibia.vertices, lateral, tuple(definition["below_plateau_mm"]))
                add_landmark(name, side, point, definition["bone"])

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, mesh in sorted(meshes.items()):
        path = out_dir / f"{name}.ply"
        mesh.vertices = np.round(mesh.vertices, 4)
        path.write_bytes(trimesh.exchange.ply.export_ply(mesh, encoding="binary"))
        files[name] = path.name
    version = metadata.version("musculoskeletal-models")
    provenance = {
        "description": "Bone surfaces evaluated from the mean adult lower-limb atlas; see README in this folder's parent project",
        "package": "musculoskeletal-models",
        "version": version,
        "licence": "MPL-2.0 (see LICENSE-MPL-2.0.txt beside this file)",
        "source_files": {name: part.sources for name, part in parts.items()},
        "sampling": f"{config['samples_per_element']} intervals per element edge, edges welded at 1e-{WELD_DIGITS} mm",
        "frame": FRAME_DESCRIPTION,
        "ct_to_frame_transform": np.round(transform, 9).tolist(),
        "neutral_pose": "femur, tibia and patella turned about the femoral head centre so the femur's ISB axes "
        "(epicondyle midpoint to head centre; epicondylar line) match the pelvis frame (hip angles all zero), "
        "then moved so the head centre coincides with the acetabular sphere centre (the atlas overlapped them by up to 5 mm)",
        "right_lower_limb": "mirror image of the left atlas bones through the midsagittal plane, translated by "
        f"{np.round(right_offset, 3).tolist()} mm so the femoral head is centred in the right acetabulum",
        "meshes": files,
        "regenerate": "pip install '.[build]' && python -m viewer.tools.build_assets",
    }
    (out_dir / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    licence = Path(
        str(
            metadata.distribution("musculoskeletal-models").locate_file(
                f"musculoskeletal_models-{version}.dist-info/LICENSE"
            )
        )
    )
    if licence.is_file():
        shutil.copyfile(licence, out_dir / "LICENSE-MPL-2.0.txt")
    landmark_file = {
        "note": "Generated by python -m viewer.tools.build_assets from landmark_definitions.json; do not edit by hand.",
        "frame": FRAME_DESCRIPTION,
        "measurements": measurements,
        "landmarks": dict(sorted(landmarks.items())),
    }
    annotations_out.mkdir(parents=True, exist_ok=True)
    (annotations_out / "landmarks.json").write_text(json.dumps(landmark_file, indent=2) + "\n", encoding="utf-8")
    return landmark_file


def main(argv: list[str] | None = None) -> int:
    """Build the bone meshes and landmarks from the atlas into ``--out``; the exit code."""
    parser = argparse.ArgumentParser(prog="python -m viewer.tools.build_assets", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="asset folder to write (default: the project's assets/)")
    args = parser.parse_args(argv)
    root = args.out or assets_dir()
    result = build(root / "meshes", root / "annotations")
    print(
        f"wrote {len(list((root / 'meshes').glob('*.ply')))} meshes and {len(result['landmarks'])} landmarks to {root}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
