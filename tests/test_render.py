"""Off-screen rendering through the same SceneView the window uses."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from viewer.render.scene_view import SceneView
from viewer.render.views import VIEWS


@pytest.fixture()
def view(fresh_scene):
    plotter = pv.Plotter(off_screen=True, window_size=[400, 300])
    scene_view = SceneView(plotter, fresh_scene)
    yield scene_view
    plotter.close()


def warm(plotter) -> float:
    image = plotter.screenshot(return_img=True)
    rgb = image[..., :3].astype(int)
    return float(((rgb[..., 0] - rgb[..., 2]) > 18).mean())


def test_every_structure_gets_one_actor(view, fresh_scene):
    assert set(view.actors) == set(fresh_scene.structures)


@pytest.mark.parametrize("name", list(VIEWS))
def test_view_presets_look_from_their_side(view, name):
    view.set_view(name)
    camera = view.plotter.camera
    direction = np.subtract(camera.position, camera.focal_point)
    direction /= np.linalg.norm(direction)
    np.testing.assert_allclose(direction, VIEWS[name].direction, atol=1e-6)
    np.testing.assert_allclose(camera.up, VIEWS[name].up, atol=1e-6)
    assert warm(view.plotter) > 0.05, f"no bone visible from the {name} view"


def test_hiding_structures_removes_their_pixels(view, fresh_scene):
    before = warm(view.plotter)
    for name in fresh_scene.names():
        fresh_scene.set_visible(name, False)
    assert warm(view.plotter) < 0.002 < before
    fresh_scene.set_visible("sacrum", True)
    assert 0.005 < warm(view.plotter) < before
    assert not view.actors["femur_right"].GetVisibility() and view.actors["sacrum"].GetVisibility()


def test_pose_moves_the_rendered_femur(view, fresh_scene):
    view.set_view("right")
    fresh_scene.set_pose("right", hip_flexion=90)
    matrix = view.actors["femur_right"].user_matrix
    np.testing.assert_allclose(matrix, fresh_scene.segment_transform("thigh_right"))
    bounds = view.actors["femur_right"].bounds
    assert bounds[1] > 300  # the femur now reaches far anterior (x max)
