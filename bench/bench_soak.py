"""Animation soak: play every action through a SceneView off-screen and watch memory (RSS).

Usage: python bench/bench_soak.py [--seconds 120] [--size 640x480]
Builds the scene once, then loops over the actions in ``actions.json``: each is stepped through its
timeline at 15 frames per simulated second and rendered on an off-screen pyvista Plotter. RSS is read
from /proc/self/status (VmRSS); the start (after the first full pass), end and growth are printed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyvista as pv

from viewer.model.actions import Timeline, load_actions
from viewer.model.scene import build_scene
from viewer.render.scene_view import SceneView

FRAMES_PER_SECOND = 15


def rss_mib() -> float:
    """Resident set size of this process in MiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def play(timeline: Timeline, plotter: pv.Plotter) -> int:
    """Step the timeline's action from start to end, rendering each frame; the number of frames."""
    duration = timeline.action.duration
    times = np.linspace(0.0, duration, max(2, int(duration * FRAMES_PER_SECOND)))
    for t in times:
        timeline.seek(float(t))
        plotter.render()
    return len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--size", default="640x480")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    scene = build_scene()
    plotter = pv.Plotter(off_screen=True, window_size=[width, height])
    SceneView(plotter, scene)
    timeline = Timeline(scene)
    actions = list(load_actions().values())
    for action in actions:  # one warm-up pass: caches and VTK buffers reach their working size
        timeline.set_action(action)
        play(timeline, plotter)
    start_rss, started, frames, passes = rss_mib(), time.perf_counter(), 0, 0
    samples = [start_rss]
    while time.perf_counter() - started < args.seconds:
        for action in actions:
            timeline.set_action(action)
            frames += play(timeline, plotter)
            samples.append(rss_mib())
        passes += 1
    elapsed = time.perf_counter() - started
    plotter.close()
    end_rss = samples[-1]
    print(f"soak: {elapsed:.0f} s, {passes} passes over {len(actions)} actions, {frames} frames ({frames / elapsed:.1f} fps)")
    print(f"RSS start {start_rss:.1f} MiB, end {end_rss:.1f} MiB, peak {max(samples):.1f} MiB, "
          f"growth {100 * (end_rss - start_rss) / start_rss:+.1f} %")


if __name__ == "__main__":
    main()
