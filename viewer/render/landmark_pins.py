"""Palpable bony landmarks as small named spheres (ASIS, PSIS, iliac crest, ...).

The pins come from ``assets/annotations/landmark_pins.json``; their positions
from the scene's landmarks at the current pose (:func:`pin_positions`, pure),
drawn on any ``pyvista.BasePlotter`` by :class:`LandmarkPins`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyvista as pv

from viewer.anatomy.geometry import apply
from viewer.io.annotations import AnnotationError, load_annotation
from viewer.model.terminology import landmark_term
from viewer.paths import annotations_dir
from viewer.render.frames import RenderRequest, no_frame
from viewer.render.labels import LabelItem
from viewer.types import FloatArray

SIDES = ("right", "left")


@dataclass(frozen=True)
class Pin:
    name: str  # e.g. psis_right, sacrum
    display_name: str  # English label, e.g. "PSIS (R)"
    landmark: str | None  # scene landmark it sits on, or None for a snapped combination
    combination: dict[str, float] | None = None
    snap_to: str | None = None
    snap_direction: tuple[float, float, float] | None = None
    latin_name: str = ""  # Terminologia Anatomica label, e.g. "spina iliaca posterior superior (R)"
    side: str | None = None  # right / left for a sided landmark

    def label(self, language: str = "english") -> str:
        """The pin's name in ``language`` (the English name when it has no Latin one)."""
        return self.latin_name if language == "latin" and self.latin_name else self.display_name


@cache
def pin_config() -> dict:
    """The landmark pins' data (``landmark_pins.json``)."""
    return load_annotation("landmark_pins")


def load_pins() -> list[Pin]:
    """Every pin, sided ones once per side (right first)."""
    pins = []
    for index, entry in enumerate(pin_config()["pins"]):
        term = landmark_term(entry["name"])
        if term is None:
            path = annotations_dir() / "terminology.json"
            raise AnnotationError(
                path, f"no entry for the pin {entry['name']!r} (landmark_pins.json pins[{index}])", "landmarks"
            )
        sides: tuple[str | None, ...] = SIDES if entry["sided"] else (None,)
        for side in sides:
            suffix = f"_{side}" if side else ""
            mark = f" ({side[0].upper()})" if side else ""
            combination = entry.get("combination")
            pins.append(
                Pin(
                    name=entry["name"] + suffix,
                    display_name=(term.abbreviation or term.english) + mark,
                    latin_name=term.latin + mark,
                    landmark=entry["landmark"] + suffix if "landmark" in entry else None,
                    combination=dict(combination) if combination else None,
                    snap_to=entry.get("snap_to"),
                    snap_direction=tuple(entry["snap_direction"]) if "snap_direction" in entry else None,
                    side=side,
                )
            )
    return pins


def snapped_point(vertices: FloatArray, target: FloatArray, direction: FloatArray | None = None) -> FloatArray:
    """The vertex nearest ``target``; with a direction, the vertex furthest along it among those within 15 mm
    of the line through the target (the bone's outer surface on that side)."""
    vertices = np.asarray(vertices, dtype=float)
    if direction is None:
        return vertices[np.linalg.norm(vertices - target, axis=1).argmin()]
    unit = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    offset = vertices - target
    along = offset @ unit
    across = np.linalg.norm(offset - along[:, None] * unit, axis=1)
    near = across < 15.0
    if not near.any():
        return vertices[np.linalg.norm(offset, axis=1).argmin()]
    candidates = np.flatnonzero(near)
    return vertices[candidates[along[candidates].argmax()]]


def check_pins(model, config: dict | None = None) -> None:
    """Every landmark and structure a pin names exists in ``model``; else an error naming the file and field."""
    config = pin_config() if config is None else config
    landmarks, structures = model.landmarks_rest, model.structures
    path = annotations_dir() / "landmark_pins.json"
    for index, entry in enumerate(config["pins"]):
        at = f"pins[{index}]"
        if "landmark" in entry:
            suffixes = [f"_{side}" for side in SIDES] if entry["sided"] else [""]
            if any(entry["landmark"] + suffix not in landmarks for suffix in suffixes):
                raise AnnotationError(path, f"unknown landmark {entry['landmark']!r}", f"{at}.landmark")
            continue
        for name in entry["combination"]:
            if name not in landmarks:
                raise AnnotationError(path, f"unknown landmark {name!r}", f"{at}.combination.{name}")
        if sum(entry["combination"].values()) <= 0:
            raise AnnotationError(path, "landmark weights must add up to more than zero", f"{at}.combination")
        if entry["snap_to"] not in structures:
            raise AnnotationError(path, f"unknown structure {entry['snap_to']!r}", f"{at}.snap_to")
        if "snap_direction" in entry and not any(entry["snap_direction"]):
            raise AnnotationError(path, "must not be the zero vector", f"{at}.snap_direction")


def pin_positions(model, pins: list[Pin] | None = None) -> dict[str, FloatArray]:
    """Where each pin sits at the model's current pose (mm, pelvis frame)."""
    if pins is None:
        check_pins(model)
        pins = load_pins()
    posed = model.landmarks()
    positions = {}
    for pin in pins:
        if pin.landmark is not None:
            positions[pin.name] = np.asarray(posed[pin.landmark], dtype=float)
            continue
        rest = sum(weight * model.landmarks_rest[name] for name, weight in (pin.combination or {}).items())
        total = sum((pin.combination or {}).values())
        structure = model.structures[pin.snap_to]
        point = snapped_point(structure.vertices, np.asarray(rest) / total, pin.snap_direction)
        if structure.segment not in (None, "pelvis"):
            point = apply(model.segment_transform(structure.segment), point[None])[0]
        positions[pin.name] = point
    return positions


class LandmarkPins:
    """Small spheres with names at the palpable landmarks; follow the pose; show/hide."""

    def __init__(
        self,
        plotter: pv.BasePlotter,
        model,
        visible: bool = False,
        font_size: int = 14,
        request_render: RenderRequest = no_frame,
    ) -> None:
        self.plotter = plotter
        self.request_render = request_render
        self.model = model
        check_pins(model)
        self.pins = load_pins()
        self.font_size = font_size
        self.radius = float(pin_config().get("radius_mm", 4.5))
        self.colour = pin_config().get("colour", "#1d4ed8")
        self.positions: dict[str, FloatArray] = {}
        self._actors: list = []
        self._visible = False
        self.own_labels = True  # off when a scene's labels lay the pin names out (only those seen)
        model.pose_changed.connect(self._on_pose)
        model.language_changed.connect(self._on_pose)
        self.set_visible(visible)

    def close(self) -> None:
        """Stop following the model."""
        self.model.pose_changed.disconnect(self._on_pose)
        self.model.language_changed.disconnect(self._on_pose)

    @property
    def visible(self) -> bool:
        """Whether the pins are shown."""
        return self._visible

    def set_visible(self, visible: bool) -> None:
        """Show or hide the pins."""
        self._visible = bool(visible)
        self._redraw()

    def label_items(self) -> list[LabelItem]:
        """Each pin's name, position, side and radius, for the shared label layout (which names only those seen)."""
        if not self._visible:
            return []
        return [
            LabelItem(f"pin:{p.name}", p.label(self.model.language), self.positions[p.name], p.side, self.radius)
            for p in self.pins
        ]

    def _on_pose(self, _pose) -> None:
        if self._visible:
            self._redraw()

    def _redraw(self) -> None:
        for actor in self._actors:
            self.plotter.remove_actor(actor, render=False)
        self._actors = []
        self.positions = pin_positions(self.model, self.pins)
        if self._visible:
            names = [p.name for p in self.pins]
            points = np.array([self.positions[n] for n in names])
            spheres = pv.PolyData(points).glyph(geom=pv.Sphere(radius=self.radius), scale=False, orient=False)
            self._actors.append(
                self.plotter.add_mesh(
                    spheres, color=self.colour, smooth_shading=True, name="__landmark_pins",
                    reset_camera=False, pickable=False, specular=0.4, render=False,
                )
            )  # fmt: skip
        if self._visible and self.own_labels:
            self._actors.append(
                self.plotter.add_point_labels(
                    points,
                    [p.label(self.model.language) for p in self.pins],
                    font_size=self.font_size,
                    text_color="#10204a",
                    shape_color="#f4f6ff",
                    shape_opacity=0.75,
                    point_size=0,
                    show_points=False,
                    always_visible=True,
                    name="__landmark_pin_labels",
                    reset_camera=False,
                    render=False,
                )
            )
        self.request_render()


__all__ = ["LandmarkPins", "Pin", "check_pins", "load_pins", "pin_config", "pin_positions", "snapped_point"]
