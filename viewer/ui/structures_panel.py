"""The structures panel: everything in the scene, grouped by layer, with visibility and opacity.

Structures are grouped by the layers of ``layers.json``, from the skin down to
bone, under the same names the layers panel peels them by; the danger zones,
an overlay rather than a layer, come last. Ticking a group shows or hides the
whole layer. Selecting a row selects the structure.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QHeaderView, QSlider, QTreeWidget, QTreeWidgetItem

from viewer.model.history import History
from viewer.model.scene import SceneModel

OVERLAY_TITLES = {"danger": "Danger zones (overlay, not a layer)"}
NAME_ROLE = Qt.ItemDataRole.UserRole
OPACITY_STEPS = 100


def colour_icon(colour: str) -> QIcon:
    """A small square icon filled with ``colour``."""
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class StructuresPanel(QTreeWidget):
    """Tree of structures; every change goes through the model, and the tree follows the model."""

    def __init__(self, model: SceneModel, history: History | None = None) -> None:
        super().__init__()
        self.model = model
        self.history = history  # visibility changes go through it so they can be undone
        self.setColumnCount(2)
        self.setToolTip("Tick to show or hide a structure; the slider sets its opacity")
        self.setHeaderLabels(["Structure", "Opacity"])
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.header().resizeSection(1, 90)
        self.header().setStretchLastSection(False)
        self.setUniformRowHeights(True)
        self.setMinimumWidth(330)
        self.items: dict[str, QTreeWidgetItem] = {}
        self.sliders: dict[str, QSlider] = {}
        self.groups: dict[str, QTreeWidgetItem] = {}
        ordered = sorted(model.structures.values(), key=lambda s: (s.layer, s.kind != "fascia", s.name))
        for structure in ordered:
            group = self._group(structure.name)
            item = QTreeWidgetItem(group, [structure.display_name])
            item.setData(0, NAME_ROLE, structure.name)
            item.setIcon(0, colour_icon(model.skin_colour() if structure.kind == "skin" else structure.colour))
            tip = structure.display_name
            if structure.common_names:
                tip += " — also called " + ", ".join(structure.common_names)
            item.setToolTip(0, tip)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable)
            item.setCheckState(
                0, Qt.CheckState.Checked if model.is_visible(structure.name) else Qt.CheckState.Unchecked
            )
            self.items[structure.name] = item
            self.setItemWidget(item, 1, self._slider(structure.name))
        self.expandAll()
        self.itemChanged.connect(self._on_item_changed)
        self.itemSelectionChanged.connect(self._on_row_selected)
        model.visibility_changed.connect(self._on_visibility)
        model.opacity_changed.connect(self._on_opacity)
        model.selection_changed.connect(self._on_selection)
        model.skin_tone_changed.connect(self._on_skin_tone)

    def _on_skin_tone(self, _tone: str) -> None:
        """The skin's swatch shows the tone chosen from the palette."""
        for name in self.model.names("skin"):
            self.items[name].setIcon(0, colour_icon(self.model.skin_colour()))

    def _group(self, name: str) -> QTreeWidgetItem:
        """The tree group of a structure's layer, titled as the layers panel names it."""
        structure = self.model.structures[name]
        layer = self.model.layer_of(name)
        layer_name = structure.layer_name if layer is None else layer.name
        if layer_name not in self.groups:
            title = OVERLAY_TITLES.get(layer_name, layer_name.capitalize()) if layer is None else layer.display_name
            group = QTreeWidgetItem(self, [title])
            group.setToolTip(0, title)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsAutoTristate)
            group.setCheckState(0, Qt.CheckState.Checked)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.groups[layer_name] = group
        return self.groups[layer_name]

    def _slider(self, name: str) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, OPACITY_STEPS)
        slider.setValue(round(self.model.opacity(name) * OPACITY_STEPS))
        slider.setToolTip("Opacity")
        slider.valueChanged.connect(lambda value, n=name: self._on_slider(n, value))
        self.sliders[name] = slider
        return slider

    # --- from the user -----------------------------------------------------------------------
    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        name = item.data(0, NAME_ROLE)
        if name and column == 0:
            visible = item.checkState(0) == Qt.CheckState.Checked
            (self.history or self.model).set_visible(name, visible)

    def _on_slider(self, name: str, value: int) -> None:
        """Opacity through the history (undoable); one drag of the slider is one step."""
        if self.history is None:
            self.model.set_opacity(name, value / OPACITY_STEPS)
        else:
            self.history.set_opacity(name, value / OPACITY_STEPS, merge=self.sliders[name].isSliderDown())

    def _on_row_selected(self) -> None:
        selected = [item.data(0, NAME_ROLE) for item in self.selectedItems() if item.data(0, NAME_ROLE)]
        if selected:
            self.model.select(selected[0])

    # --- from the model ----------------------------------------------------------------------
    def _on_visibility(self, name: str, visible: bool) -> None:
        self.blockSignals(True)
        try:
            self.items[name].setCheckState(0, Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)
        finally:
            self.blockSignals(False)

    def _on_opacity(self, name: str, opacity: float) -> None:
        slider = self.sliders[name]
        slider.blockSignals(True)
        try:
            slider.setValue(round(opacity * OPACITY_STEPS))
        finally:
            slider.blockSignals(False)

    def _on_selection(self, name: str | None) -> None:
        self.blockSignals(True)
        try:
            self.clearSelection()
            if name is not None:
                self.items[name].setSelected(True)
                self.scrollToItem(self.items[name])
        finally:
            self.blockSignals(False)
