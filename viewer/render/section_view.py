"""Draws the scene's cross-section: every actor clipped by the plane, the cut capped like an anatomy plate.

The caps come from :meth:`viewer.model.scene.SceneModel.section_caps` (each structure's section filled
with its colour, bone with a cortical rim, the skin's dermis over the subcutaneous fat), drawn flat and
outlined; the labels then name only the structures cut, anchored on their cut faces.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
from vtkmodules.vtkCommonDataModel import vtkPlane

CAP_LIFT_MM = 0.05  # the caps sit a hair towards the viewer, in front of the clipped surfaces' edges
LABEL_LIFT_MM = 0.5
OUTLINE_COLOUR = "#3a2a22"
FAT_COLOUR = "#f7ecc4"
DERMIS_COLOUR = "#d9a080"
MARROW_COLOUR = "#d8b487"  # cancellous bone inside the cortical rim
CAP_ACTOR, OUTLINE_ACTOR = "__section_caps", "__section_outlines"


UNMODELLED_COLOUR = "#cdc5bd"  # deep inside the skin, what the atlas does not model: neutral, not fat


def cap_colours(kind: str, colour: str) -> np.ndarray:
    """(3, 3) RGB of a structure's cut face by zone: rim (cortex, dermis), the tissue, unmodelled."""
    own = pv.Color(colour).int_rgb
    rim, body = own, own
    if kind == "bone":
        body = pv.Color(MARROW_COLOUR).int_rgb
    if kind == "skin":
        rim, body = pv.Color(DERMIS_COLOUR).int_rgb, pv.Color(FAT_COLOUR).int_rgb
    return np.array([rim, body, pv.Color(UNMODELLED_COLOUR).int_rgb], dtype=np.uint8)


class SectionView:
    """Keeps the clipping and the caps of a :class:`~viewer.render.scene_view.SceneView` in step with the model."""

    def __init__(self, scene_view) -> None:
        self.scene_view = scene_view
        self.plotter = scene_view.plotter
        self.model = scene_view.model
        self.caps: dict = {}
        self._plane = vtkPlane()
        self._clipped: set = set()
        self._cap_actor = None
        self._outline_actor = None
        model = self.model
        self._connections = [
            (signal, self._on_change)
            for signal in (
                model.section_changed, model.pose_changed, model.visibility_changed, model.opacity_changed,
                model.structures_replaced,
            )
        ] + [(signal, self._reclip) for signal in (model.selection_changed, model.fibres_visibility_changed)]
        for signal, slot in self._connections:
            signal.connect(slot)
        self.update()

    def close(self) -> None:
        """Stop listening to the model."""
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self._connections.clear()

    def _reclip(self, *_args) -> None:
        self._clip_all()

    def _on_change(self, *_args) -> None:
        self.update()
        self.scene_view.request_render()

    def _clip_all(self) -> None:
        """Clip every 3D actor but the caps (new actors, e.g. a selection outline, are clipped as they come)."""
        plane = self.model.section
        own = {self._cap_actor, self._outline_actor}
        actors = self.plotter.renderer.GetActors()
        actors.InitTraversal()
        for _ in range(actors.GetNumberOfItems()):
            actor = actors.GetNextActor()
            if actor in own or actor.GetMapper() is None:
                continue
            mapper = actor.GetMapper()
            if plane is None and actor in self._clipped:
                mapper.RemoveClippingPlane(self._plane)
                self._clipped.discard(actor)
            elif plane is not None and actor not in self._clipped:
                mapper.AddClippingPlane(self._plane)
                self._clipped.add(actor)

    def update(self) -> None:
        """Re-cut for the current plane, pose and what is shown."""
        plane = self.model.section
        if plane is not None:
            self._plane.SetOrigin(*plane.origin)
            self._plane.SetNormal(*(-plane.normal))  # VTK keeps the side its normal points to
        self._clip_all()
        self.caps = self.model.section_caps()
        self._draw_caps(plane)
        labels = getattr(self.scene_view, "labels", None)
        if labels is not None:
            labels.anchor_points = self.anchor_points if plane is not None else None
            self.scene_view._refresh_labels()

    def preview(self, plane) -> None:
        """While the cut is dragged: clip at ``plane`` at once, caps hidden (they are re-cut when the drag ends)."""
        self._plane.SetOrigin(*plane.origin)
        for actor in (self._cap_actor, self._outline_actor):
            if actor is not None:
                actor.SetVisibility(False)
        self.scene_view.request_render()

    def _remove_caps(self) -> None:
        """No cut (or nothing cut): the caps and their outlines leave the plotter, as every overlay turned off does
        (a hidden actor is still walked every frame)."""
        for actor in (self._cap_actor, self._outline_actor):
            if actor is not None:
                self.plotter.remove_actor(actor, render=False)
        self._cap_actor = self._outline_actor = None

    def anchor_points(self, name: str) -> np.ndarray | None:
        """Where a cut structure's label points: well inside its cut face (None: not cut, not named)."""
        cap = self.caps.get(name)
        return None if cap is None else cap.anchors + LABEL_LIFT_MM * self.model.section.normal

    def _draw_caps(self, plane) -> None:
        if plane is None or not self.caps:
            self._remove_caps()
            return
        points, cells, colours, lines, line_points = [], [], [], [], []
        offset = 0
        for name, cap in self.caps.items():
            structure = self.model.structures[name]
            points.append(cap.vertices + CAP_LIFT_MM * plane.normal)
            cells.append(np.hstack([np.full((len(cap.faces), 1), 3), cap.faces + offset]))
            colours.append(cap_colours(structure.kind, structure.colour)[cap.zone])
            offset += len(cap.vertices)
        caps = pv.PolyData(np.vstack(points), np.vstack(cells).ravel())
        caps.cell_data["colours"] = np.vstack(colours).astype(np.uint8)
        start = 0
        for cap in self.caps.values():
            for loop in cap.loops:
                line_points.append(loop + 2 * CAP_LIFT_MM * plane.normal)
                lines.append(np.r_[len(loop) + 1, np.arange(start, start + len(loop)), start])
                start += len(loop)
        outlines = pv.PolyData(np.vstack(line_points), lines=np.concatenate(lines))
        if self._cap_actor is None:
            self._cap_actor = self.plotter.add_mesh(
                caps, scalars="colours", rgb=True, lighting=False, name=CAP_ACTOR, reset_camera=False, pickable=True,
            )
            self._outline_actor = self.plotter.add_mesh(
                outlines, color=OUTLINE_COLOUR, line_width=1.2, lighting=False, name=OUTLINE_ACTOR,
                reset_camera=False, pickable=False,
            )
        else:
            self._cap_actor.mapper.dataset.copy_from(caps)
            self._outline_actor.mapper.dataset.copy_from(outlines)
        self._cap_actor.SetVisibility(True)
        self._outline_actor.SetVisibility(True)
