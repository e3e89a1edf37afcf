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


POSES = [
    {"hip_flexion": 90},
    {"hip_flexion": 45, "hip_abduction": 20, "hip_rotation": -30, "knee_flexion": 60},
    {"hip_flexion": -15, "hip_rotation": 35, "knee_flexion": 90},
]


def _assert_bone_actors_hold_their_landmarks(view: SceneView, model) -> None:
    """Every bone actor's drawn bounds contain that bone's posed landmarks (within 1 mm)."""
    landmarks = model.landmarks()
    checked = 0
    for landmark, bone in model.landmark_bones().items():
        if bone not in view.actors:
            continue
        x0, x1, y0, y1, z0, z1 = view.actors[bone].GetBounds()
        point = landmarks[landmark]
        assert x0 - 1 <= point[0] <= x1 + 1, (landmark, bone, point, (x0, x1))
        assert y0 - 1 <= point[1] <= y1 + 1, (landmark, bone, point, (y0, y1))
        assert z0 - 1 <= point[2] <= z1 + 1, (landmark, bone, point, (z0, z1))
        checked += 1
    assert checked > 20


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("pose", POSES)
def test_bones_drawn_where_the_model_says_when_posed_before_the_view(bones_scene, side, pose):
    """Exports pose the model first and build the view after: bones must not be posed twice."""
    bones_scene.set_pose(side, **pose)
    plotter = pv.Plotter(off_screen=True, window_size=[200, 150])
    try:
        _assert_bone_actors_hold_their_landmarks(SceneView(plotter, bones_scene, show_axes=False), bones_scene)
    finally:
        plotter.close()


@pytest.mark.parametrize("side", ["right", "left"])
def test_bones_drawn_where_the_model_says_when_posed_after_the_view(bones_scene, side):
    plotter = pv.Plotter(off_screen=True, window_size=[200, 150])
    try:
        view = SceneView(plotter, bones_scene, show_axes=False)
        for pose in POSES:
            bones_scene.set_pose(side, **pose)
            _assert_bone_actors_hold_their_landmarks(view, bones_scene)
    finally:
        plotter.close()


def listeners(model) -> dict[str, int]:
    """How many listeners each of the model's signals has."""
    from viewer.model.events import Signal

    return {name: len(value) for name, value in vars(model).items() if isinstance(value, Signal)}


def test_an_export_leaves_no_listener_on_the_model(fresh_scene, tmp_path):
    from viewer.model.history import History
    from viewer.model.layers import PeelState
    from viewer.model.technique_session import TechniqueSession
    from viewer.render.export import export_png

    peel = PeelState()
    session = TechniqueSession(fresh_scene, History(fresh_scene, peel), peel)
    session.choose("rotators_prone_knee90", "right")
    before, technique_listeners = listeners(fresh_scene), len(session.changed)
    export_png(fresh_scene, tmp_path / "out.png", size=(320, 240), labels=True, landmarks=True, techniques=session)
    assert listeners(fresh_scene) == before
    assert len(session.changed) == technique_listeners
    fresh_scene.set_pose("right", hip_flexion=30.0)  # nothing of the closed export runs (it would raise on it)
    assert all(not signal.errors for signal in (fresh_scene.pose_changed, session.changed))


def test_close_disconnects_and_a_dropped_view_stops_listening(fresh_scene):
    import gc

    before = listeners(fresh_scene)
    plotter = pv.Plotter(off_screen=True, window_size=[200, 150])
    view = SceneView(plotter, fresh_scene)
    assert listeners(fresh_scene) != before
    view.close()
    assert listeners(fresh_scene) == before
    dropped = SceneView(plotter, fresh_scene)
    assert listeners(fresh_scene) != before
    del dropped
    gc.collect()
    assert listeners(fresh_scene) == before  # held weakly: a view nobody keeps does not keep listening
    plotter.close()
