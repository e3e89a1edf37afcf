"""Display forms bound to their cages: exact at rest, rigid with a rigid cage, following the thigh in the scene."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from viewer.anatomy.bones import Surface, load_landmarks
from viewer.anatomy.geometry import dihedral_degrees, signed_volume, subdivide
from viewer.anatomy.kinematics import LegPose, segment_transforms
from viewer.anatomy.muscles import build_muscles, load_muscle_specs
from viewer.anatomy.muscles.binding import (
    SHEET_REACH,
    bind_surface,
    cell_corners,
    closest_points,
    locate,
    sheet_anchors,
    trilinear,
)
from viewer.anatomy.muscles.form_metrics import (
    FOLD_DEGREES,
    IN_BONE_MM,
    MAX_CREASE_SHARE,
    MAX_INSIDE_SHARE,
    MOTION_POSES,
    THERAPIST_POSES,
    bone_depths,
    crease_share,
    overlap_share,
    volume_ratio,
)
from viewer.anatomy.muscles.forms import band_surface, fine_sheet
from viewer.anatomy.muscles.forms_posing import FormDeformer, SquashedRelief
from viewer.anatomy.muscles.posing import PosedMuscle
from viewer.anatomy.muscles.rods import RODS
from viewer.anatomy.muscles.sheet import box_faces, box_vertices, sheet_fibre_uv
from viewer.model.structure_builders import muscle_deformer

N_U, N_S, THICKNESS = 5, 9, 6.0


def bent_cage() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A curved (u, s) sheet 40 x 80 mm thickened 6 mm: cage vertices, faces and fibres (deep face)."""
    u, s = np.meshgrid(np.linspace(0, 40, N_U), np.linspace(0, 80, N_S), indexing="ij")
    fibres = np.stack([u, s, 0.004 * (s - 40) ** 2 + 0.002 * u**2], axis=-1)
    lower, upper = fibres, fibres + np.array([0.0, 0.0, THICKNESS])
    vertices, faces = box_vertices(lower, upper), box_faces(N_U, N_S)
    return vertices, (faces if signed_volume(vertices, faces) > 0 else faces[:, ::-1]), fibres  # wound outward


def rounded_form(cage: np.ndarray, faces: np.ndarray, outward_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """A closed surface near the cage: subdivided, and pushed ``outward_mm`` beyond it along +/- z."""
    vertices, faces = subdivide(*subdivide(cage, faces))
    middle = THICKNESS / 2 + 0.004 * (vertices[:, 1] - 40) ** 2 + 0.002 * vertices[:, 0] ** 2
    vertices = vertices + np.outer(np.sign(vertices[:, 2] - middle), [0.0, 0.0, outward_mm])
    return vertices, faces


def rotation(degrees: float, axis: int) -> np.ndarray:
    angle = np.radians(degrees)
    c, s = np.cos(angle), np.sin(angle)
    others = [k for k in range(3) if k != axis]
    matrix = np.eye(3)
    matrix[np.ix_(others, others)] = [[c, -s], [s, c]]
    return matrix


def test_the_bare_map_reproduces_the_rest_surface_and_no_motion_moves_nothing():
    cage, faces, fibres = bent_cage()
    vertices, form_faces = rounded_form(cage, faces, outward_mm=0.0)
    bare = bind_surface(vertices, form_faces, cage, fibres, passes=0)
    assert np.abs(bare.matrix @ cage - vertices).max() < 1e-6
    smoothed = bind_surface(vertices, form_faces, cage, fibres)
    assert np.array_equal(smoothed.posed(vertices, cage, cage), vertices)
    assert np.allclose(np.asarray(smoothed.matrix.sum(axis=1)).ravel(), 1.0)  # translations exact


def test_vertices_beyond_the_box_are_reproduced_too():
    cage, faces, fibres = bent_cage()
    vertices, form_faces = rounded_form(cage, faces, outward_mm=4.0)
    bare = bind_surface(vertices, form_faces, cage, fibres, passes=0)
    assert np.abs(bare.matrix @ cage - vertices).max() < 1e-3


def test_a_rigidly_moved_cage_moves_the_form_rigidly():
    cage, faces, fibres = bent_cage()
    vertices, form_faces = rounded_form(cage, faces, outward_mm=3.0)
    turn, shift = rotation(70.0, 0) @ rotation(30.0, 2), np.array([12.0, -40.0, 7.0])
    moved_cage = cage @ turn.T + shift
    expected = vertices @ turn.T + shift
    bare = bind_surface(vertices, form_faces, cage, fibres, passes=0)
    assert np.abs(bare.posed(vertices, cage, moved_cage) - expected).max() < 0.1
    smoothed = bind_surface(vertices, form_faces, cage, fibres)
    posed = smoothed.posed(vertices, cage, moved_cage)
    assert np.abs(posed - expected).max() < 0.01  # smoothing keeps an affine motion exact
    lines = smoothed.posed_fibre_lines(posed)
    assert np.abs(lines - (smoothed.fibre_lines @ turn.T + shift)).max() < 0.01


def test_smoothing_the_displacement_keeps_a_kink_of_the_cage_off_the_surface():
    cage, faces, fibres = bent_cage()
    vertices, form_faces = rounded_form(cage, faces, outward_mm=1.0)
    kinked = cage.copy()
    grid = np.arange(N_U * N_S).reshape(N_U, N_S)
    middle = np.concatenate([grid[:, N_S // 2], grid[:, N_S // 2] + N_U * N_S])
    kinked[middle, 2] += 8.0  # one row of the cage jumps: a crease at the cell boundaries on both sides
    bare = bind_surface(vertices, form_faces, cage, fibres, passes=0).posed(vertices, cage, kinked)
    smoothed = bind_surface(vertices, form_faces, cage, fibres).posed(vertices, cage, kinked)
    assert dihedral_degrees(smoothed, form_faces).max() < dihedral_degrees(bare, form_faces).max()


def test_blended_maps_reproduce_the_form_and_carry_a_rigid_motion_exactly():
    cage, faces, fibres = bent_cage()
    vertices, form_faces = rounded_form(cage, faces, outward_mm=4.0)
    bare = bind_surface(vertices, form_faces, cage, fibres, passes=0, reach=1.0)
    assert np.abs(bare.matrix @ cage - vertices).max() < 1e-3  # beyond the box too
    turn, shift = rotation(70.0, 0) @ rotation(30.0, 2), np.array([12.0, -40.0, 7.0])
    blended = bind_surface(vertices, form_faces, cage, fibres, reach=1.0)
    posed = blended.posed(vertices, cage, cage @ turn.T + shift)
    assert np.abs(posed - (vertices @ turn.T + shift)).max() < 0.01


def test_blended_maps_carry_a_wavy_cage_without_kinks():
    """A cage waving smoothly (1.5 mm, three waves along its fibres): bound cell by cell, the form beyond the box
    kinks where the cells' maps meet (its edges bend up to 17 degrees more than at rest); carried by blended maps,
    under 6 degrees more."""
    cage, faces, fibres = bent_cage()
    vertices, form_faces = rounded_form(cage, faces, outward_mm=4.0)
    wavy = cage + np.outer(1.5 * np.sin(cage[:, 1] / 80.0 * 6.0 * np.pi), [0.0, 0.0, 1.0])
    rest = dihedral_degrees(vertices, form_faces)
    change = {
        reach: np.abs(
            dihedral_degrees(bind_surface(vertices, form_faces, cage, fibres, reach=reach).posed(vertices, cage, wavy), form_faces)
            - rest
        ).max()
        for reach in (None, 1.0)
    }
    assert change[1.0] < 8.0 < 12.0 < change[None], change


def wrapped(points: np.ndarray, radius: float) -> np.ndarray:
    """(n, 3) points wrapped round a cylinder along x of ``radius`` mm (the sheet's z = 0 on it): a smooth bend."""
    angle = points[:, 1] / radius
    out = points.copy()
    out[:, 1] = (radius - points[:, 2]) * np.sin(angle)
    out[:, 2] = radius - (radius - points[:, 2]) * np.cos(angle)
    return out


def test_a_thin_band_bound_at_its_mid_sheet_keeps_its_faces_apart_when_bent():
    """A 2 mm band swept 10 mm off its cage (forms.band_surface, as the iliotibial band is draped over the muscles)
    and the cage wrapped round a 60 mm radius: bound cell by cell with its displacement smoothed over its uneven mesh
    (as the band was), its rounded margins turn inside out (2.1% of its edges crease, up to 116 degrees); carried by
    the blended map at each vertex's mid-sheet point (binding.sheet_anchors) it stays smooth and 2 mm thick."""
    cage, _, fibres = bent_cage()
    band = band_surface(fine_sheet(fibres + np.array([0.0, 0.0, 10.0]), 16, 40), 1.0)
    posed_cage = wrapped(cage, 60.0)
    smoothed = bind_surface(band.vertices, band.faces, cage, fibres).posed(band.vertices, cage, posed_cage)
    assert crease_share(smoothed, band.faces) > MAX_CREASE_SHARE
    anchors = sheet_anchors(band.vertices, band.faces, 1.0)
    binding = bind_surface(band.vertices, band.faces, cage, fibres, passes=0, reach=SHEET_REACH, anchors=anchors)
    posed = binding.posed(band.vertices, cage, posed_cage)
    assert crease_share(posed, band.faces) < MAX_CREASE_SHARE
    assert dihedral_degrees(posed, band.faces).max() < dihedral_degrees(band.vertices, band.faces).max() + 10.0
    half_thickness = np.linalg.norm(posed - binding.anchor_matrix @ posed_cage, axis=1)  # it thickens about them
    assert half_thickness.min() > 0.8 and half_thickness.max() < 1.35



def test_fibre_coordinates_measure_across_the_rest_sheet_and_along_the_fibres():
    cage, faces, fibres = bent_cage()
    vertices, form_faces = rounded_form(cage, faces, outward_mm=0.0)
    binding = bind_surface(vertices, form_faces, cage, fibres)
    across, along = binding.fibre_uv.T
    width = np.linalg.norm(np.diff(fibres[:, N_S // 2], axis=0), axis=1).sum()
    at_far_edge = np.isclose(vertices[:, 0], 40.0)
    assert np.allclose(across[at_far_edge], across[at_far_edge].mean(), atol=2.0)
    assert abs(across[np.isclose(vertices[:, 0], 40.0) & np.isclose(vertices[:, 1], 40.0)].mean() - width) < 0.5
    assert np.allclose(across[np.isclose(vertices[:, 0], 0.0)], 0.0, atol=1e-6)
    assert along.min() == pytest.approx(0.0, abs=1e-9) and along.max() == pytest.approx(1.0)
    assert np.allclose(along, np.clip(vertices[:, 1] / 80.0, 0, 1), atol=0.02)


def test_fibre_lines_lie_on_the_form():
    cage, faces, fibres = bent_cage()
    vertices, form_faces = rounded_form(cage, faces, outward_mm=2.0)
    binding = bind_surface(vertices, form_faces, cage, fibres)
    points = binding.fibre_lines.reshape(-1, 3)
    triangle, weights = closest_points(vertices, form_faces, points)
    on_surface = np.einsum("pk,pkd->pd", weights, vertices[form_faces[triangle]])
    assert np.abs(on_surface - points).max() < 1e-6
    lifted_top = fibres[1:-1, 1:-1, 2] + THICKNESS + 2.0  # inner fibres: on the top face, lifted with the form
    assert np.abs(binding.fibre_lines[1:-1, 1:-1, 2] - lifted_top).max() < 0.5


def test_crease_share_counts_sharp_edges():
    cage, faces, _ = bent_cage()
    assert crease_share(cage, faces) > 0.05  # the box's square edges
    vertices, form_faces = subdivide(cage, faces)
    assert crease_share(vertices, form_faces) < crease_share(cage, faces)
    assert volume_ratio(cage, cage * 1.1, faces) == pytest.approx(1.331)


class ThinningCages:
    """A stand-in cage deformer: pulls the top face of the cage towards the deep face (a cage losing volume)."""

    def __init__(self, cage: np.ndarray, keep: float) -> None:
        self.cage, self.keep = cage, keep

    def pose(self, transforms, poses=None):
        half = len(self.cage) // 2
        thinner = self.cage.copy()
        thinner[half:] = self.cage[:half] + self.keep * (self.cage[half:] - self.cage[:half])
        return {"sheet": PosedMuscle(thinner, self.cage[:half].reshape(N_U, N_S, 3), thinner[half:])}


def test_a_form_that_loses_volume_is_thickened_back_from_its_anchors():
    cage, faces, fibres = bent_cage()
    vertices, form_faces = rounded_form(cage, faces, outward_mm=1.0)
    binding = bind_surface(vertices, form_faces, cage, fibres)
    muscle = SimpleNamespace(vertices=cage, form=Surface(vertices, form_faces), binding=binding)
    thinning = ThinningCages(cage, keep=0.7)
    carried = binding.posed(vertices, cage, thinning.pose({})["sheet"].vertices)
    assert volume_ratio(vertices, carried, form_faces) < 0.85  # what the bare map gives
    posed = FormDeformer(thinning, {"sheet": muscle}).pose({})["sheet"]
    assert abs(volume_ratio(vertices, posed.vertices, form_faces) - 1.0) < 0.03
    assert np.allclose(posed.outer_fibres, binding.posed_fibre_lines(posed.vertices))  # lines stay on the form


def rippled_tube(rings: int = 121, around: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """An open tube (rings * around, 3) 120 mm long along z, 10 mm in radius, rippled 0.5 mm every 3 mm along it."""
    z, theta = np.meshgrid(np.linspace(0.0, 120.0, rings), np.linspace(0.0, 2 * np.pi, around, endpoint=False))
    radius = 10.0 + 0.5 * np.sin(2 * np.pi * z / 3.0)
    vertices = np.column_stack([(radius * np.cos(theta)).T.ravel(), (radius * np.sin(theta)).T.ravel(), z.T.ravel()])
    ring, step = np.meshgrid(np.arange(rings - 1), np.arange(around), indexing="ij")
    a, b = ring * around + step, ring * around + (step + 1) % around
    c, d = a + around, b + around
    faces = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    return vertices, faces


def test_a_squeezed_spindle_loses_its_relief_and_a_moved_one_keeps_it():
    """A spindle's relief is flattened as much as its form is squeezed (forms_posing.SquashedRelief): the ripples of a
    tube squeezed to half its length and swollen across to keep its volume come out under 0.55 of their carried
    height (0.48: the envelope keeps 0.27 of them, the rest is scaled by the least stretch, a half, squared; scaled by
    the stretch itself, 0.64), and the tube at rest or moved rigidly is left as carried."""
    vertices, faces = rippled_tube()
    relief = SquashedRelief(vertices, faces)
    assert np.allclose(relief(vertices), vertices, atol=1e-4)
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    moved = vertices @ turn.T + np.array([5.0, -3.0, 40.0])
    assert np.allclose(relief(moved), moved, atol=1e-3)
    squeezed = vertices * np.array([np.sqrt(2.0), np.sqrt(2.0), 0.5])
    middle = (squeezed[:, 2] > 15.0) & (squeezed[:, 2] < 45.0)  # away from the open ends

    def ripple(points: np.ndarray) -> float:
        return float(np.ptp(np.linalg.norm(points[middle, :2], axis=1)))

    assert ripple(relief(squeezed)) < 0.55 * ripple(squeezed)


# --- the real muscles ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def muscles():
    return build_muscles()


@pytest.fixture(scope="module")
def deformer(muscles):
    return muscle_deformer(muscles)


def posed_at(deformer, pose: LegPose) -> dict:
    poses = {"right": pose, "left": LegPose()}
    return deformer.pose(segment_transforms(poses, load_landmarks()), poses)


def test_every_muscle_has_a_closed_form_bound_exactly_at_rest(muscles):
    for name, muscle in muscles.items():
        form = muscle.form
        assert form is not None and len(form.vertices) != len(muscle.vertices), name
        assert muscle.binding.matrix.shape == (len(form.vertices), len(muscle.vertices)), name
        assert np.array_equal(muscle.binding.posed(form.vertices, muscle.vertices, muscle.vertices), form.vertices)
        assert muscle.fibre_uv.shape == (len(form.vertices), 2)
        left = muscles[name.replace("_right", "_left")] if muscle.side == "right" else None
        if left is not None:  # the left side mirrors the right
            assert np.allclose(left.form.vertices * [1, 1, -1], form.vertices)


def test_the_scene_shows_the_forms_and_keeps_the_cage_lengths(scene, muscles):
    name = "gluteus_medius_right"
    assert np.array_equal(scene.vertices(name), muscles[name].form.vertices)
    assert np.array_equal(scene.structures[name].faces, muscles[name].form.faces)
    assert scene.length_mm(name) == pytest.approx(muscles[name].length_mm())


def off_segment(muscle, posed: np.ndarray, segment: np.ndarray, part: np.ndarray) -> float:
    """Median distance (mm) of the posed form's ``part`` from where the segment's motion alone would carry it."""
    carried = muscle.form.vertices[part] @ segment[:3, :3].T + segment[:3, 3]
    return float(np.median(np.linalg.norm(posed[part] - carried, axis=1)))


def test_tfl_and_the_band_follow_the_thigh_at_flexion_90(muscles, deformer):
    pose = LegPose(hip_flexion=90, knee_flexion=90)
    transforms = segment_transforms({"right": pose, "left": LegPose()}, load_landmarks())
    posed = posed_at(deformer, pose)
    tensor, band = muscles["tensor_fasciae_latae_right"], muscles["iliotibial_band_right"]
    moved = posed["tensor_fasciae_latae_right"].vertices
    on_thigh = tensor.fibre_uv[:, 1] > 0.6  # TFL's lower part, ending in the band on the thigh
    assert off_segment(tensor, moved, transforms["thigh_right"], on_thigh) < 15.0
    assert np.median(np.linalg.norm(moved[on_thigh] - tensor.form.vertices[on_thigh], axis=1)) > 60.0
    moved = posed["iliotibial_band_right"].vertices
    over_knee = band.fibre_uv[:, 1] > 0.9  # the band's end on Gerdy's tubercle rides with the shank
    assert off_segment(band, moved, transforms["shank_right"], over_knee) < 15.0


@pytest.mark.parametrize(
    "name", ["tensor_fasciae_latae_right", "iliotibial_band_right", "gluteus_maximus_right", "piriformis_right"]
)
def test_the_forms_move_with_their_cages(muscles, deformer, name):
    """Along every muscle, the form strays from rigid thigh motion as much as its cage does where the form lies.

    The cage is read at each form vertex's own place (the cage point at the vertex's parameters in its cell,
    its depth through the thickness included): the band's form has many more vertices at its origin (the rounded
    end) than its cage has rows there, so medians over the cage's own vertices compare different places; and the
    top of maximus' belly (2-3 cm thick) swings farther round the flexed hip than its deep face (read on the deep
    face, the cage strayed 88.6 mm in its second quarter where the form strays 101.1; at the form's own depth
    101.5).
    """
    pose = LegPose(hip_flexion=90, knee_flexion=90)
    thigh = segment_transforms({"right": pose, "left": LegPose()}, load_landmarks())["thigh_right"]
    posed = posed_at(deformer, pose)
    cages = posed_cages(deformer, pose)
    muscle = muscles[name]
    n_u, n_s = muscle.fibres.shape[:2]
    cell, _, parameters = locate(muscle.vertices, n_u, n_s, muscle.form.vertices)
    weights, corners = trilinear(parameters)[0], cell_corners(n_u, n_s)[cell]
    places = np.einsum("pk,pkd->pd", weights, muscle.vertices[corners])
    moved = np.einsum("pk,pkd->pd", weights, cages[name].vertices[corners])
    cage_off = np.linalg.norm(moved - (places @ thigh[:3, :3].T + thigh[:3, 3]), axis=1)
    for low in (0.0, 0.25, 0.5, 0.75):
        part = (muscle.fibre_uv[:, 1] >= low) & (muscle.fibre_uv[:, 1] <= low + 0.25)
        form_off = off_segment(muscle, posed[name].vertices, thigh, part)
        # the form's displacement is smoothed over the surface: large moves blur by up to about a tenth
        expected = float(np.median(cage_off[part]))
        assert abs(form_off - expected) < max(6.0, 0.12 * expected), (name, low, form_off, expected)


def band_inside_tfl(muscles, deformer, pose: LegPose) -> float:
    """Share of the band's form vertices inside the tensor fasciae latae's form at a pose."""
    band, tensor = "iliotibial_band_right", "tensor_fasciae_latae_right"
    posed = posed_at(deformer, pose)
    return overlap_share(posed[band].vertices, [(posed[tensor].vertices, muscles[tensor].form.faces)])


def test_the_band_stays_over_tfl_at_flexion_90_knee_90(muscles, deformer):
    """The fascia lata encloses the tensor: both ride from pelvis to thigh by where each sample lies
    (posing.FASCIA_LATA) and the band rises as the shortened tensor thickens (posing.DRAPED). Ridden by their own
    fibre fractions, with the band blind to the tensor, 2.2% of the band sank into the tensor here (1.6% from the
    baked table); 0.1% on solver-8, 0.4% on solver-9 (on the solver)."""
    assert band_inside_tfl(muscles, deformer, LegPose(hip_flexion=90, knee_flexion=90)) < MAX_INSIDE_SHARE


def test_the_band_stays_over_tfl_in_the_frog_position(muscles, deformer):
    """In the frog position the tensor, shortened, is 1.7 times as thick: 9.9% of the band sank into it (9.1%
    from the baked table); 1.8% on solver-8 from the baked table, 0.04% since the band follows the tensor's top face
    (solver-11; 2.3% with the tensor posed as a spindle rod, spindle.py), where band and tensor touch at rest, at
    the anterior superior iliac spine."""
    assert band_inside_tfl(muscles, deformer, POSES[1]) < 0.025


def test_the_band_stays_over_tfl_within_the_overlap_limit_in_the_frog_position(muscles, deformer):
    """Under 1% of the band inside the tensor in the frog position: 0.04% since the band follows the top face of the
    muscle it is draped over off that muscle's skinned place (posing.DRAPED, solver-11); 1.8% following only its
    thickening, its anterior margin over the tensor's upper belly, 9-20% of the way down the band. With the tensor
    posed as a spindle rod and the band's drape faded in from its origin (posing.DRAPE_ORIGIN_FADE), 1.34% from the
    baked table (0.71% on the solver): the pose space blended the spindle through its components and held it to its
    cage's rest volume; rebuilt from its sections as the solver left it (pose_rods, pose-space-9), 0.61%."""
    assert band_inside_tfl(muscles, deformer, POSES[1]) < MAX_INSIDE_SHARE


def posed_cages(deformer, pose: LegPose) -> dict:
    poses = {"right": pose, "left": LegPose()}
    return deformer.cages.pose(segment_transforms(poses, load_landmarks()), poses)


def test_the_volume_hold_never_takes_a_form_farther_from_its_rest_volume(muscles, deformer):
    """At flexion 90, abduction 45 and rotation 45 the tensor fasciae latae's cage is folded over: its form, carried
    bare, has 0.73 of its rest volume; thickened to the probe (1.1) it gained, so the secant's whole step (1.5) was
    taken, and there it lost: 0.68 held, 15.6% of its edges creased (10.2% bare) and 384 of its vertices through
    the female skin. A step that takes a form farther from its rest volume is not taken. (The tensor, posed as a
    spindle rod since solver-13, holds its form's volume itself, posing.SPINDLE_HOLD_STEPS, and is no longer held
    here; the forms that are must still never stray farther.)"""
    pose = MOTION_POSES["90/45/45"]
    cages, posed = posed_cages(deformer, pose), posed_at(deformer, pose)
    held = sorted(name for name in deformer.held if muscles[name].side == "right")
    assert held
    for name in held:
        muscle = muscles[name]
        bare = muscle.binding.posed(muscle.form.vertices, muscle.vertices, cages[name].vertices)
        strayed = abs(volume_ratio(muscle.form.vertices, bare, muscle.form.faces) - 1.0)
        after = abs(volume_ratio(muscle.form.vertices, posed[name].vertices, muscle.form.faces) - 1.0)
        assert after <= strayed + 1e-3, (name, round(strayed, 3), round(after, 3))


def test_the_inferior_gemellus_runs_along_the_obturator_internus_tendon_on_its_own_cage(muscles):
    """A taut chord, its cage's centre line ran 20.5 mm from the tendon's at most, behind and below it, and its
    form, drawn to the tendon, lay 11.2 mm off that centre line, so at flexion 90 it moved 12.6 mm less than its
    cage; the cage now drawn to the tendon's lower border (``alongside``), both lie there, the form touching the
    tendon's form from end to end (within a voxel: no gap in the common tendon)."""
    from scipy.spatial import cKDTree

    from viewer.anatomy.geometry import resample
    from viewer.anatomy.muscles.forms import VOXEL_MM

    gemellus, tendon = muscles["inferior_gemellus_right"], muscles["obturator_internus_right"]
    centre = gemellus.fibres.mean(axis=0)  # (n_s, 3)
    line = resample(tendon.fibres.mean(axis=0), 2000)
    assert cKDTree(line).query(centre)[0].max() < 15.0  # 14.1
    along = sheet_fibre_uv(gemellus.fibres)[..., 1].mean(axis=0)
    s = gemellus.fibre_uv[:, 1]
    touching = cKDTree(tendon.form.vertices)
    for low in np.arange(0.0, 1.0, 0.125):
        part = (s >= low) & (s <= low + 0.125)
        middle = np.array([np.interp(low + 0.0625, along, centre[:, k]) for k in range(3)])
        assert np.linalg.norm(gemellus.form.vertices[part].mean(axis=0) - middle) < 4.0, low  # 2.6 at most
        assert touching.query(gemellus.form.vertices[part])[0].min() < VOXEL_MM, low  # 0.6 at most


@pytest.mark.parametrize("name", ["piriformis_right", "quadratus_femoris_right", "inferior_gemellus_right"])
def test_the_rotator_forms_move_with_their_cages_at_their_own_fibre_fraction(muscles, deformer, name):
    """At flexion 90, each form vertex strays from rigid thigh motion as much as its cage does at the same s.

    A rounded end holds many vertices at s = 1 (half of piriformis' insertion quarter lies beyond s = 0.95),
    so quarter medians of the form and of the cage weigh different parts (8.7 mm against 16.4 for the
    piriformis insertion quarter, although the smoothing moves its vertices only 0.1 mm from the bare
    trilinear map): here every form vertex is compared with the cage's median at its own fraction.
    """
    pose = LegPose(hip_flexion=90, knee_flexion=90)
    thigh = segment_transforms({"right": pose, "left": LegPose()}, load_landmarks())["thigh_right"]
    muscle = muscles[name]
    n_u, n_s = muscle.fibres.shape[:2]
    along = sheet_fibre_uv(muscle.fibres)[..., 1].mean(axis=0)  # (n_s,) the fibres' mean fraction per sample
    rigid = muscle.vertices @ thigh[:3, :3].T + thigh[:3, 3]  # the cage: deep face rows, then top face rows
    cage_off = np.linalg.norm(posed_cages(deformer, pose)[name].vertices - rigid, axis=1).reshape(2 * n_u, n_s)
    expected = np.interp(muscle.fibre_uv[:, 1], along, np.median(cage_off, axis=0))  # per form vertex
    carried = muscle.form.vertices @ thigh[:3, :3].T + thigh[:3, 3]
    moved = np.linalg.norm(posed_at(deformer, pose)[name].vertices - carried, axis=1)
    for low in (0.0, 0.25, 0.5, 0.75):
        part = (muscle.fibre_uv[:, 1] >= low) & (muscle.fibre_uv[:, 1] <= low + 0.25)
        form_off, cage_off_here = float(np.median(moved[part])), float(np.median(expected[part]))
        # a rod's form (rods.py) turns with its sections about a centre line up to a centimetre away from it
        share = 0.15 if muscle.spec.name in RODS else 0.12
        assert abs(form_off - cage_off_here) < max(6.0, share * cage_off_here), (name, low, form_off, cage_off_here)


@pytest.mark.parametrize(
    "pose",
    [LegPose(hip_abduction=-30, hip_rotation=-45), LegPose(hip_flexion=120, hip_rotation=45)],
    ids=["external rotation 45 with adduction 30", "flexion 120 with internal rotation 45"],
)
def test_no_form_throws_a_fin_off_its_cage(muscles, deformer, pose):
    """Rounded margins continued off a thin, folding cage cell flew 167 mm (quadratus femoris, held) and 126 mm
    (tensor fasciae latae) off their cages; now the farthest, the held quadratus femoris, stays within 56 mm."""
    from scipy.spatial import cKDTree

    posed, cages = posed_at(deformer, pose), posed_cages(deformer, pose)
    for name, muscle in muscles.items():
        if muscle.side == "right":
            gap = cKDTree(cages[name].vertices).query(posed[name].vertices)[0].max()
            assert gap < 60.0, (name, gap)


POSES = THERAPIST_POSES


# IN_BONE_MM (form_metrics): deeper than the obstacle grids' error (2 mm lattice, first-order): under 1% of any rest form
SINKING: dict[str, str] = {  # strict: measured share of the form deeper than IN_BONE_MM in a bone, worst therapist position
    # (the gemelli were 5.6% and 1.3%: posed as rods, their sections are shifted until their forms are off the
    # bones, rods.Rod.lifted)
    # (quadratus femoris was 8.7% in external rotation with adduction, squeezed between ischium and femur: a cushion
    # behind the gap since, block.py)
    # (the iliotibial band was 1.10% at flexion 90 knee 90, its origin on the crest's top cutting through the crest's
    # outer lip once draped over the tensor; it arises from the outer lip since: 0.00% at every position)
}


def therapist_bone_depths(deformer, pose: LegPose) -> dict[str, np.ndarray]:
    """Each right form's depth (mm, positive inside) in the nearest bone it enters at a pose, from the posers' grids."""
    from viewer.anatomy.bones import load_bone_surfaces
    from viewer.anatomy.muscles.pose_grids import load_pose_grids

    legs = {"right": pose, "left": LegPose()}
    moves = segment_transforms(legs, load_landmarks())
    posed = {name: p.vertices for name, p in deformer.pose(moves, legs).items() if name.endswith("_right")}
    grids = load_pose_grids(load_bone_surfaces())
    return bone_depths(posed, grids, "right", moves["thigh_right"], moves["shank_right"])


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=f"issue 15: {SINKING[name]}"))
        if name in SINKING
        else name
        for name in [f"{spec.name}_right" for spec in load_muscle_specs()]
    ],
)
def test_the_forms_stay_out_of_the_bones_in_the_therapist_positions(deformer, name):
    """The cages keep clear of the bones (test_muscle_posing), and so must what is shown: a form reaches a few
    millimetres beyond its cage, and a squeezed one sank into bone by up to 12 mm (quadratus femoris; 8.7% of it more
    than 2 mm deep in external rotation with adduction until the squeezed block became a cushion behind the gap)."""
    for pose in POSES:
        share = float((therapist_bone_depths(deformer, pose)[name] > IN_BONE_MM).mean())
        assert share < MAX_INSIDE_SHARE, (pose, round(share, 4))


SQUEEZED = ("quadratus_femoris_right", LegPose(hip_flexion=10, hip_abduction=-25, hip_rotation=-35))


def test_the_forms_hold_their_volume_over_the_therapist_positions(muscles, deformer):
    for pose in POSES:
        posed = posed_at(deformer, pose)
        for name, muscle in muscles.items():
            if muscle.side == "right" and (name, pose) != SQUEEZED:  # SQUEEZED: its own strict xfail below
                ratio = volume_ratio(muscle.form.vertices, posed[name].vertices, muscle.form.faces)
                assert 0.9 < ratio < 1.1, (name, pose, ratio)


def test_quadratus_femoris_form_holds_its_volume_when_squeezed(muscles, deformer):
    name, pose = SQUEEZED
    ratio = volume_ratio(muscles[name].form.vertices, posed_at(deformer, pose)[name].vertices, muscles[name].form.faces)
    assert 0.9 < ratio < 1.1, ratio


def test_new_forms_rebuild_the_muscle_cache_but_keep_the_baked_pose_space(monkeypatch):
    from viewer.anatomy.bones import load_bone_surfaces
    from viewer.anatomy.muscles import cache
    from viewer.anatomy.pose_space import pose_space_key

    bones, landmarks = load_bone_surfaces(), load_landmarks()
    before = cache.cache_key(bones, landmarks), pose_space_key(bones, landmarks)
    monkeypatch.setattr(cache, "FORMS_VERSION", "muscle-forms-changed")
    assert cache.cache_key(bones, landmarks) != before[0]
    assert pose_space_key(bones, landmarks) == before[1]


def test_the_carried_forms_are_each_bindings_map_of_its_posed_cage(muscles, deformer):
    pose = LegPose(hip_flexion=75, hip_abduction=20, hip_rotation=-30, knee_flexion=60)
    cages = posed_cages(deformer, pose)
    posed = posed_at(deformer, pose)
    for name, muscle in muscles.items():
        binding = muscle.binding
        if muscle.side != "right" or name in deformer.held:  # held forms are thickened after the map
            continue
        expected = binding.posed(muscle.form.vertices, muscle.vertices, cages[name].vertices)
        np.testing.assert_allclose(posed[name].vertices, expected, atol=1e-3, err_msg=name)
        np.testing.assert_allclose(posed[name].outer_fibres, binding.posed_fibre_lines(expected), atol=1e-3)


def test_a_leg_that_did_not_move_keeps_its_shapes_and_the_moved_leg_is_posed_afresh(muscles, deformer):
    landmarks = load_landmarks()
    first = {"right": LegPose(hip_flexion=30), "left": LegPose(hip_flexion=50, hip_rotation=20)}
    second = {"right": LegPose(hip_flexion=60, hip_abduction=10), "left": first["left"]}
    before = deformer.pose(segment_transforms(first, landmarks), first)
    after = deformer.pose(segment_transforms(second, landmarks), second)
    fresh = muscle_deformer(muscles).pose(segment_transforms(second, landmarks), second)
    for name, muscle in muscles.items():
        np.testing.assert_allclose(after[name].vertices, fresh[name].vertices, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(after[name].outer_fibres, fresh[name].outer_fibres, atol=1e-9, err_msg=name)
        if muscle.side == "left":  # not recomputed: the very arrays of the previous pose
            assert after[name].vertices is before[name].vertices, name


# --- the broad gluteal fans in motion (issue 15) ------------------------------------------------

GLUTEAL_FANS = ("gluteus_maximus_right", "gluteus_medius_right", "gluteus_minimus_right")
# Worst share of edges bending more than 40 degrees over MOTION_POSES, as reached (pose space of solver-8, the fans'
# cages solved as elastic bodies, posing.FANS; their forms carried by blended local affine maps of the cages,
# binding.blended_matrix, muscle-forms-22; medius' cells drawn lightly to its sheet, shell.DEEP_PULLS, solver-9):
# maximus 0.43% (external rotation with adduction and 90/45/45), medius 1.1% and minimus 2.4% (flexion 90, abduction
# 45, rotation 45); bound cell by cell 1.7%, 2.9% and 4.6%; before the elastic cages 1.9%, 3.3% and 5.6%; with the
# ripples of their rest surfaces smoothed out (form surface_smoothing, muscle-forms-24) medius 0.86% and minimus 0.39%.
# medius 1.02% at 90/45/45 on the merge of 2026-11-30 (0.86% on its own branch, before quadratus femoris' nerve bed and
# the rounded via pins changed the deep cages it was built among); its displacement smoothed by 16 Taubin passes when
# bound (form binding_passes, muscle-forms-27; 8 before) 0.91% baked (0.93 -> 0.81% on the solver)
FAN_CREASES_REACHED = {"gluteus_maximus_right": 0.01, "gluteus_medius_right": 0.011, "gluteus_minimus_right": 0.01}


@pytest.fixture(scope="module")
def fan_shapes(muscles, deformer) -> dict[tuple[str, str], tuple[float, float, float]]:
    """Per (pose label, muscle): crease share, largest bend (degrees) and volume ratio of the posed form."""
    shapes = {}
    for label, pose in MOTION_POSES.items():
        posed = posed_at(deformer, pose)
        for name in GLUTEAL_FANS:
            vertices, faces = posed[name].vertices, muscles[name].form.faces
            shapes[label, name] = (
                crease_share(vertices, faces),
                float(dihedral_degrees(vertices, faces).max()),
                volume_ratio(muscles[name].form.vertices, vertices, faces),
            )
    return shapes


def test_the_gluteal_fans_hold_their_volume_in_motion(fan_shapes):
    for (label, name), (_, _, ratio) in fan_shapes.items():
        assert 0.9 < ratio < 1.1, (label, name, ratio)


def test_the_gluteal_fans_crease_no_more_than_reached_in_motion(fan_shapes):
    for (label, name), (share, _, _) in fan_shapes.items():
        assert share < FAN_CREASES_REACHED[name], (label, name, share)


FOLDING = (  # strict xfail: where single edges of a posed fan still fold over 90 degrees, and the history
    "issue 15: the gluteal fans crease where their cages squeeze or fold: at flexion 90 with abduction 45 and rotation "
    "45 minimus' fibres shorten to 0.43 of rest and its cage thickens 2.3 times, medius' cage folds over near the "
    "insertion (a U-fold; 14 of its 493 cells inverted on the solver). Smoothing the displacement when binding (4 to 16 "
    "Taubin passes), a smoother rest form, fitting the cage to a smoothed form and resampling the fibres evenly each "
    "changed the crease shares by under a fifth; smoothing the posed forms halves them (commit 432c52e) but costs 18 ms "
    "a leg; solving the fans' cages as elastic bodies when baking (solver-8, posing.FANS) brought minimus, medius and "
    "maximus to 4.3%, 3.0% and 1.7%; carrying their forms by blended local affine maps of the cages, wider for points "
    "far beyond the box (binding.blended_matrix, muscle-forms-22), to 2.4%, 1.5% and 0.43%, and maximus no longer "
    "folds (its largest bend 86 degrees, 162-178 before, on its rounded lower margin 13 mm beyond its cage); medius' "
    "cells drawn lightly to its folding sheet (shell.DEEP_PULLS, solver-9) took it to 1.1% at 90/45/45 and its largest "
    "bend in the frog position from 177 to 104 degrees; medius still folds to 179 at 90/45/45 where its sheet folds "
    "near the insertion, minimus to 110 at 90/45/45 on its deep u = 0 margin near the insertion. The ripples that "
    "margin's bony bed printed on the rest surface, which the shortening sharpened, are smoothed out (form "
    "surface_smoothing, muscle-forms-24: 25 more windowed-sinc passes on medius, 60 on minimus): minimus 2.39 -> 0.39% "
    "creased at 90/45/45, its largest bend 110 -> 66 degrees there, medius 1.15 -> 0.86%; what still folds over 90: "
    "minimus' insertion tip at flexion 90 knee 90 (100 degrees; 82 before), medius' U-fold at 90/45/45 (142; 179 "
    "before) and the rim of its anterior corner at the origin (91 at flexion 90 knee 90, 81 at rest) and a lip at its "
    "origin in the frog position (101). Minimus' insertion tip, whose last cell shears about 45 degrees against the femur "
    "at flexion 90 with the knee at 90, no longer folds carried by blended maps 3.5 cells wide (form binding_reach, "
    "muscle-forms-28): its largest bend 111 -> 77 degrees baked, under 60 at the other motion poses. Medius' displacement smoothed by 16 "
    "Taubin passes when bound (form binding_passes, muscle-forms-27) takes its frog lip to 121 and its U-fold to 150 "
    "(baked); the rim at its anterior corner (100 in external rotation with adduction, 85 at rest) is the pointed tip "
    "of its origin beside the tensor's origin on the crest. The 48-vertex piece of medius' form beyond that tip "
    "was a speck of 0.1 mm3 (0.7 mm across, 6.5 mm off the tip) that the band's room left, not a bit of origin: "
    "dropped as a splinter (forms.without_splinters, muscle-forms-31), medius' crease shares on the solver went 0.46 / "
    "0.54 / 0.38 / 0.19 / 0.83% -> 0.38 / 0.41 / 0.27 / 0.12 / 0.69% (flexion 90 knee 90 / frog / external rotation "
    "with adduction / prone / 90/45/45) and its largest bends 87 / 106 / 100 / 78 / 166 -> 87 / 112 / 100 / 78 / 172 "
    "(the frog lip 98-115 and the U-fold 166-172 over three slightly different rebuilds of the forms). Why the U-fold (medius "
    "alone, on the solver, work/medius13): at 90/45/45 the chords of its anterior fibres (u = 0-4) shorten to 0.51 of "
    "rest, but their relaxed paths keep 0.87-1.08 of their length: blend skinning carries the middle of each fibre "
    "(thigh weight 0.5-0.7) 12 mm past the insertion along the chord and the push-out off the femur and pelvis (20 mm "
    "of rest clearance kept from each) raises a 17 mm tent in the sheet, its apex turning 124-162 degrees at s = 19 of "
    "29; the cage's cells, stretched along by those path lengths, buckle there and the form folds at the top of u = 0 "
    "and the deep face of u = 1 at s = 19-20. Straightening the sheet alone does not help: with medius' clearances off "
    "both bones zeroed its sheet turns 73 degrees at most but the solved deep face still 142 and the form 180; the "
    "cells stretched along by their fibres' chords instead of their paths unfold the deep face (55 degrees) but the "
    "belly's end then overhangs its thin insertion tendon (u = 3-6, s = 24-25: 178). No better than 143 at 90/45/45 "
    "(and each worse elsewhere): a lighter or heavier deep pull (0.02, 0.5, 1), the pull faded where the sheet turns "
    "30-60 degrees, 12 shell rounds, the cells' rotations started from the posed sheet's cell frames, more relaxation "
    "steps or iterations, fibre lengths measured on paths smoothed along the fibre, the skinned path made monotone "
    "along its chord, the clearances kept off the pelvis and femur faded with the thigh weight, the clearance off the "
    "pelvis dropped (0.71% and 143 at 90/45/45, but 127 in the frog position)"
)


@pytest.mark.parametrize(
    "name",
    [
        # maximus folded 116 degrees baked (109 on the solver) in external rotation with adduction on the merge of
        # 2026-11-30, at the rim of the sciatic nerve's channel (the nerve squeezed into its cage): with the nerve's bed
        # lifted 1 mm past it, its caps flipped and its rims beside the channel rounded, 71 at most on the solver
        "gluteus_maximus_right",
        pytest.param("gluteus_medius_right", marks=pytest.mark.xfail(strict=True, reason=FOLDING)),
        "gluteus_minimus_right",
    ],
)
def test_the_gluteal_fans_do_not_fold_in_motion(fan_shapes, name):
    """No edge of a posed fan bends over 90 degrees (their crease shares: test_posed_forms_stay_smooth)."""
    for (label, fan), (_, bend, _) in fan_shapes.items():
        if fan == name:
            assert bend <= FOLD_DEGREES, (label, name, bend)


SMALL_ROTATORS = ("piriformis", "superior_gemellus", "obturator_internus", "inferior_gemellus", "quadratus_femoris")
# (muscle, pose label): the largest bend measured where a small rotator's posed form still folds over 90 degrees
# (bench/bench_posed_forms.py, baked table of the merge of 2026-11-30 with muscle-forms-31), where and why. The tips
# of piriformis (114 degrees at flexion 90 knee 90) and the superior gemellus (92 at prone knee 90 with internal
# rotation) no longer fold since the rods' forms are carried by their bare section maps (rods.BINDING_PASSES,
# muscle-forms-33): 69 and 70 degrees, no rod over 70 at any of these poses. Obturator internus' tendon, 85% along
# it, folded 175 degrees at 90/45/45 (153 on the solver) where the table lifts its cage up to 4 mm out of the femur;
# carried by blended maps of its cage (its form's blended_binding, one cell wide: 3.5 cells wide left 1.3% of it over
# 2 mm inside the femur at prone knee 90 with internal rotation; its displacement smoothed by 16 Taubin passes, as
# with 8 or 4 it folded 93 or 101 degrees there on the solver) 76 at most, 0.04% in the bone as cell by cell
ROTATOR_FOLDS: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def rotator_bends(muscles, deformer) -> dict[tuple[str, str], float]:
    """Largest bend (degrees) of each small rotator's posed form, by (muscle, pose label)."""
    bends = {}
    for label, pose in MOTION_POSES.items():
        posed = posed_at(deformer, pose)
        for name in SMALL_ROTATORS:
            structure = f"{name}_right"
            bends[name, label] = float(dihedral_degrees(posed[structure].vertices, muscles[structure].form.faces).max())
    return bends


def rotator_fold_cases():
    """(muscle, pose label) of every small rotator at every pose of MOTION_POSES, strict xfails where it folds."""
    for label in MOTION_POSES:
        for name in SMALL_ROTATORS:
            reason = ROTATOR_FOLDS.get((name, label))
            marks = [pytest.mark.xfail(strict=True, reason=f"issue 15: {reason}")] if reason else []
            yield pytest.param(name, label, id=f"{name} at {label}", marks=marks)


@pytest.mark.parametrize(("name", "label"), list(rotator_fold_cases()))
def test_the_small_rotators_do_not_fold_in_motion(rotator_bends, name, label):
    """No edge of a posed small rotator (piriformis, the gemelli, obturator internus, quadratus femoris) bends over
    90 degrees at the therapist positions and at flexion 90 with abduction 45 and rotation 45."""
    bend = rotator_bends[name, label]
    assert bend <= FOLD_DEGREES, f"an edge of {name} bends {bend:.0f} degrees at {label}"


# Share of each posed form's edges bending over 40 degrees where it is 1% or more (the limit), measured on the
# pose space of muscles-build-9 / muscle-forms-23 / solver-10 / pose-space-7 baked on the merge of 2026-11-30
# (bench/bench_posed_forms.py, the posing these tests use; "90/45/45" is flexion 90, abduction 45, rotation 45):
# 14 cases against 27 the session before. Where they lie and why, as the helpers found them (their own numbers on
# the solver or their own rebakes, before the merge):
# - the gemelli (5-15% before) are posed as rods (rods.py: rigid cross-sections turned smoothly, forms bound by
#   section); what is left lies at the rounded insertion tendon tips (at 30-40 degrees already at rest) and, in
#   external rotation with adduction, at the inferior gemellus' elbow, where the shortened path wraps the ischium.
#   With tendons of 3.5 (superior) and 3 mm (inferior) radius, on the solver (work/rotators9, muscles-build-10):
#   superior 0.61 / 0.25 / 0.64 / 0.78 / 0.22%, inferior 0.67 / 0.34 / 1.03 / 0.11 / 0.62% (flexion 90 knee 90 /
#   frog / external rotation with adduction / prone / 90/45/45; the superior 1.11% in external rotation with
#   adduction and the inferior 1.29 and 1.40% at flexion 90 knee 90 and there before). The inferior gemellus
#   arose on the pelvic surface of the ischium (its landmarks' bone normals pointed medially) and curled round
#   the posterior border before turning lateral (centre line turned 177 degrees); it now arises on the outer
#   (posterior) surface of the upper tuberosity just below the lesser sciatic notch (centre line turned 116
#   degrees), with quadratus femoris' upper origin one vertex lower so the two borders meet, and its cage is
#   drawn to the lower border of the obturator internus tendon (build.Builder.drawn_alongside; a taut chord in
#   space 20 mm from the tendon's centre line before, its form 11 mm off it): 0.19 / 0.06 / 0.28 / 0.14 / 0.11%
#   on the solver (muscles-build-13g; 0.78 / 0.31 / 1.20 / 0.11 / 0.76% on main's solver before);
# - piriformis (2.1 / 1.03 / 1.15 / 4.0% at flexion 90 knee 90 / frog / external rotation with adduction / 90/45/45,
#   single edges folding 173-176 degrees) is a rod too since solver-9, in pieces between its pins (its pelvic piece
#   from the sacrum to the sciatic notch rigid with the pelvis): 0.92 / 0.08 / 0.53 / 0.27% on the solver (bench
#   --solver, muscle-forms-20), the largest bend 117 degrees, what is left at its tendon's tip on the trochanter;
#   rebaked (solver-9, the table format of main at 53888e3) 0.92 / 0.18 / 0.60 / 0.40 / 0.62% (flexion 90 knee 90 /
#   frog / external rotation with adduction / prone knee 90 / 90/45/45); on that table the superior gemellus at
#   prone knee 90 passes (0.97%; 1.22% before) and the inferior at 90/45/45 is 1.26% (0.92% on the solver);
#   its path eased and rounded onto its pin in the notch (work/rotators9, muscles-build-10; rest lumpiness 0.054 ->
#   0.018) 0.77 / 0.17 / 0.82 / 0.45 / 0.68% on the solver (0.92 / 0.08 / 0.53 / 0.37 / 0.27% on main's cages the
#   same day): more now at the notch (s 0.3-0.5) in external rotation with adduction and at 90/45/45, where its
#   rigid pelvic piece meets the swung outer piece at the rounded bend;
# - squeezed between ischium and femur, quadratus femoris' deep face was pushed out of both bones into a hairpin
#   (17.3%); as a cushion behind the gap (block.py) 2.9%, mostly at its attachment ends where the cushion's narrow
#   deep face meets the bones; at flexion 90 with the knee at 90 (1.51%) its end faces were sheared against the
#   femur by the one linear map carrying the whole block: mapped station by station (each map fitted over a
#   Gaussian window of 9 stations, posing.BLOCK_MAP_STATIONS) 1.27% on the solver, what is left on the rims of its
#   end faces (u = 0 and the far margin, s = 0 and 1); a rod instead (rigid sections) 2.3-2.8%, the ends turned
#   with their bones over a fifth of the fibre 4.0%, 16 or 32 binding passes 1.6%;
# - the fans crease where their cages shorten and fold (minimus' fibres at 0.43 of rest and its cage 2.3 times as
#   thick at 90/45/45, 61 of medius' 493 cells inverted), maximus where it wraps the ischial tuberosity; solving
#   their cages as elastic bodies (solver-8, posing.FANS) took minimus at prone knee 90 from 2.5% to 0.7% and
#   maximus in external rotation with adduction from 1.3% to 0.9%; carried by blended local affine maps of their
#   cages (binding.blended_matrix, muscle-forms-22) instead of continued cell by cell beyond the box (63% of a fan's
#   form lies over 1 mm beyond its cage, and 75-95% of its creased vertices), all three are under 1% at the four
#   therapist positions (maximus 1.72 -> 0.34% at flexion 90 knee 90, medius 1.28 -> 0.64% and minimus 1.80 -> 0.91%
#   in the frog position); what is left, at 90/45/45, lies where the sheet itself folds (medius' U-fold near its
#   insertion) and along the deep u = 0 margin of minimus and medius, whose rest ripples the shortening (to 0.43)
#   sharpens (the rest form squashed affinely to 0.43 along and 2.3 through: 1.9% of minimus' edges crease); those
#   ripples, printed by the bony bed, smoothed out of the rest surfaces (form surface_smoothing, muscle-forms-24),
#   minimus is at 0.39% and medius at 0.86% at 90/45/45 (2.39% and 1.13% on the merged table before);
# - the band along its 1 mm rounded margins and in its upper and lower fifths (handed from pelvis to thigh and from
#   thigh to shank), the tensor in its upper belly; smoothing the band's binding (16 passes) made it worse;
# - the tensor, handed from pelvis to thigh by level (posing.FASCIA_RIDE_LEVELS), folded at flexion 90 into a
#   hairpin above the hip's axis (its blended samples swung back up to 50 mm behind the anterior superior iliac
#   spine): the blade seen above its belly, 6.2 / 9.0 / 1.0 / 0.8 / 16.1% (flexion 90 knee 90 / frog / external
#   rotation with adduction / prone / 90/45/45, on the solver). Laid per fibre on a cubic from the origin it bent in
#   its own plane and crumpled (8.0 / 3.6 / 2.4 / 3.5 / 11.6%). Posed as a spindle rod (spindle.py: rigid sections
#   on one cubic from the origin to the insertion, squeezed along and swollen across as the belly shortens, bowed
#   out below half its rest length, its form bound by cell): 1.43 / 0.80 / 0.36 / 0.25 / 3.0% on the solver, 1.41 /
#   0.80 / 0.32 / 0.30 / 3.2% from the pose space baked with solver-9 on work/tfl8 (all these tests pass on it) (1.22 /
#   0.70 / 0.36 / 0.25 / 2.2% shortening evenly, which slid its lower part 21 mm up the thigh), the rest at its
#   rounded origin and along its margins where the belly turns onto the thigh; bound by section like the gemelli,
#   its squeezed belly rippled at every section (3.4% at flexion 90);
#   posed so it stood up to 17 mm through the skin at 90/45/45, so it was not used then. Its form widened across the
#   rod until it holds its volume (posing.SPINDLE_HOLD_STEPS: the forms' hold had thickened it away from its deep
#   face, doubling its creases) and bound by blended maps of its cage like the fans', it is posed so (solver-13,
#   muscle-forms-27): 1.10 / 0.64 / 0.21 / 0.19 / 3.22% on the solver, the rest at 90/45/45 in wrinkles of its
#   upper belly near the origin, where it shortens to 0.45 of its rest length (the band over it 0.54% there).
#   What creases is the form's own fine relief squeezed along: the rest form squeezed uniformly along its rod
#   (swollen across to keep its volume) bends 0.8% of its edges over 40 degrees squeezed 2 times, 2.2% 3 times;
#   its belly squeezed 2.1 times at flexion 90 knee 90 and 3.2 at 90/45/45. A third of what creases at flexion
#   90 knee 90 (38 of its 480 edges) is a loose island of the form (162 vertices, 12 mm above the rest of it at
#   the origin, from the attachment core seated apart from the belly). Its belly shortened to half its rest length at
#   most (spindle.SHORTEST, solver-15): 1.14 / 0.67 / 0.20 / 0.22 / 2.70% on the solver; swollen less across and
#   more in thickness (spindle.WIDENING 0.6) on a cubic leaving and arriving one chord long (TANGENT_SCALE 1.0):
#   0.96 / 0.60 / 0.21 / 0.24 / 2.66%; its origin's sections squeezed as the belly beside them (not spared like the
#   insertion's: the upper border folded there, single edges bending up to 170 degrees): 0.94 / 0.63 / 0.22 / 0.24 /
#   2.64%, the largest bend at flexion 90 knee 90 114 degrees. What creased was the rest form's own relief (rings
#   20-30 mm apart along the belly) squeezed 2-3 times along the rod: its form smoothed by 40 more windowed-sinc
#   passes and carried by blended maps 3 cells wide (form surface_smoothing, binding_reach; muscle-forms-33): 0.68 /
#   0.42 / 0.18 / 0.17 / 1.03% baked; its relief flattened as much as it is squeezed (forms_posing.SquashedRelief):
#   0.59 / 0.31 / 0.15 / 0.15 / 0.75% baked, the largest bends 107 / 106 / 90 / 80 / 147 degrees (the origin's thin
#   tip on the crest);
# - the band (solver-11, baked) 4.4 / 4.3 / 1.65 / 3.8 / 3.8%, following the top face of the tensor it is draped over
#   (posing.DRAPED; 0.04% of it inside the tensor in the frog position, 1.8% before), its creases along its 1 mm
#   rounded margins and its ends: its displacement smoothed over its uneven mesh moved its two faces unlike each
#   other. Carried by blended maps of its cage, each vertex by the map at its point on the mid-sheet, unsmoothed
#   (binding.SHEET_REACH, muscle-forms-24): 0.39 / 0.50 / 0.05 / 0.30 / 1.09%; what is left at 90/45/45 lies 10-30%
#   down the band near its anterior margin, where its posed cage itself folds (cells bending up to 147 degrees);
CREASED: dict[tuple[str, str], str] = {}


def crease_cases():
    """(muscle, pose label) for every muscle at every pose of MOTION_POSES, pose by pose (one posing each)."""
    for label in MOTION_POSES:
        for spec in load_muscle_specs():
            measured = CREASED.get((spec.name, label))
            marks = [pytest.mark.xfail(strict=True, reason=f"issue 15: {measured} of edges bend over 40 degrees")]
            yield pytest.param(spec.name, label, id=f"{spec.name} at {label}", marks=marks if measured else [])


@pytest.mark.parametrize(("name", "label"), list(crease_cases()))
def test_posed_forms_stay_smooth(muscles, deformer, name, label):
    """No flag, fin, fold or crumple: under 1% of a posed form's edges bend more than 40 degrees (as at rest),
    at every therapist position and at flexion 90 with abduction 45 and rotation 45."""
    structure = f"{name}_right"
    share = crease_share(posed_at(deformer, MOTION_POSES[label])[structure].vertices, muscles[structure].form.faces)
    assert share < MAX_CREASE_SHARE, f"{share:.1%} of {name}'s edges bend more than 40 degrees at {label}"
