"""The 3D view's widget: pyvistaqt's interactor without the repaint Qt gives every widget on a focus change."""

from __future__ import annotations

from PySide6.QtGui import QFocusEvent
from pyvistaqt import QtInteractor


class ViewWidget(QtInteractor):
    """The interactor the window draws its scene in.

    Qt repaints a focusable widget whenever it gains or loses the keyboard focus (for a focus frame). The 3D view
    draws no focus frame, and in software OpenGL a repaint is a whole frame: a click on the view after typing in
    the search box drew two frames, the focus change's and the selection's.
    """

    def focusInEvent(self, event: QFocusEvent) -> None:
        event.accept()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        event.accept()
