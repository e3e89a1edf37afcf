"""Start the Qt application around a freshly built scene."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from viewer.model.scene import build_scene
from viewer.ui.main_window import MainWindow

SCREENSHOT_SETTLE_MS = 300


def run_window(view: str = "posterior", size: tuple[int, int] = (1600, 1000), screenshot: Path | None = None) -> int:
    """Open the main window; with ``screenshot``, save a picture of it and exit."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Glute Viewer")
    window = MainWindow(build_scene())
    window.resize(*size)
    window.show()
    window.show_view(view)
    if screenshot is not None:
        outcome: dict[str, Exception] = {}

        def capture() -> None:
            try:
                window.save_screenshot(screenshot)
                print(f"wrote {screenshot}")
            except OSError as error:
                outcome["error"] = error
            window.close()
            app.quit()

        QTimer.singleShot(SCREENSHOT_SETTLE_MS, capture)
        app.exec()
        if "error" in outcome:
            raise outcome["error"]
        return 0
    return app.exec()
