"""Techniques: choose one, see it drawn, read how it is done and why it is safe."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from viewer.model.nerves import danger_margin_default, variant_choices
from viewer.model.scene import SceneModel
from viewer.model.technique_session import TechniqueSession
from viewer.techniques.library import Technique
from viewer.ui.listening import while_alive


def compact(box: QComboBox, characters: int = 18) -> None:
    """A combo box that does not widen its panel to its longest item (the popup still shows it all)."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(characters)
    box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)


KIND_TITLES = {"therapist": "Therapist techniques", "self_care": "Self-care"}


def technique_html(technique: Technique, report=None) -> str:
    """The technique in the project's words: purpose, position, tool, contact, approach, stroke, depth, cautions."""
    rows = [
        ("Purpose", technique.purpose),
        ("Works on", ", ".join(t.replace("_", " ") for t in technique.targets)),
        ("Client position", technique.data.get("client_position_detail", technique.client_position)),
        ("Tool", technique.tool.replace("_", " ")),
        ("Contact", technique.contact.get("description", "")),
        (
            "Approach",
            technique.approach.get("heading_description", "")
            + f" About {technique.approach.get('angle_to_surface_deg', '?')}° to the surface.",
        ),
        ("Stroke", technique.stroke.get("pattern", "")),
        ("Depth", technique.depth.get("description", "")),
        ("Hold / repeat", technique.dosage),
    ]
    parts = [f"<h2>{escape(technique.title)}</h2>"]
    if report is not None:
        colour = "#b3261e" if report.flagged else "#1b5e20"
        heading = "Safety check: flagged" if report.flagged else "Safety check: safe as described"
        parts.append(
            f"<h4 style='color:{colour};margin-bottom:1px'>{heading}</h4><p style='margin-top:0'>{escape(report.explanation)}</p>"
        )
    for title, text in rows:
        if text:
            parts.append(f"<p><b>{title}:</b> {escape(str(text))}</p>")
    if technique.cautions:
        parts.append(
            "<p><b>Cautions:</b></p><ul>" + "".join(f"<li>{escape(c)}</li>" for c in technique.cautions) + "</ul>"
        )
    parts.append(f"<p style='color:#555'><i>Source: {escape(' '.join(technique.citations))}</i></p>")
    return "".join(parts)


class TechniquesPanel(QWidget):
    def __init__(self, model: SceneModel, session: TechniqueSession) -> None:
        super().__init__()
        self.model, self.session = model, session
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setToolTip("Choose a technique to pose, peel and draw it on the body")
        for kind in ("therapist", "self_care"):
            header = QListWidgetItem(KIND_TITLES[kind])
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            self.list.addItem(header)
            for technique in session.techniques.values():
                if technique.kind == kind:
                    item = QListWidgetItem("   " + technique.title)
                    item.setData(Qt.ItemDataRole.UserRole, technique.id)
                    item.setToolTip(technique.purpose)
                    self.list.addItem(item)
        layout.addWidget(self.list, 2)
        row = QHBoxLayout()
        self.side = QComboBox()
        self.side.setToolTip("The side the technique works on")
        self.side.addItem("Right side", "right")
        self.side.addItem("Left side", "left")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Take the technique off the body")
        row.addWidget(self.side)
        row.addWidget(self.clear_button)
        layout.addLayout(row)
        variant_row = QHBoxLayout()
        self.variant = QComboBox()
        for variant_id, name, prevalence in variant_choices():
            self.variant.addItem(f"{name} ({prevalence:g}%)", variant_id)
        compact(self.variant)
        self.variant.setToolTip(
            "Anatomical variants of where the sciatic nerve leaves the pelvis, with how common each is"
        )
        variant_row.addWidget(self.variant)
        self.margin = QSpinBox()
        self.margin.setRange(0, 60)
        self.margin.setSuffix(" mm")
        self.margin.setPrefix("Danger margin ")
        self.margin.setValue(round(danger_margin_default()))
        self.margin.setToolTip("How far around the sciatic nerve pressure counts as dangerous (zone and safety check)")
        self.margin.editingFinished.connect(lambda: self._set_nerve("danger margin", float(self.margin.value())))
        variant_row.addWidget(self.margin)
        layout.addLayout(variant_row)
        self.text = QTextBrowser()
        self.text.setToolTip("How the technique is done and why it is safe")
        layout.addWidget(self.text, 3)
        self.list.currentItemChanged.connect(lambda item, _old: self._choose(item))
        self.side.currentIndexChanged.connect(lambda _i: self._choose(self.list.currentItem()))
        self.clear_button.clicked.connect(session.clear)
        self.variant.currentIndexChanged.connect(lambda _i: self._set_nerve("nerve variant", self.variant.currentData()))
        model.structures_replaced.connect(self._sync_nerve_controls)
        session.changed.connect(self._on_technique)
        session.changed.connect(self._sync_list)
        self._show_text()  # what to do, from the start as after Clear

    def choose(self, technique_id: str) -> None:
        """Choose the technique ``technique_id`` in the list (it is posed and drawn); a KeyError if unknown."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == technique_id:
                self.list.setCurrentRow(row)
                return
        raise KeyError(technique_id)

    def _sync_list(self, technique_id: str | None) -> None:
        """The list follows the session (e.g. after an undo), without choosing again."""
        self.list.blockSignals(True)
        try:
            self.list.setCurrentRow(-1)
            for row in range(self.list.count()):
                if technique_id and self.list.item(row).data(Qt.ItemDataRole.UserRole) == technique_id:
                    self.list.setCurrentRow(row)
        finally:
            self.list.blockSignals(False)

    def _set_nerve(self, kind: str, value: float | str) -> None:
        """Change the nerve variant or the danger margin through the undo history (the zones change with it)."""
        model = self.model
        before, setter = (
            (model.danger_margin_mm, model.set_danger_margin)
            if kind == "danger margin"
            else (model.nerve_variant, model.set_nerve_variant)
        )
        if value == before:
            return
        if self.session.history is None:
            setter(value)
        else:
            self.session.history.record(kind, before, value, setter)

    @while_alive
    def _sync_nerve_controls(self, _names=None) -> None:
        """The variant box and the margin follow the model (after an undo, a scene file or a lesson step)."""
        controls = (self.margin, self.variant)
        for control in controls:
            control.blockSignals(True)
        try:
            self.margin.setValue(round(self.model.danger_margin_mm))
            self.variant.setCurrentIndex(max(self.variant.findData(self.model.nerve_variant), 0))
        finally:
            for control in controls:
                control.blockSignals(False)

    def _choose(self, item: QListWidgetItem | None) -> None:
        technique_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if technique_id:
            self.session.choose(technique_id, self.side.currentData())

    @while_alive
    def _on_technique(self, *_args) -> None:
        self._show_text()

    def _show_text(self) -> None:
        technique = self.session.active
        if technique is None:
            self.text.setHtml("<p style='color:#666'>Choose a technique to see it on the body.</p>")
            return
        result = self.session.result()
        self.text.setHtml(technique_html(technique, result[1] if result else None))
