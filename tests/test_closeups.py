"""The close-up sheets' camera frames the muscle it is given, from the side it is asked for."""

import numpy as np
import pytest

from viewer.render.views import VIEWS
from viewer.tools.closeups import framing


@pytest.mark.parametrize("view", ["posterior", "right", "inferior"])
def test_framing_looks_from_the_view_and_keeps_every_point_in_sight(view):
    rng = np.random.default_rng(3)
    points = rng.normal(size=(500, 3)) * [40.0, 15.0, 25.0] + [-60.0, -90.0, 70.0]
    camera = framing(points, view)
    position, focus = np.array(camera.position), np.array(camera.focal_point)
    looking = (focus - position) / np.linalg.norm(focus - position)
    assert np.allclose(-looking, VIEWS[view].direction)
    to_points = points - position
    angle = np.degrees(np.arccos(to_points @ looking / np.linalg.norm(to_points, axis=1)))
    assert angle.max() < camera.view_angle / 2  # inside the vertical field of view, with margin
    assert angle.max() > camera.view_angle / 4  # and not a speck in the middle


def test_fewer_colours_keeps_the_picture_with_at_most_that_many_colours():
    from viewer.tools.closeups import fewer_colours

    y, x = np.mgrid[0:64, 0:64]
    image = np.stack([x * 4, y * 4, (x + y) * 2], axis=-1).astype(np.uint8)  # 4096 colours
    reduced = fewer_colours(image, 32)
    assert reduced.shape == image.shape and reduced.dtype == np.uint8
    assert len(np.unique(reduced.reshape(-1, 3), axis=0)) <= 32
    assert np.abs(reduced.astype(int) - image).mean() < 12  # still the same picture
