"""Close-up contact sheets: each muscle alone with its bones, from three sides, at rest and posed.

Run ``python -m viewer.tools.closeups [OUT_DIR] [--size PX] [--muscles a,b]`` (off screen, no display
needed). One PNG per muscle of the right side: rows at rest and with the hip and knee flexed 90°,
columns posterior, right lateral and inferior; the camera frames the muscle's own bounds in each pose.
These are the pictures an anatomy teacher checks a muscle's form on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from viewer.render.views import VIEW_ANGLE_DEG, VIEWS, CameraPose

SHEET_VIEWS = ("posterior", "right", "inferior")
SHEET_POSES = {"rest": {}, "hip 90, knee 90": {"hip_flexion": 90.0, "knee_flexion": 90.0}}
REST_ANGLES = {"hip_flexion": 0.0, "hip_abduction": 0.0, "hip_rotation": 0.0, "knee_flexion": 0.0}
FRAME_MARGIN = 1.3  # the muscle's extent across the line of sight fills 1/margin of the picture's height


def framing(points: np.ndarray, view: str) -> CameraPose:
    """A camera looking from the named ``view`` that frames ``points`` ((n, 3) mm) with a margin.

    The distance fits the points' extent across the line of sight (not their bounding sphere), so a
    muscle seen end-on still fills the picture.
    """
    preset = VIEWS[view]
    direction = np.asarray(preset.direction, dtype=float)
    centre = 0.5 * (points.min(axis=0) + points.max(axis=0))
    offsets = points - centre
    towards_camera = offsets @ direction
    across = np.linalg.norm(offsets - towards_camera[:, None] * direction, axis=1)
    distance = float(towards_camera.max() + FRAME_MARGIN * across.max() / np.tan(np.radians(VIEW_ANGLE_DEG / 2)))
    position = centre + distance * direction
    return CameraPose(tuple(position), tuple(centre), tuple(float(u) for u in preset.up), VIEW_ANGLE_DEG)


def muscle_sheet(scene, muscle: str, size: int) -> np.ndarray:
    """The (2*size + captions, 3*size, 3) uint8 contact sheet of one muscle (see the module docstring)."""
    from PIL import Image, ImageDraw, ImageFont

    from viewer.render.export import render_picture

    rows = []
    for pose_name, angles in SHEET_POSES.items():
        scene.set_pose(side="right", **{**REST_ANGLES, **angles})
        points = np.asarray(scene.vertices(muscle))
        tiles = []
        for view in SHEET_VIEWS:
            image, _ = render_picture(scene, size=(size, size), camera=framing(points, view), legend=False)
            tile = Image.fromarray(image)
            font = ImageFont.load_default(size=max(12, size // 28))
            ImageDraw.Draw(tile).text((10, 8), f"{VIEWS[view].label}, {pose_name}", fill=(20, 20, 20), font=font)
            tiles.append(np.asarray(tile))
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def fewer_colours(image: np.ndarray, colours: int) -> np.ndarray:
    """The (h, w, 3) uint8 ``image`` with at most ``colours`` colours (median cut), for a small README file."""
    from PIL import Image

    return np.asarray(Image.fromarray(image).quantize(colours, dither=Image.Dither.NONE).convert("RGB"))


def show_only(scene, muscle: str) -> None:
    """Bones and ``muscle`` shown solid; everything else hidden."""
    for name, structure in scene.structures.items():
        shown = name == muscle or structure.kind == "bone"
        scene.set_visible(name, shown)
        if shown:
            scene.set_opacity(name, 1.0)


def main(argv: list[str] | None = None) -> int:
    """Write one contact sheet per muscle into the output folder (default ``closeups``); the exit code."""
    from viewer.model.scene import build_scene
    from viewer.render.export import save_png

    parser = argparse.ArgumentParser(prog="python -m viewer.tools.closeups", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("closeups"), help="folder for the sheets")
    parser.add_argument("--size", type=int, default=520, help="pixels a side of each picture")
    parser.add_argument("--muscles", default="", help="comma-separated muscle names (default: all, right side)")
    parser.add_argument("--colours", type=int, default=0, help="store with this many colours (a smaller file; 0: all)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    scene = build_scene()
    muscles = [f"{m}_right" for m in args.muscles.split(",") if m] or [
        n for n, s in scene.structures.items() if s.kind in ("muscle", "fascia") and n.endswith("_right")
    ]
    for muscle in muscles:
        show_only(scene, muscle)
        sheet = muscle_sheet(scene, muscle, args.size)
        if args.colours:
            sheet = fewer_colours(sheet, args.colours)
        path = save_png(sheet, args.out / f"{muscle.removesuffix('_right')}.png")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
