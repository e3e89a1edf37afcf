"""Origin and insertion areas of a muscle painted on its bones, with a legend.

:func:`attachment_areas` (pure numpy) finds the bone vertices within a few mm of
the muscle's fibre ends: the first fibre sample is the origin, the last the
insertion. Fibre ends farther than ``max_gap_mm`` from every bone attach to soft
tissue (gluteus maximus into the iliotibial band) and paint nothing.
:class:`AttachmentView` draws the areas as patches lifted off the bone for the
selected muscle.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pyvista as pv
from scipy.spatial import cKDTree

from viewer.render.frames import RenderRequest, no_frame, no_implicit_render
from viewer.types import FloatArray, IntArray

ORIGIN_COLOUR = "#2563eb"  # blue
INSERTION_COLOUR = "#16a34a"  # green


@dataclass(frozen=True)
class AttachmentArea:
    muscle: str
    role: str  # "origin" | "insertion"
    bone: str
    vertex_ids: IntArray  # bone vertices inside the area (may be few where the bone mesh is coarse)
    points: FloatArray  # (k, 3) patch vertices, on the bone surface
    faces: IntArray  # (m, 3) patch triangles: the bone's triangles finely subdivided and cut to the area

    @property
    def size(self) -> int:
        """Number of bone triangles the area covers."""
        return len(self.faces)

    @property
    def centre(self) -> FloatArray:
        """Centre (3,) of the area's vertices, mm."""
        return self.points[np.unique(self.faces)].mean(axis=0)


def _barycentric_grid(n: int) -> tuple[FloatArray, IntArray]:
    """Barycentric weights (k, 3) and triangles of a triangle split into n*n pieces."""
    index = {}
    weights = []
    for i in range(n + 1):
        for j in range(n + 1 - i):
            index[i, j] = len(weights)
            weights.append((1 - (i + j) / n, i / n, j / n))
    triangles = []
    for i in range(n):
        for j in range(n - i):
            triangles.append((index[i, j], index[i + 1, j], index[i, j + 1]))
            if i + j <= n - 2:
                triangles.append((index[i + 1, j], index[i + 1, j + 1], index[i, j + 1]))
    return np.array(weights), np.array(triangles, dtype=np.int64)


def area_patch(
    vertices: FloatArray, faces: IntArray, line: FloatArray, radius_mm: float, resolution_mm: float = 2.0
) -> tuple[FloatArray, IntArray]:
    """The part of a bone surface within ``radius_mm`` of a set of points, as a fine triangle patch."""
    tree = cKDTree(line)
    corners = vertices[faces]  # (m, 3, 3)
    longest = np.linalg.norm(corners - np.roll(corners, 1, axis=1), axis=2).max(axis=1)
    near = tree.query(corners.mean(axis=1))[0] <= radius_mm + longest
    if not near.any():
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    n = int(np.clip(np.ceil(longest[near].max() / resolution_mm), 1, 24))
    weights, small = _barycentric_grid(n)
    points = np.einsum("kc,mcd->mkd", weights, corners[near])  # (faces, k, 3)
    offsets = np.arange(len(points))[:, None, None] * len(weights)
    triangles = (small[None] + offsets).reshape(-1, 3)
    points = points.reshape(-1, 3)
    keep = tree.query(points[triangles].mean(axis=1))[0] <= radius_mm
    triangles = triangles[keep]
    used, remap = np.unique(triangles, return_inverse=True)
    return points[used], remap.reshape(-1, 3)


def _densify(points: FloatArray, step: float = 2.0) -> FloatArray:
    """Fibre ends are ordered across the muscle: sample the line through them every ``step`` mm."""
    if len(points) < 2:
        return points
    out = [points[:1]]
    for a, b in itertools.pairwise(points):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        out.append(a + (b - a) * (np.arange(1, n + 1)[:, None] / n))
    return np.vstack(out)


def attachment_areas(
    muscle: str,
    fibres: FloatArray,
    bones: dict[str, tuple[FloatArray, IntArray]],
    radius_mm: float = 6.0,
    max_gap_mm: float = 8.0,
) -> list[AttachmentArea]:
    """Areas on each bone where the muscle's fibres start (origin) and end (insertion).

    ``bones`` maps bone structure names to (vertices, faces) in the same pose
    as the fibres. Each fibre end is given to its nearest bone if within
    ``max_gap_mm``; the area is the bone vertices within ``radius_mm`` of the
    line through that bone's ends.
    """
    trees = {name: cKDTree(vertices) for name, (vertices, _faces) in bones.items()}
    areas = []
    for role, index in (("origin", 0), ("insertion", -1)):
        ends = np.asarray(fibres)[:, index, :]
        gaps = np.stack([trees[name].query(ends)[0] for name in bones])  # (n_bones, n_fibres)
        nearest = gaps.argmin(axis=0)
        close = gaps.min(axis=0) <= max_gap_mm
        for b, name in enumerate(bones):
            chosen = ends[(nearest == b) & close]
            if len(chosen) == 0:
                continue
            vertices, faces = bones[name]
            line = _densify(chosen)
            hits = trees[name].query_ball_point(line, r=radius_mm)
            ids = np.unique(np.concatenate([np.asarray(h, dtype=np.int64) for h in hits]))
            points, patch = area_patch(vertices, faces, line, radius_mm)
            if len(patch) == 0:
                continue
            areas.append(AttachmentArea(muscle, role, name, ids, points, patch))
    return areas


def attachment_scalars(areas: list[AttachmentArea], bone: str, n_vertices: int) -> IntArray:
    """Per-vertex labels for one bone: 0 none, 1 origin, 2 insertion (insertion wins where both)."""
    labels = np.zeros(n_vertices, dtype=np.int8)
    for role_value, role in ((1, "origin"), (2, "insertion")):
        for area in areas:
            if area.bone == bone and area.role == role:
                labels[area.vertex_ids] = role_value
    return labels


def model_attachment_areas(model, muscle: str, radius_mm: float = 6.0) -> list[AttachmentArea]:
    """Attachment areas of a scene muscle on the scene's bones (anatomical position)."""
    fibres = model.structures[muscle].fibres
    if fibres is None:
        return []
    bones = {n: (s.vertices, s.faces) for n, s in model.structures.items() if s.kind == "bone"}
    return attachment_areas(muscle, fibres, bones, radius_mm=radius_mm)


class AttachmentView:
    """Paints the selected muscle's origin and insertion areas on its bones, with a legend."""

    def __init__(
        self,
        plotter: pv.BasePlotter,
        model,
        enabled: bool = True,
        lift_mm: float = 0.4,
        request_render: RenderRequest = no_frame,
    ) -> None:
        self.plotter = plotter
        self.request_render = request_render
        self.model = model
        self.lift_mm = lift_mm
        self.areas: list[AttachmentArea] = []
        self._actors: list = []
        self._enabled = bool(enabled)
        model.selection_changed.connect(self._on_selection)
        model.pose_changed.connect(self._on_pose)
        self._on_selection(model.selection)

    def close(self) -> None:
        """Stop following the model."""
        self.model.selection_changed.disconnect(self._on_selection)
        self.model.pose_changed.disconnect(self._on_pose)

    @property
    def enabled(self) -> bool:
        """Whether the selection's attachment areas are painted."""
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        """Paint the selection's attachment areas or not."""
        self._enabled = bool(enabled)
        self._on_selection(self.model.selection)

    def _clear(self) -> None:
        for actor in self._actors:
            self.plotter.remove_actor(actor, render=False)
        self._actors = []
        self.plotter.remove_legend(render=False)
        self.areas = []

    def _on_pose(self, _pose) -> None:
        for actor, area in zip(self._actors, self.areas, strict=False):
            segment = self.model.structures[area.bone].segment
            if segment is not None:
                actor.user_matrix = self.model.segment_transform(segment)
        if self._actors:
            self.request_render()

    def _on_selection(self, name: str | None) -> None:
        self._clear()
        if not self._enabled or name is None or self.model.structures[name].fibres is None:
            self.request_render()
            return
        self.areas = model_attachment_areas(self.model, name)
        for area in self.areas:
            bone = self.model.structures[area.bone]
            if len(area.faces) == 0:
                continue
            patch = pv.PolyData(area.points, np.hstack([np.full((len(area.faces), 1), 3), area.faces]).ravel())
            patch = patch.compute_normals(auto_orient_normals=False, split_vertices=False)
            patch.points = patch.points + self.lift_mm * patch.point_data["Normals"]
            actor = self.plotter.add_mesh(
                patch,
                color=ORIGIN_COLOUR if area.role == "origin" else INSERTION_COLOUR,
                smooth_shading=True,
                name=f"__attachment_{area.role}_{area.bone}",
                reset_camera=False,
                pickable=False,
                render=False,
            )
            if bone.segment is not None:
                actor.user_matrix = self.model.segment_transform(bone.segment)
            self._actors.append(actor)
        self.areas = [a for a in self.areas if len(a.faces)]
        if self.areas:
            with no_implicit_render(self.plotter):
                self._add_legend()
        self.request_render()

    def _add_legend(self) -> None:
        legend = self.plotter.add_legend(
            labels=[["Origin", ORIGIN_COLOUR], ["Insertion", INSERTION_COLOUR]],
            bcolor="#fbfaf7",
            border=True,
            loc="lower right",
            size=(0.11, 0.07),
            face="rectangle",
        )
        legend.GetEntryTextProperty().SetColor(0.1, 0.1, 0.1)  # VTK's default, white, vanishes on the light box


__all__ = [
    "INSERTION_COLOUR",
    "ORIGIN_COLOUR",
    "AttachmentArea",
    "AttachmentView",
    "attachment_areas",
    "attachment_scalars",
    "model_attachment_areas",
]
