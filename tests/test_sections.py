"""Cross-sections: the plane, the loops cut from closed surfaces, the capped section and its picture."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
import pyvista as pv

from viewer.anatomy.nerve_mesh import sphere
from viewer.cli import main
from viewer.model.sections import (
    BODY,
    RIM,
    RIM_MM,
    SectionError,
    inside_any_loop,
    inside_loops,
    parse_section,
    preset_plane,
    section_caps,
    slice_loops,
)

PLATE = {  # what a transverse section at the greater trochanter shows (right side)
    "skin", "gluteus_maximus_right", "obturator_internus_right", "inferior_gemellus_right",
    "sciatic_nerve_right", "femur_right", "hip_bone_right",
}


def shoelace(loop2d: np.ndarray) -> float:
    x, y = loop2d[:, 0], loop2d[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


@contextmanager
def cut_view(scene, section: str, view_name: str):
    """A SceneView of the scene cut by ``section``, seen from ``view_name``: yields (view, its first frame)."""
    from viewer.render.scene_view import SceneView

    scene.set_section(parse_section(section))
    plotter = pv.Plotter(off_screen=True, window_size=[900, 700])
    try:
        view = SceneView(plotter, scene)
        view.set_view(view_name)
        yield view, plotter.screenshot(return_img=True)
    finally:
        plotter.close()


def in_plane(plane, points):
    e1, e2 = plane.basis()
    return np.stack([(points - plane.origin) @ e1, (points - plane.origin) @ e2], axis=1)


@pytest.mark.parametrize(
    ("text", "origin", "normal"),
    [
        ("transverse@y=-90", (0, -90, 0), (0, -1, 0)),
        ("sagittal@z=60", (0, 0, 60), (0, 0, 1)),
        ("sagittal@z=-60", (0, 0, -60), (0, 0, -1)),
        ("coronal@x=-80", (-80, 0, 0), (-1, 0, 0)),
        ("-40,-90,130:0,0,2", (-40, -90, 130), (0, 0, 1)),
    ],
)
def test_sections_parse_to_a_plane_whose_normal_faces_the_viewer(text, origin, normal):
    plane = parse_section(text)
    np.testing.assert_allclose(plane.origin, origin)
    np.testing.assert_allclose(plane.normal, normal)
    e1, e2 = plane.basis()
    np.testing.assert_allclose(np.cross(e1, e2), plane.normal, atol=1e-12)  # right-handed, seen along -normal


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("oblique@y=3", "must be one of"),
        ("transverse@x=3", "placed by y"),
        ("transverse@y=abc", "numbers"),
        ("1,2:0,1,0", "section point"),
        ("0,0,0:0,0,0", "not be zero"),
        ("nonsense", "must look like"),
    ],
)
def test_bad_sections_say_what_is_wrong(text, message):
    with pytest.raises(SectionError, match=message):
        parse_section(text)


def test_a_sphere_cut_gives_a_closed_circle_filled_to_its_area():
    vertices, faces = sphere(np.zeros(3), 30.0, resolution=64)
    plane = preset_plane("transverse", 12.0)
    loops = slice_loops(vertices, faces, plane)
    assert len(loops) == 1
    radius = np.sqrt(30.0**2 - 12.0**2)
    assert np.abs(np.linalg.norm(loops[0] - [0, 12, 0], axis=1) - radius).max() < 0.5
    cap = section_caps(plane, [("ball", "muscle", vertices, faces)])["ball"]
    assert cap.area_mm2 == pytest.approx(shoelace(in_plane(plane, loops[0])), rel=1e-3)
    assert cap.area_mm2 == pytest.approx(np.pi * radius**2, rel=0.01)
    assert np.abs(plane.signed_distance(cap.vertices)).max() < 1e-9


def test_bone_caps_have_a_cortical_rim_around_the_marrow():
    vertices, faces = sphere(np.zeros(3), 15.0, resolution=64)
    plane = preset_plane("transverse", 0.0)
    cap = section_caps(plane, [("bone", "bone", vertices, faces)])["bone"]
    corners = in_plane(plane, cap.vertices)[cap.faces]
    distance_from_centre = np.linalg.norm(corners.mean(axis=1), axis=1)
    assert set(np.unique(cap.zone)) == {RIM, BODY}
    assert distance_from_centre[cap.zone == RIM].min() > 15.0 - RIM_MM["bone"] - 0.5
    assert distance_from_centre[cap.zone == BODY].max() < 15.0 - RIM_MM["bone"] + 0.5


def test_nested_surfaces_partition_the_section_deepest_first():
    outer = sphere(np.zeros(3), 40.0, resolution=48)
    inner = sphere(np.array([5.0, 0.0, 0.0]), 10.0, resolution=48)
    plane = preset_plane("transverse", 0.0)
    caps = section_caps(plane, [("skin", "skin", *outer), ("bone", "bone", *inner)])
    assert caps["skin"].area_mm2 + caps["bone"].area_mm2 == pytest.approx(np.pi * 40.0**2, rel=0.01)
    assert caps["bone"].area_mm2 == pytest.approx(np.pi * 10.0**2, rel=0.02)
    skin_centroids = in_plane(plane, caps["skin"].vertices)[caps["skin"].faces].mean(axis=1)
    assert not inside_loops(skin_centroids, [in_plane(plane, loop) for loop in caps["bone"].loops]).any()


def test_a_transverse_cut_at_the_trochanter_reads_like_an_anatomy_plate(scene):
    plane = parse_section("transverse@y=-90")
    caps = section_caps(
        plane, ((n, scene.structures[n].kind, scene.vertices(n), scene.structures[n].faces) for n in scene.structures)
    )
    assert set(caps) >= PLATE
    assert not any(scene.structures[n].kind == "danger" for n in caps)
    # the caps tile the body's section: together exactly the area inside the skin, no overlaps
    skin_area = sum(shoelace(in_plane(plane, loop)) for loop in caps["skin"].loops)
    assert sum(cap.area_mm2 for cap in caps.values()) == pytest.approx(skin_area, rel=0.005)
    for name, cap in caps.items():
        centroids = in_plane(plane, cap.vertices)[cap.faces].mean(axis=1)
        assert inside_loops(centroids, [in_plane(plane, loop) for loop in cap.loops]).all(), name
        assert inside_loops(in_plane(plane, cap.anchors), [in_plane(plane, loop) for loop in cap.loops]).all(), name


def test_the_cut_follows_the_pose_and_the_peeling(fresh_scene):
    fresh_scene.set_section(parse_section("transverse@y=-90"))
    rest = fresh_scene.section_caps()["femur_right"].area_mm2
    fresh_scene.set_pose("right", hip_flexion=70)
    flexed = fresh_scene.section_caps()
    assert abs(flexed["femur_right"].area_mm2 - rest) > 100  # the femur now lies across the cut
    assert flexed["femur_left"].area_mm2 == pytest.approx(rest, rel=0.01)
    fresh_scene.set_visible("skin", False)
    fresh_scene.set_opacity("gluteus_maximus_right", 0.15)  # a ghost is seen through, not cut solid
    peeled = fresh_scene.section_caps()
    assert "skin" not in peeled and "gluteus_maximus_right" not in peeled and "femur_right" in peeled


def test_the_section_is_drawn_capped_and_labelled(fresh_scene):
    from viewer.render.section_view import cap_colours

    # the first frame is taken before the labels, whose leaders end in a dot there
    with cut_view(fresh_scene, "transverse@y=-90", "inferior") as (view, image):
        view.set_labels(True)
        caps = view.section.caps
        for name in ("gluteus_maximus_right", "femur_right", "sciatic_nerve_right"):
            x, y = view.display_position(caps[name].anchor)
            zone = caps[name].zone[0] if name != "femur_right" else BODY
            expected = cap_colours(fresh_scene.structures[name].kind, fresh_scene.structures[name].colour)[zone]
            pixel = image[image.shape[0] - 1 - y, x, :3].astype(int)
            assert np.abs(pixel - expected).max() <= 12, (name, pixel, expected)
        # the labels name the structures cut, and only those
        assert set(view.labels.boxes) <= set(caps)
        assert set(view.labels.boxes) >= {"gluteus_maximus_right", "sciatic_nerve_right", "femur_right"}
        # no cut: nothing clipped, no caps
        fresh_scene.set_section(None)
        assert view.section.caps == {}
        assert not view.actors["femur_right"].mapper.GetClippingPlanes().GetNumberOfItems()


def test_export_section_cli(tmp_path, capsys):
    out = tmp_path / "cut.png"
    assert main(["export", "--section", "sagittal@z=85", "--size", "320x240", "--out", str(out)]) == 0
    assert "right view" in capsys.readouterr().out and out.stat().st_size > 1000
    with pytest.raises(SystemExit):
        main(["export", "--section", "sideways@q=1", "--out", str(out)])
    assert "--section" in capsys.readouterr().err


def test_a_loop_that_goes_round_twice_fills_its_whole_inside():
    """A folded muscle mesh cuts to one loop winding twice round its section: nonzero rule, not even-odd."""
    square = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    inner = 1.0 + 0.8 * square
    twice = np.vstack([square, inner])  # round the outside, then round again just inside
    centre = np.array([[5.0, 5.0]])
    assert not inside_loops(centre, [twice])  # even-odd: the middle would be a hole
    assert inside_any_loop(centre, [twice]).all()


def test_a_sagittal_cut_fills_piriformis_and_superior_gemellus_in_the_picture(fresh_scene):
    """Bug: at sagittal@z=85 both were drawn as outlines with only a strip of fill along them."""
    from viewer.render.section_view import cap_colours

    with cut_view(fresh_scene, "sagittal@z=85", "right") as (view, image):
        plane = fresh_scene.section
        for name in ("piriformis_right", "superior_gemellus_right"):
            cap = view.section.caps[name]
            loops = [in_plane(plane, loop) for loop in cap.loops]
            enclosed = sum(shoelace(loop) for loop in loops)  # the loop winds twice: shoelace is an upper bound
            assert cap.area_mm2 > 0.5 * enclosed, name
            expected = cap_colours("muscle", fresh_scene.structures[name].colour)[BODY].astype(int)
            # sample the cut face on a grid of points inside it (a hair away from the outlines)
            e1, e2 = plane.basis()
            lo, hi = np.min(np.vstack(loops), axis=0), np.max(np.vstack(loops), axis=0)
            grid = np.mgrid[lo[0]:hi[0]:1.0, lo[1]:hi[1]:1.0].reshape(2, -1).T
            grid = grid[inside_any_loop(grid, loops)]
            filled = 0
            for u, v in grid:
                x, y = view.display_position(plane.origin + u * e1 + v * e2)
                pixel = image[image.shape[0] - 1 - y, x, :3].astype(int)
                filled += np.abs(pixel - expected).max() <= 12
            assert filled > 0.7 * len(grid), (name, filled, len(grid))
