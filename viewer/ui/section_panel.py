"""Cross-sections in the window: a preset plane (transverse, sagittal, coronal), moved with a slider, tilted freely."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from viewer.model.scene import SceneModel
from viewer.model.sections import PRESET_AXES, SectionPlane, preset_plane

# where each preset first cuts: through the greater trochanter, the middle of the right buttock, behind the hip joint
DEFAULT_OFFSET_MM = {"transverse": -90.0, "sagittal": 85.0, "coronal": -80.0}
PRESET_LABELS = {"off": "Off", "transverse": "Transverse", "sagittal": "Sagittal", "coronal": "Coronal"}


def tilted(plane: SectionPlane, about_right_deg: float, about_up_deg: float) -> SectionPlane:
    """The plane turned about its own screen axes (a free cut through the same point); no tilt: the preset."""
    if not about_right_deg and not about_up_deg:
        return plane
    e1, e2 = plane.basis()
    normal = plane.normal
    for axis, degrees in ((e1, about_right_deg), (e2, about_up_deg)):
        angle = np.radians(degrees)  # Rodrigues' rotation of the normal about the axis
        normal = normal * np.cos(angle) + np.cross(axis, normal) * np.sin(angle) + axis * axis.dot(normal) * (
            1 - np.cos(angle)
        )
    return SectionPlane(plane.origin, normal / np.linalg.norm(normal), "free")


class SectionPanel(QWidget):
    """Choose the cut; the :class:`SceneModel` holds it, the render layer clips and caps."""

    def __init__(self, model: SceneModel) -> None:
        super().__init__()
        self.model = model
        self.kind = "off"
        self._syncing = False
        layout = QVBoxLayout(self)
        buttons = QHBoxLayout()
        self.preset_group = QButtonGroup(self)
        self.preset_buttons: dict[str, QPushButton] = {}
        for kind, text in PRESET_LABELS.items():
            button = QPushButton(text)
            button.setToolTip(f"{text}: cut the body here" if kind != "off" else "No cut: the whole body")
            button.setCheckable(True)
            button.clicked.connect(lambda _checked=False, k=kind: self.set_preset(k))
            self.preset_group.addButton(button)
            buttons.addWidget(button)
            self.preset_buttons[kind] = button
        self.preset_buttons["off"].setChecked(True)
        layout.addLayout(buttons)
        form = QFormLayout()
        self.offset_slider = QSlider(Qt.Orientation.Horizontal)
        self.offset_slider.setToolTip("Move the cut along its normal (or Ctrl+drag in the view)")
        self.offset_slider.setTracking(False)  # re-cut when the slider is let go: a cut takes a moment
        self.offset_slider.valueChanged.connect(self._apply)
        form.addRow("Position (mm)", self.offset_slider)
        self.tilt_spins = []
        for label in ("Tilt forward/back (°)", "Tilt sideways (°)"):
            spin = QSpinBox()
            spin.setToolTip(f"{label}: tilt the cut from its preset")
            spin.setRange(-80, 80)
            spin.setSingleStep(5)
            spin.valueChanged.connect(self._apply)
            form.addRow(label, spin)
            self.tilt_spins.append(spin)
        layout.addLayout(form)
        self.description = QLabel("No cut: the whole body.")
        self.description.setWordWrap(True)
        layout.addWidget(self.description)
        layout.addStretch(1)
        self._enable(False)
        model.section_changed.connect(self._on_section)

    def _enable(self, on: bool) -> None:
        for widget in (self.offset_slider, *self.tilt_spins):
            widget.setEnabled(on)

    def _range(self, kind: str) -> tuple[int, int]:
        """The slider's span along the preset's axis: the body's extent there."""
        axis = PRESET_AXES[kind][1]
        shown = [self.model.vertices(n)[:, axis] for n in self.model.structures if self.model.is_visible(n)]
        values = np.concatenate(shown) if shown else np.array([-200.0, 200.0])
        return int(np.floor(values.min())) + 1, int(np.ceil(values.max())) - 1

    def set_preset(self, kind: str) -> None:
        """Cut with a preset at its default position ('off': no cut)."""
        self.kind = kind
        self._syncing = True
        try:
            self.preset_buttons[kind].setChecked(True)
            if kind != "off":
                low, high = self._range(kind)
                self.offset_slider.setRange(low, high)
                self.offset_slider.setValue(round(DEFAULT_OFFSET_MM[kind]))
                for spin in self.tilt_spins:
                    spin.setValue(0)
        finally:
            self._syncing = False
        self._apply()

    def plane(self) -> SectionPlane | None:
        """The cut the controls describe (None: off)."""
        if self.kind == "off":
            return None
        base = preset_plane(self.kind, float(self.offset_slider.value()))
        return tilted(base, *(float(spin.value()) for spin in self.tilt_spins))

    def _apply(self, *_args) -> None:
        if not self._syncing:
            self.model.set_section(self.plane())

    def slider_value(self, plane: SectionPlane) -> int:
        """Where ``plane`` crosses the preset's axis (mm, rounded): the slider's reading for a moved or tilted cut."""
        axis = PRESET_AXES[self.kind][1]
        return round(float(plane.origin @ plane.normal) / plane.normal[axis])  # the preset origins lie on their axis

    def _on_section(self, plane) -> None:
        self._enable(plane is not None)
        if plane is not None and self.kind != "off" and abs(plane.normal[PRESET_AXES[self.kind][1]]) > 1e-6:
            self._syncing = True  # the slider follows a cut moved in the 3D view; the model keeps the exact plane
            try:
                self.offset_slider.setValue(self.slider_value(plane))
            finally:
                self._syncing = False
        if plane is None:
            self.kind = "off"
            self.preset_buttons["off"].setChecked(True)
            self.description.setText("No cut: the whole body.")
        else:
            self.description.setText(f"{plane.describe().capitalize()}. The side towards you is cut away; Ctrl+drag in the 3D view moves it.")
