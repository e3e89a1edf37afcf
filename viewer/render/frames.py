"""Frames are drawn in one place (:meth:`viewer.render.scene_view.SceneView.request_render`).

Overlays take a ``request_render`` callable instead of calling the renderer; this module holds what they share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pyvista as pv

RenderRequest = Callable[[], None]


def no_frame() -> None:
    """The request of an overlay used on its own: the owner draws (e.g. an export's screenshot)."""


@contextmanager
def no_implicit_render(plotter: pv.BasePlotter) -> Iterator[None]:
    """Suppress the frame some pyvista helpers draw by themselves (e.g. ``add_silhouette``, ``add_legend``)."""
    previous = plotter.suppress_rendering
    plotter.suppress_rendering = True
    try:
        yield
    finally:
        plotter.suppress_rendering = previous


__all__ = ["RenderRequest", "no_frame", "no_implicit_render"]
