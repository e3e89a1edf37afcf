"""The posed inputs a technique's geometry and safety check need, for one side.

Built either from a :class:`~viewer.model.scene.SceneModel` (whatever it shows at its
current pose) or directly from the assets at a given pose (no scene needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from viewer.anatomy.bones import bone_specs, landmark_info, load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import RayMesh, apply
from viewer.anatomy.kinematics import LegPose, bone_segment, leg_transforms
from viewer.anatomy.nerve import NerveGeometry, build_nerve
from viewer.anatomy.nerve_posing import pose_nerve
from viewer.anatomy.nerve_zones import DangerZone, build_danger_zones
from viewer.types import FloatArray


@dataclass
class TechniqueContext:
    """Posed geometry on one side: meshes and fibres by structure name, landmarks, nerve and zones."""

    side: str
    structures: dict[str, tuple[FloatArray, np.ndarray]]  # sided names -> (vertices, faces), posed
    fibres: dict[str, FloatArray]  # sided muscle names -> (n_fibres, n_samples, 3), posed
    landmarks: dict[str, FloatArray]  # posed
    nerve: NerveGeometry
    nerve_vertices: FloatArray  # posed tube vertices
    nerve_centrelines: list[FloatArray]  # posed, one per branch
    zones: list[DangerZone]
    margin_mm: float  # the danger margin around the nerve the safety check compares with

    # (vertices, faces, the mesh made ready for rays) by structure name: shared with the copies dataclasses.replace
    # makes (the same posed meshes, e.g. at another danger margin)
    _rays: dict[str, tuple[FloatArray, np.ndarray, RayMesh]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ray_meshes(self) -> dict[str, RayMesh]:
        """The structures made ready for rays, by name (each mesh's edges and normals computed once)."""
        meshes = {}
        for name, (vertices, faces) in self.structures.items():
            kept = self._rays.get(name)
            if kept is None or kept[0] is not vertices or kept[1] is not faces:
                kept = self._rays[name] = (vertices, faces, RayMesh(vertices, faces))
            meshes[name] = kept[2]
        return meshes

    def bone_structures(self) -> dict[str, RayMesh]:
        """The bones among the structures (pressure stops where a line of force meets one), ready for rays."""
        return {name: mesh for name, mesh in self.ray_meshes.items() if name in bone_names()}

    def landmark(self, name: str) -> FloatArray:
        """A posed landmark (3,) by name, this side's first; a KeyError if unknown."""
        for candidate in (f"{name}_{self.side}", name):
            if candidate in self.landmarks:
                return self.landmarks[candidate]
        raise KeyError(f"unknown landmark {name!r}")

    def nerve_distance(self, points: FloatArray) -> FloatArray:
        """Distance from points to the posed nerve surface (mm, < 0 inside)."""
        return self.nerve.distance(points, self.nerve_centrelines)

    def zone(self, zone_id: str) -> DangerZone | None:
        """The danger zone with id ``zone_id``, or None."""
        return next((z for z in self.zones if z.id == zone_id), None)


@cache
def bone_names() -> frozenset[str]:
    """Structure names of every bone, both sides."""
    return frozenset(spec.name for spec in bone_specs())


def context_from_parts(
    side: str,
    transforms: dict[str, FloatArray],
    structures: dict[str, tuple[FloatArray, np.ndarray]],
    fibres: dict[str, FloatArray],
    landmarks: dict[str, FloatArray],
    nerve: NerveGeometry | None = None,
    margin_mm: float | None = None,
) -> TechniqueContext:
    """Assemble a context from already posed parts (the scene passes its own)."""
    nerve = nerve or build_nerve(side)
    vertices, line = pose_nerve(nerve, transforms)
    centrelines = nerve.posed_centrelines(line)
    zones = build_danger_zones(nerve, centrelines, landmarks, margin_mm=margin_mm)
    if margin_mm is None:  # the data file's margin, as the nerve's zone was built with it
        margin_mm = next(zone.margin_mm for zone in zones if zone.kind == "nerve_margin")
    return TechniqueContext(side, structures, fibres, landmarks, nerve, vertices, centrelines, zones, float(margin_mm))


def context_from_scene(scene, side: str = "right", nerve: NerveGeometry | None = None, margin_mm: float | None = None):
    """Context from a scene model at its current pose (structures of ``side`` plus unsided ones).

    The nerve and its danger zones are the scene's own, as posed and shown (``scene.posed_nerve``,
    ``scene.danger_zones``), at ``margin_mm`` (None: the scene's margin); only another ``nerve`` given here (a
    variant the scene does not show) is posed afresh.
    """
    transforms = {s: scene.segment_transform(s) for s in ("pelvis", f"thigh_{side}", f"shank_{side}")}
    structures, fibres = {}, {}
    for name, structure in scene.structures.items():
        # the techniques' contacts and depths are defined on the muscles, beneath skin and fat;
        # the nerve and its zones are measured separately, not crossed
        if structure.side not in (side, None) or structure.kind in ("nerve", "danger", "skin"):
            continue
        structures[name] = (scene.vertices(name), structure.faces)
        f = scene.fibres(name)
        if f is not None:
            fibres[name] = f
    margin = scene.danger_margin_mm if margin_mm is None else float(margin_mm)
    if nerve is not None or margin != scene.danger_margin_mm:
        return context_from_parts(side, transforms, structures, fibres, scene.landmarks(), nerve, margin)
    posed = scene.posed_nerve(side)
    return TechniqueContext(
        side, structures, fibres, scene.landmarks(), posed.geometry, posed.vertices, posed.centrelines,
        scene.danger_zones(side), margin,
    )  # fmt: skip


def context_at_pose(
    side: str = "right",
    pose: LegPose | dict | None = None,
    muscles: dict | None = None,
    nerve: NerveGeometry | None = None,
    margin_mm: float | None = None,
) -> TechniqueContext:
    """Context straight from the assets at a leg pose (muscles keep their rest shape, bones move)."""
    from viewer.anatomy.muscles import build_muscles

    pose = pose if isinstance(pose, LegPose) else LegPose(**(pose or {}))
    rest = load_landmarks()
    hip = rest[f"femoral_head_centre_{side}"]
    knee = (rest[f"medial_epicondyle_{side}"] + rest[f"lateral_epicondyle_{side}"]) / 2
    legs = leg_transforms(pose, side, hip, knee)
    transforms = {"pelvis": np.eye(4), f"thigh_{side}": legs["thigh"], f"shank_{side}": legs["shank"]}
    structures = {}
    for name, surface in load_bone_surfaces().items():
        if name.endswith("_left" if side == "right" else "_right"):
            continue
        structures[name] = (apply(transforms[bone_segment(name)], surface.vertices), surface.faces)
    fibres = {}
    for name, muscle in (muscles or build_muscles()).items():
        if muscle.side == side:
            shown = muscle.display_surface()
            structures[name] = (shown.vertices, shown.faces)
            fibres[name] = muscle.fibres
    bones = {name: info["bone"] for name, info in landmark_info().items()}
    landmarks = {}
    for name, point in rest.items():
        segment = bone_segment(bones.get(name, ""))
        landmarks[name] = apply(transforms.get(segment, np.eye(4)), point[None])[0]
    return context_from_parts(side, transforms, structures, fibres, landmarks, nerve, margin_mm)


__all__ = ["TechniqueContext", "bone_names", "context_at_pose", "context_from_parts", "context_from_scene"]
