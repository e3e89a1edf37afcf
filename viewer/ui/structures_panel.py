"""The structures panel: everything in the scene, grouped, each with a visibility box."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from viewer.model.scene import SceneModel

GROUP_TITLES = {"bone": "Bones", "muscle": "Muscles", "fascia": "Fascia", "nerve": "Nerves"}
NAME_ROLE = Qt.ItemDataRole.UserRole


class StructuresPanel(QTreeWidget):
    """Tree of structures; ticking a box shows or hides it through the model."""

    def __init__(self, model: SceneModel) -> None:
        super().__init__()
        self.model = model
        self.setHeaderLabels(["Structure"])
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.items: dict[str, QTreeWidgetItem] = {}
        groups: dict[str, QTreeWidgetItem] = {}
        for name, structure in model.structures.items():
            group_key = structure.kind if structure.kind == "bone" else structure.layer_name
            if group_key not in groups:
                title = GROUP_TITLES.get(group_key, group_key.capitalize())
                groups[group_key] = QTreeWidgetItem(self, [title])
                groups[group_key].setFlags(Qt.ItemFlag.ItemIsEnabled)
            item = QTreeWidgetItem(groups[group_key], [structure.display_name])
            item.setData(0, NAME_ROLE, name)
            item.setToolTip(0, f"{structure.display_name} — {name}")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable)
            item.setCheckState(0, Qt.CheckState.Checked if model.is_visible(name) else Qt.CheckState.Unchecked)
            self.items[name] = item
        self.expandAll()
        self.itemChanged.connect(self._on_item_changed)
        model.visibility_changed.connect(self._on_visibility)

    def _on_item_changed(self, item: QTreeWidgetItem, _column: int) -> None:
        name = item.data(0, NAME_ROLE)
        if name:
            self.model.set_visible(name, item.checkState(0) == Qt.CheckState.Checked)

    def _on_visibility(self, name: str, visible: bool) -> None:
        item = self.items[name]
        self.blockSignals(True)
        try:
            item.setCheckState(0, Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)
        finally:
            self.blockSignals(False)
