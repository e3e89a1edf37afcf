"""Off-screen rendering of the scene to a PNG, without any window or Qt."""

from __future__ import annotations

from pathlib import Path

import pyvista as pv

from viewer.model.scene import SceneModel
from viewer.render.scene_view import SceneView


def export_png(
    model: SceneModel,
    out: Path,
    view: str = "posterior",
    size: tuple[int, int] = (1920, 1080),
    labels: bool = False,
    landmarks: bool = False,
    techniques=None,
    dpi: float | None = None,
) -> Path:
    """Render ``model`` from ``view`` at ``size`` pixels and save a PNG (labels and pins optional).

    Text is sized for print: 9 pt at ``dpi`` (None: the picture fills the width of an A4 page).
    """
    out = Path(out)
    if out.parent and not out.parent.exists():
        raise FileNotFoundError(f"{out.parent}: output folder does not exist")
    plotter = pv.Plotter(off_screen=True, window_size=list(size))
    scene = technique_view = None
    try:
        scene = SceneView(plotter, model)
        scene.set_print(dpi)
        plotter.enable_anti_aliasing("ssaa")  # handouts: smooth edges are worth the extra render time
        scene.set_view(view)
        if techniques is not None:
            from viewer.render.technique_view import TechniqueView

            technique_view = TechniqueView(plotter, techniques, text_sizes=scene.text_sizes)
            scene.labels.obstacles.append(technique_view.caption_boxes)
        scene.set_pins(landmarks)
        scene.set_labels(labels)
        plotter.screenshot(str(out))
    finally:
        for view in (technique_view, scene):  # the model outlives the export: leave nothing listening
            if view is not None:
                view.close()
        plotter.close()
    return out
