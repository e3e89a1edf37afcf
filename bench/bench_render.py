"""Start-up and frame-time benchmark of the bone scene, next to bare pyvista on the same meshes.

Run: ``python bench/bench_render.py`` (add ``--window`` under a display to time
the Qt window too). Prints medians in milliseconds; numbers are for the
machine it runs on (software OpenGL here, so slower than a desktop GPU).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Each cold-start script runs in a fresh interpreter and prints seconds from its own start.
VIEWER_COLD = """
import time; t0 = time.perf_counter()
from viewer.model.scene import build_scene
import pyvista as pv
from viewer.render.scene_view import SceneView
plotter = pv.Plotter(off_screen=True, window_size=[1280, 800])
SceneView(plotter, build_scene())
plotter.screenshot(return_img=True)  # forces the first real frame
print(time.perf_counter() - t0)
"""

BARE_COLD = """
import time; t0 = time.perf_counter()
import glob, pyvista as pv
plotter = pv.Plotter(off_screen=True, window_size=[1280, 800])
for path in sorted(glob.glob({meshes!r} + "/*.ply")):
    plotter.add_mesh(pv.read(path), color="#e9dfc9", smooth_shading=True)
plotter.screenshot(return_img=True)  # forces the first real frame
print(time.perf_counter() - t0)
"""


def cold_start(script: str, repeats: int) -> float:
    """Median seconds from interpreter start of the script to its first rendered frame."""
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def frame_times(plotter, frames: int) -> float:
    """Median milliseconds per render while the camera orbits."""
    plotter.screenshot(return_img=True)  # pyvista skips render() until a first frame exists
    window = plotter.render_window
    times = []
    for _ in range(frames):
        plotter.camera.azimuth += 360 / frames
        start = time.perf_counter()
        window.Render()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def window_cold_start(repeats: int) -> float:
    """Median seconds for ``glute-viewer --screenshot`` (window up, rendered, saved, closed)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "viewer", "--screenshot", str(Path(tempfile.gettempdir()) / "bench_window.png")],
            capture_output=True,
            check=True,
            cwd=REPO,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--window", action="store_true", help="also time the Qt window (needs a display)")
    args = parser.parse_args()

    import pyvista as pv

    from viewer.model.scene import build_scene
    from viewer.paths import meshes_dir
    from viewer.render.scene_view import SceneView

    meshes = str(meshes_dir())
    print(f"cold start to first frame, viewer scene : {cold_start(VIEWER_COLD, args.repeats) * 1000:7.0f} ms")
    print(
        f"cold start to first frame, bare pyvista : {cold_start(BARE_COLD.format(meshes=meshes), args.repeats) * 1000:7.0f} ms"
    )

    scene = build_scene()
    viewer_plotter = pv.Plotter(off_screen=True, window_size=[1280, 800])
    SceneView(viewer_plotter, scene)
    bare_plotter = pv.Plotter(off_screen=True, window_size=[1280, 800])
    for path in sorted(Path(meshes).glob("*.ply")):
        bare_plotter.add_mesh(pv.read(path), color="#e9dfc9", smooth_shading=True)
    bare_plotter.view_vector((-1, 0, 0), (0, 1, 0))
    triangles = sum(len(s.faces) for s in scene.structures.values())
    print(
        f"render per frame ({triangles} triangles), viewer scene : {frame_times(viewer_plotter, args.frames):6.1f} ms"
    )
    print(f"render per frame ({triangles} triangles), bare pyvista : {frame_times(bare_plotter, args.frames):6.1f} ms")
    bones_only = build_scene(muscles=False)
    start = time.perf_counter()
    for angle in range(0, 90, 3):
        bones_only.set_pose(hip_flexion=angle)
    print(f"pose update, bones only (both legs)              : {(time.perf_counter() - start) / 30 * 1000:6.2f} ms")
    full = build_scene()
    full.set_pose(hip_flexion=1)  # creates the muscle poser (cached grids) outside the timing
    times = []
    for angle in list(range(0, 91, 3)) + list(range(90, -1, -3)):
        start = time.perf_counter()
        full.set_pose(hip_flexion=angle, hip_rotation=angle / 3)
        times.append((time.perf_counter() - start) * 1000)
    print(
        f"pose update, full scene (20 muscles, 2 nerves + zones, skin): median {statistics.median(times):6.2f} ms, "
        f"p95 {sorted(times)[int(0.95 * len(times))]:6.2f} ms"
    )
    full_plotter = pv.Plotter(off_screen=True, window_size=[1280, 800])
    SceneView(full_plotter, full)
    full_triangles = sum(len(s.faces) for s in full.structures.values())
    print(
        f"render per frame, full scene ({full_triangles} triangles, translucent skin): {frame_times(full_plotter, args.frames):6.1f} ms"
    )
    full_plotter.close()
    viewer_plotter.close()
    bare_plotter.close()
    if args.window:
        print(f"window cold start (glute-viewer --screenshot)  : {window_cold_start(args.repeats) * 1000:7.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
