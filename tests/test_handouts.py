"""Handouts and 3D export: tiled pictures, transparency, dpi, PDF with real text, glTF, atomic writes."""

from __future__ import annotations

import errno
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from tests.test_cli import run_main
from viewer.render.export import ExportError, _check_drawn, export_gltf, render_picture, save_png, tiling, write_file
from viewer.render.labels import Box
from viewer.render.overlay import Overlay, OverlayText, draw_on_image


def test_tiling_keeps_the_window_small_up_to_16384_px():
    assert tiling((1920, 1080)) == (1, (1920, 1080))
    scale, window = tiling((16384, 16384))
    assert max(window) <= 2048 and window[0] * scale >= 16384
    with pytest.raises(ExportError, match="at most 16384"):
        tiling((20000, 100))


def test_tiled_render_agrees_with_a_single_pass(fresh_scene):
    """A 900 px picture rendered in 300 px tiles matches the same view rendered at once (3D and labels)."""
    single, overlay = render_picture(fresh_scene, "posterior", (900, 600), labels=True, text=False)
    tiled, tiled_overlay = render_picture(fresh_scene, "posterior", (900, 600), labels=True, max_tile=300, text=False)
    assert tiled.shape == single.shape == (600, 900, 3)
    difference = np.abs(single.astype(int) - tiled.astype(int)).max(axis=2)
    assert np.mean(difference > 40) < 0.01  # anti-aliased edges aside, the same 3D picture
    assert np.mean(np.abs(single[::2, ::2].astype(int) - single[1::2, 1::2].astype(int)).max(axis=2) > 40) > 0.01
    named = {t.text for t in overlay.texts}
    assert len(named & {t.text for t in tiled_overlay.texts}) >= 0.8 * len(named)
    assert max(t.font_px for t in tiled_overlay.texts) <= 1.3 * max(t.font_px for t in overlay.texts)


def test_transparent_png_has_an_empty_background_and_its_dpi(fresh_scene, tmp_path):
    image, _ = render_picture(fresh_scene, "posterior", (320, 240), transparent=True)
    assert image.shape[2] == 4
    assert image[2, 160, 3] == 0 and image[-2, -2, 3] == 0  # top edge and corner: nothing drawn there
    assert np.mean(image[..., 3] > 200) > 0.2  # the bones and muscles are opaque
    out = save_png(image, tmp_path / "slide.png", dpi=300)
    with Image.open(out) as saved:
        assert saved.mode == "RGBA"
        assert tuple(round(v) for v in saved.info["dpi"]) == (300, 300)


def test_overlay_text_is_drawn_at_scale():
    """Drawn on the picture at twice the size, a label's ink covers about twice its width and height."""
    text = OverlayText("Piriformis", Box(10, 10, 110, 30), 14.0, (0, 0, 0), background=(1, 1, 1, 1))
    small = draw_on_image(np.full((60, 200, 3), 128, np.uint8), Overlay((200, 60), [text]))
    large = draw_on_image(np.full((120, 400, 3), 128, np.uint8), Overlay((200, 60), [text]).scaled(2))
    ink = [np.argwhere(picture.min(axis=2) < 60) for picture in (small, large)]
    spans = [points.max(axis=0) - points.min(axis=0) for points in ink]
    assert np.allclose(spans[1] / spans[0], 2, atol=0.35)


def test_bare_tick_labels_are_drawn_at_their_font_size():
    """Colour-bar ticks have no frame: their box is VTK's ink box (measured at 30 px: "0" 16 x 28, "-10" 43 x 28).
    The single "0" was shrunk to a third of its size by a frame padding it does not have."""
    ticks = [
        OverlayText("-10", Box(20, 10, 63, 38), 30.0, (0, 0, 0)),
        OverlayText("0", Box(120, 10, 136, 38), 30.0, (0, 0, 0)),
    ]
    picture = draw_on_image(np.full((60, 200, 3), 200, np.uint8), Overlay((200, 60), ticks))
    heights = []
    for x0, x1 in ((0, 90), (100, 200)):
        ink = np.argwhere(picture[:, x0:x1].min(axis=2) < 100)
        heights.append(ink[:, 0].max() - ink[:, 0].min() + 1)
    assert heights[1] >= 0.55 * 30, f"the 0 tick is {heights[1]} px tall at a 30 px font"
    assert abs(heights[1] - heights[0]) <= 0.15 * heights[0], heights


def test_gltf_has_one_named_mesh_per_shown_structure(fresh_scene, tmp_path):
    trimesh = pytest.importorskip("trimesh")
    fresh_scene.set_pose("right", hip_flexion=40)
    hidden = "skin"
    fresh_scene.set_visible(hidden, False)
    out = export_gltf(fresh_scene, tmp_path / "scene.glb")
    loaded = trimesh.load(out)
    shown = [n for n in fresh_scene.structures if fresh_scene.is_visible(n)]
    assert set(loaded.geometry) == set(shown) and hidden not in loaded.geometry
    name = "gluteus_maximus_right"
    mesh = loaded.geometry[name]
    posed = fresh_scene.vertices(name) / 1000.0
    assert len(mesh.vertices) == len(posed)
    assert np.allclose(mesh.bounds, [posed.min(axis=0), posed.max(axis=0)], atol=1e-6)
    colour = mesh.visual.material.baseColorFactor
    assert colour[3] == round(255 * fresh_scene.opacity(name))


def test_writes_are_atomic_and_errors_are_one_line(tmp_path, capsys):
    existing = tmp_path / "keep.png"
    existing.write_bytes(b"old picture")
    folder = tmp_path / "folder.png"
    folder.mkdir()
    code, err = run_main(capsys, "export", "--size", "64x48", "--out", str(folder))  # raised nothing: no traceback
    assert code != 0 and "is a folder" in err
    with pytest.raises(ExportError, match="blank picture"):  # a failed render never reaches the file
        _check_drawn(np.zeros((48, 64, 3), np.uint8), (64, 48))
    assert existing.read_bytes() == b"old picture"

    def disk_full(temporary):
        temporary.write_bytes(b"half a pict")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ExportError, match=r"keep.png: cannot write \(No space left on device"):
        write_file(existing, disk_full)
    assert existing.read_bytes() == b"old picture"  # the earlier file is untouched
    assert not list(tmp_path.glob(".*.tmp"))


def test_upper_case_png_and_glb_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "VIEW.PNG"
    code, err = run_main(capsys, "export", "--size", "160x120", "--transparent", "--dpi", "150", "--out", str(out))
    assert code == 0, err
    with Image.open(out) as saved:
        assert saved.mode == "RGBA" and saved.size == (160, 120)
    glb = tmp_path / "scene.glb"
    assert run_main(capsys, "export", "--peel", "2", "--out", str(glb))[0] == 0
    assert glb.read_bytes()[:4] == b"glTF"


def test_handout_pdf_has_selectable_text(tmp_path, capsys):
    """Two labelled views and a technique on an A4 page: labels, title, steps and the safety check are text."""
    out = tmp_path / "handout.pdf"
    code, err = run_main(
        capsys, "handout", "--out", str(out), "--views", "posterior,right", "--labels", "--dpi", "40",
        "--technique", "rotators_prone_knee90", "--title", "Deep rotators", "--notes", "Bring a bolster",
    )  # fmt: skip
    assert code == 0, err
    assert out.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    for words in ("Deep rotators", "Bring a bolster", "Safety check", "Tool:", "Sources:", "Posterior view", "(right)"):
        assert words in text
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
    assert "Pages:           1" in info and "A4" in info
    # the danger legend is listed once under the pictures, not over each of the two small views
    assert text.count("Sciatic nerve (gluteal course)") == 1 and text.count("Caution area on the skin") == 1


def test_handout_refuses_bad_requests(tmp_path, capsys):
    code, err = run_main(capsys, "handout", "--out", str(tmp_path / "x.pdf"), "--views", "posterior")
    assert code != 0 and "give 2 to 6 views" in err
    code, err = run_main(capsys, "handout", "--out", str(tmp_path / "x.png"))
    assert code != 0 and "must name a .pdf" in err
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_lesson_handout_has_one_page_per_step_with_title_and_note(tmp_path, capsys):
    """``handout --lesson``: a page per step, each with its title and its note as searchable plain text."""
    from viewer.cli import main
    from viewer.model.lessons import load_lesson
    from viewer.render.handout import markdown_plain

    lesson = load_lesson("deep_six_sciatic")
    out = tmp_path / "lesson.pdf"
    assert main(["handout", "--lesson", lesson.id, "--dpi", "30", "--out", str(out)]) == 0
    assert f"{len(lesson.steps)} pages" in capsys.readouterr().out
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert f"Pages:           {len(lesson.steps)}\n" in info and "A4" in info
    for number, step in enumerate(lesson.steps, start=1):
        page = subprocess.run(
            ["pdftotext", "-f", str(number), "-l", str(number), str(out), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        flat = " ".join(page.split())
        assert step.title in flat, number
        assert " ".join(markdown_plain(step.note).split()[:8]) in flat, number  # the note's first words, no ** left
        assert "**" not in flat and "Sources: Standring" in flat and "MIT licence" in flat
    assert "the sciatic nerve below piriformis" in markdown_plain("the sciatic nerve **below piriformis**")


def test_lesson_handout_refuses_an_unknown_lesson_in_one_line(tmp_path, capsys):
    from viewer.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["handout", "--lesson", "no_such_lesson", "--out", str(tmp_path / "x.pdf")])
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "unknown id 'no_such_lesson'" in errors[0] and "deep_six_sciatic" in errors[0]
    assert not (tmp_path / "x.pdf").exists()


def test_attachment_legend_words_are_dark_on_its_light_box(fresh_scene):
    """The origin/insertion legend of a selected muscle is printed readable (it was white on near-white)."""
    fresh_scene.select("piriformis_right")
    _image, overlay = render_picture(fresh_scene, "posterior", (320, 240), text=False)
    words = {t.text: t.colour for t in overlay.texts}
    assert {"Origin", "Insertion"} <= set(words)
    assert max(words["Origin"]) < 0.5 and max(words["Insertion"]) < 0.5
