"""Sources a reader can follow, and names in English, Latin and everyday speech (Qt-free apart from HTML)."""

from __future__ import annotations

import json
import re

import pytest

from viewer.io.annotations import AnnotationError
from viewer.io.references import bibliography, cite
from viewer.model.search import search
from viewer.model.terminology import base_and_side, terminology
from viewer.paths import annotations_dir

FILE_NAME = re.compile(r"\.(txt|md|tsv|json)\b|\bseed\b|ANATOMY\.md|project reference", re.IGNORECASE)
TEXT_KINDS = ("bone", "muscle", "fascia", "nerve")  # the kinds the info panel writes a page for


def _source_entries(data, key=None):
    """Every string under a 'source' or 'sources' key of an annotation file (bones.json's atlas dict aside)."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k in ("source", "sources") and not isinstance(v, dict):
                yield from [v] if isinstance(v, str) else v
            else:
                yield from _source_entries(v, k)
    elif isinstance(data, list):
        for item in data:
            yield from _source_entries(item, key)


def _readable(citations: list[str]) -> None:
    assert citations
    for text in citations:
        assert not FILE_NAME.search(text), text
    assert len(set(citations)) == len(citations), citations


# --- sources -------------------------------------------------------------------------------------
def test_every_source_entry_in_the_data_names_a_published_work():
    files = sorted(annotations_dir().rglob("*.json"))
    entries = {e for path in files for e in _source_entries(json.loads(path.read_text()))}
    assert "000_978ee40933522562.txt" in entries  # the scan does reach the legacy file-name entries
    for entry in entries:
        works = bibliography().resolve(entry)
        _readable([w.citation() for w in works])


def test_info_panel_sources_are_published_works_once_each(scene):
    from viewer.ui.info_panel import structure_html

    for name, structure in scene.structures.items():
        sources = scene.sources(name)
        if sources:
            _readable(sources)
        if structure.kind not in TEXT_KINDS:
            continue
        html = structure_html(scene, name)
        assert not FILE_NAME.search(html), (name, FILE_NAME.search(html))
        listed = html.split("<h4 style='margin-bottom:1px'>Sources</h4>")[-1]
        for surname in ("Tomaszewski", "Standring", "Handsfield", "Riggs", "Smoll"):
            assert listed.count(surname) <= 1, (name, surname)
    nerve = structure_html(scene, "sciatic_nerve_right")
    assert nerve.count("Tomaszewski KA") == 1 and "Surgical anatomy of the sciatic nerve: a meta-analysis" in nerve
    assert "Journal of Orthopaedic Research" in nerve
    maximus = structure_html(scene, "gluteus_maximus_right")
    assert "Gray&#x27;s Anatomy" in maximus and "Journal of Biomechanics 47(3):631-638" in maximus


def test_technique_and_action_texts_cite_published_works():
    from viewer.model.actions import load_actions
    from viewer.techniques.library import load_techniques
    from viewer.ui.techniques_panel import technique_html

    for technique in load_techniques().values():
        _readable(technique.citations)
        html = technique_html(technique)
        assert not FILE_NAME.search(html), (technique.id, FILE_NAME.search(html))
    riggs = load_techniques()["rotators_side_lying"].citations
    assert riggs == ["Riggs A. Glute-free massage. Massage & Bodywork (Associated Bodywork & Massage Professionals)."]
    for action in load_actions().values():
        assert not FILE_NAME.search(action.source), (action.id, action.source)


def test_an_unknown_source_is_a_clear_error_naming_the_bibliography():
    with pytest.raises(AnnotationError, match=r"references\.json: field 'works': .*'Nobody 1999'"):
        cite(["Nobody 1999"])
    assert len(cite(["tomaszewski_2016", "Tomaszewski et al. 2016, J Orthop Res 34:1820"])) == 1


# --- names ---------------------------------------------------------------------------------------
def test_every_structure_and_landmark_has_names_and_no_entry_is_orphaned(scene):
    from viewer.render.landmark_pins import pin_config

    terms = terminology()
    bases = {base_and_side(name)[0] for name in scene.structures}
    assert bases == set(terms.structures), bases ^ set(terms.structures)
    landmarks = {base_and_side(name)[0] for name in scene.landmark_bones()}
    pins = {entry["name"] for entry in pin_config()["pins"]}
    assert landmarks | pins == set(terms.landmarks), (landmarks | pins) ^ set(terms.landmarks)
    for term in [*terms.structures.values(), *terms.landmarks.values()]:
        assert term.english and term.latin
    assert terms.structures["hip_bone"].latin == "os coxae" and terms.landmarks["ischial_tuberosity"].latin == (
        "tuber ischiadicum"
    )
    assert "deep six" in terms.structures["piriformis"].common_names


def test_a_broken_terminology_file_names_the_file_and_field(asset_copy):
    from viewer.model.terminology import terminology as load

    path = asset_copy / "annotations" / "terminology.json"
    data = json.loads(path.read_text())
    del data["structures"]["piriformis"]["latin"]
    path.write_text(json.dumps(data))
    load.cache_clear()
    try:
        with pytest.raises(AnnotationError, match=r"terminology\.json: field 'structures\.piriformis'"):
            load()
    finally:
        load.cache_clear()


def test_language_switches_names_and_signals(fresh_scene):
    from viewer.ui.info_panel import structure_html

    heard = []
    fresh_scene.language_changed.connect(heard.append)
    assert fresh_scene.both_names("gluteus_maximus_right") == "Gluteus maximus (musculus gluteus maximus)"
    assert structure_html(fresh_scene, "hip_bone_right").startswith(
        "<h2 style='margin-bottom:2px'>Hip bone (os coxae)</h2>"
    )
    fresh_scene.set_language("latin")
    assert heard == ["latin"]
    assert fresh_scene.both_names("gluteus_maximus_right") == "musculus gluteus maximus (Gluteus maximus)"
    assert fresh_scene.structure_name("sciatic_nerve_left") == "nervus ischiadicus (left)"
    assert fresh_scene.structure_name("sciatic_nerve_left", "english") == "Sciatic nerve (left)"
    assert fresh_scene.landmark_display_name("greater_trochanter_right") == "trochanter major"
    assert "<h2 style='margin-bottom:2px'>musculus piriformis (Piriformis)</h2>" in structure_html(
        fresh_scene, "piriformis_right"
    )
    fresh_scene.set_language("latin")
    assert heard == ["latin"]  # no change, no signal
    with pytest.raises(ValueError, match="language must be one of"):
        fresh_scene.set_language("greek")


def test_pin_labels_follow_the_language(fresh_scene):
    from viewer.render.landmark_pins import load_pins

    pins = {p.name: p for p in load_pins()}
    assert pins["psis_right"].label("english") == "PSIS (R)"
    assert pins["psis_right"].label("latin") == "spina iliaca posterior superior (R)"
    assert pins["coccyx"].label("latin") == "os coccygis"
    assert pins["ischial_tuberosity_left"].label("latin") == "tuber ischiadicum (L)"


def test_export_takes_a_language():
    from viewer.cli.parsing import build_parser

    args = build_parser().parse_args(["export", "--out", "x.png", "--language", "latin"])
    assert args.language == "latin"
    # not given: the scene file's language, or English for a new scene
    assert build_parser().parse_args(["export", "--out", "x.png"]).language is None


# --- search --------------------------------------------------------------------------------------
DEEP_SIX = ("piriformis", "superior_gemellus", "obturator_internus", "inferior_gemellus", "quadratus_femoris")


@pytest.mark.parametrize(
    ("query", "first", "selects"),
    [
        ("greater trochanter", "greater_trochanter_right", "femur_right"),
        ("left greater trochanter", "greater_trochanter_left", "femur_left"),
        ("trochanter major", "greater_trochanter_right", "femur_right"),
        ("sit bone", "ischial_tuberosity_right", "hip_bone_right"),
        ("spina iliaca posterior superior", "psis_right", "hip_bone_right"),
        ("musculus piriformis", "piriformis_right", "piriformis_right"),
        ("musculus gluteus maximus L", "gluteus_maximus_left", "gluteus_maximus_left"),
        ("tractus iliotibialis", "iliotibial_band_right", "iliotibial_band_right"),
        ("os coxae", "hip_bone_right", "hip_bone_right"),
        ("nervus ischiadicus", "sciatic_nerve_right", "sciatic_nerve_right"),
        ("glute max", "gluteus_maximus_right", "gluteus_maximus_right"),
    ],
)
def test_search_finds_english_latin_and_common_names(scene, query, first, selects):
    found = search(query, scene)
    assert found and found[0].name == first, [c.name for c in found[:4]]
    assert found[0].structure == selects


def test_search_ischial_finds_the_ischial_landmarks_first(scene):
    found = search("ischial", scene)
    top = {c.name for c in found[:4]}
    assert top == {f"{n}_{s}" for n in ("ischial_tuberosity", "ischial_spine") for s in ("right", "left")}
    assert all(c.kind == "landmark" and c.structure.startswith("hip_bone_") for c in found[:4])


def test_search_deep_six_returns_the_deep_lateral_rotators_present(scene):
    found = search("deep six", scene, limit=30)
    expected = {f"{m}_{s}" for m in DEEP_SIX for s in ("right", "left") if f"{m}_{s}" in scene.structures}
    assert {c.name for c in found} == expected and len(expected) == 10
    assert [c.name for c in search("right deep six", scene, limit=30)] == sorted(n for n in expected if "right" in n)


def test_search_gluteus_ranks_the_three_glutei_first(scene):
    found = [c.name for c in search("gluteus", scene)]
    assert set(found[:6]) == {f"gluteus_{m}_{s}" for m in ("maximus", "medius", "minimus") for s in ("right", "left")}
    assert found[:3] == ["gluteus_maximus_right", "gluteus_medius_right", "gluteus_minimus_right"]
