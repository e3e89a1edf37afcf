"""Self-test questions: generated from the model, reproducible, and right by construction."""

from __future__ import annotations

import json

import pytest

from viewer.cli import main
from viewer.model.quiz import CLEAR_CHANGE, TOPICS, VERDICTS, check_answer, length_changes, make_quiz, rotators


@pytest.fixture(scope="module")
def quiz_scene():
    from viewer.model.scene import build_scene

    return build_scene()


@pytest.fixture(scope="module")
def questions(quiz_scene):
    return make_quiz(quiz_scene, seed=7, count=12)


def test_a_quiz_covers_every_topic_and_leaves_the_pose_alone(quiz_scene, questions):
    assert len(questions) == 12
    assert {q.topic for q in questions} == set(TOPICS)
    assert len({q.prompt for q in questions}) == 12
    assert all(pose.as_dict() == dict.fromkeys(pose.as_dict(), 0.0) for pose in (quiz_scene.pose("right"),))


def test_every_answer_is_rederived_from_the_model(quiz_scene, questions):
    for question in questions:
        assert question.is_right(check_answer(quiz_scene, question)), question.prompt
        assert question.is_right(question.answer)


def test_lengthening_answers_are_the_muscles_whose_fibres_lengthen(quiz_scene, questions):
    from viewer.anatomy.kinematics import LegPose

    asked = [q for q in questions if q.kind == "lengthen"]
    assert asked
    for question in asked:
        side, angles = next(iter(question.pose.items()))
        change = length_changes(quiz_scene, {side: LegPose(**angles)}, question.keys)
        for index, key in enumerate(question.keys):
            # every option changes clearly: no muscle is a trick on the edge of the rounding
            assert abs(change[key]) > CLEAR_CHANGE
            assert (index in question.answer) == (change[key] > 0)
            assert f"{100 * change[key]:+.0f}%" in question.explanation


def test_order_and_name_answers_follow_the_annotations(quiz_scene, questions):
    for question in questions:
        if question.kind == "order":
            layers = [quiz_scene.layers.index(quiz_scene.layer_of(question.keys[i])) for i in question.answer]
            assert layers == sorted(layers) and len(set(layers)) == len(layers)
        if question.kind == "name":
            target = question.highlight[0]
            assert question.options[question.answer] == quiz_scene.structure_name(target)
            assert question.options.count(question.options[question.answer]) == 1
        if question.topic == "rotators":
            assert set(question.highlight) <= set(rotators(quiz_scene))


def test_safety_answers_are_the_safety_checks_verdicts(quiz_scene):
    from viewer.model.quiz import safety_report, verdict_index

    questions = make_quiz(quiz_scene, seed=1, count=4, topics=("danger",))
    assert {q.kind for q in questions} == {"safety"}
    for question in questions:
        technique = question.technique
        _technique, report = safety_report(quiz_scene, technique["id"], technique["side"], technique["angle_to_surface_deg"])
        assert question.options[question.answer] == VERDICTS[verdict_index(report)]
        assert question.explanation == report.explanation
        assert (question.answer == 0) == (not report.flagged)


def test_latin_names_the_options_in_latin(quiz_scene):
    questions = make_quiz(quiz_scene, seed=2, count=4, topics=("rotators",), language="latin")
    named = [q for q in questions if q.kind == "name"]
    for question in named:
        assert question.options[question.answer] == quiz_scene.structure_name(question.highlight[0], "latin")
        assert question.options[question.answer].startswith("musculus")


def test_quiz_cli_is_reproducible(capsys):
    assert main(["quiz", "--json", "--seed", "5", "--count", "3", "--topic", "layers"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["quiz", "--json", "--seed", "5", "--count", "3", "--topic", "layers"]) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert len(first["questions"]) == 3
    assert main(["quiz", "--json", "--seed", "6", "--count", "3", "--topic", "layers"]) == 0
    assert json.loads(capsys.readouterr().out) != first


def test_bad_quiz_topic_is_one_clear_line(capsys):
    with pytest.raises(SystemExit):
        main(["quiz", "--topic", "knees"])
    assert "--topic must be one of" in capsys.readouterr().err
