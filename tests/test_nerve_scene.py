"""The sciatic nerve, its danger zones and the skin as scene structures that follow the pose."""

from __future__ import annotations

import json

import numpy as np

from viewer.anatomy.geometry import is_watertight, signed_volume
from viewer.cli import main


def test_nerves_and_zones_are_closed_structures(scene):
    for side in ("right", "left"):
        nerve = scene.structures[f"sciatic_nerve_{side}"]
        assert nerve.kind == "nerve" and is_watertight(nerve.faces) and signed_volume(nerve.vertices, nerve.faces) > 0
        assert "85" in nerve.info["variant"]  # the usual course, with its prevalence
        for zone in (f"sciatic_nerve_gluteal_zone_{side}", f"sciatic_notch_zone_{side}"):
            assert scene.structures[zone].kind == "danger" and is_watertight(scene.structures[zone].faces)
            assert not scene.is_visible(zone)  # overlays start hidden


def inspect_json(capsys, *args: str) -> dict:
    """``inspect --json`` run in this process (the entry point's own run is test_cli's), its report."""
    assert main(["inspect", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_inspect_reports_the_posed_nerve_centreline(capsys):
    rest = inspect_json(capsys)["structures"]["sciatic_nerve_right"]
    flexed = inspect_json(capsys, "--pose", "hip_flexion=90")["structures"]["sciatic_nerve_right"]
    rest_line, flexed_line = np.array(rest["centreline"]), np.array(flexed["centreline"])
    assert rest_line.shape == flexed_line.shape and rest_line.shape[1] == 3
    np.testing.assert_allclose(rest_line[0], flexed_line[0], atol=2)  # the exit from the pelvis stays
    assert flexed_line[-1, 0] - rest_line[-1, 0] > 100  # the thigh part swings forward with the thigh


def test_skin_and_nerve_follow_the_thigh(fresh_scene):
    skin_rest = fresh_scene.vertices("skin").copy()
    fresh_scene.set_pose("right", hip_flexion=60)
    skin = fresh_scene.vertices("skin")
    moved = np.linalg.norm(skin - skin_rest, axis=1)
    right_thigh = (skin_rest[:, 2] > 60) & (skin_rest[:, 1] < -200)
    above_pelvis = skin_rest[:, 1] > 20
    assert np.median(moved[right_thigh]) > 80 and np.median(moved[above_pelvis]) < 2


def test_variant_switch_replaces_the_nerve(fresh_scene):
    replaced = []
    fresh_scene.structures_replaced.connect(replaced.extend)
    before = len(fresh_scene.structures["sciatic_nerve_right"].vertices)
    fresh_scene.set_nerve_variant("divided_fibular_through_piriformis")
    assert fresh_scene.nerve_variant == "divided_fibular_through_piriformis"
    assert "sciatic_nerve_right" in replaced and len(fresh_scene.structures["sciatic_nerve_right"].vertices) > before
    assert "10" in fresh_scene.structures["sciatic_nerve_left"].info["variant"]


def test_caution_area_lies_over_the_nerve_on_the_buttock(scene):
    mask = scene.caution_mask()
    skin = scene.structures["skin"].vertices
    assert 0.01 < mask.mean() < 0.3
    marked = skin[mask]
    assert (marked[:, 0] < -60).mean() > 0.9  # on the back of the body
    lm = scene.landmarks_rest
    low = lm["ischial_tuberosity_right"][1] - 80
    high = lm["greater_sciatic_notch_right"][1] + 60
    assert ((marked[:, 1] > low) & (marked[:, 1] < high)).mean() > 0.9  # at the level of the gluteal course



def test_zone_within_a_limit_is_its_distance_within_it(scene):
    """``DangerZone.within`` (how the caution area tests a whole skin's inward samples) measures only the points
    near a centre line, with the same answer as the full distance."""
    from viewer.anatomy.nerve_zones import build_danger_zones

    zones = build_danger_zones(scene.posed_nerve("right").geometry, margin_mm=scene.danger_margin_mm)
    rng = np.random.default_rng(5)
    skin = scene.structures["skin"].vertices
    points = np.vstack([skin[rng.choice(len(skin), 4000)] + rng.normal(0, 40, (4000, 3)), rng.normal(0, 150, (2000, 3))])
    for zone in zones:
        for limit in (0.0, 15.0, 80.0):
            expected = zone.distance(points) <= limit
            assert expected.any() and not expected.all()  # points both sides of the limit
            assert np.array_equal(zone.within(points, limit), expected), (zone.kind, limit)

def test_danger_margin_widens_the_zone_and_the_safety_check_follows(fresh_scene):
    from viewer.model.technique_session import TechniqueSession

    zone = "sciatic_nerve_gluteal_zone_right"
    before = signed_volume(fresh_scene.vertices(zone), fresh_scene.structures[zone].faces)
    session = TechniqueSession(fresh_scene)
    session.choose("maximus_free_to_slide", "right", layers=False)  # its line passes about 44 mm from the nerve
    safe = session.result()[1]
    assert not safe.too_close and np.isfinite(safe.nerve_distance_mm)
    # a margin just wider than the approach's measured nearest distance
    fresh_scene.set_danger_margin(safe.nerve_distance_mm + 5.0)
    assert signed_volume(fresh_scene.vertices(zone), fresh_scene.structures[zone].faces) > 1.5 * before
    assert session.result()[1].too_close  # the same approach now ends inside the wider margin


def _pieces(skin, chosen):
    from viewer.anatomy.nerve_zones import surface_adjacency, surface_components

    return surface_components(surface_adjacency(len(skin.vertices), skin.faces), chosen)


def test_caution_area_is_one_region_per_side_without_holes(scene):
    """It used to be a dozen red blotches per side with holes in them."""
    from viewer.anatomy.nerve_zones import CAUTION_LEVEL

    skin = scene.structures["skin"]
    field = scene.caution_field()
    assert field.shape == (len(skin.vertices),) and np.isfinite(field).all() and 0 <= field.min() <= field.max() <= 1
    mask = scene.caution_mask()
    np.testing.assert_array_equal(mask, field >= CAUTION_LEVEL)
    for side in (1, -1):
        on_side = np.sign(skin.vertices[:, 2]) == side
        assert len(_pieces(skin, mask & on_side)) == 1, "one connected caution area per side"
        assert len(_pieces(skin, ~mask & on_side)) == 1, "no holes in it"


def test_caution_area_is_drawn_with_a_closed_outline_that_follows_the_pose(fresh_scene):
    import pyvista as pv

    from viewer.render.scene_view import SceneView

    plotter = pv.Plotter(off_screen=True, window_size=[400, 300])
    view = SceneView(plotter, fresh_scene)
    try:
        assert not view._caution_outlines  # nothing until the danger layer is shown
        for name in fresh_scene.names("danger"):
            fresh_scene.set_visible(name, True)
        actor = view._caution_outlines["skin"]
        assert actor.GetVisibility() and view.actors["skin"].mapper.interpolate_before_map
        outline = actor.mapper.dataset
        lines = outline.lines.reshape(-1, 3)[:, 1:]  # contour segments
        degree = np.bincount(lines.ravel(), minlength=outline.n_points)
        assert (degree == 2).all(), "every outline point joins exactly two segments: closed curves"
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        graph = coo_matrix((np.ones(len(lines)), (lines[:, 0], lines[:, 1])), shape=(outline.n_points,) * 2)
        loops = connected_components(graph, directed=False)[1]  # each point's loop (ids of this outline)
        sides = [np.sign(outline.points[loops == k, 2]).mean() for k in np.unique(loops)]
        assert sorted(np.sign(sides)) == [-1, 1], "one closed outline per side"
        for k in np.unique(loops):
            ordered = _walk(lines[np.isin(lines[:, 0], np.flatnonzero(loops == k))])
            assert len(ordered) == (loops == k).sum(), "one loop through all its points"
            turns = _turns(outline.points[ordered], span=3)
            # a staircase of triangle edges turns by about 60 degrees at most points; folds of the
            # skin (the natal cleft) may still turn the curve sharply in 3D at a few
            assert np.median(turns) < 25 and np.percentile(turns, 90) < 50, "a smooth curve"
        rest = outline.points.copy()
        fresh_scene.set_pose("right", hip_flexion=60)
        moved = np.linalg.norm(view._caution_outlines["skin"].mapper.dataset.points.mean(0) - rest.mean(0))
        assert moved > 5, "the outline follows the posed skin"
        fresh_scene.set_visible("skin", False)  # removed from the plotter, not left hidden in it
        assert "skin" not in view._caution_outlines and "skin__caution_outline" not in plotter.renderer.actors
    finally:
        plotter.close()


def _walk(segments):
    """Point order along one closed loop of segments (whichever way each segment is oriented)."""
    neighbours: dict[int, list[int]] = {}
    for a, b in segments:
        neighbours.setdefault(int(a), []).append(int(b))
        neighbours.setdefault(int(b), []).append(int(a))
    start = int(segments[0, 0])
    order, previous, point = [start], start, neighbours[start][0]
    while point != start and len(order) <= len(segments):
        order.append(point)
        ahead = [n for n in neighbours[point] if n != previous] or neighbours[point]
        previous, point = point, ahead[0]
    return np.array(order)


def _turns(points, span):
    """Turn (degrees) of a closed loop's direction at each point, over ``span`` points on either side."""
    ahead = np.roll(points, -span, axis=0) - points
    behind = points - np.roll(points, span, axis=0)
    cos = np.einsum("ij,ij->i", ahead, behind) / (np.linalg.norm(ahead, axis=1) * np.linalg.norm(behind, axis=1) + 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))
