"""Draws a depth probe in the 3D view: a needle along the probed column with a tick every centimetre.

The numbers come from :func:`viewer.model.probe.probe`; this module only draws them and finds the point
under the mouse (a surface point, for the next probe).
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
from vtkmodules.vtkRenderingCore import vtkActor, vtkCellPicker

from viewer.render.see_through_layer import overlay_actor, overlay_renderer

NEEDLE_COLOUR = "#1565c0"  # a clear blue no tissue is painted in
TICK_MM = 10.0  # a tick every centimetre, a longer one every 5 cm
TICK_HALF_MM = (2.0, 4.0)


def needle_ticks(point: np.ndarray, direction: np.ndarray, length_mm: float) -> pv.PolyData:
    """Short strokes across the needle every :data:`TICK_MM` (longer at every 5 cm).

    Parameters
    ----------
    point : (3,) where the needle enters.
    direction : (3,) unit, into the body.
    length_mm : how long the needle is.
    """
    across = np.cross(direction, [0.0, 1.0, 0.0] if abs(direction[1]) < 0.9 else [1.0, 0.0, 0.0])
    across /= np.linalg.norm(across)
    depths = np.arange(TICK_MM, length_mm + 1e-9, TICK_MM)
    half = np.where(np.isclose(depths % 50.0, 0.0), TICK_HALF_MM[1], TICK_HALF_MM[0])
    centres = point + depths[:, None] * direction
    ends = np.stack([centres - half[:, None] * across, centres + half[:, None] * across], axis=1).reshape(-1, 3)
    lines = np.column_stack([np.full(len(depths), 2), 2 * np.arange(len(depths)), 2 * np.arange(len(depths)) + 1])
    return pv.PolyData(ends, lines=lines.ravel()) if len(depths) else pv.PolyData()


class ProbeView:
    """The needle of the last probe in a :class:`~viewer.render.scene_view.SceneView`, and surface picking."""

    def __init__(self, scene_view) -> None:
        self.scene_view = scene_view
        self.plotter = scene_view.plotter
        self.result = None
        self._actors: list[vtkActor] = []
        self.overlay = overlay_renderer(self.plotter)  # the needle shows through the tissue it passes
        self._picker = vtkCellPicker()
        self._picker.SetTolerance(0.0005)

    def surface_at(self, x: int, y: int) -> tuple[str | None, np.ndarray] | None:
        """(structure or None for a cut face, world point (3,)) under display pixel (x, y); None: nothing."""
        if not self._picker.Pick(x, y, 0, self.plotter.renderer):
            return None
        return self.scene_view.structure_at(self._picker.GetActor()), np.array(self._picker.GetPickPosition())

    def view_ray(self, point: np.ndarray) -> np.ndarray:
        """(3,) unit: the direction the camera looks at ``point`` along."""
        ray = np.asarray(point, dtype=float) - np.array(self.plotter.camera.position)
        return ray / np.linalg.norm(ray)

    def show(self, result) -> None:
        """Draw the needle of a :class:`~viewer.model.probe.ProbeResult` (None: remove it)."""
        self.result = result
        for actor in self._actors:
            self.overlay.RemoveActor(actor)
        self._actors = []
        if result is not None:
            tip = result.point + result.reach_mm * result.direction
            shaft = pv.Line(result.point - 15.0 * result.direction, tip)  # a handle outside the skin
            ticks = needle_ticks(result.point, result.direction, result.reach_mm)
            for mesh, width in ((shaft, 4.0), (ticks, 2.0)):
                if mesh.n_points:
                    self._actors.append(self._line_actor(mesh, width))
        self.scene_view.request_render()

    def _line_actor(self, mesh: pv.PolyData, width: float) -> vtkActor:
        actor = overlay_actor(self.overlay, mesh, NEEDLE_COLOUR)
        actor.GetProperty().SetLineWidth(width)
        actor.GetProperty().LightingOff()
        return actor
