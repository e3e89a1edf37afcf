"""Technique files: one JSON per technique in ``assets/annotations/techniques/``.

The schema checks shapes and types; this module adds what a schema cannot:
structure, action and landmark names must exist, joint angles must be ones a
joint reaches, and the file name must match the id. Every problem raises
:class:`AnnotationError` naming the file and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from viewer.anatomy.bones import SIDES, load_landmarks
from viewer.anatomy.kinematics import LegPose, PoseError
from viewer.io.annotations import AnnotationError, load_annotation, read_json, validate
from viewer.io.references import cite
from viewer.paths import annotations_dir

# Pose/action ids defined by the scene (assets/annotations/actions.json, owned by the scene model).
ACTION_IDS = (
    "anatomical",
    "hip_flexion_extension",
    "hip_abduction_adduction",
    "hip_rotation",
    "frog_position",
    "prone_knee90_internal_rotation",
    "sidelying_hip_flexion",
    "external_rotation_adduction_stretch",
)
TOOLS = ("palm_heel", "fingers", "knuckles", "elbow", "forearm", "ball", "roller", "thumb", "fist")


@dataclass(frozen=True)
class Technique:
    """One technique as the data file states it (structure names without side)."""

    id: str
    title: str
    kind: str  # "therapist" | "self_care"
    purpose: str
    targets: tuple[str, ...]
    client_position: str
    pose_action: str
    pose_angles: dict[str, float]
    tool: str
    contact: dict
    approach: dict
    stroke: dict
    depth: dict
    dosage: str
    cautions: tuple[str, ...]
    source: tuple[str, ...]
    data: dict = field(compare=False, repr=False)
    path: Path | None = field(default=None, compare=False)

    def leg_pose(self) -> LegPose:
        """The leg pose the technique is done in."""
        return LegPose(**self.pose_angles)

    @property
    def citations(self) -> list[str]:
        """The published works the technique comes from, as readers look them up (``source`` holds seed files)."""
        return cite(self.source)

    def sided(self, name: str, side: str) -> str:
        """Structure name on a side (``piriformis`` -> ``piriformis_right``)."""
        return f"{name}_{side}"


def techniques_dir() -> Path:
    """The folder of the techniques' data files (``assets/annotations/techniques``)."""
    return annotations_dir() / "techniques"


def known_actions() -> set[str]:
    """The fixed action ids plus those listed in ``actions.json``.

    A broken ``actions.json`` is an error here as it is in the window (naming the file and field),
    never silently skipped.
    """
    data = load_annotation("actions")
    return set(ACTION_IDS) | {entry["id"] for entry in data["actions"]}


def known_structures() -> set[str]:
    """The muscle names a technique may target."""
    from viewer.anatomy.muscles import MUSCLE_NAMES

    return set(MUSCLE_NAMES)


def _landmark_known(name: str, landmarks: dict) -> bool:
    return all(f"{name}_{side}" in landmarks or name in landmarks for side in SIDES)


def load_technique(
    path: Path, structures: set[str] | None = None, actions: set[str] | None = None, landmarks: dict | None = None
) -> Technique:
    """Read and check one technique file."""
    path = Path(path)
    data = validate(read_json(path), "technique", path)
    structures = known_structures() if structures is None else structures
    actions = known_actions() if actions is None else actions
    landmarks = load_landmarks() if landmarks is None else landmarks
    if data["id"] != path.stem:
        raise AnnotationError(path, f"id '{data['id']}' does not match the file name", "id")

    def structure(name: str, where: str) -> None:
        if name not in structures:
            raise AnnotationError(path, f"unknown structure '{name}' (known: {', '.join(sorted(structures))})", where)

    def landmark(name: str, where: str) -> None:
        if not _landmark_known(name, landmarks):
            raise AnnotationError(path, f"unknown landmark '{name}' (not in landmarks.json)", where)

    for i, name in enumerate(data["targets"]):
        structure(name, f"targets[{i}]")
    if data["pose"]["action"] not in actions:
        raise AnnotationError(path, f"unknown action '{data['pose']['action']}' (known: {', '.join(sorted(actions))})", "pose.action")
    try:
        LegPose(**data["pose"]["angles"])
    except PoseError as error:
        raise AnnotationError(path, str(error), "pose.angles") from error
    anchor = data["contact"]["anchor"]
    if "muscle" in anchor:
        structure(anchor["muscle"], "contact.anchor.muscle")
    for name in anchor.get("landmarks", {}):
        landmark(name, f"contact.anchor.landmarks.{name}")
    if "landmarks" in anchor and sum(anchor["landmarks"].values()) <= 0:
        raise AnnotationError(path, "landmark weights must not all be zero", "contact.anchor.landmarks")
    if "surface" in data["contact"]:
        structure(data["contact"]["surface"], "contact.surface")
    if not any(data["contact"]["from_direction"]):
        raise AnnotationError(path, "must not be the zero vector", "contact.from_direction")
    heading = data["approach"]["heading"]
    if "towards_landmark" in heading:
        landmark(heading["towards_landmark"], "approach.heading.towards_landmark")
    if "along_fibres" in heading:
        structure(heading["along_fibres"], "approach.heading.along_fibres")
    if "direction" in heading and not any(heading["direction"]):
        raise AnnotationError(path, "must not be the zero vector", "approach.heading.direction")
    structure(data["stroke"]["muscle"], "stroke.muscle")
    for i, name in enumerate(data["depth"]["through"]):
        structure(name, f"depth.through[{i}]")
    return Technique(
        id=data["id"], title=data["title"], kind=data["kind"], purpose=data["purpose"], targets=tuple(data["targets"]),
        client_position=data["client_position"], pose_action=data["pose"]["action"],
        pose_angles={k: float(v) for k, v in data["pose"]["angles"].items()}, tool=data["tool"],
        contact=data["contact"], approach=data["approach"], stroke=data["stroke"], depth=data["depth"],
        dosage=data["dosage"], cautions=tuple(data["cautions"]), source=tuple(data["source"]), data=data, path=path,
    )


def load_techniques(directory: Path | None = None) -> dict[str, Technique]:
    """Every technique in the folder, by id (sorted by file name)."""
    directory = directory or techniques_dir()
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        raise AnnotationError(directory, "no technique files (*.json) found")
    structures, actions, landmarks = known_structures(), known_actions(), load_landmarks()
    techniques = {}
    for path in files:
        technique = load_technique(path, structures, actions, landmarks)
        techniques[technique.id] = technique
    return techniques


__all__ = ["ACTION_IDS", "TOOLS", "Technique", "known_actions", "known_structures", "load_technique", "load_techniques", "techniques_dir"]
