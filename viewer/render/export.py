"""Off-screen rendering of the scene to pictures (PNG) and 3D files (glTF), without any window or Qt.

A picture of any size is drawn with bounded memory: the scene is laid out in a
window at most :data:`MAX_TILE_PX` a side, the 3D part is rendered in tiles
(VTK's window-to-image magnification) and the 2D overlays (labels, leaders,
legend, colour bar, caption) are drawn again on the full picture at scale
(:mod:`viewer.render.overlay`). Every file is written atomically.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyvista as pv

from viewer.cache import atomic_write
from viewer.model.events import temporary_listeners
from viewer.model.scene import SceneModel
from viewer.render.overlay import Overlay, capture_overlay, draw_on_image, overlays_hidden
from viewer.render.scene_view import SceneView
from viewer.render.views import CameraPose

MAX_TILE_PX = 2048  # the render window's largest side; bigger pictures are rendered in tiles
MAX_PICTURE_PX = 16384
MM_PER_METRE = 1000.0
PICTURE_STEPS = 3  # progress of one picture: scene laid out, 3D drawn (all tiles), overlays drawn
# Smooth edges: the 3D part is drawn at twice the size and averaged down (VTK's SSAA pass would bypass
# depth peeling and leave the translucent skin in triangle-shaped patches); very large pictures need none.
SUPERSAMPLE = 2
SUPERSAMPLE_UP_TO_PX = 4096


class ExportError(Exception):
    """A picture or file that cannot be made as asked: said in one line, never a blank file."""


def tiling(size: tuple[int, int], max_tile: int = MAX_TILE_PX) -> tuple[int, tuple[int, int]]:
    """(magnification, window size) whose product covers ``size`` with a window at most ``max_tile`` a side."""
    width, height = size
    if not (1 <= width <= MAX_PICTURE_PX and 1 <= height <= MAX_PICTURE_PX):
        raise ExportError(f"a picture of {width}x{height} pixels cannot be drawn (at most {MAX_PICTURE_PX} a side)")
    scale = max(1, math.ceil(max(width, height) / max_tile))
    return scale, (math.ceil(width / scale), math.ceil(height / scale))


def render_picture(
    model: SceneModel,
    view: str = "posterior",
    size: tuple[int, int] = (1920, 1080),
    labels: bool = False,
    landmarks: bool = False,
    techniques=None,
    dpi: float | None = None,
    transparent: bool = False,
    max_tile: int = MAX_TILE_PX,
    text: bool = True,
    camera: CameraPose | dict | None = None,
    progress: Callable[[int, int], None] | None = None,
    legend: bool = True,
) -> tuple[np.ndarray, Overlay]:
    """Render ``model`` from ``view`` at ``size`` pixels (labels and pins optional).

    Text is sized for print: 9 pt at ``dpi`` (None: the picture fills the width of an A4 page).
    ``camera`` replaces the named ``view``: the window's (:meth:`SceneView.camera_pose`) or a scene document's
    (a named view or exact numbers).
    ``progress(done, total)`` is called as the scene is built, rendered and finished (for a progress bar).
    ``legend`` False leaves the danger legend off (and gives its room to the labels): a handout lists it once.

    Returns
    -------
    image : (height, width, 4 if transparent else 3) uint8
        The picture; with ``text`` False the overlays are left off (drawn by the caller, e.g. as PDF text).
    overlay : Overlay
        The 2D overlays at the picture's scale.
    """
    scale, window = tiling(size, max_tile)
    report = progress or (lambda _done, _total: None)
    report(0, PICTURE_STEPS)
    plotter = pv.Plotter(off_screen=True, window_size=list(window))
    scene = technique_view = None
    try:
        with temporary_listeners(model, techniques):  # the view goes with the plotter: it stops listening
            scene = SceneView(plotter, model)
            scene.set_danger_legend_shown(legend)
            scene.set_print(dpi, scale)  # laid out at 1/scale, drawn at scale
            supersample = SUPERSAMPLE if max(size) <= SUPERSAMPLE_UP_TO_PX else 1
            scene.set_line_scale(supersample)  # outlines keep their width once averaged down
            if transparent:
                plotter.renderer.GradientBackgroundOff()
                plotter.renderer.SetBackgroundAlpha(0.0)
            scene.set_view(view)
            if camera is not None:
                scene.set_camera(camera)
            if techniques is not None:
                from viewer.render.technique_view import TechniqueView

                technique_view = TechniqueView(plotter, techniques, text_sizes=scene.text_sizes)
                scene.labels.obstacles.append(technique_view.caption_boxes)
            scene.set_pins(landmarks)
            scene.set_labels(labels)
            report(1, PICTURE_STEPS)
            overlay = capture_overlay(plotter).scaled(scale)
            with overlays_hidden(plotter):
                image = downsample(grab_3d(scene, scale * supersample, transparent, max_tile), supersample)
    except MemoryError:
        raise ExportError(f"not enough memory to draw {size[0]}x{size[1]} pixels") from None
    finally:
        for view in (technique_view, scene):  # the model outlives the export: leave nothing listening
            if view is not None:
                view.close()
        plotter.close()
    report(2, PICTURE_STEPS)
    extra_rows = window[1] * scale - size[1]  # rows run top down; the overlay counts from the bottom
    image = np.ascontiguousarray(np.asarray(image)[extra_rows:, : size[0]])
    _check_drawn(image, size)
    if text:
        image = draw_on_image(image, overlay)
    report(PICTURE_STEPS, PICTURE_STEPS)
    return image, overlay


def grab_3d(scene: SceneView, magnification: int, transparent: bool, max_tile: int = MAX_TILE_PX) -> np.ndarray:
    """The 3D picture of an off-screen view at ``magnification`` times its window's size, rows top down.

    A picture that fits a window of ``max_tile`` pixels a side is one frame of the window enlarged to it (the
    view is thrown away after the grab, so its size is not put back); a larger one is rendered in tiles of
    the window's size (VTK's window-to-image magnification: a frame per tile and one more). The camera's view
    angle and aspect, and so the picture, are the same either way: the single frame saves a frame per tile
    (a 2x supersampled picture is four tiles, each drawing the whole scene).

    Returns
    -------
    (height * magnification, width * magnification, 4 if transparent else 3) uint8
    """
    plotter = scene.plotter
    width, height = plotter.window_size
    if magnification > 1 and max(width, height) * magnification <= max_tile:
        plotter.render_window.SetSize(width * magnification, height * magnification)  # no frame at the new size yet
        magnification = 1
    if magnification == 1:
        scene.render_now()  # the grab reads the last frame (an unshown plotter draws its first frame in the grab)
    image = plotter.screenshot(None, transparent_background=transparent, return_img=True, scale=magnification)
    return np.asarray(image)


def downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Average each ``factor`` x ``factor`` block of pixels: (H*f, W*f, C) uint8 -> (H, W, C) uint8."""
    if factor == 1:
        return image
    height, width = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: height * factor, : width * factor].reshape(height, factor, width, factor, -1)
    return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)


def _check_drawn(image: np.ndarray, size: tuple[int, int]) -> None:
    """A renderer that ran out of room returns a blank (all black or all empty) picture: say so instead."""
    if image.shape[:2] != (size[1], size[0]):
        raise ExportError(f"the renderer returned {image.shape[1]}x{image.shape[0]} pixels, not {size[0]}x{size[1]}")
    colours = image.reshape(-1, image.shape[2])
    if image.shape[2] == 4 and not colours[:, 3].any():
        raise ExportError(f"the renderer drew nothing at {size[0]}x{size[1]} pixels")
    if not colours[:, :3].any() or (colours[::97] == colours[0]).all():
        raise ExportError(f"the renderer returned a blank picture at {size[0]}x{size[1]} pixels")


def save_png(image: np.ndarray, out: Path, dpi: float | None = None) -> Path:
    """Write an (h, w, 3|4) uint8 picture as a PNG, atomically, with ``dpi`` in its pHYs chunk."""
    from PIL import Image

    mode = "RGBA" if image.shape[2] == 4 else "RGB"
    options = {"dpi": (dpi, dpi)} if dpi else {}
    return write_file(out, lambda temporary: Image.fromarray(image, mode).save(temporary, format="PNG", **options))


def write_file(out: Path, write: Callable[[Path], None]) -> Path:
    """Atomically write ``out`` (see :func:`viewer.cache.atomic_write`) after checking its folder."""
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"{out}: is a folder; give a file name")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"{out.parent}: output folder does not exist")
    try:
        return atomic_write(out, write)
    except OSError as error:
        raise ExportError(f"{out}: cannot write ({error.strerror or error})") from None


def export_png(model: SceneModel, out: Path, dpi: float | None = None, **picture) -> Path:
    """Render ``model`` (options as :func:`render_picture`: view, size, labels, landmarks, techniques,
    transparent) and save a PNG atomically, ``dpi`` stored in it."""
    out = Path(out)
    if not out.parent.is_dir():
        raise FileNotFoundError(f"{out.parent}: output folder does not exist")
    image, _overlay = render_picture(model, dpi=dpi, **picture)
    return save_png(image, out, dpi)


# --- 3D ------------------------------------------------------------------------------------------------


def scene_meshes(model: SceneModel, fibres: bool = False):
    """The shown structures as trimesh geometry in metres (glTF's unit), posed, with colour and opacity.

    Returns
    -------
    dict[str, trimesh.Trimesh | trimesh.path.Path3D]
        One mesh per shown structure by its id (``gluteus_maximus_right``...), plus ``<id>_fibres`` line sets.
    """
    import trimesh

    geometry = {}
    for name, structure in model.structures.items():
        if not model.is_visible(name):
            continue
        colour = model.skin_colour() if structure.kind == "skin" else structure.colour
        rgba = np.r_[pv.Color(colour).float_rgb, model.opacity(name)]
        material = trimesh.visual.material.PBRMaterial(
            name=name,
            baseColorFactor=(rgba * 255).round().astype(np.uint8),
            metallicFactor=0.0,
            roughnessFactor=0.7,
            alphaMode="BLEND" if rgba[3] < 1 else "OPAQUE",
            doubleSided=rgba[3] < 1,
        )
        mesh = trimesh.Trimesh(
            model.vertices(name) / MM_PER_METRE, structure.faces, process=False,
            visual=trimesh.visual.TextureVisuals(material=material),
        )  # fmt: skip
        geometry[name] = mesh
        lines = model.fibre_lines(name) if fibres else None
        if lines is not None:
            geometry[f"{name}_fibres"] = trimesh.load_path(np.asarray(lines) / MM_PER_METRE)
    return geometry


def export_gltf(model: SceneModel, out: Path, fibres: bool = False) -> Path:
    """Write the shown structures, posed, as glTF 2.0 (``.glb`` binary, or ``.gltf`` with embedded buffers).

    One named node and mesh per structure, its colour and opacity as a PBR material; units are metres.
    """
    import trimesh

    out = Path(out)
    geometry = scene_meshes(model, fibres)
    if not geometry:
        raise ExportError("nothing is shown: there is no structure to export")
    scene = trimesh.Scene()
    for name, item in geometry.items():
        scene.add_geometry(item, geom_name=name, node_name=name)
    file_type = out.suffix.lower().lstrip(".")
    if file_type not in ("glb", "gltf"):
        raise ExportError(f"{out}: a 3D file must end in .glb or .gltf")

    def write(temporary: Path) -> None:
        if file_type == "glb":
            temporary.write_bytes(trimesh.exchange.gltf.export_glb(scene))
        else:
            temporary.write_bytes(trimesh.exchange.gltf.export_gltf(scene, embed_buffers=True)["model.gltf"])

    return write_file(out, write)
