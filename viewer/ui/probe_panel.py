"""The depth probe in the window: the column of tissues under a clicked point, structure by structure."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from viewer.model.probe import ProbeError, ProbeResult, entry_point, outer_surface, probe, probe_technique
from viewer.model.scene import SceneModel
from viewer.ui.listening import while_alive

PROMPT = "Turn on Probe on the toolbar, then click the skin (or any surface): the probe goes straight in."
SKIN_SLACK_MM = 1.0  # the skin entry may lie this far behind a picked point (picking is pixel-exact, not exact)


class ProbePanel(QWidget):
    """Shows a :class:`~viewer.model.probe.ProbeResult`; the needle is drawn by a ``ProbeView``."""

    def __init__(self, model: SceneModel, probe_view, techniques=None) -> None:
        super().__init__()
        self.model = model
        self.probe_view = probe_view
        self.techniques = techniques  # a TechniqueSession: probe along its active technique's line of force
        self.result: ProbeResult | None = None
        self.how = "straight in"  # how the shown column was taken
        layout = QVBoxLayout(self)
        self.heading = QLabel(PROMPT)
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        self.technique_button = QPushButton("Probe the technique's line of force")
        self.technique_button.clicked.connect(self.probe_technique)
        layout.addWidget(self.technique_button)
        self._on_technique()
        if techniques is not None:
            techniques.changed.connect(self._on_technique)
        self.table = QTableWidget(0, 3)
        self.table.setToolTip("The tissues under the probed point, skin to bone, with their depths in mm")
        self.table.setHorizontalHeaderLabels(["Structure", "From (mm)", "To (mm)"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table)
        self.nerve_label = QLabel()
        self.bone_label = QLabel()
        for label in (self.nerve_label, self.bone_label):
            label.setWordWrap(True)
            layout.addWidget(label)
        model.language_changed.connect(self._on_language)
        model.pose_changed.connect(self._on_pose)

    def probe_at(self, point: np.ndarray, surface: str | None = None, how: str = "straight in") -> ProbeResult | None:
        """Probe inward (along the surface normal) from a point on ``surface`` (None: the skin); show the column."""
        try:
            result = probe(self.model, point, surface=surface, snap=False)  # picked points lie on the surface
        except ProbeError as error:
            self.clear()
            self.heading.setText(f"Cannot probe there: {error}")
            return None
        self.show_result(result, how)
        return result

    @while_alive
    def _on_language(self, *_args) -> None:
        self.show_result(self.result, self.how)

    @while_alive
    def _on_pose(self, *_args) -> None:
        self.clear()  # a probe belongs to the pose it was taken in

    def _on_technique(self, *_args) -> None:
        active = None if self.techniques is None else self.techniques.active
        self.technique_button.setEnabled(active is not None)
        self.technique_button.setToolTip(
            "Choose a technique first (Techniques tab)" if active is None
            else "The column under the technique's contact, along its approach, to its working depth"
        )

    def probe_technique(self) -> ProbeResult | None:
        """Probe along the active technique's line of force (the column its safety check measures); show it."""
        if self.techniques is None or self.techniques.active is None:
            return None
        try:
            result = probe_technique(self.model, self.techniques)
        except ProbeError as error:
            self.clear()
            self.heading.setText(f"Cannot probe this technique: {error}")
            return None
        self.show_result(result, f"along the line of force of the technique “{self.techniques.active.title}”")
        return result

    def probe_click(self, x: int, y: int) -> ProbeResult | None:
        """Probe at display pixel (x, y) of the 3D view (VTK convention: origin bottom left)."""
        hit = self.probe_view.surface_at(x, y)
        if hit is None:
            self.heading.setText("Nothing there to probe: click on the body.")
            return None
        name, point = hit
        skin = outer_surface(self.model)
        shown = self.model.is_visible(skin)
        # The hand is on the skin: the column starts where the line of sight enters the skin, in front of
        # what was clicked (the translucent skin is seen, not picked). With the skin peeled away it still
        # does, said in the heading; only a cut face with the skin hidden is probed from the cut.
        if self.model.structures[skin].kind == "skin" and (shown or name is not None):
            ray = self.probe_view.view_ray(point)
            try:
                on_skin = entry_point(self.model, skin, point, ray)
            except ProbeError:
                pass
            else:
                if float(np.dot(point - on_skin, ray)) >= -SKIN_SLACK_MM:  # the skin lies in front of the click
                    how = "straight in" if shown else "straight in from the skin (peeled away in the view)"
                    return self.probe_at(on_skin, skin, how)
        surface = name if name is not None and self.model.structures[name].kind != "danger" else None
        return self.probe_at(point, surface)

    def clear(self) -> None:
        """Forget the probe result: empty table, no nerve line."""
        self.result = None
        self.table.setRowCount(0)
        self.nerve_label.clear()
        self.bone_label.clear()
        self.heading.setText(PROMPT)
        self.probe_view.show(None)

    def show_result(self, result: ProbeResult | None, how: str = "straight in") -> None:
        """List the tissues under the probe with their depths, and how far the nerve and bone lie."""
        if result is None:
            return
        self.result, self.how = result, how
        model = self.model
        where = ", ".join(f"{v:.0f}" for v in result.point)
        self.heading.setText(
            f"Under ({where}) mm on the {model.structure_name(result.surface)}, {how} ({result.side} side):"
        )
        self.table.setRowCount(len(result.layers))
        for row, layer in enumerate(result.layers):
            deeper = layer.exit_mm > result.reach_mm
            cells = (
                model.structure_name(layer.structure) + (" (bone: the probe stops)" if layer.bone else ""),
                f"{layer.entry_mm:.1f}",
                "" if layer.bone else (f"> {result.reach_mm:.1f}" if deeper else f"{layer.exit_mm:.1f}"),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(model.both_names(layer.structure))
                self.table.setItem(row, column, item)
        lines = result.lines(model)
        self.nerve_label.setText(lines[-2])
        self.bone_label.setText(lines[-1])
        self.probe_view.show(result)
