"""The muscles' rest display forms (label volume + SurfaceNets) against the shape limits.

The right-side cages and forms come from the session's one muscle build (tests/conftest.py ``muscle_build``):
the forms the scene shows, built with the nerve's channel kept free of muscle (forms built without it passed
here while the scene's superior gemellus stood 5.8 mm off its attachment and 1.1% of the obturator internus
lay inside its neighbours). They are measured with
viewer/anatomy/muscles/form_metrics.py, shared with bench/bench_forms.py and bench/bench_shapes.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from viewer.anatomy.bones import Surface, load_bone_surfaces, load_landmarks
from viewer.anatomy.geometry import is_watertight, signed_volume
from viewer.anatomy.muscles.form_metrics import (
    ATTACHMENT_REACH_MM,
    CREASE_DEGREES,
    FOLD_DEGREES,
    MAX_CREASE_SHARE,
    MAX_INSIDE_SHARE,
    MAX_LUMP,
    VOLUME_TOLERANCE,
    lumpiness,
    measure_forms,
    section_area,
    thickness_at,
)
from viewer.anatomy.muscles.forms import (
    BONE_LABEL,
    CAP_DEGREES,
    FIRST_MUSCLE_LABEL,
    FORM_DEFAULTS,
    GRID_MARGIN_MM,
    NERVE_FAT_LABEL,
    NERVE_FAT_MM,
    VOXEL_MM,
    LabelGrid,
    SweptField,
    alongside_sheet,
    close_pinholes,
    closed_tube,
    corner_angles,
    diagonal_contacts,
    drop_fins,
    flipped_caps,
    lattice_grid,
    make_room_for_band,
    rounded_beside_nerve,
    seat_attachment_cores,
    smooth_sheet,
    without_splinters,
)
from viewer.anatomy.muscles.posing import thigh_level
from viewer.anatomy.muscles.spec import MUSCLE_NAMES

# Limits the first version of the forms does not reach yet (measured with bench/bench_shapes.py);
# non-strict, so a fix shows as XPASS and the entry can go.
NOT_YET: set[tuple[str, str]] = set()  # strict: a limit reached must leave this set
# (the iliotibial band was 3.3% inside other structures while its origin lay on the crest's top: rows 1-4 of its fine
# sheet cut through the outer lip of the iliac crest, which stands up to 11 mm lateral of it, and its origin row lay
# in gluteus medius' origin; lifting those rows, densifying them or moving only the form's origin row onto the lip
# left it 0.08-0.9% inside but folded it or freed the tensor's and medius' origins (8-17 mm short). Its cage now
# arises from the outer lip itself, behind the tensor's origin: 0.00%) (medius was 7.5 mm short: the anterior-most
# point of medius' cage origin (fibre u = 0) lies on the crest where the tensor's origin core (claimed first, kept
# under the band) and the band arise, 4.1 and 2.0 mm from their forms; the band's room cut medius' form 6.5 mm short
# of it, and it reached that point only by a speck of 0.1 mm3 (0.7 mm across) left beyond the cut as a second piece of
# its form, which is now dropped (forms.without_splinters, muscle-forms-31). Its other origin points lie 0.5-3.1 mm
# from the form. With the band arising from the outer lip behind the tensor's origin the band's room no longer cuts
# it: 3.2 mm)


def cases(kind: str, names=MUSCLE_NAMES):
    return [
        pytest.param(name, marks=pytest.mark.xfail(reason="not reached yet", strict=True))
        if (kind, name) in NOT_YET else name
        for name in names
    ]


@pytest.fixture(scope="module")
def built_and_bones(muscle_build):
    return muscle_build.right_side, load_bone_surfaces()


@pytest.fixture(scope="module")
def forms(muscle_build):
    """The right-side forms as the scene has them (build_muscles: with the nerve's channel), by muscle name."""
    return {name: muscle_build.muscles[f"{name}_right"].form for name in MUSCLE_NAMES}


@pytest.fixture(scope="module")
def measures(forms, built_and_bones):
    built, bones = built_and_bones
    return measure_forms(forms, built, bones)


def test_every_muscle_has_a_closed_outward_form_within_the_vertex_budget(forms):
    assert set(forms) == set(MUSCLE_NAMES)
    for name, surface in forms.items():
        assert surface.faces.dtype == np.int64 and surface.vertices.shape[1] == 3
        assert is_watertight(surface.faces), name


@pytest.mark.parametrize("name", cases("crease"))
def test_forms_have_no_creases(measures, name):
    assert measures[name].crease_share < MAX_CREASE_SHARE, (
        f"{measures[name].crease_share:.2%} of {name}'s edges bend more than {CREASE_DEGREES} degrees"
    )


@pytest.mark.parametrize("name", cases("fold"))
def test_forms_have_no_folds(measures, name):
    assert measures[name].max_bend_degrees <= FOLD_DEGREES


@pytest.mark.parametrize("name", [n for n in cases("volume") if n != "iliotibial_band"])
def test_form_volumes_match_the_reference(measures, name):
    assert abs(measures[name].volume_ratio - 1) <= VOLUME_TOLERANCE


@pytest.mark.parametrize("name", cases("inside"))
def test_forms_do_not_enter_their_neighbours_or_bone(measures, name):
    assert measures[name].inside_share < MAX_INSIDE_SHARE


@pytest.mark.parametrize("name", cases("attachment"))
def test_forms_reach_their_attachments(measures, name):
    assert measures[name].attachment_mm <= ATTACHMENT_REACH_MM


DEEP_ROTATORS = ("piriformis", "superior_gemellus", "obturator_internus", "inferior_gemellus", "quadratus_femoris")


@pytest.mark.parametrize("name", cases("lumps", DEEP_ROTATORS))
def test_deep_rotator_bellies_are_smooth_without_knobs(forms, built_and_bones, name):
    """Slender round gemelli and a smooth pear-shaped piriformis: along the centre line no cross-section's radius
    stands off the trend of its neighbours by more than 4% of the belly. The gemelli were knobs on strings (0.077
    and 0.093) and piriformis a crumpled band (0.065; 0.054 while its path dipped to its pin in the sciatic
    notch, 0.034 with it eased onto the pin); every other muscle measures 0.005-0.023."""
    cage = next(m for m in built_and_bones[0] if m.spec.name == name)
    assert lumpiness(forms[name], cage.fibres.mean(axis=0)) < MAX_LUMP


def test_lumpiness_finds_a_knob_on_a_smooth_spindle():
    """A spindle (radius 8 sin(pi t) mm along 60 mm) is smooth; a knob 2 mm high and 6 mm long stands out."""
    along = np.linspace(0.0, 60.0, 121)
    angle = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    line = np.stack([np.zeros_like(along), np.zeros_like(along), along], axis=1)

    def spindle(radius: np.ndarray) -> Surface:
        around = np.stack([np.cos(angle), np.sin(angle), np.zeros_like(angle)], axis=1)
        return closed_tube(around[:, None, :] * radius[None, :, None] + line[None])

    smooth = 8.0 * np.sin(np.pi * along / 60.0)
    middle = spindle(smooth)
    assert section_area(middle.vertices, middle.faces, line[60], np.array([0, 0, 1.0])) == pytest.approx(np.pi * 64, rel=0.01)
    assert lumpiness(middle, line) < 0.01
    assert lumpiness(spindle(smooth + 2.0 * np.exp(-(((along - 25.0) / 3.0) ** 2))), line) > MAX_LUMP


def test_the_gemelli_flank_the_obturator_internus_tendon(forms, built_and_bones):
    """Triceps coxae: along the tendon from beyond the lesser sciatic notch to the trochanteric fossa, the
    superior gemellus lies on its upper border and the inferior on its lower border (the tendon's centre line
    is about 2.5 mm inside its flat form, so a gemellus touching it is about 5 mm from the line)."""
    from scipy.spatial import cKDTree

    internus = next(m for m in built_and_bones[0] if m.spec.name == "obturator_internus")
    line = internus.fibres.mean(axis=0)
    tendon = line[int(0.6 * len(line)) : int(0.92 * len(line))]
    for name, side in (("superior_gemellus", 1), ("inferior_gemellus", -1)):
        vertices = forms[name].vertices
        distance, nearest = cKDTree(vertices).query(tendon)
        assert (distance < 6.5).mean() >= 0.7, (name, distance.round(1))  # was 33% (superior) and none (inferior)
        assert (side * (vertices[nearest, 1] - tendon[:, 1]) > 0).all(), name  # on its own border


@pytest.fixture(scope="module")
def maximus_thickness(forms, built_and_bones):
    """Thickness (mm) of the maximus form across its sheet: mid-belly, upper margin (its second fibre, u = 1/17) and
    lower border (u = 0.9)."""
    maximus = next(m for m in built_and_bones[0] if m.spec.name == "gluteus_maximus")
    form = forms["gluteus_maximus"]
    return {name: thickness_at(form, maximus, u, 0.5) for name, u in (("belly", 0.5), ("upper", 0.06), ("lower", 0.9))}


def test_maximus_is_a_flat_thick_sheet_thinner_at_its_upper_margin_with_a_thick_lower_border(maximus_thickness):
    """Issue 15: a thick quadrilateral, thinner at its margins, its lower border a thick rounded free edge.

    Its volume (760 cm3, 87% of Handsfield et al. 2014's 870) is spread evenly over the sheet between
    its attachments rather than heaped mid-belly: the old form measured 42.6 mm there (49 mm along the
    nearest chord), the flattened one about 36 mm.
    """
    belly, upper, lower = (maximus_thickness[k] for k in ("belly", "upper", "lower"))
    assert 15.0 <= belly <= 38.0, f"mid-belly {belly:.1f} mm"
    assert upper < 0.9 * belly, f"upper margin {upper:.1f} mm against mid-belly {belly:.1f} mm"
    assert lower <= belly, f"lower border {lower:.1f} mm against mid-belly {belly:.1f} mm"


def test_maximus_lower_border_is_about_as_thick_as_its_belly(maximus_thickness):
    """A thick rounded free edge: it measured 27.3 mm against 36.3 mm mid-belly (0.75), where the fat kept round the
    sciatic nerve dented the deep face of the lower belly of a form swept from a smoothed, drawn-in sheet."""
    belly, lower = maximus_thickness["belly"], maximus_thickness["lower"]
    assert 0.85 * belly <= lower, f"lower border {lower:.1f} mm against mid-belly {belly:.1f} mm"


def test_maximus_is_two_to_three_cm_thick_mid_belly(maximus_thickness):
    """Issue 15: 2-3 cm at mid-belly. Swept from its cage's mid-sheet smoothed 20 passes, which drew the margins in
    (303 cm2 shrank to 237 cm2), the same 760 cm3 stood 36 mm thick; swept from the cage's own sheet it is a broad
    sheet, once its origin on the crest meets medius' at one point instead of crossing its posterior corner."""
    assert 20.0 <= maximus_thickness["belly"] <= 30.0, f"mid-belly {maximus_thickness['belly']:.1f} mm"


def test_band_is_a_thin_sheet(forms):
    band = forms["iliotibial_band"]
    area = np.linalg.norm(np.cross(*(band.vertices[band.faces[:, k]] - band.vertices[band.faces[:, 0]] for k in (1, 2))), axis=1).sum() / 2
    thickness = 2 * signed_volume(band.vertices, band.faces) / area
    assert 1.5 < thickness < 2.5


def thigh_fraction(points: np.ndarray) -> np.ndarray:
    """How far down the right thigh (n,) each point (n, 3) lies: 0 at the greater trochanter, 1 at the lateral epicondyle."""
    return thigh_level(points, "right")


def test_band_narrows_to_3_to_5_cm_over_the_lateral_thigh(forms):
    """Broad where it receives TFL and maximus, the band is 3-5 cm wide down the lateral thigh."""
    landmarks = load_landmarks()
    axis = landmarks["lateral_epicondyle_right"] - landmarks["greater_trochanter_right"]
    axis = axis / np.linalg.norm(axis)
    band = forms["iliotibial_band"].vertices
    level = thigh_fraction(band)
    assert np.percentile(level, 2) < 0.0  # it comes down from above the trochanter
    for middle in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        section = band[np.abs(level - middle) < 0.02]
        across = section - np.outer(section @ axis, axis)  # the cut seen along the thigh
        width = np.linalg.norm(across[:, None] - across[None], axis=2).max()
        assert 30.0 <= width <= 50.0, (middle, width)


def test_band_lies_on_the_lateral_femoral_condyle(forms):
    """Above the knee the band leaves the (unmodelled) vastus lateralis and lies on the lateral condyle, only a
    fat pad between them, on its way to Gerdy's tubercle (it stood 9-15 mm off the condyle and the skin fitted
    round it rose in a lump at the lateral knee)."""
    from scipy.spatial import cKDTree

    epicondyle = load_landmarks()["lateral_epicondyle_right"]
    femur = load_bone_surfaces()["femur_right"].vertices
    band = forms["iliotibial_band"].vertices
    level = band[np.abs(band[:, 1] - epicondyle[1]) < 5.0]
    gap, _ = cKDTree(femur).query(level)
    assert np.median(gap) < 8.0, f"the band stands {np.median(gap):.1f} mm off the condyle at the epicondyle"
    assert gap.min() > 1.0  # on it, not in it


def test_tfl_ends_in_the_band_at_the_junction_of_upper_and_middle_thirds_of_the_thigh(forms):
    lowest = thigh_fraction(forms["tensor_fasciae_latae"].vertices).max()
    assert abs(lowest - 1 / 3) < 0.08, lowest


def test_the_label_voxels_stay_on_one_lattice_when_a_muscle_reaches_farther():
    """A muscle reaching 0.4 mm farther left every voxel of the old grid 0.4 mm off its place (and the
    gluteus medius form 1.1% inside its neighbours); the grid's corner now moves by whole voxels only."""
    points = np.array([[-152.5, -492.0, 11.6], [3.0, 58.9, 181.2]])
    farther = points - [[0.4, 0.0, 0.7], [0.0, 0.0, 0.0]]
    before, after = lattice_grid(points), lattice_grid(farther)
    for grid in (before, after):
        np.testing.assert_allclose(np.round(grid.origin / VOXEL_MM) * VOXEL_MM, grid.origin, atol=1e-9)
        assert np.all(grid.origin <= points.min(axis=0) - GRID_MARGIN_MM + 1e-9)
    assert np.all(after.origin <= farther.min(axis=0) - GRID_MARGIN_MM + 1e-9)


def test_diagonal_contacts_are_found():
    """Two voxels meeting only at an edge or a corner would split SurfaceNets' surface into open sheets."""
    mask = np.zeros((5, 5, 5), bool)
    mask[1, 1, 1] = mask[2, 2, 1] = True  # edge contact
    assert diagonal_contacts(mask).sum() == 1
    mask[:] = False
    mask[1, 1, 1] = mask[2, 2, 2] = True  # corner contact
    assert diagonal_contacts(mask).sum() == 1
    mask[2, 1, 1] = True  # now joined through a face: the edge pair (1,1,1)-(2,2,1) no longer exists
    mask[2, 2, 2] = False
    assert not diagonal_contacts(mask).any()


def test_a_muscle_alongside_a_tendon_is_drawn_to_it_on_its_own_side():
    """Gemelli beside the obturator internus tendon: within the gap from the ramp on, footprints left alone."""
    s = np.linspace(0, 100, 30)
    partner = np.stack([np.stack([s, np.zeros(30), np.full(30, z)], axis=1) for z in (-2.0, 2.0)])
    sheet = np.stack([np.stack([s, np.full(30, 20.0), np.full(30, z)], axis=1) for z in (-1.0, 0.0, 1.0)])
    drawn = alongside_sheet(sheet, partner, gap_mm=5.0, start=0.2)
    height = drawn[..., 1]
    assert np.allclose(height[:, s <= 20], 20.0)  # before the ramp
    assert np.allclose(height[:, (s >= 46) & (s <= 90)], 5.0, atol=0.2)  # alongside, on its own (upper) side
    assert np.allclose(drawn[:, -1], sheet[:, -1])  # the bony footprint stays where the cage put it


def test_muscles_give_way_to_the_band_draped_over_them():
    grid = LabelGrid(np.zeros(3), np.full(3, 20.0), spacing=1.0)
    grid.labels[:] = FIRST_MUSCLE_LABEL
    grid.labels[:, :, 12:] = FIRST_MUSCLE_LABEL + 1  # a muscle not under the band keeps its voxels
    x, y = np.meshgrid(np.linspace(5, 15, 4), np.linspace(5, 15, 4), indexing="ij")
    band = np.stack([x, y, np.full_like(x, 10.0)], axis=-1)  # (columns, rows, 3) at z = 10
    make_room_for_band(grid, band, reach=3.0, labels=[FIRST_MUSCLE_LABEL])
    freed = grid.labels == 0
    assert freed[10, 10, 8:12].all() and not freed[10, 10, [6, 12, 13]].any()
    assert not freed[0, 10, 10]  # beyond the band's edge the muscle stays


def test_a_kept_attachment_core_stays_under_the_band_but_not_within_it():
    """TFL's origin core (``band_over_core``) is not freed for the band draped over it, except where the band
    itself lies: freed, its 4 mm origin ribbon was lost and the form ended 31 mm short of the crest."""
    grid = LabelGrid(np.zeros(3), np.full(3, 20.0), spacing=1.0)
    grid.labels[:] = FIRST_MUSCLE_LABEL
    kept = np.zeros(grid.shape, bool)
    kept[8:12, 8:12, :] = True  # the core, under the middle of the band
    x, y = np.meshgrid(np.linspace(5, 15, 4), np.linspace(5, 15, 4), indexing="ij")
    band = np.stack([x, y, np.full_like(x, 10.0)], axis=-1)  # (columns, rows, 3) at z = 10
    make_room_for_band(grid, band, reach=3.0, labels=[FIRST_MUSCLE_LABEL], kept=kept, kept_reach=1.5)
    freed = grid.labels == 0
    assert freed[6, 6, 8:13].all()  # beside the core the muscle gives way as before
    assert freed[10, 10, 9:12].all()  # within the band itself the core gives way too
    assert not freed[10, 10, [8, 12]].any()  # but under and over it the core stays


def test_a_splinter_of_a_surface_is_dropped():
    """Gluteus medius kept a speck of 0.1 mm3 (48 vertices) beyond its origin on the crest, left by the band's room,
    as a second piece of its form; a piece of a twentieth of the largest or more stays."""
    import pyvista

    body = pyvista.Sphere(radius=20.0, theta_resolution=30, phi_resolution=30)
    for radius, resolution, stays in ((0.5, 6, False), (8.0, 20, True)):
        piece = pyvista.Sphere(radius=radius, center=(40.0, 0.0, 0.0), theta_resolution=resolution, phi_resolution=resolution)
        kept = without_splinters(body.merge(piece))
        assert kept.n_points == body.n_points + stays * piece.n_points
        assert (np.asarray(kept.points)[:, 0].max() > 30.0) == stays


def test_the_tfl_origin_is_seated_on_the_crest_under_the_band(forms, built_and_bones):
    """Every origin point of TFL's cage within 6 mm of its form (the 5 mm limit is a strict xfail above): freed
    where the band arises on the same line of the crest, it ended 31 mm short; now its origin core stays on the
    bone (claimed before gluteus medius', ``core_first``), with a 2.5 mm tendon radius and a 4000-vertex budget so
    fold collapsing does not eat the ribbon, and the band is lifted over it (``band_over_core``)."""
    from scipy.spatial import cKDTree

    built, _ = built_and_bones
    tensor = next(m for m in built if m.spec.name == "tensor_fasciae_latae")
    distance = cKDTree(forms["tensor_fasciae_latae"].vertices).query(tensor.fibres[:, 0])[0]
    assert distance.max() < 6.0, distance.round(1)


def test_an_attachment_beside_the_nerve_takes_its_fat_but_not_the_nerve():
    """Superior gemellus arises on the ischial spine 5.1 mm from a nerve branch's centre line, inside the fat kept
    round the nerve: its origin core takes that fat (its form stood 5.4 mm off the origin), never the nerve itself,
    and no other voxel of the fat is free."""
    grid = LabelGrid(np.zeros(3), np.full(3, 30.0), spacing=1.0)
    line = np.array([[0.0, 15.0, 15.0], [30.0, 15.0, 15.0]])  # a nerve 3 mm in half width along x
    grid.keep_nerve_channel([(line, np.full(2, 3.0), ())])
    assert grid.labels[15, 15, 15] == BONE_LABEL and grid.labels[15, 15, 17] == BONE_LABEL  # the nerve
    assert grid.labels[15, 15, 20] == NERVE_FAT_LABEL  # 5 mm from its centre line: the fat
    assert grid.labels[15, 15, 15 + 3 + int(NERVE_FAT_MM) + 1] == 0  # beyond the fat: free
    points = np.array([[15.0, 15.0, 25.0 - k] for k in np.linspace(0.0, 7.0, 15)])  # origin at 5 mm from the line
    s = np.linspace(1.0, 0.0, 15)
    origin = SweptField(points, s, np.full(15, 3.0), np.ones(15), points[None])
    seat_attachment_cores(grid, {FIRST_MUSCLE_LABEL: origin})
    assert grid.labels[15, 15, 20] == FIRST_MUSCLE_LABEL  # the fat at its origin
    assert grid.labels[15, 15, 18] == BONE_LABEL and grid.labels[15, 15, 15] == BONE_LABEL  # never the nerve
    assert (grid.labels == NERVE_FAT_LABEL).any()  # the rest of the fat stays unclaimable


def test_rims_beside_the_nerve_are_rounded_and_nothing_else_changes():
    """Gluteus maximus, cut round the sciatic nerve, folded over at its channel's sharp rims when posed: beside the
    nerve's fat a muscle's square rim is rounded (it only gives voxels up), farther off its corners stay square."""
    grid = LabelGrid(np.zeros(3), np.full(3, 60.0), spacing=1.0)
    line = np.array([[0.0, 10.0, 30.0], [60.0, 10.0, 30.0]])  # a nerve 3 mm in half width along x, at y = 10
    grid.keep_nerve_channel([(line, np.full(2, 3.0), ())])
    free = grid.labels == 0
    grid.labels[:, 16:40, 22:38] = np.where(free[:, 16:40, 22:38], FIRST_MUSCLE_LABEL, grid.labels[:, 16:40, 22:38])
    before = grid.labels.copy()
    rounded_beside_nerve(grid, FIRST_MUSCLE_LABEL, 0.0)
    np.testing.assert_array_equal(grid.labels, before)  # radius 0: left alone
    rounded_beside_nerve(grid, FIRST_MUSCLE_LABEL, 4.0)
    given_up = (before == FIRST_MUSCLE_LABEL) & (grid.labels == 0)
    assert not ((grid.labels == FIRST_MUSCLE_LABEL) & (before != FIRST_MUSCLE_LABEL)).any()  # nothing taken
    assert given_up[30, 16, 22] and given_up[30, 16, 37]  # the rims of the face towards the nerve, rounded
    assert not given_up[30, 16, 30] and not given_up[30, 39, 22]  # that face itself; the far rims stay square
    assert not given_up[30, 30, 30]


def test_alongside_a_muscle_not_built_before_is_a_clear_error():
    from types import SimpleNamespace

    cage = SimpleNamespace(
        spec=SimpleNamespace(name="superior_gemellus"), fibres=np.zeros((2, 3, 3)), vertices=np.ones((12, 3))
    )
    settings = {**FORM_DEFAULTS, "alongside": {"muscle": "obturator_internus", "gap_mm": 9.0, "from": 0.2}}
    with pytest.raises(ValueError, match=r"superior_gemellus\.json: form\.alongside\.muscle 'obturator_internus'"):
        SweptField.of(None, cage, settings, deeper={})


def test_a_triangle_dropped_by_decimation_is_put_back():
    """Quadric decimation once dropped one triangle of gluteus maximus on the iliac crest at every budget tried,
    and the form fell back to the full 49,000-vertex surface with a 135 degree fold."""
    import pyvista

    sphere = pyvista.Sphere(radius=10.0, theta_resolution=16, phi_resolution=16)
    faces = np.asarray(sphere.regular_faces)
    holed = pyvista.PolyData.from_regular_faces(np.asarray(sphere.points), np.delete(faces, 40, axis=0))
    assert not is_watertight(np.asarray(holed.regular_faces))
    closed = close_pinholes(holed)
    closed_faces = np.asarray(closed.regular_faces)
    assert is_watertight(closed_faces)  # closed and wound like its neighbours
    assert signed_volume(np.asarray(closed.points), closed_faces) == pytest.approx(
        signed_volume(np.asarray(sphere.points), faces)
    )
    assert close_pinholes(sphere) is sphere  # a closed surface is left alone


def test_a_fin_left_by_decimation_is_dropped():
    """On the 1.5 mm label lattice quadric decimation left gluteus medius a fin at every budget (a triangle hanging off
    an edge two others already share, its other two edges open), and the form fell back to the full 30,737-vertex
    surface with a 92 degree fold."""
    import pyvista

    sphere = pyvista.Sphere(radius=10.0, theta_resolution=16, phi_resolution=16)
    faces = np.asarray(sphere.regular_faces)
    a, b = faces[40, :2]
    tip = np.asarray(sphere.points)[[a, b]].mean(axis=0) * 1.5  # a third triangle on edge (a, b), standing off it
    finned = pyvista.PolyData.from_regular_faces(
        np.vstack([sphere.points, tip]), np.vstack([faces, [[a, b, sphere.n_points]]])
    )
    assert not is_watertight(np.asarray(finned.regular_faces))
    cleaned = drop_fins(finned)
    assert is_watertight(np.asarray(cleaned.regular_faces)) and cleaned.n_points == sphere.n_points
    assert drop_fins(sphere) is sphere  # nothing to drop


def test_a_cap_left_by_decimation_has_its_long_edge_flipped():
    """Decimation left gluteus maximus caps (a corner of 156 and 178 degrees, the far vertex almost on the long edge)
    that turned over when posed (edges bending 94 to 150 degrees); the long edge is flipped, the surface kept."""
    import pyvista

    sphere = pyvista.Sphere(radius=20.0, theta_resolution=16, phi_resolution=16)
    vertices, faces = np.array(sphere.points, float), np.asarray(sphere.regular_faces, np.int64)
    a, b, c = faces[100]
    vertices[c] = 0.5 * (vertices[a] + vertices[b]) * 1.003  # onto the middle of the edge (a, b), just off it
    assert np.degrees(corner_angles(vertices, faces)).max() > CAP_DEGREES
    flipped = flipped_caps(vertices, faces)
    assert is_watertight(flipped) and (flipped != faces).any(axis=1).sum() == 2
    assert np.degrees(corner_angles(vertices, flipped)).max() < CAP_DEGREES
    assert signed_volume(vertices, flipped) == pytest.approx(signed_volume(vertices, faces), rel=1e-3)
    edges = {frozenset(edge) for face in flipped.tolist() for edge in zip(face, face[1:] + face[:1], strict=True)}
    assert frozenset((a, b)) not in edges
    np.testing.assert_array_equal(flipped_caps(np.asarray(sphere.points, float), faces), faces)  # no cap: kept



def test_smoothing_along_the_normal_flattens_a_bump_but_keeps_the_sheet_broad():
    """Plain Laplacian passes draw a sheet's margins in (gluteus maximus' 303 cm2 to 237 cm2 in 20 passes, so its
    760 cm3 stood 36 mm thick); passes along the sheet's normal only flatten the bumps of the bed it lies on."""
    u, s = np.meshgrid(np.linspace(0.0, 100.0, 18), np.linspace(0.0, 150.0, 34), indexing="ij")
    bump = 10.0 * np.exp(-((u - 50.0) ** 2 + (s - 75.0) ** 2) / 200.0)
    sheet = np.stack([u, bump, s], axis=-1)  # (18, 34, 3): across u along x, fibres along z, a bump up y

    def width(grid):
        return np.linalg.norm(grid[-1, 17] - grid[0, 17])

    plain, along = smooth_sheet(sheet, 20), smooth_sheet(sheet, 20, along_normal=True)
    assert width(plain) < 0.95 * width(sheet)
    assert width(along) == pytest.approx(width(sheet), rel=0.01)
    assert along[..., 1].max() < 0.5 * bump.max()
