"""Ctrl+left-drag in the 3D view moves the cross-section along its normal; letting go re-cuts."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt

STEP_MM = 10.0  # how far along the normal the screen direction of the drag is measured
MIN_STEP_PX = 3.0  # a normal seen almost end-on: the drag goes by its vertical motion instead


class SectionDrag(QObject):
    """Event filter on the interactor widget: with a cut on, Ctrl+left-drag slides the plane (the camera stays)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.model = window.model
        self._start: tuple[float, float] | None = None  # widget pixels where the drag began
        self._plane = None  # the cut when the drag began
        self.offset_mm = 0.0
        window.interactor.installEventFilter(self)

    def offset_for(self, dx: float, dy: float) -> float:
        """How far (mm, + towards the viewer's side of the cut) a drag of (dx, dy) widget pixels moves the plane.

        The drag counts along the normal's direction on the screen; a normal seen end-on (looking straight at
        the cut) has none, and then dragging up pulls the plane towards the viewer, at the scale of the cut.
        """
        plane, scene_view = self._plane, self.window.scene_view
        ratio = self.window.interactor.devicePixelRatioF()
        drag = np.array([dx, -dy]) * ratio  # display pixels, y up
        origin = np.array(scene_view.display_position(plane.origin), dtype=float)
        along = np.array(scene_view.display_position(plane.origin + STEP_MM * plane.normal)) - origin
        if np.linalg.norm(along) >= MIN_STEP_PX:
            return float(drag @ along / (along @ along) * STEP_MM)
        across = np.array(scene_view.display_position(plane.origin + STEP_MM * plane.basis()[0])) - origin
        return float(drag[1] / max(np.linalg.norm(across), 1e-6) * STEP_MM)

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self.model.section is not None:
                self._start, self._plane, self.offset_mm = (event.position().x(), event.position().y()), self.model.section, 0.0
                return True  # not a rotation, not a click
        elif self._start is not None and kind == QEvent.Type.MouseMove:
            self._drag_to(event)
            self.window.scene_view.section.preview(self._plane.moved(self.offset_mm))
            return True
        elif self._start is not None and kind == QEvent.Type.MouseButtonRelease:
            self._drag_to(event)
            plane, self._start, self._plane = self._plane.moved(self.offset_mm), None, None
            self.model.set_section(plane)
            return True
        return False

    def _drag_to(self, event) -> None:
        drag = self.offset_for(event.position().x() - self._start[0], event.position().y() - self._start[1])
        self.offset_mm = float(round(drag))  # whole millimetres, as the slider and the description read
        self.window.statusBar().showMessage(f"Section moved {self.offset_mm:+.0f} mm along its normal", 4000)
