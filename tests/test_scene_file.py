"""Saved scenes and lessons: exact round trips, atomic saves, bad files refused, every shipped step drawable."""

from __future__ import annotations

import json

import numpy as np
import pytest
from imaging import read_png

from viewer.cli import main
from viewer.io.annotations import AnnotationError
from viewer.model.lessons import list_lessons, load_lesson, read_lesson, write_lesson
from viewer.model.scene import build_scene
from viewer.model.scene_file import (
    SceneState,
    apply_document,
    check_document,
    load_scene_file,
    scene_document,
    write_scene,
)
from viewer.render.export import export_png

SMALL = (200, 150)


def _posed_state() -> SceneState:
    """A scene far from start-up in every field a document holds."""
    state = SceneState.for_scene(build_scene())
    scene = state.scene
    scene.set_nerve_variant("divided_fibular_through_piriformis")
    scene.set_danger_margin(22.0)
    state.techniques.choose("rotators_prone_knee90", "left")
    scene.set_pose("right", hip_flexion=35.0, hip_abduction=10.0)
    state.history.set_ghost(True)
    state.history.set_depth(3)
    state.history.set_opacity("gluteus_medius_right", 0.55)
    scene.select("piriformis_left")
    scene.set_language("latin")
    scene.set_colour_mode("stretch")
    scene.set_fibres_visible(True)
    state.camera = {
        "position": [-900.0, 40.0, 300.0],
        "focal_point": [-45.0, -110.0, 0.0],
        "up": [0.0, 1.0, 0.0],
        "view_angle": 28.0,
    }
    state.labels = True
    state.history.set_body("male")  # the skin itself changes: the loaded scene must draw the male body too
    state.history.set_skin_tone("dark")  # ... in the saved colour
    return state


def test_save_and_load_reproduce_the_state_and_the_picture(tmp_path):
    saved = _posed_state()
    path = write_scene(tmp_path / "lecture.json", scene_document(saved))
    loaded = SceneState.for_scene(build_scene())
    load_scene_file(loaded, path)
    assert scene_document(loaded) == scene_document(saved)
    assert loaded.scene.pose("right").hip_flexion == 35.0 and loaded.peel.depth == 3 and loaded.peel.ghost
    assert loaded.scene.opacity("gluteus_medius_right") == 0.55
    assert loaded.scene.body == "male" and loaded.scene.skin_tone == "dark"
    pictures = []
    for state, name in ((saved, "saved.png"), (loaded, "loaded.png")):
        export_png(
            state.scene,
            tmp_path / name,
            size=SMALL,
            labels=state.labels,
            landmarks=state.landmarks,
            techniques=state.techniques,
            camera=state.camera,
        )
        pictures.append(read_png(tmp_path / name))
    assert np.array_equal(pictures[0], pictures[1])
    assert pictures[0].std() > 10  # something was drawn


def test_a_bad_scene_names_the_file_and_field_and_changes_nothing(tmp_path):
    state = SceneState.for_scene(build_scene())
    state.scene.set_pose("both", hip_flexion=20.0)
    before = scene_document(state)
    cases = {
        "unknown.json": (
            {"version": 1, "peel": {"depth": 2}, "structures": {"gluteus_maximum_right": {"visible": False}}},
            "structures.gluteus_maximum_right",
        ),
        "angle.json": ({"version": 1, "pose": {"left": {"hip_flexion": 400}}}, "pose.left"),
        "version.json": ({"version": 7}, "version"),
        "opacity.json": ({"version": 1, "structures": {"skin": {"opacity": 2}}}, "structures.skin.opacity"),
        "tone.json": ({"version": 1, "peel": {"depth": 2}, "skin_tone": "purple"}, "skin_tone"),
    }
    for name, (document, field) in cases.items():
        (tmp_path / name).write_text(json.dumps(document))
        with pytest.raises(AnnotationError) as caught:
            load_scene_file(state, tmp_path / name)
        assert caught.value.field == field and name in str(caught.value) and "\n" not in str(caught.value)
        assert scene_document(state) == before


def test_a_scene_saved_before_skin_tones_opens_in_the_default_tone(tmp_path):
    from viewer.model.scene import default_skin_tone

    state = SceneState.for_scene(build_scene())
    state.history.set_skin_tone("medium_dark")
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"version": 1, "body": "female", "pose": {"right": {"hip_flexion": 30}}}))
    load_scene_file(state, path)
    assert state.scene.skin_tone == default_skin_tone() != "medium_dark"
    assert state.scene.body == "female" and state.scene.pose("right").hip_flexion == 30.0


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    path = write_scene(tmp_path / "scene.json", {"version": 1, "peel": {"depth": 1}})
    original = path.read_bytes()
    with pytest.raises(ValueError):
        write_scene(
            path,
            {"version": 1, "camera": {"position": [float("nan"), 0, 0], "focal_point": [0, 0, 0], "up": [0, 1, 0]}},
        )
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["scene.json"]  # no temporary file left behind


def test_shipped_lessons_are_complete_and_every_step_applies(scene):
    lessons = list_lessons()
    assert len(lessons) >= 6
    assert {"layers_skin_to_bone", "deep_six_sciatic", "rotators_flexion"} <= {lesson.id for lesson in lessons}
    state = SceneState.for_scene(scene)
    for lesson in lessons:
        assert len(lesson.steps) >= 4, lesson.id
        assert lesson.citations() and not any(".md" in c or ".txt" in c for c in lesson.citations())
        for number, step in enumerate(lesson.steps):
            assert step.title and len(step.note) > 40
            check_document(state, step.document(), lesson.path, f"steps[{number}].scene")
    flexion = load_lesson("rotators_flexion")
    assert any(
        step.scene.get("colour_mode") == "stretch" and step.scene["pose"]["right"].get("hip_flexion") == 90
        for step in flexion.steps
        if "pose" in step.scene
    )


def test_one_step_of_each_lesson_renders(tmp_path):
    state = SceneState.for_scene(build_scene())
    blank = tmp_path / "start.png"
    export_png(state.scene, blank, size=(320, 240))
    start = read_png(blank)
    for lesson in list_lessons():
        number = len(lesson.steps) // 2
        apply_document(state, lesson.steps[number].document(), lesson.path)
        out = tmp_path / f"{lesson.id}.png"
        export_png(
            state.scene,
            out,
            size=(320, 240),
            labels=state.labels,
            landmarks=state.landmarks,
            techniques=state.techniques if state.techniques.active else None,
            camera=state.camera,
        )
        picture = read_png(out)
        assert np.abs(picture.astype(int) - start.astype(int)).mean() > 2, lesson.id  # the step shows something else


def test_a_lesson_saves_atomically_and_reads_back(tmp_path):
    lesson = load_lesson("freeing_maximus")
    path = write_lesson(tmp_path / "mine.json", lesson.with_steps(list(reversed(lesson.steps))))
    again = read_lesson(path)
    assert [s.title for s in again.steps] == [s.title for s in reversed(lesson.steps)]
    broken = json.loads(path.read_text())
    broken["steps"][1]["scene"]["peel"] = {"depth": -1}
    path.write_text(json.dumps(broken))
    with pytest.raises(AnnotationError, match=r"steps\[1\]\.scene\.peel\.depth"):
        read_lesson(path)


def test_cli_lessons_json_and_step_export(tmp_path, capsys):
    assert main(["lessons", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["lessons"]
    layers = next(entry for entry in listed if entry["id"] == "layers_skin_to_bone")
    assert layers["title"] == "The layers of the buttock, skin to bone"
    assert all(step["title"] and step["note"] for step in layers["steps"])
    scene_path = tmp_path / "step.json"
    out = tmp_path / "step.png"
    assert (
        main(
            [
                "export",
                "--lesson",
                "layers_skin_to_bone",
                "--step",
                "3",
                "--size",
                "160x120",
                "--out",
                str(out),
                "--save-scene",
                str(scene_path),
            ]
        )
        == 0
    )
    saved = json.loads(scene_path.read_text())
    assert saved["peel"]["depth"] == 2 and saved["fibres"] is True and saved["labels"] is True
    assert not saved["structures"]["skin"]["visible"] and saved["structures"]["gluteus_maximus_right"]["visible"]
    # the other options override the file
    again = tmp_path / "again.json"
    assert (
        main(
            [
                "export",
                "--scene",
                str(scene_path),
                "--peel",
                "0",
                "--language",
                "latin",
                "--size",
                "160x120",
                "--out",
                str(out),
                "--save-scene",
                str(again),
            ]
        )
        == 0
    )
    overridden = json.loads(again.read_text())
    assert overridden["peel"]["depth"] == 0 and overridden["structures"]["skin"]["visible"]
    assert overridden["language"] == "latin" and overridden["fibres"] is True
    with pytest.raises(SystemExit):
        main(["export", "--lesson", "layers_skin_to_bone", "--step", "99", "--out", str(out)])
    assert "--step must be 1 to 6" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "--lesson", "nope", "--out", str(out)])
    assert "unknown id 'nope'" in capsys.readouterr().err
