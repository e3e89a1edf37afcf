"""Body type and skin tone: chosen in the window, through the history (undo), from data; drawn without artefacts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import pyvista as pv

from viewer.anatomy.skin import load_skin
from viewer.model.scene_file import SceneState, apply_document, scene_document
from viewer.model.skin import default_skin_tone, skin_palette, skin_tones


def test_body_switch_goes_through_the_history_and_undoes(fresh_scene):
    state = SceneState.for_scene(fresh_scene)
    replaced, bodies = [], []
    fresh_scene.structures_replaced.connect(replaced.append)
    fresh_scene.body_changed.connect(bodies.append)
    bones_before = {n: fresh_scene.vertices(n).copy() for n in fresh_scene.names("bone") + fresh_scene.names("muscle")}
    fresh_scene.set_opacity("skin", 0.42)
    state.history.set_body("male")
    assert fresh_scene.body == "male" and bodies == ["male"] and replaced == [["skin"]]
    assert len(fresh_scene.structures["skin"].vertices) == len(load_skin("male").vertices)
    assert fresh_scene.opacity("skin") == 0.42  # the skin keeps how it is shown
    for name, vertices in bones_before.items():  # the anatomy under it is the same
        assert np.array_equal(fresh_scene.vertices(name), vertices), name
    fresh_scene.set_pose("both", hip_flexion=90.0)  # the new skin follows the pose with its own weights
    assert fresh_scene.vertices("skin").shape == load_skin("male").vertices.shape
    assert not np.allclose(fresh_scene.vertices("skin"), load_skin("male").vertices)
    assert state.history.undo_label == "body"
    state.history.undo()
    assert fresh_scene.body == "female" and fresh_scene.vertices("skin").shape == load_skin("female").vertices.shape
    state.history.redo()
    assert fresh_scene.body == "male"
    assert scene_document(state)["body"] == "male"
    with pytest.raises(Exception, match="unknown body type 'giant'"):
        fresh_scene.set_body("giant")
    assert fresh_scene.body == "male"


def test_scene_file_sets_the_body_of_a_live_scene(fresh_scene, tmp_path):
    state = SceneState.for_scene(fresh_scene)
    apply_document(state, {"version": 1, "body": "male"}, tmp_path / "s.json")
    assert fresh_scene.body == "male" and state.body == "male"
    apply_document(state, {"version": 1}, tmp_path / "s.json")
    assert fresh_scene.body == "female"  # a document without a body: the default


def test_skin_tones_come_from_the_palette_file(fresh_scene, asset_copy):
    path = asset_copy / "annotations" / "skin_tones.json"
    data = json.loads(path.read_text())
    assert len(data["tones"]) >= 4 and data["default"] in {t["id"] for t in data["tones"]}
    data["tones"].append({"id": "test_blue", "display_name": "Test blue", "colour": "#0000ff"})
    path.write_text(json.dumps(data))
    skin_palette.cache_clear()
    try:
        assert skin_tones()["test_blue"].colour == "#0000ff"
        state = SceneState.for_scene(fresh_scene)
        tones = []
        fresh_scene.skin_tone_changed.connect(tones.append)
        state.history.set_skin_tone("test_blue")
        assert fresh_scene.skin_colour() == "#0000ff" and tones == ["test_blue"]
        state.history.undo()
        assert fresh_scene.skin_tone == default_skin_tone()
        with pytest.raises(ValueError, match="skin tone must be one of"):
            fresh_scene.set_skin_tone("green")
        data["default"] = "nope"
        path.write_text(json.dumps(data))
        skin_palette.cache_clear()
        with pytest.raises(ValueError, match=r"skin_tones\.json: field 'default'"):
            skin_tones()
    finally:
        skin_palette.cache_clear()


def test_skin_drawn_in_the_chosen_tone_with_its_outline(fresh_scene):
    for name in fresh_scene.names():
        fresh_scene.set_visible(name, name == "skin")
    from viewer.render.scene_view import SceneView

    plotter = pv.Plotter(off_screen=True, window_size=[400, 500])
    view = SceneView(plotter, model=fresh_scene)
    try:
        assert view.skin_outlines["skin"].GetVisibility()  # the default skin is see-through: outlined
        fresh_scene.set_skin_tone("dark")
        fresh_scene.set_opacity("skin", 1.0)
        assert not view.skin_outlines["skin"].GetVisibility()  # an opaque skin needs no outline
        image = plotter.screenshot(None, return_img=True)
        centre = image[200:300, 150:250].reshape(-1, 3).astype(float)
        dark = np.array(pv.Color(skin_tones()["dark"].colour).int_rgb, dtype=float)
        light = np.array(pv.Color(skin_tones()["light"].colour).int_rgb, dtype=float)
        assert np.linalg.norm(centre.mean(axis=0) - dark) < np.linalg.norm(centre.mean(axis=0) - light)
    finally:
        view.close()
        plotter.close()


def test_translucent_skin_has_no_triangle_patches_in_pictures(fresh_scene):
    """An exported picture of the see-through skin alone is smooth inside its outline.

    VTK's SSAA pass bypassed depth peeling, and the skin's far side showed through its near side: the skin
    came out in triangle-shaped patches (mean high-pass 3.4 grey levels against 1.0 when smooth).
    """
    from scipy import ndimage

    from viewer.render.export import render_picture

    for name in fresh_scene.names():
        fresh_scene.set_visible(name, name == "skin")
    fresh_scene.set_opacity("skin", 0.65)  # see-through, above the outline's threshold: only the surface itself
    image, _ = render_picture(fresh_scene, view="posterolateral_right", size=(500, 400), text=False)
    grey = image.astype(float).mean(axis=2)
    detail = np.abs(grey - ndimage.gaussian_filter(grey, 2.0))
    body = ndimage.binary_erosion(np.abs(grey - grey[5, 5]) > 8, iterations=6)  # inside the contour
    assert body.mean() > 0.3
    assert detail[body].mean() < 2.0, f"mean detail {detail[body].mean():.2f} grey levels: patches on the skin"
