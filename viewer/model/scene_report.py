"""The scene in numbers, as ``python -m viewer inspect --json`` prints it: units, frame, pose, landmarks,
bony impingement, and each structure's kind, layer, volume, closure and length."""

from __future__ import annotations

import numpy as np

from viewer.anatomy.bones import SIDES
from viewer.anatomy.frame import FRAME_DESCRIPTION
from viewer.anatomy.geometry import is_watertight, signed_volume


def describe_scene(scene, include_fibres: bool = False) -> dict:
    """The JSON-ready summary of ``scene`` (a :class:`~viewer.model.scene.SceneModel`) at its current pose.

    Parameters
    ----------
    scene
        The scene model.
    include_fibres
        Add each muscle's fibre polylines, (n_fibres, n_samples, 3) in mm, rounded to 0.01 mm.
    """
    structures = {}
    for name, structure in scene.structures.items():
        vertices = scene.vertices(name)
        entry = {
            "kind": structure.kind,
            "layer": structure.layer_name,
            "vertices": len(vertices),
            "triangles": len(structure.faces),
            "volume_cm3": round(signed_volume(vertices, structure.faces) / 1000.0, 2),
            "watertight": is_watertight(structure.faces),
        }
        line = scene.centreline(name)
        if line is not None:
            entry["centreline"] = np.round(line, 2).tolist()
        fibres = scene.fibres(name)
        if fibres is not None:
            entry["length_mm"] = round(scene.length_mm(name) or 0.0, 2)
            if include_fibres:
                entry["fibres"] = np.round(fibres, 2).tolist()
        structures[name] = entry
    pose = {side: scene.pose(side).as_dict() for side in SIDES}
    return {
        "units": "mm",
        "frame": FRAME_DESCRIPTION,
        "pose": pose,
        "landmarks": {k: [round(float(v), 2) for v in p] for k, p in sorted(scene.landmarks().items())},
        "impingement": [found.as_dict() for found in scene.impingements()],
        "structures": structures,
    }


__all__ = ["describe_scene"]
