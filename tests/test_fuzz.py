"""Property-based fuzzing of every annotation file: a clean one-line error naming the file, or no NaN anywhere.

Each case mutates one shipped file in a private asset copy (delete a key or item, change a type, put a
huge, negative or zero number, empty a list or string, swap in another id from the file) and runs that
file's own loader plus the code that indexes into what it returns. The expensive scene parts (bones,
muscles, nerve) are built once from the unmutated assets.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from viewer.anatomy.bones import AssetError  # noqa: E402
from viewer.anatomy.skin import SkinError  # noqa: E402
from viewer.io.annotations import AnnotationError  # noqa: E402
from viewer.io.ply import PlyError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ANNOTATIONS = REPO / "assets" / "annotations"
FILES = sorted(str(p.relative_to(ANNOTATIONS)) for p in ANNOTATIONS.rglob("*.json"))
CLEAN_ERRORS = (AnnotationError, AssetError, PlyError, SkinError)
EXAMPLES_PER_FILE = int(os.environ.get("GLUTE_FUZZ_EXAMPLES", "12"))
COUNTS: Counter = Counter()


# --- mutations ------------------------------------------------------------------------------------
def _paths(data, at=()) -> list[tuple]:
    """Every node's path in a JSON tree (the root excluded)."""
    found = []
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in children:
        found.append((*at, key))
        found += _paths(value, (*at, key))
    return found


def _strings(data) -> list[str]:
    if isinstance(data, str):
        return [data]
    values = data.values() if isinstance(data, dict) else data if isinstance(data, list) else ()
    return [s for v in values for s in _strings(v)]


REPLACEMENTS = [1e8, -1e8, 0, -1, 0.0, 1, 1e-9, 360, -360, "", [], {}, None, True, "x", [0, 0, 0], [1e8, 0]]


def mutate(data, path: tuple, operation: str, other_id: str):
    """A copy of ``data`` with the node at ``path`` deleted, replaced, or swapped for another string."""
    data = copy.deepcopy(data)
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if operation == "delete":
        del parent[key]
    elif operation == "swap":
        parent[key] = other_id
    else:
        parent[key] = REPLACEMENTS[int(operation)]
    return data


OPERATIONS = ["delete", "swap", *map(str, range(len(REPLACEMENTS)))]


# --- what no result may hold ----------------------------------------------------------------------
def assert_no_nan(value, where: str = "result") -> None:
    """Walk any result (arrays, dataclasses, dicts, lists) and fail on a non-finite float."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            assert np.isfinite(value).all(), f"{where}: non-finite values"
        elif value.dtype == object:
            for i, item in enumerate(value.ravel()):
                assert_no_nan(item, f"{where}[{i}]")
    elif isinstance(value, float | np.floating):
        assert np.isfinite(value), f"{where}: {value}"
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            assert_no_nan(getattr(value, f.name), f"{where}.{f.name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_no_nan(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            assert_no_nan(item, f"{where}[{i}]")


# --- each file's loader and the code that indexes into it ------------------------------------------
def _clear_caches() -> None:
    from viewer.anatomy.bones import clear_caches
    from viewer.io.references import bibliography
    from viewer.model.actions import load_actions
    from viewer.model.terminology import terminology
    from viewer.render.landmark_pins import pin_config

    for cached in (clear_caches, bibliography.cache_clear, load_actions.cache_clear, terminology.cache_clear):
        cached()
    pin_config.cache_clear()


def use_actions(world) -> list:
    from viewer.model.actions import load_actions
    from viewer.techniques.library import known_actions

    results = [sorted(known_actions())]
    for action in load_actions().values():
        times = np.linspace(-1.0, action.duration + 1.0, 7)
        results += [action.pose_at(t).as_dict() for t in times]
        results += [action.phases(), action.movements(), action.played_angle(), action.source]
    return results


def use_bones(world) -> list:
    from viewer.anatomy.bones import bone_specs, load_bone_surfaces

    return [bone_specs(), load_bone_surfaces()]


def use_landmarks(world) -> list:
    from viewer.anatomy.bones import landmark_info, load_bone_surfaces, load_landmarks
    from viewer.anatomy.muscles.derived_landmarks import derive_landmarks
    from viewer.anatomy.nerve import control_points, load_nerve_spec
    from viewer.anatomy.nerve_zones import load_danger_zone_data
    from viewer.techniques.library import load_techniques

    landmarks = load_landmarks()
    spec = load_nerve_spec()
    points = [control_points(b, side, landmarks) for v in spec.variants.values() for b in v.branches for side in ("right", "left")]
    return [landmarks, landmark_info(), derive_landmarks(load_bone_surfaces(), landmarks), points,
            load_danger_zone_data(), load_techniques()]


def use_landmark_definitions(world) -> list:
    from viewer.io.annotations import load_annotation

    return [load_annotation("landmark_definitions")]


def use_landmark_pins(world) -> list:
    from viewer.render.landmark_pins import load_pins, pin_positions

    return [load_pins(), pin_positions(world["scene"])]


def use_layers(world) -> list:
    from viewer.model.layers import load_layers, structures_in_layer

    layers = load_layers()
    return [layers, [structures_in_layer(i, world["scene"].structures, layers) for i in range(len(layers))]]


def use_danger_zones(world) -> list:
    from viewer.anatomy.nerve_zones import build_danger_zones, load_danger_zone_data, safety_settings

    data = load_danger_zone_data()
    zones = build_danger_zones(world["nerve"], data=data)
    return [safety_settings(data), [(z.id, z.kind) for z in zones], [z.contains(world["nerve"].centreline[:5]) for z in zones]]


def use_nerve(world) -> list:
    from viewer.anatomy.bones import load_landmarks
    from viewer.anatomy.nerve import control_points, load_nerve_spec, skinning_weights

    landmarks = load_landmarks()
    spec = load_nerve_spec()
    results: list = [spec]
    for variant in spec.variants.values():
        for branch in variant.branches:
            points = control_points(branch, "right", landmarks)
            results += [points, skinning_weights(points, spec, "right", landmarks)]
    return results


def use_references(world) -> list:
    from viewer.io.references import bibliography, cite

    entries = [s for path in ANNOTATIONS.rglob("*.json") for s in _sources(json.loads(path.read_text()))]
    return [[w.citation() for w in bibliography().works.values()], cite(entries)]


def _sources(data) -> list[str]:
    if isinstance(data, dict):
        own = data.get("source", data.get("sources", []))
        own = [own] if isinstance(own, str) else own if isinstance(own, list) else []
        return [s for s in own if isinstance(s, str)] + [s for v in data.values() for s in _sources(v)]
    return [s for v in data for s in _sources(v)] if isinstance(data, list) else []


def use_terminology(world) -> list:
    from viewer.model.terminology import landmark_term, structure_term
    from viewer.render.landmark_pins import load_pins

    return [[structure_term(n) for n in world["scene"].structures], [landmark_term(n) for n in world["landmarks"]],
            load_pins()]


def use_skin_tones(world) -> list:
    from viewer.model.skin import skin_palette

    skin_palette.cache_clear()  # read the mutated file, not the palette cached from the real one
    try:
        return [skin_palette()]
    finally:
        skin_palette.cache_clear()


def use_derived_landmarks(world) -> list:
    from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
    from viewer.anatomy.muscles.derived_landmarks import derive_landmarks

    return [derive_landmarks(load_bone_surfaces(), load_landmarks())]


def use_muscle(name: str) -> Callable:
    def use(world) -> list:
        from viewer.anatomy.muscles.spec import muscles_dir, read_spec

        return [read_spec(muscles_dir() / f"{name}.json")]

    return use


def use_technique(name: str) -> Callable:
    def use(world) -> list:
        from viewer.techniques.geometry import technique_geometry
        from viewer.techniques.library import load_technique, techniques_dir
        from viewer.techniques.safety import assess

        technique = load_technique(techniques_dir() / f"{name}.json")
        geometry = technique_geometry(technique, world["context"])
        report = assess(technique, geometry, world["context"])
        return [technique.leg_pose(), technique.citations, geometry, report.summary(), report.explanation]

    return use


def consumer(relative: str) -> Callable:
    stem = Path(relative).stem
    if relative.startswith("techniques/"):
        return use_technique(stem)
    if relative.startswith("muscles/") and stem != "derived_landmarks":
        return use_muscle(stem)
    return globals()[f"use_{stem}"]


# --- the test -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from viewer.anatomy.bones import load_landmarks
    from viewer.anatomy.nerve import build_nerve
    from viewer.model.scene import build_scene
    from viewer.paths import assets_dir
    from viewer.techniques.context import context_from_scene

    copy_dir = tmp_path_factory.mktemp("fuzz") / "assets"
    shutil.copytree(assets_dir(), copy_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GLUTE_VIEWER_ASSETS", str(copy_dir))
        _clear_caches()
        scene = build_scene()
        nerve = build_nerve("right", None)
        context = context_from_scene(scene, "right", nerve=nerve, margin_mm=scene.danger_margin_mm)
        yield {"root": copy_dir / "annotations", "scene": scene, "nerve": nerve, "context": context,
               "landmarks": load_landmarks()}
        _clear_caches()
    _clear_caches()


@pytest.mark.parametrize("relative", FILES)
def test_every_mutation_is_a_clean_error_or_a_finite_result(world, relative):
    use = consumer(relative)
    path = world["root"] / relative
    original_text = path.read_text()
    original = json.loads(original_text)
    paths = _paths(original)
    ids = sorted({s for s in _strings(original) if s.isidentifier()}) or ["x"]
    use(world)  # the shipped file itself loads

    @settings(max_examples=EXAMPLES_PER_FILE, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(
        st.lists(st.tuples(st.sampled_from(paths), st.sampled_from(OPERATIONS), st.sampled_from(ids)),
                 min_size=1, max_size=2)
    )
    def case(mutations):
        data = original
        for at, operation, other in mutations:
            try:
                data = mutate(data, at, operation, other)
            except (KeyError, IndexError, TypeError):  # an earlier mutation removed this path
                continue
        path.write_text(json.dumps(data))
        _clear_caches()
        COUNTS["cases"] += 1
        try:
            result = use(world)
        except CLEAN_ERRORS as error:
            message = str(error)
            assert "\n" not in message, message
            named = re.search(rf"(?<![\w]){re.escape(Path(relative).name)}", message)
            assert named, f"{relative}: error blames another file: {message}"
            COUNTS["clean errors"] += 1
        except Exception:
            COUNTS["tracebacks"] += 1
            raise
        else:
            assert_no_nan(result)
            COUNTS["accepted"] += 1
        finally:
            path.write_text(original_text)

    try:
        case()
    finally:
        path.write_text(original_text)
        _clear_caches()


def test_zz_report_counts():
    """Prints the totals (run with -s to see them)."""
    print(f"\nfuzz: {dict(COUNTS)}")
    assert COUNTS["tracebacks"] == 0
