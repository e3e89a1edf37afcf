"""Layers and peeling, undo/redo of what is shown, and structure search (all Qt-free)."""

from __future__ import annotations

import json

import pytest

from viewer.io.annotations import AnnotationError
from viewer.model.actions import load_actions
from viewer.model.events import Signal
from viewer.model.history import History
from viewer.model.layers import (
    GHOSTED,
    HIDDEN,
    SHOWN,
    PeelState,
    base_name,
    layer_index,
    load_layers,
    structures_in_layer,
)
from viewer.model.search import parse_query, search, search_all
from viewer.paths import annotations_dir


class FakeModel:
    """Just the SceneModel surface the history uses, with the same signals."""

    def __init__(self, names):
        self._names = list(names)
        self._visible = dict.fromkeys(self._names, True)
        self._opacity = dict.fromkeys(self._names, 1.0)
        self.visibility_changed = Signal()
        self.opacity_changed = Signal()

    def names(self):
        return list(self._names)

    def is_visible(self, name):
        return self._visible[name]

    def set_visible(self, name, visible):
        if self._visible[name] != visible:
            self._visible[name] = visible
            self.visibility_changed.emit(name, visible)

    def opacity(self, name):
        return self._opacity[name]

    def set_opacity(self, name, value):
        self._opacity[name] = min(max(float(value), 0.0), 1.0)

    def snapshot(self):
        return dict(self._visible), dict(self._opacity)


# --- layers ---------------------------------------------------------------------------------------
def test_layers_run_from_skin_to_bone_in_the_data_order():
    layers = load_layers()
    assert [layer.name for layer in layers] == [
        "skin", "fascia_lata", "gluteus_maximus", "intermediate", "gluteus_minimus", "bone",
    ]  # fmt: skip
    assert set(layers[3].structures) == {
        "gluteus_medius", "piriformis", "superior_gemellus", "obturator_internus", "inferior_gemellus", "quadratus_femoris",
        "sciatic_nerve",
    }  # fmt: skip


def test_every_scene_structure_is_in_exactly_one_layer(scene):
    layers = load_layers()
    names = [n for n in scene.names() if scene.structures[n].kind != "danger"]  # overlays, not anatomy
    covered = [n for i in range(len(layers)) for n in structures_in_layer(i, names, layers)]
    assert sorted(covered) == sorted(names)
    assert structures_in_layer(1, names, layers) == [n for n in names if n.startswith(("iliotibial", "tensor"))]
    assert set(structures_in_layer(2, names, layers)) == {"gluteus_maximus_right", "gluteus_maximus_left"}
    assert layer_index("skin", layers) == 0 and layer_index("sciatic_nerve_right", layers) == 3
    assert base_name("femur_left") == "femur" and base_name("sacrum") == "sacrum"


def test_layer_file_errors_name_the_file_and_field(tmp_path):
    good = json.loads((annotations_dir() / "layers.json").read_text())
    good["layers"][1]["structures"].append("gluteus_maximus")
    (tmp_path / "layers.json").write_text(json.dumps(good))
    with pytest.raises(
        AnnotationError, match=r"layers\.json.*layers\[2\]\.structures\[0\].*already in layer 1"
    ) as error:
        load_layers(tmp_path)
    assert error.value.field == "layers[2].structures[0]"  # the second mention is the mistake
    del good["layers"][0]["display_name"]
    (tmp_path / "layers.json").write_text(json.dumps(good))
    with pytest.raises(AnnotationError, match=r"layers\.json.*layers\[0\]"):
        load_layers(tmp_path)


def test_peel_restore_and_ghost_transitions():
    peel = PeelState()
    events = []
    peel.changed.connect(lambda depth, ghost: events.append((depth, ghost)))
    assert peel.state_of("skin") == SHOWN and peel.top_layer.name == "skin"
    assert peel.peel() and peel.peel()  # skin, then ITB and TFL
    assert peel.state_of("skin") == HIDDEN and peel.state_of("iliotibial_band_left") == HIDDEN
    assert peel.state_of("gluteus_maximus_right") == SHOWN and peel.top_layer.name == "gluteus_maximus"
    peel.set_ghost(True)
    assert peel.state_of("tensor_fasciae_latae_right") == GHOSTED  # the layer just peeled is a ghost
    assert peel.state_of("skin") == HIDDEN  # older layers do not pile up as ghosts
    assert peel.restore() and peel.state_of("tensor_fasciae_latae_right") == SHOWN
    assert peel.state_of("skin") == GHOSTED
    peel.set_depth(peel.n_layers)
    assert peel.state_of("femur_right") == GHOSTED and not peel.peel()
    assert peel.state_of("sciatic_nerve_right") == HIDDEN  # it lies with the deep rotators, peeled with them
    assert peel.state_of("sciatic_notch_zone_right") == SHOWN  # overlays are in no layer
    peel.restore_all()
    assert peel.depth == 0 and not peel.restore()
    assert events == [(1, False), (2, False), (2, True), (1, True), (6, True), (0, True)]
    with pytest.raises(ValueError, match=r"0\.\.6"):
        peel.set_depth(7)


# --- history ---------------------------------------------------------------------------------------
@pytest.fixture()
def model(scene):
    return FakeModel(["skin", *scene.names()])


def test_undo_and_redo_restore_exact_states(model):
    history = History(model)
    signals = []
    history.changed.connect(lambda u, r: signals.append((u, r)))
    start = model.snapshot()
    history.set_visible("femur_right", False)
    history.set_opacity("gluteus_maximus_left", 0.4)
    after = model.snapshot()
    assert history.undo() and model.opacity("gluteus_maximus_left") == 1.0 and not model.is_visible("femur_right")
    assert history.undo() and model.snapshot() == start and not history.can_undo and history.can_redo
    assert history.redo() and history.redo() and model.snapshot() == after and not history.redo()
    history.undo()
    history.set_visible("sacrum", False)  # a new change forgets the redo branch
    assert not history.can_redo
    assert signals[0] == (True, False) and signals[-1] == (True, False)


def test_isolate_is_one_step_and_undoes_exactly(model):
    history = History(model)
    history.set_opacity("skin", 0.35)
    history.set_visible("patella_left", False)
    before = model.snapshot()
    history.isolate("piriformis_right")
    visible, opacity = model.snapshot()
    assert opacity["piriformis_right"] == 1.0 and visible["piriformis_right"]
    assert all(opacity[n] == history.ghost_opacity and visible[n] for n in model.names() if n != "piriformis_right")
    assert history.undo_label == "isolate piriformis_right"
    history.undo()
    assert model.snapshot() == before
    history.isolate("piriformis_right", mode=HIDDEN)
    assert [n for n in model.names() if model.is_visible(n)] == ["piriformis_right"]
    history.show_all()
    assert all(model.is_visible(n) for n in model.names()) and model.opacity("skin") == 0.35  # its own opacity
    history.undo()
    history.undo()
    assert model.snapshot() == before
    with pytest.raises(KeyError):
        history.isolate("no_such_muscle")


def test_peeling_through_the_history_is_undoable(model):
    peel = PeelState()
    history = History(model, peel=peel)
    before = model.snapshot()
    history.peel()
    history.peel()
    history.set_ghost(True)
    assert peel.depth == 2 and peel.ghost
    assert not model.is_visible("skin")
    assert model.is_visible("iliotibial_band_right") and model.opacity("iliotibial_band_right") == history.ghost_opacity
    history.peel()
    assert model.opacity("gluteus_maximus_left") == history.ghost_opacity and not model.is_visible(
        "tensor_fasciae_latae_left"
    )
    history.undo()
    assert peel.depth == 2 and model.is_visible("gluteus_maximus_left") and model.opacity("gluteus_maximus_left") == 1.0
    history.undo()
    assert not peel.ghost and not model.is_visible("iliotibial_band_right")
    history.undo()
    history.undo()
    assert peel.depth == 0 and model.snapshot() == before and not history.can_undo
    history.redo()
    assert peel.depth == 1 and not model.is_visible("skin")


# --- search -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("glute med", "gluteus_medius_right"),
        ("TFL", "tensor_fasciae_latae_right"),
        ("IT band", "iliotibial_band_right"),
        ("ITB", "iliotibial_band_right"),
        ("piri", "piriformis_right"),
        ("quad fem", "quadratus_femoris_right"),
        ("obturator", "obturator_internus_right"),
        ("sacrum", "sacrum"),
        ("hip bone", "hip_bone_right"),
        ("left glute max", "gluteus_maximus_left"),
        ("glute max L", "gluteus_maximus_left"),
        ("R piriformis", "piriformis_right"),
        ("gluteus medus", "gluteus_medius_right"),
        ("glutues maximus", "gluteus_maximus_right"),
        ("femur", "femur_right"),
        ("kneecap left", "patella_left"),
        ("minimus", "gluteus_minimus_right"),
    ],
)
def test_search_ranks_the_right_structure_first(scene, query, first):
    found = search(query, scene)
    assert found and found[0].name == first, [c.name for c in found[:4]]
    assert found[0].display == scene.structures[first].display_name


def test_search_returns_both_sides_right_first_and_both_gemelli(scene):
    names = [c.name for c in search("glute med", scene)]
    assert names[:2] == ["gluteus_medius_right", "gluteus_medius_left"]
    gemelli = {c.name for c in search("gemellus", scene)[:4]}
    assert gemelli == {f"{m}_{s}" for m in ("superior_gemellus", "inferior_gemellus") for s in ("right", "left")}
    assert [c.name for c in search("left gemellus", scene)] == ["inferior_gemellus_left", "superior_gemellus_left"]
    scores = [c.score for c in search("gluteus", scene)]
    assert scores == sorted(scores, reverse=True)


def test_search_rejects_nonsense_and_parses_sides(scene):
    assert search("xylophone", scene) == []
    assert search("", scene) == [] and search("left", scene) == []
    assert parse_query("Glute Med R") == (["glute", "med"], "right")


@pytest.mark.parametrize(
    ("query", "action"),
    [
        ("internal rotation", "hip_rotation"),
        ("external rotation", "hip_rotation"),
        ("abduction", "hip_abduction_adduction"),
        ("adduction", "hip_abduction_adduction"),
        ("flexion", "hip_flexion_extension"),
        ("extension", "hip_flexion_extension"),
        ("frog", "frog_position"),
        ("side lying", "sidelying_hip_flexion"),
        ("IR", "hip_rotation"),
    ],
)
def test_search_finds_actions_by_the_movement_typed(scene, query, action):
    found = search_all(query, scene, load_actions())
    assert found and (found[0].kind, found[0].name) == ("action", action), found[:3]


def test_search_still_prefers_structures_by_name(scene):
    for query, first in (("piriformis", "piriformis_right"), ("skin", "skin"), ("glute med", "gluteus_medius_right")):
        found = search_all(query, scene, load_actions())
        assert (found[0].kind, found[0].name) == ("structure", first)


def test_history_says_why_a_structure_is_hidden_and_reveals_it_in_one_step(model):
    history = History(model, PeelState())
    assert history.hidden_reason("gluteus_maximus_right") is None
    history.set_depth(3)  # skin, fascia lata and maximus peeled
    assert history.hidden_reason("gluteus_maximus_right") == "peeled"
    history.set_visible("piriformis_right", False)
    assert history.hidden_reason("piriformis_right") == "hidden"
    history.reveal("gluteus_maximus_right")
    assert history.peel_state.depth == 2 and model.is_visible("gluteus_maximus_right")
    assert not model.is_visible("skin")  # only the layers over it come back
    history.undo()
    assert history.peel_state.depth == 3 and not model.is_visible("gluteus_maximus_right")
