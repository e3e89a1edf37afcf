"""Saved scenes: everything needed to draw one picture again, as a small JSON document (Qt-free).

A scene document (``viewer/io/schemas/scene.schema.json``, ``version`` 1) holds the camera, the pose of
each leg, the peel depth and ghosting, the structure isolated, exact visibility and opacity per
structure, the selection, labels, landmark pins, fibres, colour mode, language, nerve variant, danger
margin, the technique shown, a cross-section, the body type and the skin tone. Every field but ``version`` is optional:
a missing field takes the viewer's start-up value, so a lesson step states only what it changes.

:class:`SceneState` bundles the model objects a document sets (scene, peel, undo history, technique
session) with what the renderer needs (camera, labels, pins). The camera stays plain numbers here
(``{"view": name}`` or ``position``/``focal_point``/``up``/``view_angle`` in mm); ``viewer.render``
applies it. Loading checks the whole document (schema, then names, pose ranges and peel depth) before
anything changes: a bad file is one error naming the file and the field, and the scene is untouched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from viewer.anatomy.body_skin import DEFAULT_BODY
from viewer.anatomy.bones import SIDES
from viewer.anatomy.kinematics import LegPose, PoseError
from viewer.io.annotations import AnnotationError, read_json, validate
from viewer.model.history import History
from viewer.model.layers import PeelState
from viewer.model.scene import SceneModel, default_appearance, default_skin_tone, skin_tones
from viewer.model.technique_session import TechniqueSession

SCENE_VERSION = 1
SCENE_SCHEMA = "scene"
DEFAULT_CAMERA: dict[str, Any] = {"view": "posterior"}


@dataclass
class SceneState:
    """The model objects a scene document sets, plus the picture's camera, labels and pins."""

    scene: SceneModel
    peel: PeelState
    history: History
    techniques: TechniqueSession
    camera: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_CAMERA))
    labels: bool = False
    landmarks: bool = False
    isolated: str | None = None

    @property
    def body(self) -> str:
        """The skin's body type (the scene's; a scene without skin reports the default)."""
        return self.scene.body or DEFAULT_BODY

    @classmethod
    def for_scene(cls, scene: SceneModel) -> SceneState:
        """Fresh peel state, history and technique session around ``scene`` (headless use)."""
        peel = PeelState()
        history = History(scene, peel)
        return cls(scene, peel, history, TechniqueSession(scene, history, peel))


# --- document <- state ------------------------------------------------------------------------
def scene_document(state: SceneState) -> dict[str, Any]:
    """The complete document of the current state: loading it into a fresh scene reproduces it exactly."""
    scene = state.scene
    technique = state.techniques.active
    section = scene.section
    return {
        "version": SCENE_VERSION,
        "camera": _plain(state.camera),
        "pose": {side: scene.pose(side).as_dict() for side in SIDES},
        "peel": {"depth": state.peel.depth, "ghost": state.peel.ghost},
        "isolate": state.isolated,
        "selection": scene.selection,
        "structures": {
            name: {"visible": scene.is_visible(name), "opacity": scene.opacity(name)} for name in scene.names()
        },
        "labels": state.labels,
        "landmarks": state.landmarks,
        "fibres": scene.fibres_visible,
        "colour_mode": scene.colour_mode,
        "language": scene.language,
        "nerve_variant": scene.nerve_variant,
        "danger_margin_mm": scene.danger_margin_mm,
        "technique": None if technique is None else {"id": technique.id, "side": state.techniques.side},
        "section": None
        if section is None
        else {"origin": _plain(section.origin), "normal": _plain(section.normal), "kind": section.kind},
        "body": state.body,
        "skin_tone": scene.skin_tone,
    }


def _plain(value: Any) -> Any:
    """numpy arrays and scalars -> lists and floats (JSON-ready)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray | list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# --- files ---------------------------------------------------------------------------------------
def read_scene(path: Path) -> dict[str, Any]:
    """A scene file, checked against the schema (errors name the file and the field)."""
    return validate(read_json(path), SCENE_SCHEMA, Path(path))


def write_scene(path: Path, document: dict[str, Any]) -> Path:
    """Write a scene document atomically: a kill during the save never damages the previous file."""
    return write_json(path, validate(document, SCENE_SCHEMA, Path(path)))


def write_json(path: Path, data: Any) -> Path:
    """Write a JSON document through a temporary file in the same folder, then replace ``path``."""
    from viewer.cache import atomic_write

    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: folder does not exist")
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    return atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def load_scene_file(state: SceneState, path: Path) -> None:
    """Read, check and apply a scene file (nothing changes when it is bad)."""
    apply_document(state, read_scene(path), path)


# --- state <- document ---------------------------------------------------------------------------
def check_document(state: SceneState, document: dict[str, Any], path: Path, prefix: str = "") -> None:
    """What the schema cannot know: structure, technique, variant and skin tone names, joint ranges, peel depth.

    ``prefix`` is the document's place in a larger file (a lesson step: ``steps[2].scene``).
    """
    scene = state.scene

    def fail(message: str, where: str) -> None:
        raise AnnotationError(path, message, f"{prefix}.{where}" if prefix else where)

    for key in ("isolate", "selection"):
        name = document.get(key)
        if name is not None and name not in scene.structures:
            fail(f"no structure called {name!r}", key)
    for name in document.get("structures", {}):
        if name not in scene.structures:
            fail(f"no structure called {name!r}", f"structures.{name}")
    for side, angles in document.get("pose", {}).items():
        try:
            LegPose().replaced(**angles)
        except PoseError as error:
            fail(str(error), f"pose.{side}")
    depth = document.get("peel", {}).get("depth")
    if depth is not None and depth > state.peel.n_layers:
        fail(f"peel depth must be 0..{state.peel.n_layers}, not {depth}", "peel.depth")
    technique = document.get("technique")
    if technique and technique["id"] not in state.techniques.techniques:
        fail(f"unknown technique {technique['id']!r}; known: {', '.join(state.techniques.techniques)}", "technique.id")
    variant = document.get("nerve_variant")
    if variant is not None:
        from viewer.model.nerves import variant_choices

        known = [v[0] for v in variant_choices()]
        if variant not in known:
            fail(f"nerve variant must be one of {', '.join(known)}, not {variant!r}", "nerve_variant")
    tone = document.get("skin_tone")
    if tone is not None and tone not in skin_tones():
        fail(f"skin tone must be one of {', '.join(skin_tones())}, not {tone!r}", "skin_tone")
    section = document.get("section")
    if section and np.linalg.norm(section["normal"]) < 1e-9:
        fail("section normal must not be zero", "section.normal")


def apply_document(state: SceneState, document: dict[str, Any], path: Path, prefix: str = "") -> None:
    """Make the state what ``document`` says, fields it leaves out at their start-up values.

    Checked first (:func:`check_document`), so a bad document changes nothing. Order: nerve variant
    and margin, technique (its pose, peel and danger zones), pose, peel, isolate, exact structure
    states, then the rest. Opening a scene is not an undoable step: the undo history starts afresh.
    """
    check_document(state, document, path, prefix)
    scene, history, techniques = state.scene, state.history, state.techniques
    techniques.clear()
    scene.set_section(None)
    history.peel_state.set_ghost(False)
    history.peel_state.set_depth(0)
    for name, (visible, opacity) in default_appearance(scene).items():
        history.base_opacity[name] = opacity
        scene.set_opacity(name, opacity)
        scene.set_visible(name, visible)
    from viewer.model.nerves import danger_margin_default, variant_choices

    if scene.names("nerve"):  # a bones-only scene has no nerve to vary
        scene.set_nerve_variant(document.get("nerve_variant") or variant_choices()[0][0])
        scene.set_danger_margin(document.get("danger_margin_mm", danger_margin_default()))
    technique = document.get("technique")
    if technique:
        techniques.choose(technique["id"], technique.get("side", "right"))
    else:
        scene.reset_pose()
    poses = {side: scene.pose(side).replaced(**angles) for side, angles in document.get("pose", {}).items()}
    if poses:
        scene.set_leg_poses(poses)
    peel = document.get("peel", {})
    if "ghost" in peel:
        history.set_ghost(peel["ghost"])
    if "depth" in peel:
        history.set_depth(peel["depth"])
    state.isolated = document.get("isolate")
    if state.isolated:
        history.isolate(state.isolated)
    for name, appearance in document.get("structures", {}).items():
        if "opacity" in appearance:
            scene.set_opacity(name, appearance["opacity"])
        if "visible" in appearance:
            scene.set_visible(name, appearance["visible"])
    section = document.get("section")
    if section:
        from viewer.model.sections import SectionPlane

        normal = np.asarray(section["normal"], dtype=float)
        scene.set_section(
            SectionPlane(
                np.asarray(section["origin"], dtype=float), normal / np.linalg.norm(normal), section.get("kind", "free")
            )
        )
    scene.select(document.get("selection"))
    scene.set_fibres_visible(document.get("fibres", False))
    scene.set_colour_mode(document.get("colour_mode", "anatomy"))
    scene.set_language(document.get("language", "english"))
    state.camera = dict(document.get("camera", DEFAULT_CAMERA))
    state.labels = document.get("labels", False)
    state.landmarks = document.get("landmarks", False)
    if scene.body is not None:  # a bones-only scene has no skin to change
        scene.set_body(document.get("body", DEFAULT_BODY))
    scene.set_skin_tone(document.get("skin_tone", default_skin_tone()))  # files saved before tones: the default
    history.clear()


__all__ = [
    "SCENE_VERSION",
    "SceneState",
    "apply_document",
    "check_document",
    "load_scene_file",
    "read_scene",
    "scene_document",
    "write_json",
    "write_scene",
]
