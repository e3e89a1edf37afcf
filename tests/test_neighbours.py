"""What the info panel says lies over and under a structure is measured, and matches the anatomy."""

from __future__ import annotations


def test_medius_lies_under_maximus_and_the_fascia_lata_and_over_minimus(scene):
    found = scene.neighbours("gluteus_medius_right")
    assert {"gluteus_maximus_right", "tensor_fasciae_latae_right"} <= set(found.over)
    assert {"gluteus_minimus_right", "hip_bone_right"} <= set(found.under)
    assert not any(name.endswith("_left") for name in found.over + found.under + found.beside)


def test_minimus_is_covered_by_medius_and_lies_on_bone(scene):
    found = scene.neighbours("gluteus_minimus_right")
    assert "gluteus_medius_right" in found.over and "hip_bone_right" in found.under


def test_piriformis_lies_under_maximus_on_the_sacrum(scene):
    found = scene.neighbours("piriformis_right")
    assert found.over == ("gluteus_maximus_right",)
    assert "sacrum" in found.under


def test_lies_over_lists_anatomy_not_the_danger_zone_overlays(scene):
    found = scene.neighbours("gluteus_maximus_right")
    listed = found.over + found.under + found.beside
    assert "sciatic_nerve_right" in found.under  # the nerve itself, under maximus
    assert all(scene.structures[n].kind != "danger" for n in listed), listed
    assert "skin" in found.over  # under the skin and its fat
    assert scene.neighbours("sciatic_notch_zone_right") == type(found)((), (), ())


def test_the_skin_lies_over_muscle_and_bony_points_never_directly_on_the_nerve(scene):
    under = set(scene.neighbours("skin").under)
    assert {"gluteus_maximus_right", "tensor_fasciae_latae_left", "sacrum", "hip_bone_right"} <= under
    assert not any(n.startswith(("sciatic", "gluteus_minimus", "piriformis")) for n in under)
