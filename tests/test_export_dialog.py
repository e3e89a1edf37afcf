"""Export from the window: picture dialog (sizes, the view's own camera, transparency), handout dialog, 3D model."""

from __future__ import annotations

import numpy as np
import pytest
from imaging import read_png, warm_share

pytest.importorskip("pytestqt")

A4_PRESET = "A4 portrait at 300 dpi (2480 × 3508)"


def agreement(first: np.ndarray, second: np.ndarray, tolerance: int = 40) -> float:
    """Share of pixels whose colours differ by at most ``tolerance`` in every channel."""
    difference = np.abs(first[..., :3].astype(int) - second[..., :3].astype(int)).max(axis=-1)
    return float((difference <= tolerance).mean())


def test_an_offscreen_picture_stops_listening_to_the_model(fresh_scene):
    """The throw-away view of an export must not keep redrawing a closed plotter on every later change."""
    from viewer.model.events import Signal
    from viewer.render.export import render_picture

    signals = {name: value for name, value in vars(fresh_scene).items() if isinstance(value, Signal)}
    before = {name: len(signal) for name, signal in signals.items()}
    steps = []
    render_picture(fresh_scene, "posterior", (160, 120), labels=True, progress=lambda done, total: steps.append(done))
    assert {name: len(signal) for name, signal in signals.items()} == before
    assert steps == [0, 1, 2, 3]
    fresh_scene.set_visible("sacrum", False)  # and a change afterwards reaches no dead view
    assert fresh_scene.visibility_changed.errors == []


def test_file_menu_has_the_exports(window):
    menu = window.file_menu()
    texts = [action.text() for action in menu.actions()]
    assert {"Export &picture…", "Export &handout…", "Export &3D model…"} <= set(texts)
    assert window.export_actions["picture"].shortcut().toString() == "Ctrl+E"
    assert window.file_menu() is menu  # one File menu, whoever asks for it


def test_presets_set_the_size_and_dpi(window):
    from viewer.ui.export_dialog import CUSTOM, SCREEN, PictureExportDialog

    dialog = PictureExportDialog(window)
    assert dialog.picture_size() == (window.interactor.width(), window.interactor.height())  # starts at the view's
    dialog.preset.setCurrentText(A4_PRESET)
    assert dialog.picture_size() == (2480, 3508) and dialog.dpi_box.value() == 300
    dialog.preset.setCurrentText("4K (3840 × 2160)")
    assert dialog.picture_size() == (3840, 2160) and dialog.dpi_box.value() == 0
    dialog.preset.setCurrentText("Square for slides (2160 × 2160)")
    assert dialog.picture_size() == (2160, 2160)
    dialog.width_box.setValue(1000)
    assert dialog.preset.currentText() == CUSTOM and dialog.picture_size() == (1000, 2160)
    dialog.set_preset(SCREEN)
    assert dialog.picture_size() == (window.interactor.width(), window.interactor.height())


def test_exported_picture_is_what_the_view_shows(window, tmp_path):
    from viewer.ui.export_dialog import SCREEN, PictureExportDialog

    window.show_view("posterolateral_right")
    window.interactor.camera.azimuth = 25.0  # a camera no named view has
    window.interactor.camera.elevation = 15.0
    window.interactor.camera.zoom(1.3)
    from PySide6.QtWidgets import QApplication

    window.scene_view.flush()
    QApplication.processEvents()  # the window's frame is drawn by the widget's paint
    grab = window.interactor.screenshot(return_img=True)
    dialog = PictureExportDialog(window)
    dialog.set_preset(SCREEN)
    dialog.labels_box.setChecked(False)
    dialog.file_row.edit.setText(str(tmp_path / "view.png"))
    dialog.accept()
    assert dialog.error.text() == "" and dialog.result() == dialog.DialogCode.Accepted
    picture = read_png(tmp_path / "view.png")
    assert picture.shape[:2] == grab.shape[:2]
    assert warm_share(picture) > 0.05
    same_view = agreement(picture, grab)
    # the named view the window started from differs: the camera, not the preset, made the match
    from viewer.render.export import render_picture

    preset_picture, _overlay = render_picture(window.model, "posterolateral_right", (grab.shape[1], grab.shape[0]))
    assert same_view > 0.95, same_view
    assert agreement(preset_picture, grab) < same_view - 0.2


def test_transparent_picture_has_empty_corners(window, tmp_path):
    from viewer.ui.export_dialog import PictureExportDialog

    dialog = PictureExportDialog(window)
    dialog.width_box.setValue(240)
    dialog.height_box.setValue(180)
    dialog.transparent_box.setChecked(True)
    dialog.file_row.edit.setText(str(tmp_path / "clear.png"))
    path = dialog.export()
    picture = read_png(path)
    assert picture.shape == (180, 240, 4)
    assert all(picture[row, column, 3] == 0 for row in (0, -1) for column in (0, -1))
    assert (picture[..., 3] == 255).mean() > 0.05  # the anatomy itself is opaque


def test_wrong_file_type_is_said_in_the_dialog(window, tmp_path):
    from viewer.ui.export_dialog import PictureExportDialog

    dialog = PictureExportDialog(window)
    dialog.file_row.edit.setText(str(tmp_path / "view.jpg"))
    dialog.accept()
    assert ".png" in dialog.error.text() and dialog.result() != dialog.DialogCode.Accepted
    assert not (tmp_path / "view.jpg").exists()


def test_3d_model_reads_back_with_named_structures(window, tmp_path):
    import trimesh

    from viewer.ui.export_dialog import export_3d_model

    window.model.set_visible("sacrum", False)
    path = export_3d_model(window, tmp_path / "scene.glb")
    scene = trimesh.load(path)
    shown = {name for name in window.model.structures if window.model.is_visible(name)}
    assert set(scene.geometry) == shown and "sacrum" not in scene.geometry
    assert "gluteus_maximus_right" in scene.geometry


def test_handout_dialog_writes_a_pdf_with_the_title(window, tmp_path):
    from viewer.ui.export_dialog import HandoutDialog

    dialog = HandoutDialog(window)
    dialog.set_views(["posterior"])  # one view is too few: said, nothing written
    dialog.file_row.edit.setText(str(tmp_path / "handout.pdf"))
    dialog.accept()
    assert "2 to 6 views" in dialog.error.text() and not (tmp_path / "handout.pdf").exists()
    dialog.set_views(["posterior", "right"])
    dialog.dpi_box.setValue(72)
    dialog.title.setText("Deep rotators")
    dialog.notes.setPlainText("Palpate the piriformis.")
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.error.text()
    data = (tmp_path / "handout.pdf").read_bytes()
    assert data.startswith(b"%PDF") and b"Deep rotators" in data  # the title in the document's metadata
