"""Sciatic nerve: course, layering, width, clearance from bone and muscle, posing, danger zones, data errors."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import inside, ray_hits
from viewer.anatomy.kinematics import LegPose, leg_transforms
from viewer.anatomy.nerve import build_nerve, load_nerve_spec
from viewer.anatomy.nerve_posing import pose_nerve
from viewer.anatomy.nerve_zones import build_danger_zones, caution_area, load_danger_zone_data
from viewer.io.annotations import AnnotationError

DEEP_ROTATORS = ("superior_gemellus", "obturator_internus", "inferior_gemellus", "quadratus_femoris")
DIVIDED = "divided_fibular_through_piriformis"


@pytest.fixture(scope="module")
def muscles():
    from viewer.anatomy.muscles import build_muscles

    return build_muscles()


@pytest.fixture(scope="module")
def bones():
    return load_bone_surfaces()


@pytest.fixture(scope="module")
def landmarks():
    return load_landmarks()


@pytest.fixture(scope="module")
def nerve():
    return build_nerve("right")


@pytest.fixture(scope="module")
def divided():
    return build_nerve("right", DIVIDED)


def test_data_has_usual_and_divided_variants_with_prevalence_and_sources():
    spec = load_nerve_spec()
    assert spec.default_variant == "usual"
    assert spec.variants["usual"].prevalence_percent == pytest.approx(85)
    assert spec.variants[DIVIDED].prevalence_percent == pytest.approx(10)
    assert spec.variants_total["prevalence_percent"] == pytest.approx(17)
    assert all(v.source for v in spec.variants.values()) and len(spec.sources) >= 3
    assert [b.name for b in spec.variants[DIVIDED].branches] == ["tibial", "common_fibular"]
    assert spec.variants[DIVIDED].branches[1].passes_through == ("piriformis",)


def _piriformis_column_checks(line, piriformis, notch):
    below, total = [], 0
    for point in line:
        if np.linalg.norm(point - notch) > 70:
            continue
        column = piriformis[(np.abs(piriformis[:, 0] - point[0]) < 5) & (np.abs(piriformis[:, 2] - point[2]) < 5)]
        if len(column):
            total += 1
            below.append(column[:, 1].min() > point[1])
    return below, total


def test_nerve_exits_below_piriformis(nerve, muscles, landmarks):
    below, total = _piriformis_column_checks(
        nerve.centreline, muscles["piriformis_right"].vertices, landmarks["greater_sciatic_notch_right"]
    )
    assert total >= 5, "the nerve should pass under piriformis near the sciatic notch"
    assert all(below), "every centreline point under piriformis must lie below its lower border"


def test_divided_variant_fibular_part_pierces_piriformis(divided, muscles, landmarks):
    piriformis = muscles["piriformis_right"]
    tibial, fibular = divided.branches
    assert inside(piriformis.vertices, piriformis.faces, fibular.centreline).sum() >= 2
    below, total = _piriformis_column_checks(
        tibial.centreline, piriformis.vertices, landmarks["greater_sciatic_notch_right"]
    )
    assert total >= 5 and all(below)


def test_nerve_lies_deep_to_maximus_and_superficial_to_the_deep_rotators(nerve, muscles, landmarks):
    top = landmarks["ischial_spine_right"][1]
    bottom = landmarks["ischial_tuberosity_right"][1] + 10
    direction = np.array([1.0, 0.0, 0.0])  # from behind
    maximus = muscles["gluteus_maximus_right"]
    checked = with_rotator = 0
    for point in nerve.centreline:
        if not bottom <= point[1] <= top:
            continue
        origin = point - 300 * direction
        t_max = ray_hits(maximus.vertices, maximus.faces, origin, direction)[0]
        t_nerve = ray_hits(nerve.vertices, nerve.faces, origin, direction)[0]
        rotators = [
            ray_hits(muscles[f"{m}_right"].vertices, muscles[f"{m}_right"].faces, origin, direction)[0]
            for m in DEEP_ROTATORS
        ]
        t_rot = min((t[0] for t in rotators if len(t)), default=np.inf)
        assert len(t_max) and len(t_nerve)
        assert t_max[0] < t_nerve[0], f"maximus must be hit before the nerve at {point.round(1)}"
        assert t_nerve[0] < t_rot, f"the nerve must be hit before the deep rotators at {point.round(1)}"
        checked += 1
        with_rotator += np.isfinite(t_rot)
    assert checked >= 8 and with_rotator >= 4


def test_nerve_passes_roughly_midway_between_trochanter_and_tuberosity(nerve, landmarks):
    gt, it = landmarks["greater_trochanter_right"][1:], landmarks["ischial_tuberosity_right"][1:]
    line = nerve.centreline[:, 1:]  # posterior view: (y, z)
    d = gt - it
    t = np.clip((line - it) @ d / (d @ d), 0, 1)
    gap = np.linalg.norm(line - it - t[:, None] * d, axis=1)
    k = int(np.argmin(gap))
    assert gap[k] < 3.0, "the nerve should cross the line from the tuberosity to the trochanter"
    assert 0.3 <= t[k] <= 0.7


def test_width_about_15_mm_and_closed_outward_tube(nerve, muscles, landmarks):
    piriformis = muscles["piriformis_right"].vertices
    notch = landmarks["greater_sciatic_notch_right"]
    under = [
        k
        for k, p in enumerate(nerve.centreline)
        if np.linalg.norm(p - notch) < 70
        and ((np.abs(piriformis[:, 0] - p[0]) < 5) & (np.abs(piriformis[:, 2] - p[2]) < 5)).any()
    ]
    width = 2 * nerve.radius[under]
    assert width.mean() == pytest.approx(15.0, abs=2.5), "about 15 mm wide at the lower border of piriformis"
    assert width.max() == pytest.approx(15.0, abs=1.0)
    assert 2 * nerve.radius[-1] < width.max()  # tapers
    assert (nerve.branches[0].half_thickness <= nerve.radius).all()  # flattened ellipse
    edges = Counter(tuple(sorted(e)) for f in nerve.faces for e in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])))
    assert set(edges.values()) == {2}
    tri = nerve.vertices[nerve.faces]
    assert np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() > 0


def _muscle_vertices_inside(branch, vertices, muscles, surface_of) -> int:
    """How many of a branch's tube ``vertices`` lie inside the right muscles it does not pass through."""
    return sum(
        _inside_fast(surface_of(m).vertices, surface_of(m).faces, vertices).sum()
        for m in muscles.values()
        if m.side == "right" and m.spec.name not in branch.passes_through
    )


@pytest.mark.parametrize("variant", ["usual", DIVIDED])
def test_tube_clear_of_bone_and_muscle_at_rest(variant, bones, muscles):
    geometry = build_nerve("right", variant)
    for branch in geometry.branches:
        vertices = geometry.vertices[branch.vertex_slice]
        bone_inside = sum(
            _inside_fast(bones[n].vertices, bones[n].faces, vertices).sum()
            for n in ("hip_bone_right", "sacrum", "femur_right")
        )
        muscle_inside = _muscle_vertices_inside(branch, vertices, muscles, lambda m: m.display_surface())  # as drawn
        assert bone_inside / len(vertices) < 0.01
        assert muscle_inside / len(vertices) < 0.01, (
            f"{branch.name}: {muscle_inside} of {len(vertices)} vertices inside muscle"
        )
        for m in muscles.values():
            if m.side == "right" and m.spec.name not in branch.passes_through:
                assert not inside(m.vertices, m.faces, branch.centreline).any(), m.name
        for n in ("hip_bone_right", "sacrum", "femur_right"):
            assert not inside(bones[n].vertices, bones[n].faces, branch.centreline).any(), n


@pytest.mark.parametrize(
    "variant",
    [
        "usual",
        DIVIDED,
    ],
)
def test_tube_clear_of_the_muscle_cages_at_rest(variant, muscles):
    """The deep cages make room for the tube as the forms do (muscles.nerve_bed): it entered the even-slab quadratus
    femoris cage (46 of its 1442 vertices) and the maximus cage (42), squeezed between them; with a bed lifted
    only 0.5 mm past it (less than the nerve's clearance) 6 and 12."""
    geometry = build_nerve("right", variant)
    for branch in geometry.branches:
        vertices = geometry.vertices[branch.vertex_slice]
        muscle_inside = _muscle_vertices_inside(branch, vertices, muscles, lambda m: m.surface())
        assert muscle_inside / len(vertices) < 0.01, f"{branch.name}: {muscle_inside} of {len(vertices)} inside"


def _transforms(pose: LegPose, landmarks) -> dict:
    hip = landmarks["femoral_head_centre_right"]
    knee = (landmarks["medial_epicondyle_right"] + landmarks["lateral_epicondyle_right"]) / 2
    legs = leg_transforms(pose, "right", hip, knee)
    return {"pelvis": np.eye(4), "thigh_right": legs["thigh"]}


def _inside_fast(vertices, faces, points):
    """Winding-number inside test, only for points near the mesh (a point inside a bone or muscle of
    these sizes is always within 25 mm of one of its vertices)."""
    from scipy.spatial import cKDTree

    near, _ = cKDTree(vertices).query(points, distance_upper_bound=25.0)
    candidates = np.isfinite(near)
    result = np.zeros(len(points), dtype=bool)
    if candidates.any():
        result[candidates] = inside(vertices, faces, points[candidates])
    return result


NEAR_BONE_MM = 6.0  # beyond this on a bone's 2 mm distance grid a point is surely outside it


def _inside_bone(bone, points, grid):
    """Exact winding-number containment in a bone, evaluated only where its distance grid (the posers'
    obstacle grid, in the bone's rest frame) puts a point within NEAR_BONE_MM; farther out it is outside."""
    distance, _ = grid.sample(points)
    result = np.zeros(len(points), dtype=bool)
    near = distance < NEAR_BONE_MM
    if near.any():
        result[near] = inside(bone.vertices, bone.faces, points[near])
    return result


def test_never_inside_bone_at_a_grid_of_poses(nerve, bones, landmarks):
    from viewer.anatomy.muscles.pose_grids import load_pose_grids

    grids = load_pose_grids(bones)
    femur, hip_bone = bones["femur_right"], bones["hip_bone_right"]
    assert _inside_bone(femur, landmarks["femoral_head_centre_right"][None], grids["femur_right"]).all()
    for flexion in (-15, 30, 90, 115):
        for abduction in (-25, 0, 35):
            for rotation in (-40, 40):
                transforms = _transforms(LegPose(flexion, abduction, rotation, 60), landmarks)
                vertices, line = pose_nerve(nerve, transforms)
                thigh = transforms["thigh_right"]

                def inside_each_bone(points, thigh=thigh):
                    in_femur_frame = (points - thigh[:3, 3]) @ thigh[:3, :3]  # seen from the femur at rest
                    return (
                        _inside_bone(femur, in_femur_frame, grids["femur_right"]),
                        _inside_bone(hip_bone, points, grids["pelvis"]),
                    )

                pose = (flexion, abduction, rotation)
                for line_inside, tube_inside in zip(inside_each_bone(line), inside_each_bone(vertices[::2]), strict=True):
                    assert not line_inside.any(), pose
                    assert tube_inside.mean() < 0.01, pose


def test_pose_follows_pelvis_proximally_and_thigh_distally(nerve, landmarks):
    transforms = _transforms(LegPose(hip_flexion=60, hip_rotation=20), landmarks)
    _vertices, line = pose_nerve(nerve, transforms)
    weights = nerve.branches[0].weights
    assert weights[0] == 0 and weights[-1] == 1 and (np.diff(weights) >= 0).all()
    assert np.allclose(line[0], nerve.centreline[0])
    thigh = transforms["thigh_right"]
    expected = thigh[:3, :3] @ nerve.centreline[-1] + thigh[:3, 3]
    assert np.linalg.norm(line[-1] - expected) < 1.0
    steps = np.linalg.norm(np.diff(line, axis=0), axis=1)
    rest_steps = np.linalg.norm(np.diff(nerve.centreline, axis=0), axis=1)
    assert steps.max() < 3 * rest_steps.max(), "blending must not tear the nerve"
    rest_vertices, _ = pose_nerve(nerve, {})
    assert np.allclose(rest_vertices, nerve.vertices)


def test_posing_is_repeatable_and_keeps_topology(nerve, landmarks):
    """Posing is a pure function of the pose (its speed is reported by bench/, not asserted here)."""
    transforms = _transforms(LegPose(hip_flexion=45, hip_abduction=20, hip_rotation=-20), landmarks)
    first_vertices, first_line = pose_nerve(nerve, transforms)
    pose_nerve(nerve, _transforms(LegPose(hip_flexion=100), landmarks))
    again_vertices, again_line = pose_nerve(nerve, transforms)
    assert first_vertices.shape == nerve.vertices.shape
    np.testing.assert_allclose(first_vertices, again_vertices)
    np.testing.assert_allclose(first_line, again_line)


def test_left_side_mirrors_right(nerve):
    left = build_nerve("left")
    assert left.name == "sciatic_nerve_left" and left.side == "left"
    assert np.allclose(left.vertices, nerve.vertices * [1, 1, -1])
    assert (left.centreline[:, 2] < 0).all()


def test_danger_zone_contains_the_gluteal_nerve_and_notch_site(nerve, landmarks):
    zones = {z.id: z for z in build_danger_zones(nerve)}
    tube, notch = zones["sciatic_nerve_gluteal"], zones["sciatic_notch"]
    assert tube.margin_mm == pytest.approx(load_danger_zone_data()["zones"][0]["margin_mm"])
    assert 10 <= tube.margin_mm <= 25
    gluteal = (nerve.centreline[:, 1] <= landmarks["greater_sciatic_notch_right"][1]) & (
        nerve.centreline[:, 1] >= landmarks["ischial_tuberosity_right"][1] - 40
    )
    assert gluteal.sum() >= 10
    rings = np.flatnonzero(gluteal)
    ring_vertices = nerve.vertices[
        np.isin(nerve.vertex_ring, rings) & (np.arange(len(nerve.vertices)) < len(nerve.centreline) * 20)
    ]
    assert tube.contains(ring_vertices).all()
    edges = Counter(tuple(sorted(e)) for f in tube.faces for e in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])))
    assert set(edges.values()) == {2}, "the zone is a closed volume"
    assert notch.contains(nerve.centreline).any()
    wider = {z.id: z for z in build_danger_zones(nerve, margin_mm=25.0)}["sciatic_nerve_gluteal"]
    probe = nerve.centreline[rings[len(rings) // 2]] + np.array([-(nerve.radius[rings[0]] + 20.0), 0, 0])
    assert not tube.contains(probe).any() and wider.contains(probe).all()


def test_caution_area_marks_skin_over_the_nerve_only(nerve, landmarks):
    zones = build_danger_zones(nerve)
    k = int(np.argmin(np.abs(nerve.centreline[:, 1] - landmarks["ischial_spine_right"][1] + 15)))
    over_nerve = nerve.centreline[k] + np.array([-55.0, 0.0, 0.0])
    crest = landmarks["iliac_crest_summit_right"] + np.array([-30.0, 0.0, 0.0])
    points = np.array([over_nerve, crest])
    normals = np.array([[-1.0, 0, 0], [-1.0, 0, 0]])
    assert caution_area(points, zones, normals=normals).tolist() == [True, False]
    assert caution_area(points, zones).tolist() == [False, False]  # nearest distance alone: both are outside
    assert caution_area(points, zones, margin_mm=60).tolist() == [True, False]


def _broken_copy(asset_copy, name, change):
    path = asset_copy / "annotations" / name
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            lambda d: d["variants"][0]["branches"][0]["control_points"][1]["landmarks"].update(ischial_spin=1.0),
            "variants[0].branches[0].control_points[1].landmarks.ischial_spin",
            "unknown landmark",
        ),
        (
            lambda d: d["variants"][1]["branches"][1].update(passes_through=["piriformus"]),
            "variants[1].branches[1].passes_through[0]",
            "unknown muscle",
        ),
        (lambda d: d["cross_section"].pop("width_mm"), "cross_section", "width_mm"),
        (lambda d: d.update(default_variant="rare"), "default_variant", "unknown variant"),
    ],
)
def test_bad_nerve_file_names_file_and_field(asset_copy, change, field, message):
    path = _broken_copy(asset_copy, "nerve.json", change)
    with pytest.raises(AnnotationError) as error:
        load_nerve_spec(path)
    assert error.value.field == field
    assert error.value.path == path and message in str(error.value)


def test_bad_danger_zone_file_names_file_and_field(asset_copy):
    path = _broken_copy(asset_copy, "danger_zones.json", lambda d: d["zones"][1]["landmarks"].update(notch=1.0))
    with pytest.raises(AnnotationError) as error:
        load_danger_zone_data(path)
    assert error.value.field == "zones[1].landmarks.notch" and "nerve" not in str(error.value.path.name).replace(
        "danger_zones", ""
    )
    path = _broken_copy(asset_copy, "danger_zones.json", lambda d: d["zones"][0].pop("margin_mm"))
    with pytest.raises(AnnotationError) as error:
        load_danger_zone_data(path)
    assert error.value.field == "zones[0]" and "margin_mm" in str(error.value)


POSES = {
    "rest": LegPose(),
    "flexed 90": LegPose(hip_flexion=90),
    "internal rotation 40": LegPose(hip_rotation=40),
    "external rotation 40": LegPose(hip_rotation=-40),
    "abducted 45": LegPose(hip_abduction=45),
    "side-lying flexion": LegPose(hip_flexion=110, knee_flexion=100),
    "frog": LegPose(hip_flexion=45, hip_abduction=40, hip_rotation=20, knee_flexion=90),
}


def _side_transforms(pose: LegPose, side: str, landmarks) -> dict:
    hip = landmarks[f"femoral_head_centre_{side}"]
    knee = (landmarks[f"medial_epicondyle_{side}"] + landmarks[f"lateral_epicondyle_{side}"]) / 2
    return {"pelvis": np.eye(4), f"thigh_{side}": leg_transforms(pose, side, hip, knee)["thigh"]}


@pytest.mark.parametrize("variant", ["usual", DIVIDED])
@pytest.mark.parametrize("side", ["right", "left"])
def test_no_bend_sharper_than_the_minimum_radius_at_rest_or_posed(variant, side, landmarks):
    """The old relaxation left a zig-zag kink below quadratus femoris: 68-123 degrees over a few mm."""
    from viewer.anatomy.nerve_mesh import turning_angles

    geometry = build_nerve(side, variant)
    limit = load_nerve_spec().min_bend_radius_mm
    assert limit >= 20
    for name, pose in POSES.items():
        _vertices, line = pose_nerve(geometry, _side_transforms(pose, side, landmarks))
        for branch, posed in zip(geometry.branches, geometry.posed_centrelines(line), strict=True):
            angle, radius = turning_angles(posed)
            assert radius.min() > 0.95 * limit, f"{branch.name} {name}: bend radius {radius.min():.1f} mm"
            assert np.degrees(angle).max() < 20, f"{branch.name} {name}"


def _section(vertices, branch, rings, sides):
    ring = vertices[branch.vertex_slice][: rings * sides].reshape(rings, sides, 3)
    centre = ring.mean(axis=1)
    return ring, centre


@pytest.mark.parametrize("variant", ["usual", DIVIDED])
def test_posed_sections_keep_their_shape_and_twist_only_as_the_thigh_turns(variant, landmarks):
    """Linear blend skinning pinched and wrung the sections (candy wrapper); now they are carried rigidly."""
    from viewer.anatomy.geometry import tangents
    from viewer.anatomy.nerve_mesh import angle_about, transported_frames

    geometry = build_nerve("right", variant)
    sides = geometry.sides
    for name in ("internal rotation 40", "external rotation 40", "flexed 90", "frog"):
        transforms = _side_transforms(POSES[name], "right", landmarks)
        vertices, line = pose_nerve(geometry, transforms)
        thigh = transforms["thigh_right"][:3, :3]
        for branch, posed in zip(geometry.branches, geometry.posed_centrelines(line), strict=True):
            rings = len(branch.centreline)
            ring, centre = _section(vertices, branch, rings, sides)
            np.testing.assert_allclose(centre, posed, atol=1e-6)
            semi_width = np.linalg.norm(ring[:, 0] - centre, axis=1)
            semi_depth = np.linalg.norm(ring[:, sides // 4] - centre, axis=1)
            np.testing.assert_allclose(semi_width, branch.half_width, rtol=0.01, err_msg=name)
            np.testing.assert_allclose(semi_depth, branch.half_thickness, rtol=0.01, err_msg=name)
            # twist about the nerve, measured against a parallel-transported frame: rest vs posed
            def twist(points, width_axis):
                tangent = tangents(points)
                carried = transported_frames(points, width_axis[0])
                return np.unwrap(angle_about(carried, width_axis, tangent))

            rest_ring, rest_centre = _section(geometry.vertices, branch, rings, sides)
            change = np.degrees(
                twist(posed, ring[:, 0] - centre) - twist(branch.centreline, rest_ring[:, 0] - rest_centre)
            )
            step = np.linalg.norm(np.diff(posed, axis=0), axis=1)
            assert (np.abs(np.diff(change)) / step).max() < 1.2, f"{branch.name} {name}: twist concentrated"
            # the last section faces where the thigh carries it
            end = unit_rows(thigh @ branch.width_axis[-1])
            assert np.degrees(np.arccos(np.clip(end @ unit_rows(ring[-1, 0] - centre[-1]), -1, 1))) < 3.0


def unit_rows(vector):
    return vector / np.linalg.norm(vector)


@pytest.mark.parametrize("variant", ["usual", DIVIDED])
def test_nerve_enters_from_the_pelvis_and_both_ends_are_rounded(variant, landmarks, muscles):
    geometry = build_nerve("right", variant)
    notch, spine = landmarks["greater_sciatic_notch_right"], landmarks["ischial_spine_right"]
    piriformis = muscles["piriformis_right"].vertices
    for branch in geometry.branches:
        top = branch.centreline[0]
        # inside the pelvis: medial to the sciatic notch and the spine, in front of piriformis
        assert top[2] < min(notch[2], spine[2]) - 8, f"{branch.name} starts at {top.round(1)}"
        column = piriformis[(np.abs(piriformis[:, 1] - top[1]) < 8) & (np.abs(piriformis[:, 2] - top[2]) < 8)]
        assert len(column) and top[0] > column[:, 0].max(), "the nerve starts anterior to piriformis"
        part = geometry.vertices[branch.vertex_slice]
        poles = part[-2:]
        for pole, ring, outward in ((poles[0], 0, -1), (poles[1], -1, 1)):
            tangent = unit_rows(branch.centreline[ring] - branch.centreline[ring - outward])
            reach = (pole - branch.centreline[ring]) @ tangent
            assert reach > 0.8 * max(branch.half_width[ring], branch.half_thickness[ring]), "rounded cap"
    edges = Counter((int(a), int(b)) for f in geometry.faces for a, b in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])))
    assert set(edges.values()) == {1} and all((b, a) in edges for a, b in edges), "closed and consistently wound"
