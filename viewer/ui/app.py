"""Start the Qt application: a progress window at once, the scene built behind it, then the main window."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QVBoxLayout, QWidget

from viewer.model.scene import build_scene
from viewer.ui.main_window import MainWindow
from viewer.ui.settings import WindowSettings, user_settings

SCREENSHOT_SETTLE_MS = 300
POLL_MS = 50


class StartWindow(QWidget):
    """Shown while the geometry is built or read from the cache: never a blank screen on first start."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Glute Viewer")
        layout = QVBoxLayout(self)
        self.message = QLabel(
            "Building the bones, muscles, nerves and skin…\n"
            "The first start builds the geometry and caches it (about 10 s, once); later starts take a second or two."
        )
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy: how long the build takes is not known in advance
        self.bar.setToolTip("Preparing the 3D scene")
        layout.addWidget(self.bar)
        self.resize(460, 110)


def build_in_background(body: str | None) -> dict:
    """Start building the scene on a worker thread (the model is plain numpy); the result lands in the dict."""
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["scene"] = build_scene(body=body)
        except BaseException as error:  # reported on the main thread
            outcome["error"] = error

    thread = threading.Thread(target=work, name="build-scene", daemon=True)
    thread.start()
    outcome["thread"] = thread
    return outcome


def run_window(
    view: str = "posterior",
    size: tuple[int, int] = (1600, 1000),
    screenshot: Path | None = None,
    open_file: Path | None = None,
) -> int:
    """Open the main window (on ``open_file``, a scene or lesson, if given); with ``screenshot``, save a
    picture of it and exit. Settings are the user's own, except for a screenshot (which changes nothing)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Glute Viewer")
    settings = WindowSettings() if screenshot is not None else WindowSettings(user_settings())
    body = settings.text("scene/body", "female", ("female", "male"))
    start = StartWindow()
    start.show()
    building = build_in_background(body)
    while building["thread"].is_alive():
        app.processEvents()
        building["thread"].join(POLL_MS / 1000)
    start.close()
    if "error" in building:
        raise building["error"]
    window = MainWindow(building["scene"], settings=settings)
    if screenshot is not None or settings.layout()[0] is None:
        window.resize(*size)
    window.show()
    window.show_view(view)
    if open_file is not None:
        QTimer.singleShot(0, lambda: window.scene_files.open(Path(open_file)))
    if screenshot is not None:
        outcome: dict[str, Exception] = {}
        loop = QEventLoop()  # a loop of its own: the application is not told to quit (it may host other windows)

        def capture() -> None:
            try:
                window.save_screenshot(screenshot)
                print(f"wrote {screenshot}")
            except OSError as error:
                outcome["error"] = error
            window.close()
            loop.quit()

        QTimer.singleShot(SCREENSHOT_SETTLE_MS + (400 if open_file else 0), capture)
        loop.exec()
        if "error" in outcome:
            raise outcome["error"]
        return 0
    return app.exec()


__all__ = ["StartWindow", "run_window"]
