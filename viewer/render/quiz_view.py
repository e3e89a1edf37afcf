"""Marks the structure a quiz question asks about: drawn over in a bright colour, no name shown."""

from __future__ import annotations

import pyvista as pv

from viewer.render.scene_view import polydata

HIGHLIGHT_COLOUR = "#39ff14"  # no tissue is this green
HIGHLIGHT_ACTOR = "__quiz_highlight"


class QuizHighlight:
    """One highlighted set of structures at the current pose in a :class:`~viewer.render.scene_view.SceneView`."""

    def __init__(self, scene_view) -> None:
        self.scene_view = scene_view
        self.names: list[str] = []

    def show(self, names: list[str]) -> None:
        plotter, model = self.scene_view.plotter, self.scene_view.model
        plotter.remove_actor(HIGHLIGHT_ACTOR, render=False)
        self.names = [n for n in names if n in model.structures]
        if self.names:
            meshes = [polydata(model.vertices(n), model.structures[n].faces) for n in self.names]
            plotter.add_mesh(
                pv.merge(meshes) if len(meshes) > 1 else meshes[0], color=HIGHLIGHT_COLOUR, name=HIGHLIGHT_ACTOR,
                reset_camera=False, pickable=False, lighting=True, ambient=0.4,
            )
        self.scene_view.request_render()
