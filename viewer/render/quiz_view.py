"""Marks the structures a quiz question asks about: drawn over everything in a bright colour, no name shown."""

from __future__ import annotations

from vtkmodules.vtkRenderingCore import vtkActor

from viewer.render.scene_view import polydata
from viewer.render.see_through_layer import overlay_actor, overlay_renderer

HIGHLIGHT_COLOUR = "#39ff14"  # no tissue is this green
HIGHLIGHT_OPACITY = 0.75  # the tissue over a deep structure still shows a little through it


class QuizHighlight:
    """One highlighted set of structures at the current pose in a :class:`~viewer.render.scene_view.SceneView`."""

    def __init__(self, scene_view) -> None:
        self.scene_view = scene_view
        self.names: list[str] = []
        self.overlay = overlay_renderer(scene_view.plotter)
        self._actors: list[vtkActor] = []

    def show(self, names: list[str]) -> None:
        """Highlight these structures (deep ones show through what covers them); [] clears."""
        model = self.scene_view.model
        for actor in self._actors:
            self.overlay.RemoveActor(actor)
        self._actors = []
        self.names = [n for n in names if n in model.structures]
        for name in self.names:
            actor = overlay_actor(self.overlay, polydata(model.vertices(name), model.structures[name].faces), HIGHLIGHT_COLOUR)
            actor.GetProperty().SetOpacity(HIGHLIGHT_OPACITY)
            actor.GetProperty().SetAmbient(0.4)
            self._actors.append(actor)
        self.scene_view.request_render()
