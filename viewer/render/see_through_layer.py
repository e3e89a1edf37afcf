"""A renderer layer over the scene, with the scene's camera: what is drawn there shows through the tissue."""

from __future__ import annotations

import pyvista as pv
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer


def overlay_renderer(plotter) -> vtkRenderer:
    """The plotter's overlay layer (made once): its own depth buffer, so it is drawn over the scene."""
    existing = getattr(plotter, "_study_overlay", None)
    if existing is not None:
        return existing
    overlay = vtkRenderer()
    overlay.SetLayer(1)
    overlay.InteractiveOff()
    overlay.SetActiveCamera(plotter.renderer.GetActiveCamera())
    window = plotter.render_window
    window.SetNumberOfLayers(max(2, window.GetNumberOfLayers()))
    window.AddRenderer(overlay)
    plotter._study_overlay = overlay
    return overlay


def overlay_actor(overlay: vtkRenderer, mesh: pv.PolyData, colour: str) -> vtkActor:
    """Add a mesh to the overlay in one flat colour (whatever arrays it carries), not pickable; returns its actor."""
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(mesh)
    mapper.ScalarVisibilityOff()
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.PickableOff()
    actor.GetProperty().SetColor(pv.Color(colour).float_rgb)
    overlay.AddActor(actor)
    return actor
