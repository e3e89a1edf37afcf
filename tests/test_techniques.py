"""Technique library, geometry at a pose, safety check, and the overlay drawn off-screen."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re

import numpy as np
import pytest

from viewer.io.annotations import AnnotationError
from viewer.techniques import ACTION_IDS, TOOLS, load_technique, load_techniques
from viewer.techniques.geometry import technique_geometry
from viewer.techniques.safety import assess

REQUIRED = {
    "maximus_free_to_slide",
    "maximus_itb_border",
    "frog_position_medius_minimus",
    "external_rotation_medius_minimus",
    "rotators_prone_knee90",
    "rotators_side_lying",
    "self_ball_chair",
    "self_ball_floor_wall",
    "self_foam_roller",
    "self_thumb_knuckle_kneading",
    "self_palm_fist_compression",
}
NEGATIVE = re.compile(r"(?<![\d.])-\d")  # a minus sign on a number (not a range such as 0-40 mm)
MARGINS = (5.0, 15.0, 40.0)
VARIANTS = ("usual", "divided_fibular_through_piriformis")
SEEDS = {"000_978ee40933522562.txt", "001_520b9ea5f046d506.txt", "002_87520087ce94a3ae.txt"}


@pytest.fixture(scope="module")
def techniques():
    return load_techniques()


@pytest.fixture(scope="module")
def muscles():
    from viewer.anatomy.muscles import build_muscles

    return build_muscles()


@pytest.fixture(scope="module")
def contexts(techniques):
    """One context per (technique pose, side), from a scene posed as the window poses it (muscles too)."""
    from viewer.anatomy.kinematics import LegPose
    from viewer.anatomy.nerve import build_nerve
    from viewer.model.scene import build_scene
    from viewer.techniques.context import context_from_scene

    scene = build_scene()
    cache = {}
    for technique in techniques.values():
        key = tuple(sorted(technique.pose_angles.items()))
        for side in ("right", "left"):
            if (key, side) not in cache:
                other = "left" if side == "right" else "right"
                scene.set_leg_poses({side: technique.leg_pose(), other: LegPose()})
                cache[(key, side)] = context_from_scene(scene, side, nerve=build_nerve(side))
    return lambda technique, side: cache[(tuple(sorted(technique.pose_angles.items())), side)]


def test_library_has_the_seed_techniques_with_complete_data(techniques):
    assert set(techniques) >= REQUIRED
    for technique in techniques.values():
        assert technique.pose_action in ACTION_IDS and technique.tool in TOOLS
        assert set(technique.source) <= SEEDS
        assert technique.targets and technique.cautions and technique.dosage
        assert 0 < technique.approach["angle_to_surface_deg"] <= 90
        technique.leg_pose()  # angles a joint reaches
    assert {t.tool for t in techniques.values()} >= {
        "palm_heel",
        "knuckles",
        "elbow",
        "forearm",
        "ball",
        "roller",
        "thumb",
        "fist",
        "fingers",
    }
    assert techniques["rotators_prone_knee90"].pose_angles["knee_flexion"] == 90
    assert "000_978ee40933522562.txt" in techniques["rotators_side_lying"].source


# Side-lying, the rotator line was seen from behind the hip (from_direction -0.8, 0, 0.6): the only contacts whose
# 55-degree line passes through the anchor lie under the buttock, pushing straight up 17 mm from the nerve (flagged;
# the right side passed only because its search stopped at a contact missing the anchor by 2.2 mm). Seen from
# behind and above the upper hip, as the therapist stands over a side-lying client (-0.6, 0, 0.8), both sides meet
# the anchor within 0.3 mm from a contact behind and below the trochanter, 48 and 51 mm from the nerve.
RECOMMENDED_CASES = [(technique_id, side) for technique_id in sorted(REQUIRED) for side in ("right", "left")]


@pytest.mark.parametrize(("technique_id", "side"), RECOMMENDED_CASES)
def test_every_technique_passes_safety_in_its_recommended_form(techniques, contexts, technique_id, side):
    technique = techniques[technique_id]
    check_recommended_form(technique, contexts(technique, side), side)


@pytest.mark.parametrize("technique_id", ["rotators_prone_knee90", "rotators_side_lying"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_deep_lines_of_force_pass_through_their_anchor(techniques, contexts, technique_id, side):
    """Deep work aims its line of force through the anchor in the target at the stated angle to the surface.

    (Following the line from contact to contact ran away over the rounded buttock: side-lying the contact walked
    into the gluteal fold, 3.6 mm from the nerve, and prone it circled 60 mm off the anchor; 22-62 mm off in all.
    Aimed at piriformis' upper margin, 8 mm above its middle fibre, the prone line ran 60 mm along the cleft between
    piriformis and gluteus medius and missed the anchor by 5.4 mm; aimed at the middle of the belly it misses by
    3.3 mm and enters piriformis 69 mm deep.)
    """
    technique = techniques[technique_id]
    geometry = technique_geometry(technique, contexts(technique, side))
    to_anchor = geometry.anchor - geometry.contact
    assert to_anchor @ geometry.direction > 0  # the anchor lies ahead, inside the body
    assert np.linalg.norm(np.cross(to_anchor, geometry.direction)) < 5.0
    assert abs(geometry.angle_to_surface_deg - technique.approach["angle_to_surface_deg"]) < 0.5
    assert geometry.surface_structure == technique.sided(technique.contact["surface"], side)


def check_recommended_form(technique, context, side) -> None:
    """The technique as described is safe, reaches its target and comes in at its stated angle."""
    geometry = technique_geometry(technique, context)
    report = assess(technique, geometry, context)
    assert not report.flagged, report.explanation
    assert report.reaches_target, f"{technique.id}: the line of force does not reach a target"
    assert "Safe as described" in report.explanation
    assert abs(geometry.angle_to_surface_deg - technique.approach["angle_to_surface_deg"]) < 0.5
    assert np.isclose(np.linalg.norm(geometry.direction), 1.0)
    assert np.dot(geometry.direction, geometry.normal) < 0, "the approach points into the body"
    assert (geometry.contact[2] > 0) == (side == "right")


def test_rotators_prone_sinks_obliquely_through_maximus_to_piriformis(techniques, contexts):
    technique = techniques["rotators_prone_knee90"]
    context = contexts(technique, "right")
    geometry = technique_geometry(technique, context)
    report = assess(technique, geometry, context)
    first = report.crossings[0]
    assert first.structure == "gluteus_maximus_right" and first.entry_mm == 0
    piriformis = [c for c in report.crossings if c.structure == "piriformis_right"]
    assert (
        piriformis and piriformis[0].entry_mm > first.exit_mm - 1 and piriformis[0].entry_mm < geometry.working_depth_mm
    )
    assert report.force_line_min_distance_mm > 15 and report.angle_from_normal_deg >= 30
    # the stroke runs from the medial origin towards the trochanter, on the surface
    trochanter = context.landmark("greater_trochanter")
    stroke = geometry.stroke
    assert np.linalg.norm(stroke[-1] - trochanter) < np.linalg.norm(stroke[0] - trochanter)
    assert stroke[-1][2] > stroke[0][2]
    # cone boundary rays are at the stated half angle
    rays = geometry.cone_rays(8)
    angles = np.degrees(np.arccos(np.clip(rays @ geometry.direction, -1, 1)))
    assert np.allclose(angles, geometry.cone_half_angle_deg, atol=1e-6)


def _vertical_over_nerve(technique, context):
    line = context.nerve_centrelines[0]
    k = int(np.argmin(np.abs(line[:, 1] - (context.landmark("ischial_spine")[1] - 5))))
    return technique_geometry(technique, context, anchor=line[k], angle_to_surface_deg=90)


@pytest.mark.parametrize("side", ["right", "left"])
def test_vertical_push_over_the_nerve_is_flagged_with_a_reason(techniques, contexts, side):
    technique = techniques["rotators_prone_knee90"]
    context = contexts(technique, side)
    geometry = _vertical_over_nerve(technique, context)
    report = assess(technique, geometry, context)
    assert report.angle_from_normal_deg < 1
    assert report.too_vertical and report.too_close and report.flagged
    assert report.force_line_min_distance_mm < 0
    assert "sciatic_nerve_gluteal" in report.zones_entered
    assert any(c.structure == f"sciatic_nerve_{side}" for c in report.crossings)
    assert "Flagged" in report.explanation and "too vertical" in report.explanation
    assert "passes through the sciatic nerve" in report.explanation and not NEGATIVE.search(report.explanation)


def test_same_spot_oblique_is_not_too_vertical(techniques, contexts):
    technique = techniques["rotators_prone_knee90"]
    context = contexts(technique, "right")
    line = context.nerve_centrelines[0]
    k = int(np.argmin(np.abs(line[:, 1] - (context.landmark("ischial_spine")[1] - 5))))
    geometry = technique_geometry(technique, context, anchor=line[k], angle_to_surface_deg=45)
    report = assess(technique, geometry, context)
    assert not report.too_vertical  # the angle part of the check responds to the angle


@pytest.fixture()
def technique_copy(asset_copy):
    return asset_copy / "annotations" / "techniques"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda d: d["targets"].__setitem__(0, "piriform"), "targets[0]", "unknown structure 'piriform'"),
        (lambda d: d["pose"].update(action="cartwheel"), "pose.action", "unknown action 'cartwheel'"),
        (lambda d: d["pose"]["angles"].update(hip_rotation=80), "pose.angles", "hip_rotation"),
        (
            lambda d: d["approach"]["heading"].update(towards_landmark="great_trochanter"),
            "approach.heading.towards_landmark",
            "unknown landmark",
        ),
        (lambda d: d.update(tool="hammer"), "tool", "hammer"),
        (lambda d: d["stroke"].update(muscle="gluteus_maximal"), "stroke.muscle", "unknown structure"),
        (lambda d: d.pop("cautions"), "(top level)", "cautions"),
        (lambda d: d.update(id="something_else"), "id", "file name"),
    ],
)
def test_bad_technique_files_are_rejected_naming_file_and_field(technique_copy, change, field, message):
    path = technique_copy / "rotators_prone_knee90.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(AnnotationError) as error:
        load_technique(path)
    assert error.value.field == field, str(error.value)
    assert error.value.path == path and message in str(error.value)
    with pytest.raises(AnnotationError, match=r"rotators_prone_knee90\.json"):
        load_techniques(technique_copy)


def test_empty_technique_folder_is_an_error(tmp_path):
    with pytest.raises(AnnotationError, match="no technique files"):
        load_techniques(tmp_path)


def test_technique_folder_copy_loads(technique_copy):
    assert set(load_techniques(technique_copy)) >= REQUIRED


def test_overlay_adds_and_removes_actors_and_changes_pixels(techniques, contexts):
    import pyvista as pv

    from viewer.render.scene_view import polydata
    from viewer.render.technique_overlay import SAFE_COLOUR, WARNING_COLOUR, TechniqueOverlay

    technique = techniques["rotators_prone_knee90"]
    context = contexts(technique, "right")
    geometry = technique_geometry(technique, context)
    report = assess(technique, geometry, context)
    plotter = pv.Plotter(off_screen=True, window_size=(400, 400))
    try:
        maximus = context.structures["gluteus_maximus_right"]
        plotter.add_mesh(polydata(*maximus), color="#a8322d", opacity=0.3)
        plotter.camera.position = (-600.0, -60.0, 80.0)
        plotter.camera.focal_point = (-90.0, -60.0, 80.0)
        plotter.camera.up = (0.0, 1.0, 0.0)
        before = np.asarray(plotter.screenshot(return_img=True), dtype=int)
        overlay = TechniqueOverlay(plotter, request_render=plotter.render)  # a frame drawn on each request
        actors = overlay.show(geometry, report, context.zones)
        assert {
            "tool",
            "approach",
            "force_line",
            "stroke",
            "cone",
            "zone_sciatic_nerve_gluteal",
            "zone_sciatic_notch",
        } <= set(actors)
        assert all(actor in plotter.renderer.actors.values() for actor in actors.values())
        assert np.allclose(pv.Color(actors["approach"].prop.color).float_rgb, pv.Color(SAFE_COLOUR).float_rgb)
        after = np.asarray(plotter.screenshot(return_img=True), dtype=int)
        assert (np.abs(after - before).sum(axis=-1) > 30).mean() > 0.01
        flagged = assess(technique, _vertical_over_nerve(technique, context), context)
        actors = overlay.show(_vertical_over_nerve(technique, context), flagged, context.zones)
        assert np.allclose(pv.Color(actors["approach"].prop.color).float_rgb, pv.Color(WARNING_COLOUR).float_rgb)
        overlay.clear()
        assert not overlay.actors
        assert not any(name.startswith("__technique_") for name in plotter.renderer.actors)
        cleared = np.asarray(plotter.screenshot(return_img=True), dtype=int)
        assert np.abs(cleared - before).max() < 30
    finally:
        plotter.close()


@pytest.mark.parametrize(
    "tool", ["ball", "roller", "palm_heel", "forearm", "fist", "elbow", "knuckles", "thumb", "fingers"]
)
def test_every_tool_has_a_glyph(tool):
    from viewer.render.technique_overlay import tool_glyph

    glyph = tool_glyph(tool, np.array([-150.0, -50.0, 70.0]), np.array([1.0, 0.0, 0.0]))
    assert glyph.n_points > 0
    assert glyph.bounds[0] <= -150.0 + 1e-6 or tool in ("ball", "roller")  # sits outside the body (behind)


@pytest.fixture(scope="module")
def variant_reports(techniques):
    """Right-side reports of every technique, for both nerve variants and several danger margins."""
    from viewer.anatomy.kinematics import LegPose
    from viewer.anatomy.nerve import build_nerve
    from viewer.model.scene import build_scene
    from viewer.techniques.context import context_from_scene

    scene = build_scene()
    nerves = {variant: build_nerve("right", variant) for variant in VARIANTS}
    reports = {}
    for technique in techniques.values():
        scene.set_leg_poses({"right": technique.leg_pose(), "left": LegPose()})
        geometry = None  # the contact and line of force: the same whichever nerve lies beneath (found once)
        for variant, nerve in nerves.items():
            context = context_from_scene(scene, "right", nerve=nerve)
            geometry = geometry or technique_geometry(technique, context)
            for margin in MARGINS:
                report = assess(technique, geometry, dataclasses.replace(context, margin_mm=margin))
                reports[technique.id, variant, margin] = report
    return reports


def _words(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def test_verdict_words_carry_the_reported_numbers_and_safe_means_outside_the_margin(variant_reports):
    for (technique_id, variant, margin), report in variant_reports.items():
        text, summary, where = report.explanation, report.summary(), (technique_id, variant, margin)
        assert summary["danger_margin_mm"] == margin and summary["nerve_distance_mm"] == report.nerve_distance_mm
        assert report.nerve_distance_mm == min(report.force_line_min_distance_mm, report.cone_min_distance_mm)
        assert report.too_close == (report.nerve_distance_mm < margin), where
        assert ("Safe as described" in text) == (not report.flagged), where
        assert not NEGATIVE.search(text), (where, text)
        if not report.flagged:
            assert report.nerve_distance_mm >= margin, where
            assert (
                f"the nearest approach, {_words(report.nerve_distance_mm)} mm, is outside the {_words(margin)} mm"
                in text
            )
        for distance, phrase in (
            (report.force_line_min_distance_mm, "line of force comes no closer than {} mm"),
            (report.cone_min_distance_mm, "cone of acceptable angles no closer than {} mm"),
        ):
            if distance >= 0:
                assert phrase.format(_words(distance)) in text, (where, text)
        if report.too_close and report.nerve_distance_mm >= 0:
            assert f"comes within {_words(report.nerve_distance_mm)} mm" in text, (where, text)
            assert f"less than the {_words(margin)} mm danger margin" in text
            assert f"reaches into the danger zone from {_words(report.zone_entry_depth_mm)} mm deep" in text
        if report.nerve_distance_mm < 0:
            assert (
                "passes through the sciatic nerve" in text and _words(report.nerve_entry_depth_mm) + " mm deep" in text
            )


def test_usual_nerve_every_technique_is_safe_at_15_mm_and_the_margin_decides(variant_reports):
    for (technique_id, variant, margin), report in variant_reports.items():
        if variant == "usual" and margin == 15.0:
            assert not report.flagged and report.nerve_distance_mm >= 15.0, (technique_id, report.explanation)
    # a wider margin flags exactly the approaches that come closer than it (the rotator lines, 35 and 37 mm, and
    # maximus free to slide, 39 mm; the prone rotator line was 33 mm before the merge of 2026-11-30)
    assert any(r.too_close for (_t, v, m), r in variant_reports.items() if v == "usual" and m == 40.0)


def test_divided_variant_flag_says_why_in_words(variant_reports):
    report = variant_reports["rotators_prone_knee90", "divided_fibular_through_piriformis", 15.0]
    assert report.flagged and report.nearest_branch == "Common fibular part"
    assert "common fibular part, passes through piriformis" in report.explanation
    usual = variant_reports["rotators_prone_knee90", "usual", 15.0]
    assert report.nerve_distance_mm < usual.nerve_distance_mm  # the same approach, a nerve in its way


def test_crossings_are_listed_once_in_order_and_end_where_the_pressure_stops(variant_reports):
    for key, report in variant_reports.items():
        crossings = report.crossings
        assert [c.entry_mm for c in crossings] == sorted(c.entry_mm for c in crossings), key
        assert all(a.structure != b.structure for a, b in itertools.pairwise(crossings)), key
        assert all(c.entry_mm <= report.pressure_depth_mm for c in crossings), key
        assert all(not c.bone for c in crossings[:-1]), key


def test_the_prone_rotator_line_crosses_piriformis_once(variant_reports):
    piriformis = [
        c
        for c in variant_reports["rotators_prone_knee90", "usual", 15.0].crossings
        if c.structure.startswith("piriformis")
    ]
    assert len(piriformis) == 1


def test_pressure_stops_at_the_first_bone(techniques, contexts):
    """Pushed past its working depth, the external-rotation line meets the femur: nothing behind it is listed
    and the nerve distance is measured only down to the bone."""
    technique = techniques["external_rotation_medius_minimus"]
    deep = dataclasses.replace(technique, approach={**technique.approach, "working_depth_mm": 150.0})
    context = contexts(deep, "right")
    report = assess(deep, technique_geometry(deep, context), context)
    assert report.stopped_by == "femur_right" and report.pressure_depth_mm < 150.0
    assert report.crossings[-1].structure == "femur_right" and report.crossings[-1].bone
    assert report.crossings[-1].entry_mm == pytest.approx(report.pressure_depth_mm, abs=0.2)
    assert "femur at" in report.explanation and "where the pressure stops" in report.explanation
    assert "obturator internus" not in report.explanation


def test_the_normal_where_a_line_meets_a_thin_sheet_is_that_side_s():
    """A ray meeting a 2 mm closed sheet (the iliotibial band) near its margin takes the normal of the side it met.

    (The far side's faces lie within the averaging radius too; their normals cancelled the near side's and
    left the rounded margin's: 60-80 degrees off 3-6 mm from the margin. The external-rotation line over the
    band tilted and passed over the trochanter to the hip bone.)
    """
    from viewer.anatomy.muscles.forms import band_surface
    from viewer.techniques.geometry import first_hit

    radius = 80.0  # a band 40 mm wide curved round the thigh, as built
    across, outward, along = np.eye(3)
    u, s = np.meshgrid(np.linspace(-20.0, 20.0, 16), np.linspace(-60.0, 60.0, 100), indexing="ij")
    angle = (u / radius)[..., None]
    band = band_surface(radius * (np.sin(angle) * across + (np.cos(angle) - 1) * outward) + s[..., None] * along, 1.0)
    for from_margin in (3.0, 6.0, 20.0):
        a = (20.0 - from_margin) / radius
        normal_there = np.sin(a) * across + np.cos(a) * outward
        point = radius * (np.sin(a) * across + (np.cos(a) - 1) * outward) + normal_there
        t, name, normal = first_hit({"band": (band.vertices, band.faces)}, point + 20.0 * normal_there, -normal_there)
        assert name == "band" and t == pytest.approx(20.0, abs=0.5)
        error = np.degrees(np.arccos(np.clip(normal @ normal_there, -1.0, 1.0)))
        assert error < 5.0, f"{error:.1f} degrees off {from_margin:g} mm from the margin"


def test_nerve_clearance_is_measured_along_the_cut_line(contexts, techniques):
    from viewer.techniques.geometry import nerve_clearance

    context = contexts(techniques["rotators_prone_knee90"], "right")
    line = context.nerve_centrelines[0]
    start = line[len(line) // 2] + np.array([-60.0, 0.0, 0.0])
    clearance = nerve_clearance(context, start, np.array([1.0, 0.0, 0.0]), 40.0)
    assert clearance.depths_mm[0] == 0 and clearance.depths_mm[-1] == 40.0
    assert clearance.nearest_mm > 0 and clearance.first_within(0.0) is None  # stops 20 mm short of the nerve
    deeper = nerve_clearance(context, start, np.array([1.0, 0.0, 0.0]), 80.0)
    assert deeper.nearest_mm < 0 and 40.0 < deeper.first_within(0.0) < 62.0
