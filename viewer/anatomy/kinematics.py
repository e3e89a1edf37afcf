"""Hip and knee angles to rigid segment transforms (ISB joint coordinate system).

Angles in degrees; flexion, abduction and internal rotation are positive.
The hip rotates the thigh about the femoral head centre in the order flexion
(pelvis Z), ab/adduction (floating axis), axial rotation (femur Y); the knee
flexes the shank about the epicondylar axis. Left-side rotations are the
mirror images of the right ones, so one pose means the same movement on both.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from viewer.types import FloatArray

# Ranges a real hip and knee reach (degrees).
JOINT_RANGES: dict[str, tuple[float, float]] = {
    "hip_flexion": (-20.0, 120.0),
    "hip_abduction": (-30.0, 45.0),
    "hip_rotation": (-45.0, 45.0),
    "knee_flexion": (0.0, 130.0),
}

MIRROR = np.diag([1.0, 1.0, -1.0])


class PoseError(ValueError):
    """A pose key that does not exist or an angle outside what a joint can do."""


@dataclass(frozen=True)
class LegPose:
    """Joint angles of one leg in degrees (all zero = anatomical position)."""

    hip_flexion: float = 0.0
    hip_abduction: float = 0.0
    hip_rotation: float = 0.0
    knee_flexion: float = 0.0

    def __post_init__(self) -> None:
        for name, (low, high) in JOINT_RANGES.items():
            value = getattr(self, name)
            if not np.isfinite(value) or not low <= value <= high:
                raise PoseError(f"{name}={value:g} is outside the range a joint reaches ({low:g} to {high:g} degrees)")

    def as_dict(self) -> dict[str, float]:
        """The joint angles by name (degrees)."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    def replaced(self, **angles: float) -> LegPose:
        """A copy with some angles replaced (degrees); an unknown angle name is a PoseError."""
        unknown = set(angles) - set(JOINT_RANGES)
        if unknown:
            raise PoseError(f"unknown pose key(s) {sorted(unknown)}; known: {', '.join(JOINT_RANGES)}")
        return LegPose(**{**self.as_dict(), **{k: float(v) for k, v in angles.items()}})


def _rotation(axis: int, degrees: float) -> FloatArray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def hip_rotation_matrix(pose: LegPose, side: str) -> FloatArray:
    """Orientation of the thigh relative to the pelvis for one side."""
    right = _rotation(2, pose.hip_flexion) @ _rotation(0, -pose.hip_abduction) @ _rotation(1, pose.hip_rotation)
    return right if side == "right" else MIRROR @ right @ MIRROR


def leg_pose_from_transforms(thigh: FloatArray, shank: FloatArray, side: str) -> LegPose:
    """The joint angles that give these thigh and shank transforms (inverse of :func:`leg_transforms`).

    Angles a hip cannot reach (from transforms made elsewhere) are clamped to the joint ranges.
    """
    rotation = np.asarray(thigh, float)[:3, :3]
    if side != "right":
        rotation = MIRROR @ rotation @ MIRROR
    # rotation = Rz(flexion) Rx(-abduction) Ry(axial), read off its entries (called every animation frame)
    minus_abduction = np.degrees(np.arcsin(np.clip(rotation[2, 1], -1.0, 1.0)))
    flexion = np.degrees(np.arctan2(-rotation[0, 1], rotation[1, 1]))
    axial = np.degrees(np.arctan2(-rotation[2, 0], rotation[2, 2]))
    knee = np.asarray(thigh, float)[:3, :3].T @ np.asarray(shank, float)[:3, :3]
    angles = {
        "hip_flexion": flexion,
        "hip_abduction": -minus_abduction,
        "hip_rotation": axial,
        "knee_flexion": -np.degrees(np.arctan2(knee[1, 0], knee[0, 0])),
    }
    return LegPose(**{k: float(np.clip(v, *JOINT_RANGES[k])) for k, v in angles.items()})


def about_point(rotation: FloatArray, centre: FloatArray) -> FloatArray:
    """4x4 transform rotating about ``centre``."""
    transform = np.eye(4)
    transform[:3, :3] = rotation
    transform[:3, 3] = centre - rotation @ centre
    return transform


def leg_transforms(pose: LegPose, side: str, hip_centre: FloatArray, knee_centre: FloatArray) -> dict[str, FloatArray]:
    """4x4 transforms of the thigh (femur) and shank (tibia, fibula, patella) for one leg.

    ``hip_centre`` and ``knee_centre`` are the joint centres in anatomical position.
    """
    thigh = about_point(hip_rotation_matrix(pose, side), hip_centre)
    knee = about_point(_rotation(2, -pose.knee_flexion), knee_centre)
    return {"thigh": thigh, "shank": thigh @ knee}


def joint_centres(landmarks: dict[str, FloatArray], side: str) -> tuple[FloatArray, FloatArray]:
    """Hip (femoral head) and knee (epicondyle midpoint) centres of one leg in anatomical position."""
    knee = (landmarks[f"medial_epicondyle_{side}"] + landmarks[f"lateral_epicondyle_{side}"]) / 2
    return landmarks[f"femoral_head_centre_{side}"], knee


SEGMENTS = ("pelvis", "thigh", "shank")  # the rigid body parts of one side, from the trunk outward
SEGMENT_OF_BONE = {  # bone (without its side) -> the segment that carries it
    "hip_bone": "pelvis",
    "sacrum": "pelvis",
    "femur": "thigh",
    "tibia_fibula": "shank",
    "patella": "shank",
}


UNPAIRED_BONES = ("sacrum",)  # bones whose structure name has no side


def segment_bones(segment: str, side: str) -> tuple[str, ...]:
    """The bone structures one side's ``segment`` carries, read from :data:`SEGMENT_OF_BONE` (its order).

    ``segment_bones("pelvis", "right")`` is ``("hip_bone_right", "sacrum")``, ``segment_bones("shank", "left")``
    ``("tibia_fibula_left", "patella_left")``; the inverse of :func:`bone_segment`.
    """
    if segment not in SEGMENTS:
        raise KeyError(f"unknown segment {segment!r}; known: {', '.join(SEGMENTS)}")
    return tuple(
        bone if bone in UNPAIRED_BONES else f"{bone}_{side}" for bone, carrier in SEGMENT_OF_BONE.items() if carrier == segment
    )


def bone_segment(name: str) -> str:
    """The rigid body part that carries a bone structure: ``pelvis``, ``thigh_right``, ``shank_left``...

    ``name`` is a structure name with its side (``femur_right``); anything not on a leg is carried by the pelvis.
    """
    for bone, segment in SEGMENT_OF_BONE.items():
        if name.startswith(bone + "_") and segment != "pelvis":
            return f"{segment}_{name.rsplit('_', 1)[1]}"
    return "pelvis"


def segment_transforms(poses: dict[str, LegPose] | LegPose, landmarks: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """``thigh_right``, ``shank_right``, ``thigh_left``, ``shank_left`` transforms for a pose of each leg."""
    transforms = {}
    for side in ("right", "left"):
        pose = poses if isinstance(poses, LegPose) else poses.get(side, LegPose())
        legs = leg_transforms(pose, side, *joint_centres(landmarks, side))
        transforms[f"thigh_{side}"], transforms[f"shank_{side}"] = legs["thigh"], legs["shank"]
    return transforms
