"""A technique's caption fits its picture: a small handout view at a low dpi included."""

from __future__ import annotations

import pytest

from viewer.render.export import render_picture
from viewer.render.technique_view import wrapped


def test_wrapped_lines_fit_the_width():
    text = "External rotation of the femur to stretch medius and minimus\nSafe approach: 40° to the surface"
    lines = wrapped(text, 240, 9).split("\n")
    assert len(lines) >= 3 and all(len(line) <= 240 / (0.55 * 9) for line in lines)
    assert " ".join(lines).split() == text.split()  # no word lost


@pytest.mark.parametrize("dpi", [72, 150])
def test_technique_caption_stays_inside_a_small_handout_view(fresh_scene, dpi):
    from viewer.model.scene_file import SceneState

    state = SceneState.for_scene(fresh_scene)
    longest = max(state.techniques.techniques.values(), key=lambda technique: len(technique.title))
    state.techniques.choose(longest.id, "right")
    width, height = round(3.4 * dpi), round(3.7 * dpi)  # one of three views on an A4 page
    _image, overlay = render_picture(
        state.scene, "posterior", (width, height), labels=True, techniques=state.techniques, dpi=dpi, text=False,
        legend=False,
    )  # fmt: skip
    caption = [t for t in overlay.texts if longest.title.split()[0] in t.text and "\n" in t.text]
    assert caption, "the caption is drawn"
    for text in overlay.texts:
        box = text.box
        assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height, (text.text, box)
