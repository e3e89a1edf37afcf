"""The one geometry module: rays, normals, volume, polylines and transforms, checked on shapes with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.anatomy.geometry import (
    ClosedVolumes,
    apply,
    cross,
    first_hits,
    intervals,
    is_watertight,
    length,
    polyline_lengths,
    ray_hits,
    resample,
    self_crossings,
    signed_volume,
    tangents,
    vertex_normals,
)
from viewer.anatomy.nerve_mesh import sphere


def cube(side: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """A closed axis-aligned cube centred on the origin, 12 outward triangles."""
    h = side / 2
    vertices = np.array([[x, y, z] for x in (-h, h) for y in (-h, h) for z in (-h, h)], dtype=float)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = np.array([tri for a, b, c, d in quads for tri in ((a, b, c), (a, c, d))], dtype=np.int64)
    if signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1].copy()
    return vertices, faces


def test_volume_of_a_cube_and_its_sign():
    vertices, faces = cube(3.0)
    assert signed_volume(vertices, faces) == pytest.approx(27.0)
    assert signed_volume(vertices, faces[:, ::-1]) == pytest.approx(-27.0)
    assert signed_volume(vertices + np.array([10.0, -4.0, 7.0]), faces) == pytest.approx(27.0)  # translation-free
    assert is_watertight(faces)
    assert not is_watertight(faces[:-1])


def test_closed_volumes_measure_several_meshes_in_one_pass_far_from_the_origin():
    """Muscle-sized meshes 20 cm from the origin, one vertex array: each volume as signed_volume gives it."""
    small, small_faces = sphere(np.array([150.0, -120.0, 90.0]), 18.0, resolution=24)  # 24 cm^3, like a gemellus
    box, box_faces = cube(40.0)
    box = box + np.array([-160.0, 110.0, -100.0])
    points = np.concatenate([small, box])
    faces = np.concatenate([small_faces, box_faces[:, ::-1] + len(small)])  # the box wound inward: negative
    volumes = ClosedVolumes(faces, np.array([0, len(small_faces)]))(points)
    assert volumes.shape == (2,)
    assert volumes[0] == pytest.approx(signed_volume(small, small_faces), rel=1e-4)
    assert volumes[1] == pytest.approx(-(40.0**3), rel=1e-4)


def test_sphere_normals_point_outward():
    vertices, faces = sphere(np.array([5.0, -3.0, 2.0]), 10.0, resolution=24)
    normals = vertex_normals(vertices, faces)
    radial = (vertices - np.array([5.0, -3.0, 2.0])) / 10.0
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0)
    assert np.all(np.einsum("ij,ij->i", normals, radial) > 0.98)
    assert np.all(np.einsum("ij,ij->i", vertex_normals(vertices, faces[:, ::-1]), radial) < -0.98)


def test_ray_from_inside_a_closed_mesh_crosses_it_an_odd_number_of_times():
    vertices, faces = sphere(np.zeros(3), 10.0, resolution=24)
    rng = np.random.default_rng(3)
    directions = rng.normal(size=(50, 3))
    inside = rng.uniform(-4, 4, size=(50, 3))
    outside = inside + np.array([40.0, 0.0, 0.0])
    for hits in ray_hits(vertices, faces, inside, directions):
        assert len(hits) == 1
    for hits in ray_hits(vertices, faces, outside, directions):
        assert len(hits) % 2 == 0
    # straight through the centre: in at 30 - r, out at 30 + r (a UV sphere's chords are slightly shorter)
    (through,) = ray_hits(vertices, faces, np.array([[-30.0, 0.1, 0.2]]), np.array([[1.0, 0.0, 0.0]]))
    assert len(through) == 2 and intervals(through)[0] == pytest.approx((20.0, 40.0), abs=0.2)


def test_ray_along_a_shared_edge_or_through_a_vertex_counts_one_crossing():
    vertices, faces = cube(2.0)
    # (0, 0) on the face x = +1 lies on the diagonal both of that face's triangles share
    (diagonal,) = ray_hits(vertices, faces, np.array([[-5.0, 0.0, 0.0]]), np.array([[1.0, 0.0, 0.0]]))
    assert diagonal == pytest.approx([4.0, 6.0])
    # a ray through a cube corner (shared by three faces and up to six triangles) crosses once going in
    corner = np.array([[3.0, 3.0, 3.0]])
    (through_corner,) = ray_hits(vertices, faces, corner, -corner)
    assert len(through_corner) == 2
    assert through_corner[0] == pytest.approx(2.0 / 3.0, abs=1e-6)


def test_first_hits_is_the_nearest_crossing_along_the_unit_direction_or_inf():
    vertices, faces = cube(2.0)
    origins = np.array([[-5.0, 0.3, 0.2], [0.0, 0.0, 0.0], [-5.0, 3.0, 0.0]])
    directions = np.array([[10.0, 0.0, 0.0], [0.0, 0.0, 2.0], [1.0, 0.0, 0.0]])  # not unit on purpose
    assert first_hits(vertices, faces, origins, directions) == pytest.approx([4.0, 1.0, np.inf])


def test_resample_spaces_points_evenly_and_keeps_the_ends():
    polyline = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 9.0, 0.0]])  # 10 mm, one sharp bend
    points = resample(polyline, 11)
    assert points[0] == pytest.approx(polyline[0]) and points[-1] == pytest.approx(polyline[-1])
    assert np.linalg.norm(np.diff(points, axis=0), axis=1) == pytest.approx(np.full(10, 1.0))
    assert polyline_lengths(points[None])[0] == pytest.approx(10.0)


def test_tangents_of_a_stack_of_polylines_are_unit_and_follow_the_line():
    line = np.stack([np.linspace(0, 1, 6), np.linspace(0, 2, 6), np.zeros(6)], axis=1)
    stack = np.stack([line, line * [1, -1, 1]])
    result = tangents(stack)
    assert result.shape == stack.shape
    assert result[0] == pytest.approx(np.tile([1, 2, 0] / np.sqrt(5), (6, 1)))
    assert result[1] == pytest.approx(np.tile([1, -2, 0] / np.sqrt(5), (6, 1)))


def test_apply_rotates_then_translates():
    transform = np.eye(4)
    transform[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]  # 90 degrees about Z
    transform[:3, 3] = [10.0, 0.0, 0.0]
    assert apply(transform, [[1.0, 0.0, 0.0], [0.0, 2.0, 3.0]]) == pytest.approx(
        np.array([[10.0, 1.0, 0.0], [8.0, 0.0, 3.0]])
    )


def test_one_bone_to_segment_map_carries_leg_bones_with_their_side_and_the_rest_with_the_pelvis():
    from viewer.anatomy.kinematics import SEGMENT_OF_BONE, SEGMENTS, bone_segment

    assert set(SEGMENT_OF_BONE.values()) == set(SEGMENTS)
    assert bone_segment("femur_right") == "thigh_right"
    assert bone_segment("patella_left") == "shank_left"
    assert bone_segment("tibia_fibula_right") == "shank_right"
    assert bone_segment("hip_bone_left") == "pelvis"
    assert bone_segment("sacrum") == "pelvis"
    assert bone_segment("") == "pelvis"


def test_the_bone_lists_of_each_part_are_read_from_the_one_map():
    """Every bone mesh of the atlas is carried by exactly one rigid part of its side (or the pelvis), and the
    muscle build, its obstacle grids, the nerve and the skin weights use those lists, not lists of their own."""
    from viewer.anatomy.bones import SIDES
    from viewer.anatomy.kinematics import SEGMENTS, bone_segment, segment_bones
    from viewer.anatomy.muscles.build import PELVIC_BONES, RIGHT_BONES
    from viewer.anatomy.muscles.pose_grids import GRID_BONES
    from viewer.paths import meshes_dir

    assert segment_bones("pelvis", "right") == ("hip_bone_right", "sacrum")
    assert segment_bones("thigh", "left") == ("femur_left",)
    assert segment_bones("shank", "right") == ("tibia_fibula_right", "patella_right")
    with pytest.raises(KeyError, match="unknown segment 'foot'"):
        segment_bones("foot", "right")
    bone_meshes = {p.stem for p in meshes_dir().glob("*.ply") if not p.stem.startswith("skin")}
    for side in SIDES:
        listed = [bone for segment in SEGMENTS for bone in segment_bones(segment, side)]
        assert len(listed) == len(set(listed)) and set(listed) <= bone_meshes
        for segment in ("thigh", "shank"):
            assert all(bone_segment(bone) == f"{segment}_{side}" for bone in segment_bones(segment, side))
    assert bone_meshes == {b for side in SIDES for s in SEGMENTS for b in segment_bones(s, side)}
    assert RIGHT_BONES == ("hip_bone_right", "sacrum", "femur_right", "tibia_fibula_right", "patella_right")
    assert PELVIC_BONES == ("hip_bone_right", "sacrum")
    assert set(GRID_BONES["pelvis"]) == {"hip_bone_right", "hip_bone_left", "sacrum"}
    assert GRID_BONES["tibia_left"] == ("tibia_fibula_left", "patella_left")


def test_cross_and_length_match_numpy_on_rows_and_on_coordinate_rows():
    """The one cross product serves (n, 3) rows (muscle posing) and (3, n) coordinate rows (skinning)."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 50, 3))
    np.testing.assert_allclose(cross(a, b), np.cross(a, b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cross(a.T, b.T, axis=0), np.cross(a, b).T, rtol=1e-12, atol=1e-12)
    assert cross(a.T, b.T, axis=0).shape == (3, 50)
    np.testing.assert_allclose(length(a), np.linalg.norm(a, axis=1), rtol=1e-12)
    np.testing.assert_allclose(length(a.reshape(5, 10, 3)), np.linalg.norm(a, axis=1).reshape(5, 10), rtol=1e-12)


def test_rays_that_pass_beside_every_triangle_hit_nothing():
    from viewer.anatomy.geometry import ray_hit_distance

    triangle = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    origins = np.array([[5.0, 5.0, -1.0], [6.0, 5.0, -1.0]])  # beside the triangle: culled before any test
    assert np.isinf(ray_hit_distance(triangle, np.array([[0, 1, 2]]), origins, [0.0, 0.0, 1.0])).all()
    hit = ray_hit_distance(triangle, np.array([[0, 1, 2]]), [[0.2, 0.2, -1.0]], [0.0, 0.0, 1.0])
    assert np.allclose(hit, 1.0)


def test_a_ray_mesh_finds_every_crossing_the_test_of_all_triangles_finds_and_the_same_normals():
    """RayMesh tests only the triangles whose bounding sphere a ray's line passes through: nothing is lost,
    not even a hit in the barycentric slack just beyond a corner (outside the triangle's own sphere)."""
    from viewer.anatomy.geometry import RayMesh, ray_hit_distance

    vertices, faces = sphere(np.array([5.0, -3.0, 2.0]), 10.0, resolution=24)
    mesh = RayMesh(vertices, faces)
    rng = np.random.default_rng(5)
    origins = rng.uniform(-30, 30, size=(300, 3))
    directions = np.array([5.0, -3.0, 2.0]) + rng.uniform(-9, 9, size=(300, 3)) - origins  # many hit, some miss
    first = np.array([found[0] if len(found) else np.inf for found in mesh.hits(origins, directions)])
    exact = np.array([ray_hit_distance(vertices, faces, o[None], d)[0] for o, d in zip(origins, directions, strict=True)])
    assert np.isfinite(first).sum() > 100 and np.isinf(first).sum() > 10
    assert np.allclose(first * np.linalg.norm(directions, axis=1), exact, atol=1e-2)  # (slack at edges)
    big = RayMesh(np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [0.0, 100.0, 0.0]]), np.array([[0, 1, 2]]))
    (beyond_corner,) = big.hits(np.array([[100.05, 0.0, -1.0]]), np.array([[0.0, 0.0, 1.0]]))
    assert beyond_corner == pytest.approx([1.0])  # u = 1.0005: within the slack
    for point in rng.uniform(-8, 8, size=(20, 3)) + np.array([5.0, -3.0, 2.0]):
        centroids = vertices[faces].mean(axis=1)
        near = np.linalg.norm(centroids - point, axis=1) < 6.0
        expected = np.cross(*(vertices[faces[near, k]] - vertices[faces[near, 0]] for k in (1, 2))).sum(axis=0)
        if near.any():
            assert np.allclose(mesh.normal_near(point, 6.0), expected / np.linalg.norm(expected))


# --- voxel grids of closed meshes (muscles/distance_field.py) ------------------------------------------------
def test_voxels_inside_a_turned_box_are_found_in_a_grid_far_larger_than_it_and_in_one_cutting_through_it():
    """Occupancy and winding number are counted in the mesh's own box of the grid only: a voxel is inside exactly when
    its centre is inside the box, whether the grid holds the box with room to spare or cuts through its floor, roof
    and sides (then the columns start inside, or stay inside up to the grid's top)."""
    from viewer.anatomy.geometry import apply
    from viewer.anatomy.muscles.distance_field import inside_voxels, winding_voxels

    vertices, faces = cube(side=1.0)
    half = np.array([23.3, 11.7, 17.9])
    turn = np.eye(4)
    angle = np.radians(25.0)
    turn[:3, :3] = [[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0.0, 0.0, 1.0]]
    turn[:3, 3] = [5.2, -3.1, 1.4]
    solid = apply(turn, vertices * 2 * half)
    for low, high in (([-120.0, -90.0, -100.0], [110.0, 95.0, 80.0]), ([-10.0, -12.0, -9.0], [14.0, 6.0, 11.0])):
        spacing = 1.5
        low = np.array(low)
        shape = tuple(int(n) for n in np.ceil((np.array(high) - low) / spacing) + 1)
        centres = low + spacing * np.stack(np.indices(shape), axis=-1).reshape(-1, 3)
        local = (centres - turn[:3, 3]) @ turn[:3, :3]  # into the box's own frame
        expected = np.all(np.abs(local) < half, axis=1).reshape(shape)
        assert expected.any() and not expected.all()
        np.testing.assert_array_equal(inside_voxels(solid, faces, low, spacing, shape), expected)
        np.testing.assert_array_equal(winding_voxels(solid, faces, low, spacing, shape), expected.astype(int))


def test_inside_depth_is_the_exact_transform_of_the_occupied_voxels():
    """Cropped to the occupied box and found by the bounded search where nothing lies deeper than its reach
    (else by the transform): the same values as the feature transform, to the last bit."""
    from scipy import ndimage

    from viewer.anatomy.muscles.distance_field import inside_depth

    rng = np.random.default_rng(11)
    for trial in range(30):
        shape = tuple(int(n) for n in rng.integers(5, 40, 3))
        occupied = ndimage.binary_dilation(rng.random(shape) < rng.uniform(0.001, 0.05), iterations=trial % 6)
        if trial % 7 == 0:
            occupied[0] = True  # touching the grid's side
        reach = int(rng.integers(1, 12))
        assert np.array_equal(inside_depth(occupied, reach), ndimage.distance_transform_edt(occupied)), trial
    assert np.array_equal(inside_depth(np.ones((6, 7, 8), bool)), ndimage.distance_transform_edt(np.ones((6, 7, 8))))
    assert not inside_depth(np.zeros((4, 4, 4), bool)).any()


def test_winding_numbers_at_some_voxels_are_those_of_the_whole_grid():
    from viewer.anatomy.muscles.distance_field import winding_at, winding_voxels

    outer = sphere(np.array([1.0, 2.0, 3.0]), 10.0, resolution=16)
    inner = sphere(np.array([1.0, 2.0, 3.0]), 5.0, resolution=16)
    vertices = np.vstack([outer[0], inner[0]])  # a sphere inside another, both outward: wound twice in the middle
    faces = np.vstack([outer[1], inner[1] + len(outer[0])])
    origin, spacing, shape = np.array([-12.0, -10.0, -9.0]), 0.9, (30, 28, 27)
    whole = winding_voxels(vertices, faces, origin, spacing, shape)
    assert set(np.unique(whole)) == {0, 1, 2}
    voxels = np.random.default_rng(2).integers(0, shape, size=(500, 3))
    assert np.array_equal(winding_at(vertices, faces, origin, spacing, shape, voxels), whole[tuple(voxels.T)])
    few = np.array([[3, 10, 12], [19, 27, 18], [15, 14, 15], [15, 14, 15]])  # a block's corners, one voxel twice
    assert np.array_equal(winding_at(vertices, faces, origin, spacing, shape, few), whole[tuple(few.T)])


def test_near_distance_is_the_exact_transform_up_to_its_reach_and_only_greater_beyond():
    from scipy import ndimage

    from viewer.anatomy.muscles.distance_field import near_distance

    grid = np.indices((40, 31, 27)).transpose(1, 2, 3, 0)
    ball = ((grid - [12, 10, 9]) ** 2).sum(axis=-1) < 30
    occupied = ball | np.all(np.abs(grid - [31, 22, 19]) <= [2, 4, 1], axis=-1)  # and a brick
    exact = ndimage.distance_transform_edt(~occupied)
    for reach in (1, 3, 5):
        near = near_distance(occupied, reach)
        within = exact <= reach
        assert within.any() and not within.all()
        np.testing.assert_array_equal(near[within], exact[within])  # bit for bit
        assert np.all((near[~within] > reach) & (near[~within] <= reach + 1))


def test_self_crossings_finds_the_triangles_where_a_surface_passes_through_itself():
    """Two overlapping balls as one mesh cross along the circle where they meet; one ball, two apart, or two cubes
    touching face to face at a shared corner's plane do not cross."""
    vertices, faces = sphere((0.0, 0.0, 0.0), 10.0, resolution=48)
    assert len(self_crossings(vertices, faces)) == 0
    for shift, crossing in (((12.0, 3.0, 0.0), True), ((25.0, 0.0, 0.0), False)):
        both = np.vstack([vertices, vertices + shift]), np.vstack([faces, faces + len(vertices)])
        pairs = self_crossings(*both)
        assert (len(pairs) > 0) == crossing
        # every pair joins one triangle of each ball, each on the other ball's sphere (where the two meet)
        assert np.all((pairs[:, 0] < len(faces)) & (pairs[:, 1] >= len(faces)))
        centres = both[0][both[1][pairs]].mean(axis=2)  # (k, 2, 3): the pair's two triangles
        to_other = np.linalg.norm(centres - np.array([shift, (0.0, 0.0, 0.0)]), axis=2)
        assert np.all(np.abs(to_other - 10.0) < 1.0)
    small, small_faces = cube(2.0)
    big, big_faces = cube(10.0)  # a triangle far larger than its neighbours still meets the edges that pierce it
    pierced = np.vstack([big, small + np.array([5.0, 0.3, 0.2])]), np.vstack([big_faces, small_faces + len(big)])
    assert len(self_crossings(*pierced)) > 0


def test_self_crossings_among_some_faces_are_the_pairs_with_one_of_them():
    """Asked for the pairs with one of some faces (a band of one ball, on either side of where the balls meet, or
    none), self_crossings gives exactly those of all the pairs."""
    vertices, faces = sphere((0.0, 0.0, 0.0), 10.0, resolution=48)
    both = np.vstack([vertices, vertices + np.array([12.0, 3.0, 0.0])]), np.vstack([faces, faces + len(vertices)])
    pairs = self_crossings(*both)
    centres = both[0][both[1]].mean(axis=1)
    band = centres[:, 1] > 2.0
    for among in (band, band & (np.arange(len(centres)) < len(faces)), centres[:, 1] > 99):
        expected = pairs[among[pairs[:, 0]] | among[pairs[:, 1]]]
        assert len(expected) < len(pairs)
        np.testing.assert_array_equal(self_crossings(*both, among=among), expected)
