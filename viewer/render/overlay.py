"""A renderer layer over the scene, with the scene's camera: what is drawn there shows through the tissue."""

from __future__ import annotations

from vtkmodules.vtkRenderingCore import vtkRenderer


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
