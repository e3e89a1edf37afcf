"""The real window under Xvfb (pytest-xvfb provides the display, pytest-qt the event loop)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from imaging import read_png, warm_share
from PySide6.QtCore import Qt, QUrl

pytest.importorskip("pytestqt")


def test_window_shows_bones_with_title_and_panel(window):
    from PySide6.QtCore import Qt

    assert "gluteal" in window.windowTitle()
    panel = window.structures_panel
    assert set(panel.items) == set(window.model.structures)
    shown = {n: i for n, i in panel.items.items() if window.model.structures[n].kind != "danger"}
    assert all(item.checkState(0) == Qt.CheckState.Checked for item in shown.values())
    danger = [i for n, i in panel.items.items() if window.model.structures[n].kind == "danger"]
    assert danger and all(item.checkState(0) == Qt.CheckState.Unchecked for item in danger)  # overlays start off
    image = window.interactor.screenshot(return_img=True)
    assert warm_share(image) > 0.05


def test_unticking_a_bone_hides_it(window, qtbot):
    from PySide6.QtCore import Qt

    window.structures_panel.items["sacrum"].setCheckState(0, Qt.CheckState.Unchecked)
    assert not window.model.is_visible("sacrum")
    assert not window.scene_view.actors["sacrum"].GetVisibility()
    window.model.set_visible("sacrum", True)  # and the panel follows the model
    assert window.structures_panel.items["sacrum"].checkState(0) == Qt.CheckState.Checked


def test_toolbar_and_keys_change_the_view(window, qtbot):
    from PySide6.QtCore import Qt

    window.view_actions["right"].trigger()
    assert window.scene_view.current_view == "right"
    qtbot.keyClick(window, Qt.Key.Key_A)
    assert window.scene_view.current_view == "anterior"
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    assert window.scene_view.current_view == "posterolateral_right"
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.scene_view.current_view == "posterior"
    camera = window.interactor.camera
    direction = np.subtract(camera.position, camera.focal_point)
    assert direction[0] < 0 and abs(direction[2]) < 1e-6


def test_screenshot_command_saves_the_real_window(tmp_path):
    out = tmp_path / "window.png"
    result = subprocess.run(
        [sys.executable, "-m", "viewer", "--screenshot", str(out), "--size", "1024x768"],  # the smallest supported
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    image = read_png(out)
    assert image.shape[0] >= 768 and image.shape[1] >= 1024
    assert warm_share(image) > 0.05  # the 3D view with bones is in the picture, not a black box


def test_clicking_a_muscle_selects_it_and_explains_it(window, qtbot):
    from PySide6.QtCore import QPoint, Qt

    window.show_view("posterior")
    maximus = window.model.structures["gluteus_maximus_right"].vertices
    x, y = window.scene_view.display_position(maximus.mean(axis=0))
    ratio = window.interactor.devicePixelRatioF()
    point = QPoint(round(x / ratio), round(window.interactor.height() - y / ratio))
    qtbot.mouseClick(window.interactor, Qt.MouseButton.LeftButton, pos=point)
    assert window.model.selection == "gluteus_maximus_right"
    html = window.info_panel.toHtml()
    assert "Inferior gluteal" in html and "Origin" in html and "Insertion" in html
    assert window.structures_panel.items["gluteus_maximus_right"].isSelected()
    window.select_at(2, 2)  # empty background clears the selection
    assert window.model.selection is None


def test_muscles_grouped_by_layer_with_opacity(window):
    """The structures panel groups by the same layers, under the same names, as the layers panel peels."""
    from PySide6.QtCore import Qt

    panel, peel = window.structures_panel, window.peel
    titles = [panel.topLevelItem(i).text(0) for i in range(panel.topLevelItemCount())]
    assert titles == [layer.display_name for layer in peel.layers] + ["Danger zones (overlay, not a layer)"]
    intermediate = panel.groups["intermediate"]
    names = {intermediate.child(i).data(0, 256) for i in range(intermediate.childCount())}
    assert {"piriformis_right", "gluteus_medius_left", "quadratus_femoris_right", "sciatic_nerve_right"} <= names
    assert "gluteus_minimus_left" not in names
    for _ in range(3):
        window.layers_panel.peel_button.click()
    assert panel.groups["intermediate"].text(0) in window.layers_panel.status.text()
    assert panel.groups["gluteus_maximus"].checkState(0) == Qt.CheckState.Unchecked  # the peeled layer, by name
    panel.sliders["gluteus_maximus_right"].setValue(30)
    assert window.model.opacity("gluteus_maximus_right") == 0.3
    assert window.scene_view.actors["gluteus_maximus_right"].prop.opacity == 0.3


def test_stretch_colour_toggle_shows_a_legend(window):
    window.stretch_action.setChecked(True)
    assert window.model.colour_mode == "stretch"
    mapper = window.scene_view.actors["piriformis_right"].mapper
    assert mapper.scalar_visibility and mapper.GetArrayName() == "length_change_percent"
    bar = window.scene_view._colour_bar
    assert bar is not None and "Length change" in bar.title_actor.GetInput()
    window.stretch_action.setChecked(False)
    assert mapper.GetArrayName() == "atlas_colour"  # back to its atlas colours, belly paling into tendon
    assert window.scene_view._colour_bar is None


def test_fibres_and_the_caution_outline_leave_no_actor_behind_when_turned_off(window):
    """An overlay turned off is removed from the plotter, not hidden: a hidden actor is still walked every frame."""
    model, renderer = window.model, window.interactor.renderer

    def drawn(suffix: str) -> set[str]:
        return {name for name in renderer.actors if name.endswith(suffix)}

    model.set_fibres_visible(True)
    assert "piriformis_right__fibres" in drawn("__fibres")
    model.set_visible("piriformis_right", False)
    assert "piriformis_right__fibres" not in drawn("__fibres")
    model.set_visible("piriformis_right", True)  # drawn again, at the current pose
    assert "piriformis_right__fibres" in drawn("__fibres")
    model.set_fibres_visible(False)
    assert drawn("__fibres") == set()
    window.danger_action.setChecked(True)
    outlines = drawn("__caution_outline")
    assert outlines and renderer.actors[outlines.pop()].GetVisibility()
    window.danger_action.setChecked(False)
    assert drawn("__caution_outline") == set()


def test_pose_panel_warns_of_bony_impingement(window):
    """Sliders reach every angle's range; a combination the bones cannot take is named, not silently shown."""
    panel = window.motion_panel.pose_panel
    assert panel.impingement.text() == ""
    panel.side.setCurrentIndex(panel.side.findData("right"))
    for key, degrees in (("hip_flexion", 120), ("hip_abduction", -30), ("hip_rotation", 45)):
        panel.sliders[key].setValue(degrees)
    assert panel.impingement.text().startswith("Right hip: bony impingement (femoroacetabular")
    assert "the femoral neck meets the acetabular rim" in panel.impingement.toolTip()
    assert panel.impingement.width() >= panel.impingement.sizeHint().width()  # the whole line is shown
    panel.reset.click()
    assert panel.impingement.text() == ""


def test_presentation_mode_hides_panels_and_enlarges_text(window):
    from PySide6.QtWidgets import QDockWidget

    def drawn_fonts() -> tuple[int, int]:
        """The smallest label font drawn and the 3D view's height, both in pixels."""
        window.scene_view.flush()
        labels = window.scene_view.labels
        fonts = [a.GetTextProperty().GetFontSize() for k, a in labels.text_actors.items() if k in labels.boxes]
        assert fonts, "no label drawn"
        return min(fonts), window.scene_view.plotter.window_size[1]

    window.model.select("gluteus_medius_right")
    window.labels_action.setChecked(True)
    font, height = drawn_fonts()
    window.presentation_action.setChecked(True)
    assert all(not dock.isVisible() for dock in window.findChildren(QDockWidget))
    big_font, big_height = drawn_fonts()
    assert big_font >= 0.025 * big_height  # 2.5 % of the height: legible on a projector
    assert big_font / font > 1.6 * big_height / height  # twice the size for the same view height
    window.presentation_action.setChecked(False)
    assert all(dock.isVisible() for dock in window.findChildren(QDockWidget) if not dock.isFloating())


def test_peel_ghost_undo_and_search(window, qtbot):
    from PySide6.QtCore import Qt

    model, panel = window.model, window.layers_panel
    assert model.is_visible("skin") and model.is_visible("gluteus_maximus_right")
    qtbot.mouseClick(panel.peel_button, Qt.MouseButton.LeftButton)  # skin
    qtbot.mouseClick(panel.peel_button, Qt.MouseButton.LeftButton)  # band and TFL
    qtbot.mouseClick(panel.peel_button, Qt.MouseButton.LeftButton)  # maximus
    assert window.peel.depth == 3 and not model.is_visible("gluteus_maximus_right")
    assert model.is_visible("piriformis_right") and model.is_visible("gluteus_medius_left")
    assert "Gluteus medius" in panel.status.text()
    panel.ghost.setChecked(True)  # the last peeled layer comes back faint
    assert model.is_visible("gluteus_maximus_right") and model.opacity("gluteus_maximus_right") < 0.3
    window.undo_action.trigger()
    assert not model.is_visible("gluteus_maximus_right")
    window.redo_action.trigger()
    assert model.is_visible("gluteus_maximus_right")
    qtbot.mouseClick(panel.restore_all_button, Qt.MouseButton.LeftButton)
    assert window.peel.depth == 0 and model.is_visible("skin")
    panel.search_box.setText("IT band")
    qtbot.keyClick(panel.search_box, Qt.Key.Key_Return)
    assert model.selection == "iliotibial_band_right"
    panel.isolate_button.click()
    band_opacity = model.structures["iliotibial_band_right"].appearance.opacity  # translucent fascia, its own
    assert model.opacity("gluteus_medius_right") < 0.3 < model.opacity("iliotibial_band_right") == band_opacity


def test_labels_and_landmark_pins_toggle(window, qtbot):
    window.history.set_depth(3)
    window.labels_action.setChecked(True)
    labels = window.scene_view.labels
    qtbot.waitUntil(lambda: bool(labels.boxes))  # laid out with the next frame
    assert "piriformis_right" in labels.boxes and "gluteus_maximus_right" not in labels.boxes
    boxes = list(labels.boxes.values())
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    from viewer.render.landmark_pins import pin_positions

    plotter, pins = window.scene_view.plotter, window.scene_view.pins
    assert "__landmark_pins" not in plotter.actors  # hidden: nothing drawn
    window.pins_action.setChecked(True)
    drawn = plotter.actors["__landmark_pins"]
    spheres = np.asarray(drawn.mapper.dataset.points)
    asis = pin_positions(window.model)["asis_right"]
    assert drawn.GetVisibility() and np.linalg.norm(spheres - asis, axis=1).min() == pytest.approx(pins.radius, rel=0.05)
    window.model.set_pose("right", hip_flexion=60.0)  # the pins follow the pose
    trochanter = pin_positions(window.model)["greater_trochanter_right"]
    spheres = np.asarray(plotter.actors["__landmark_pins"].mapper.dataset.points)
    assert np.linalg.norm(spheres - trochanter, axis=1).min() == pytest.approx(pins.radius, rel=0.05)
    window.pins_action.setChecked(False)
    assert "__landmark_pins" not in plotter.actors


def test_techniques_panel_draws_and_explains(window, qtbot):
    window.techniques_panel.choose("rotators_prone_knee90")
    window.technique_view.update()  # the window waits for the pose to settle; do it now
    assert window.techniques.active.id == "rotators_prone_knee90"
    assert "tool" in window.technique_view.overlay.actors
    html = window.techniques_panel.text.toHtml()
    assert "Safety check" in html and "elbow" in html and "Glute-free massage" in html and ".txt" not in html
    assert window.danger_action.isChecked()  # the zones came on with the technique
    window.model.select("piriformis_right")
    assert "Working the rotators prone" in window.info_panel.toHtml()


def test_techniques_panel_says_what_to_do_from_the_start_and_after_clear(qtbot, fresh_scene):
    from viewer.model.technique_session import TechniqueSession
    from viewer.ui.techniques_panel import TechniquesPanel

    session = TechniqueSession(fresh_scene)
    panel = TechniquesPanel(fresh_scene, session)
    qtbot.addWidget(panel)
    hint = "Choose a technique to see it on the body."
    assert panel.text.toPlainText() == hint
    panel.choose("rotators_prone_knee90")
    assert "Safety check" in panel.text.toHtml()
    panel.clear_button.click()
    assert session.active is None and panel.text.toPlainText() == hint


def test_the_nerve_variant_and_danger_margin_are_undone_and_the_panel_follows(qtbot, fresh_scene):
    """The zones' margin and the nerve's variant change through the undo history: undo puts the model and the
    panel's controls back, redo again."""
    from viewer.model.history import History
    from viewer.model.layers import PeelState
    from viewer.model.technique_session import TechniqueSession
    from viewer.ui.techniques_panel import TechniquesPanel

    peel = PeelState()
    history = History(fresh_scene, peel)
    panel = TechniquesPanel(fresh_scene, TechniqueSession(fresh_scene, history, peel))
    qtbot.addWidget(panel)
    margin, variant = fresh_scene.danger_margin_mm, fresh_scene.nerve_variant
    panel.margin.setValue(round(margin) + 10)
    panel.margin.editingFinished.emit()
    assert fresh_scene.danger_margin_mm == round(margin) + 10
    panel.variant.setCurrentIndex(1)
    other = panel.variant.itemData(1)
    assert other != variant and fresh_scene.nerve_variant == other
    assert history.undo() and fresh_scene.nerve_variant == variant and panel.variant.currentData() == variant
    assert history.undo() and fresh_scene.danger_margin_mm == margin and panel.margin.value() == round(margin)
    assert history.redo() and fresh_scene.danger_margin_mm == round(margin) + 10
    assert panel.margin.value() == round(margin) + 10


def test_latin_toggle_switches_the_info_panel_and_the_labels(window):
    window.history.set_depth(3)
    window.model.select("piriformis_right")
    window.labels_action.setChecked(True)
    window.pins_action.setChecked(True)
    window.scene_view.flush()  # the labels are laid out with the next frame
    labels = window.scene_view.labels
    assert "Piriformis (musculus piriformis)" in window.info_panel.toPlainText()
    assert labels.text_actors["piriformis_right"].GetInput() == "Piriformis (right)"
    window.latin_action.trigger()
    assert window.model.language == "latin" and window.latin_action.isChecked()
    assert "musculus piriformis (Piriformis)" in window.info_panel.toPlainText()
    window.scene_view.flush()
    assert labels.text_actors["piriformis_right"].GetInput() == "musculus piriformis (right)"
    assert labels.text_actors["piriformis_right"].GetVisibility()
    pin_texts = {labels.text_actors[k].GetInput() for k in labels.boxes if k.startswith("pin:")}
    assert pin_texts & {"trochanter major (R)", "trochanter major (L)"}
    assert not any(text.startswith(("Greater trochanter", "Iliac crest", "PSIS")) for text in pin_texts)
    window.model.set_language("english")  # the toolbar follows the model
    assert not window.latin_action.isChecked()


def test_info_panel_describes_every_kind_and_the_skin_keeps_the_length_table_live(window, qtbot):
    """Selecting the skin row, or searching "skin", used to raise and freeze the length table at +0.0%."""
    from viewer.model.units import signed_percent
    from viewer.ui.info_panel import structure_html

    model = window.model
    for kind in ("skin", "bone", "muscle", "fascia", "nerve", "danger"):
        name = model.names(kind)[0]
        html = structure_html(model, name)
        assert model.structures[name].display_name.split(" (")[0] in html
    window.structures_panel.items["skin"].setSelected(True)  # the skin row, as a student clicks it
    assert model.selection == "skin"
    html = window.info_panel.toHtml()
    assert "Skin and subcutaneous fat" in html and "layer 1 of 6" in html and "Gluteus maximus (right)" in html
    window.layers_panel.search_box.setText("skin")
    qtbot.keyClick(window.layers_panel.search_box, Qt.Key.Key_Return)
    assert model.selection == "skin" and "Found Skin" in window.layers_panel.search_result.text()
    model.set_pose("right", hip_rotation=45.0)
    table = window.lengths_panel.table
    rows = {table.item(r, 0).data(Qt.ItemDataRole.UserRole): table.item(r, 2).text() for r in range(table.rowCount())}
    assert abs(model.length_change("piriformis_right")) > 0.05
    assert rows["piriformis_right"] == signed_percent(model.length_change("piriformis_right"))
    assert not any(text in ("+0.0%", "-0.0%", "\u22120.0%") for text in rows.values())


def test_lies_over_names_anatomy_not_danger_zones(window):
    window.model.select("gluteus_maximus_right")
    html = window.info_panel.toHtml()
    assert "Lies over" in html and "Sciatic nerve (right)" in html and "Skin and subcutaneous fat" in html
    assert "endangerment" not in html and "gluteal course" not in html


def test_a_peeled_selection_says_it_is_hidden_and_can_be_shown_again(window, qtbot):
    model = window.model
    model.select("gluteus_maximus_right")
    assert window.scene_view.highlight_actor.GetVisibility()
    for _ in range(3):
        window.layers_panel.peel_button.click()
    assert not model.is_visible("gluteus_maximus_right") and model.selection == "gluteus_maximus_right"
    html = window.info_panel.toHtml()
    assert "Gluteus maximus (right) — peeled (hidden); restore the layer to see it" in html
    assert not window.scene_view.highlight_actor.GetVisibility()  # no outline around nothing
    window.info_panel.anchorClicked.emit(QUrl("show:selection"))  # the "Show it" link
    assert model.is_visible("gluteus_maximus_right") and window.peel.depth == 2
    assert "peeled" not in window.info_panel.toHtml() and window.scene_view.highlight_actor.GetVisibility()
    window.structures_panel.items["gluteus_maximus_right"].setCheckState(0, Qt.CheckState.Unchecked)
    assert "hidden; tick it in the structures panel" in window.info_panel.toHtml()
    window.undo_action.trigger()
    assert "hidden" not in window.info_panel.toHtml()


def test_length_plot_names_its_axes_and_the_internal_and_external_halves(window, qtbot):
    from viewer.ui.lengths_panel import PHASE_SHADES

    window.motion_panel.timeline_panel.select_action("hip_rotation")
    window.model.select("piriformis_right")
    plot = window.lengths_panel.plot
    assert (plot.x_label, plot.angle_label, plot.y_label) == ("time (s)", "hip rotation (°)", "length change (%)")
    assert [p.name for p in plot.phases] == ["internal rotation", "external rotation"]
    plot.resize(600, 240)
    image = plot.grab().toImage()
    y = image.height() // 2
    shades = {(c.red(), c.green(), c.blue()) for c in (PHASE_SHADES[1], PHASE_SHADES[-1])}
    colour = lambda x: image.pixelColor(x, y).getRgb()[:3]  # noqa: E731
    row = [colour(x) for x in range(image.width())]
    left = [c for c in row[: image.width() // 2] if c in shades]
    right = [c for c in row[image.width() // 2 :] if c in shades]
    assert left and right and set(left) != set(right)  # two differently shaded halves


def test_typing_a_movement_chooses_the_action(window, qtbot):
    panel, timeline = window.layers_panel, window.motion_panel.timeline_panel
    for query, action in (
        ("internal rotation", "hip_rotation"),
        ("frog", "frog_position"),
        ("abduction", "hip_abduction_adduction"),
    ):
        panel.search_box.setText(query)
        qtbot.keyClick(panel.search_box, Qt.Key.Key_Return)
        assert timeline.action_box.currentData() == action and timeline.timeline.action.id == action
    assert "Motion panel" in panel.search_result.text()


def window_state(window) -> dict:
    """What the window shows: each actor's visibility and opacity, the peel, the pose, the technique."""
    view, model = window.scene_view, window.model
    return {
        "actors": {n: (bool(a.GetVisibility()), round(a.prop.opacity, 6)) for n, a in view.actors.items()},
        "peel": (window.peel.depth, window.peel.ghost),
        "pose": (model.pose("right"), model.pose("left")),
        "technique": window.techniques.active.id if window.techniques.active else None,
        "danger_toggle": window.danger_action.isChecked(),
    }


def test_undo_after_choosing_a_technique_restores_the_exact_earlier_state(window, qtbot):
    window.structures_panel.sliders["gluteus_medius_right"].setValue(40)  # the opacity slider is undoable too
    assert window.model.opacity("gluteus_medius_right") == pytest.approx(0.4)
    before = window_state(window)
    window.techniques_panel.choose("rotators_prone_knee90")
    chosen = window_state(window)
    assert chosen["actors"]["gluteus_maximus_right"][1] < 0.5 and chosen["danger_toggle"]
    window.undo_action.trigger()
    assert window_state(window) == before  # maximus not ghosted, zones hidden, pose and peel back
    assert window.techniques_panel.list.currentRow() == -1
    window.undo_action.trigger()
    assert window.model.opacity("gluteus_medius_right") == pytest.approx(1.0)
    assert "not the camera" in window.undo_action.toolTip()


class FrameCounter:
    """Counts the frames the 3D view draws, and waits for a change's frames to be over.

    A software-OpenGL frame takes a few hundred milliseconds, so a fixed wait after a change can end before its
    frame or let it spill into the next count: instead wait for the first frame, then for a quiet spell.
    """

    QUIET_MS = 900

    def __init__(self, window, qtbot) -> None:
        self.qtbot = qtbot
        self.frames = 0
        window.interactor.render_window.AddObserver("RenderEvent", self._count)

    def _count(self, *_args) -> None:
        self.frames += 1

    def settle(self) -> None:
        """Wait until no frame has been drawn for ``QUIET_MS``."""
        while True:
            before = self.frames
            self.qtbot.wait(self.QUIET_MS)
            if self.frames == before:
                return

    def frames_of(self, change) -> int:
        """The number of frames one change draws, from the first until the view is quiet again."""
        self.settle()
        self.frames = 0
        change()
        self.qtbot.waitUntil(lambda: self.frames > 0, timeout=10_000)
        self.settle()
        return self.frames


def test_one_user_change_draws_one_frame(window, qtbot):
    """A hip slider step or a selection is one frame of the 3D view (every overlay asks the scene view)."""
    counter = FrameCounter(window, qtbot)
    window.scene_view.attachments.set_enabled(True)
    window.model.select("gluteus_maximus_right")  # its attachment areas follow the pose too
    slider = window.motion_panel.pose_panel.sliders["hip_flexion"]
    assert counter.frames_of(lambda: slider.setValue(slider.value() + 5)) == 1
    assert counter.frames_of(lambda: window.model.select("piriformis_right")) == 1
    window.labels_action.setChecked(True)
    # labels read the depth buffer: one unshown depth pass, then the frame
    assert counter.frames_of(lambda: slider.setValue(slider.value() + 5)) == 2


def test_a_structure_posed_while_hidden_is_drawn_posed_when_shown(window):
    """A slider step re-uploads only what is drawn; a hidden zone catches up (points and shading) when shown."""
    from viewer.anatomy.geometry import vertex_normals

    model, zone = window.model, "sciatic_nerve_gluteal_zone_right"
    assert not model.is_visible(zone)  # danger zones start hidden
    mesh = window.scene_view.meshes[zone]
    model.set_pose("right", hip_flexion=40.0)
    assert not np.allclose(mesh.points, model.vertices(zone))  # not drawn, so not updated per step
    model.set_visible(zone, True)
    np.testing.assert_allclose(mesh.points, model.vertices(zone))
    np.testing.assert_allclose(mesh.point_data["Normals"], vertex_normals(model.vertices(zone), model.structures[zone].faces))


def test_a_click_on_the_view_draws_one_frame_and_a_drag_still_turns_the_camera(window, qtbot):
    """The camera style's own frame on button release is skipped after a click: the selection's frame is the one.

    The click comes after typing in the search box: taking the keyboard focus does not draw a frame of its own
    (Qt repaints a widget that gains the focus; with pytest-randomly ordering the tests, a search just before
    counted 2 frames here).
    """
    from PySide6.QtCore import QPoint, Qt

    counter = FrameCounter(window, qtbot)
    window.show_view("posterior")
    window.activateWindow()
    search = window.layers_panel.search_box
    search.setFocus()
    qtbot.waitUntil(search.hasFocus)
    counter.settle()
    x, y = window.scene_view.display_position(window.model.structures["gluteus_maximus_right"].vertices.mean(axis=0))
    ratio = window.interactor.devicePixelRatioF()
    point = QPoint(round(x / ratio), round(window.interactor.height() - y / ratio))
    assert counter.frames_of(lambda: qtbot.mouseClick(window.interactor, Qt.MouseButton.LeftButton, pos=point)) == 1
    assert window.model.selection == "gluteus_maximus_right"
    background = QPoint(3, 3)  # empty background
    assert counter.frames_of(lambda: qtbot.mouseClick(window.interactor, Qt.MouseButton.LeftButton, pos=background)) == 1
    assert window.model.selection is None
    assert window.interactor.iren.interactor.GetEnableRender()  # the camera draws again when dragged
    before = window.interactor.camera.position
    qtbot.mousePress(window.interactor, Qt.MouseButton.LeftButton, pos=point)
    qtbot.mouseMove(window.interactor, point + QPoint(40, 0))
    qtbot.mouseMove(window.interactor, point + QPoint(80, 0))
    qtbot.mouseRelease(window.interactor, Qt.MouseButton.LeftButton, pos=point + QPoint(80, 0))
    qtbot.wait(200)
    assert window.interactor.camera.position != before and window.model.selection is None  # turned, not selected


def test_body_menu_switches_the_skin_and_undoes(window):
    menu = window.body_menu
    assert menu.body_actions["female"].isChecked()  # the default body, ticked
    assert "stay the same" in menu.note.text() and not menu.note.isEnabled()  # a plain note, not a command
    female_points = window.scene_view.meshes["skin"].n_points
    menu.body_actions["male"].trigger()
    assert window.model.body == "male" and menu.body_actions["male"].isChecked()
    assert window.scene_view.meshes["skin"].n_points != female_points  # the new surface is drawn
    window.undo_action.trigger()
    assert window.model.body == "female" and menu.body_actions["female"].isChecked()
    assert window.scene_view.meshes["skin"].n_points == female_points
    menu.tone_actions["dark"].trigger()
    assert window.model.skin_tone == "dark"
    swatch = window.structures_panel.items["skin"].icon(0).pixmap(8, 8).toImage().pixelColor(4, 4)
    assert swatch.name() == window.model.skin_colour()  # the structures panel shows the tone too
    menu.outline_action.setChecked(False)
    assert not window.scene_view.skin_outlines["skin"].GetVisibility()
