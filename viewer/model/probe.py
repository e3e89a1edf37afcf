"""The depth probe: what lies how deep under a point, as a massage student's hand would feel it (Qt-free).

A probe starts on a surface (the skin, or any structure the student has peeled down to) and goes
inward along the surface normal there, or along a given direction (a technique's approach vector).
It lists each structure crossed with its entry and exit depth, where bone stops it, and how close it
comes to the sciatic nerve. The numbers come from :func:`viewer.techniques.safety.tissue_column`, the
routine the technique safety check measures its line of force with, so the two always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from viewer.techniques.geometry import OUTSIDE_MM, first_hit, surface_normal
from viewer.techniques.safety import RAY_LENGTH_MM, Crossing, TissueColumn, tissue_column
from viewer.types import FloatArray

PROBE_DEPTH_MM = RAY_LENGTH_MM  # how far a probe looks when no bone stops it first
SURFACE_SEARCH_MM = 10.0  # a point is put on a surface by a ray from this far outside it


class ProbeError(ValueError):
    """A probe that cannot be placed (unknown landmark, a point far from any surface, a zero direction)."""


@dataclass(frozen=True)
class ProbeLayer:
    """One structure in the probed column."""

    structure: str
    entry_mm: float
    exit_mm: float  # may lie beyond where the column stops (still inside it there)
    bone: bool


@dataclass(frozen=True)
class ProbeResult:
    """The column of tissues under a probed point (distances in mm, rounded to 0.1 as the safety check does)."""

    point: FloatArray  # (3,) where the probe starts, on the surface
    direction: FloatArray  # (3,) unit, into the body
    side: str
    surface: str  # the structure the probe starts on
    layers: list[ProbeLayer]
    reach_mm: float  # how deep the column goes: the probe depth, or the first bone
    bone: str | None  # the bone that stops it
    nerve_distance_mm: float  # nearest approach to the sciatic nerve surface (< 0: the probe passes through it)
    nerve_nearest_depth_mm: float  # depth of that nearest approach
    nerve_entry_depth_mm: float | None  # depth where the probe enters the nerve (None: it does not)
    column: TissueColumn

    @property
    def bone_depth_mm(self) -> float | None:
        """Depth (mm) where the probe met bone, or None when it met none."""
        return self.reach_mm if self.bone is not None else None

    def as_dict(self, scene) -> dict:
        """JSON-ready, with each structure's name in the scene's language and both names."""
        return {
            "point": [round(float(v), 2) for v in self.point],
            "direction": [round(float(v), 4) for v in self.direction],
            "side": self.side,
            "surface": self.surface,
            "depth_mm": self.reach_mm,
            "bone": self.bone,
            "bone_depth_mm": self.bone_depth_mm,
            "nerve_distance_mm": self.nerve_distance_mm,
            "nerve_nearest_depth_mm": self.nerve_nearest_depth_mm,
            "nerve_entry_depth_mm": self.nerve_entry_depth_mm,
            "layers": [
                {
                    "structure": layer.structure,
                    "name": scene.structure_name(layer.structure),
                    "names": scene.both_names(layer.structure),
                    "entry_mm": layer.entry_mm,
                    "exit_mm": layer.exit_mm,
                    "bone": layer.bone,
                }
                for layer in self.layers
            ],
        }

    def lines(self, scene) -> list[str]:
        """The column in words, one structure a line, then the nerve and the bone."""
        lines = []
        for layer in self.layers:
            name = scene.structure_name(layer.structure)
            if layer.bone:
                lines.append(f"{layer.entry_mm:6.1f} mm  {name} (bone: the probe stops)")
            elif layer.exit_mm > self.reach_mm:
                lines.append(f"{layer.entry_mm:6.1f} mm  {name} (still in it at {self.reach_mm:.1f} mm)")
            else:
                lines.append(f"{layer.entry_mm:6.1f} - {layer.exit_mm:5.1f} mm  {name}")
        if self.nerve_entry_depth_mm is not None:
            lines.append(f"Sciatic nerve: the probe enters it {self.nerve_entry_depth_mm:.1f} mm deep")
        else:
            lines.append(
                f"Sciatic nerve: {self.nerve_distance_mm:.1f} mm away at its nearest, "
                f"{self.nerve_nearest_depth_mm:.1f} mm deep"
            )
        lines.append(
            f"Bone: {self.bone_depth_mm:.1f} mm deep ({scene.structure_name(self.bone)})"
            if self.bone
            else f"Bone: none within {self.reach_mm:.0f} mm"
        )
        return lines


def _mm(value: float) -> float:
    return round(float(value), 1) + 0.0


def side_of(point: FloatArray) -> str:
    """The body side a point lies on (z is right in the pelvis frame)."""
    return "right" if float(point[2]) >= 0 else "left"


def outer_surface(scene) -> str:
    """The outermost surface a hand touches: the skin when the scene has one, else the first structure."""
    skins = scene.names("skin")
    return skins[0] if skins else next(iter(scene.structures))


def onto_surface(scene, name: str, point: FloatArray) -> FloatArray:
    """The point of a structure's surface (at the current pose) nearest to ``point``, within a vertex spacing."""
    vertices, faces = scene.vertices(name), scene.structures[name].faces
    nearest = vertices[cKDTree(vertices).query(np.asarray(point, dtype=float))[1]]
    normal = surface_normal(vertices, faces, nearest)
    t, hit, _normal = first_hit({name: (vertices, faces)}, nearest + SURFACE_SEARCH_MM * normal, -normal)
    return nearest + (SURFACE_SEARCH_MM - t) * normal if hit is not None and t < 2 * SURFACE_SEARCH_MM else nearest


def entry_point(scene, name: str, point: FloatArray, direction: FloatArray) -> FloatArray:
    """Where the line through ``point`` along ``direction`` first enters a structure's surface."""
    if direction.shape != (3,) or not np.isfinite(direction).all() or np.linalg.norm(direction) < 1e-9:
        raise ProbeError(f"a probe direction needs three finite coordinates, not all zero: {direction.tolist()}")
    direction = direction / np.linalg.norm(direction)
    origin = point - OUTSIDE_MM * direction
    t, hit, _normal = first_hit({name: (scene.vertices(name), scene.structures[name].faces)}, origin, direction)
    if hit is None:
        raise ProbeError(f"the line through {np.round(point, 1).tolist()} along that direction misses the {name}")
    return origin + t * direction


def probe(
    scene,
    point: FloatArray,
    surface: str | None = None,
    direction: FloatArray | None = None,
    depth_mm: float = PROBE_DEPTH_MM,
    snap: bool = True,
) -> ProbeResult:
    """Probe under ``point`` at the scene's current pose.

    Parameters
    ----------
    scene : the :class:`~viewer.model.scene.SceneModel`.
    point : (3,) a point on (or near, with ``snap``) the surface of ``surface``.
    surface : the structure the probe starts on (None: the skin).
    direction : (3,) into the body (None: the inward surface normal at the point).
    depth_mm : how far to look when no bone stops the probe first.
    snap : start on ``surface``: where the line through ``point`` along ``direction`` enters it, or
        (no direction) at its point nearest to ``point``; a point beneath the surface (a landmark on
        bone) is then probed from there through the point.
    """
    from viewer.techniques.context import context_from_scene

    surface = surface or outer_surface(scene)
    if surface not in scene.structures:
        raise ProbeError(f"unknown structure {surface!r}")
    point = np.asarray(point, dtype=float)
    if point.shape != (3,) or not np.isfinite(point).all():
        raise ProbeError(f"a probe point needs three finite coordinates, not {point.tolist()}")
    target = point
    if snap and direction is not None:  # where the line through the point enters the surface
        point = entry_point(scene, surface, point, np.asarray(direction, dtype=float))
    elif snap:
        point = onto_surface(scene, surface, point)
    if direction is None and np.linalg.norm(target - point) > 1.0:
        direction = target - point  # a point inside (a landmark on bone): probe from the surface through it
    elif direction is None:
        direction = -surface_normal(scene.vertices(surface), scene.structures[surface].faces, point)
    direction = np.asarray(direction, dtype=float)
    if direction.shape != (3,) or not np.isfinite(direction).all() or np.linalg.norm(direction) < 1e-9:
        raise ProbeError(f"a probe direction needs three finite coordinates, not all zero: {direction.tolist()}")
    side = side_of(point)
    context = context_from_scene(scene, side)  # the scene's posed nerve and zones
    column = tissue_column(context, point, direction, depth_mm)
    layers = [ProbeLayer(c.structure, c.entry_mm, c.exit_mm, c.bone) for c in column.crossings]
    if surface not in context.structures and scene.structures[surface].kind == "skin":
        # the skin encloses the whole body: under the hand it is skin and fat down to the first structure
        first = min((c.entry_mm for c in column.crossings), default=column.reach_mm)
        layers.insert(0, ProbeLayer(surface, 0.0, _mm(first), False))
    clearance = column.nerve
    entry = clearance.first_within(0.0)
    return ProbeResult(
        point=point, direction=column.direction, side=side, surface=surface, layers=layers,
        reach_mm=_mm(column.reach_mm), bone=column.stopped_by, nerve_distance_mm=_mm(clearance.nearest_mm),
        nerve_nearest_depth_mm=_mm(clearance.nearest_depth_mm), nerve_entry_depth_mm=None if entry is None else _mm(entry),
        column=column,
    )


def probe_technique(scene, session) -> ProbeResult:
    """Probe along the active technique's line of force, from its contact down to its working depth:
    the column the safety check measures."""
    geometry, _report, _zones = session.result()
    return probe(
        scene, geometry.contact, surface=geometry.surface_structure, direction=geometry.direction,
        depth_mm=geometry.working_depth_mm, snap=False,
    )


def parse_point(text: str, scene) -> FloatArray:
    """``greater_trochanter_right`` (a landmark at the current pose) or ``x,y,z`` in mm."""
    landmarks = scene.landmarks()
    if text in landmarks:
        return np.asarray(landmarks[text], dtype=float)
    return parse_vector(text, "point", f"a landmark ({', '.join(sorted(landmarks))}) or x,y,z in mm")


def parse_vector(text: str, what: str, expected: str = "x,y,z") -> FloatArray:
    """``x,y,z`` -> (3,) array; anything else is a :class:`ProbeError` naming ``what``."""
    try:
        values = np.array([float(v) for v in text.split(",")])
    except ValueError:
        values = np.array([])
    if values.shape != (3,) or not np.isfinite(values).all():
        raise ProbeError(f"{what} must be {expected}, not {text!r}")
    return values


__all__ = [
    "PROBE_DEPTH_MM",
    "Crossing",
    "ProbeError",
    "ProbeLayer",
    "ProbeResult",
    "outer_surface",
    "parse_point",
    "parse_vector",
    "probe",
    "probe_technique",
    "side_of",
]
