"""Frames drawn per user change in the real window: a hip slider step, a click, a technique.

Run under a display: ``DISPLAY=:98 python bench/bench_frames.py``. Counts every
``RenderEvent`` of the 3D view's render window (each is one full frame) from the
change until the window is idle again, and times the window's frame per slider step
(median milliseconds from the slider move to the frame on screen). The target is one
frame per change; labels read the depth buffer of the frame they are placed on, so with
labels on a change costs one depth pass plus the frame. A click draws the selection's
frame only (the camera style's frame on button release is skipped when nothing moved).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's viewer, not an installed one

SETTLE_MS = 400  # longer than the window's 250 ms technique timer


def settle(app, ms: int = SETTLE_MS) -> None:
    """Let the event loop run every pending timer (render, technique recompute)."""
    from PySide6.QtTest import QTest

    QTest.qWait(ms)
    app.processEvents()


class FrameCounter:
    """Counts the frames (``RenderEvent``) a render window draws."""

    def __init__(self, render_window) -> None:
        self.count = 0
        render_window.AddObserver("RenderEvent", self._on_render)

    def _on_render(self, *_args) -> None:
        self.count += 1

    def frames_for(self, app, change) -> int:
        """Frames drawn from ``change()`` until the window is idle again."""
        settle(app, 50)
        before = self.count
        change()
        settle(app)
        return self.count - before


def click(window, display: tuple[int, int]) -> None:
    """A real left click on the 3D view at a display pixel (VTK convention: origin bottom left)."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    x, y = display
    point = QPoint(round(x), window.interactor.height() - round(y))
    QTest.mouseClick(window.interactor, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


def step_time_ms(app, window, steps: int) -> tuple[float, float]:
    """Median milliseconds of a hip flexion slider step: (whole step to its frame(s) drawn, Python part).

    The Python part is the slider's ``setValue``: the model poses and every listener (scene view, panels)
    updates; the rest of the step is the frame itself (VTK drawing).
    """
    slider = window.motion_panel.pose_panel.sliders["hip_flexion"]
    times, python = [], []
    for k in range(steps):
        start = time.perf_counter()
        slider.setValue(10 + (k % 2) * 5)
        python.append(1000 * (time.perf_counter() - start))
        app.processEvents()  # the zero-interval render timer fires here
        app.processEvents()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times), statistics.median(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="slider steps timed (default 8)")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    import viewer
    from viewer.model.scene import build_scene
    from viewer.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(build_scene())
    window.resize(1200, 900)
    window.show()
    settle(app, 1500)
    counter = FrameCounter(window.interactor.render_window)
    slider = window.motion_panel.pose_panel.sliders["hip_flexion"]
    centre = window.scene_view.display_position(window.model.structures["gluteus_maximus_right"].vertices.mean(axis=0))

    rows = []
    rows.append(("hip slider step", counter.frames_for(app, lambda: slider.setValue(slider.value() + 5))))
    rows.append(("select (model)", counter.frames_for(app, lambda: window.select_at(*centre))))
    rows.append(("clear (model)", counter.frames_for(app, lambda: window.model.select(None))))
    rows.append(("click (select)", counter.frames_for(app, lambda: click(window, centre))))
    rows.append(("click (clear)", counter.frames_for(app, lambda: click(window, (5, 5)))))
    time_off = step_time_ms(app, window, args.steps)
    window.labels_action.setChecked(True)
    settle(app)
    rows.append(("hip slider step, labels on", counter.frames_for(app, lambda: slider.setValue(slider.value() + 5))))
    rows.append(("click (select), labels on", counter.frames_for(app, lambda: click(window, centre))))
    time_on = step_time_ms(app, window, args.steps)
    window.labels_action.setChecked(False)
    settle(app)
    rows.append(
        ("choose a technique", counter.frames_for(app, lambda: window.techniques_panel.choose("maximus_free_to_slide")))
    )
    rows.append(("undo", counter.frames_for(app, window.history.undo)))

    width = max(len(r[0]) for r in rows)
    print(f"frames drawn per user change (real window, 1200x900; viewer from {Path(viewer.__file__).parent})")
    for label, frames in rows:
        print(f"  {label:<{width}}  {frames}")
    print(
        f"window frame per slider step: {time_off[0]:.0f} ms (labels off), {time_on[0]:.0f} ms (labels on); "
        f"of which Python (pose + listeners): {time_off[1]:.0f} ms, {time_on[1]:.0f} ms"
    )
    window.close()


if __name__ == "__main__":
    main()
