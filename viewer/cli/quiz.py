"""``quiz``: a reproducible self-test whose answers are computed from the model."""

from __future__ import annotations

import argparse
import json
import sys

from viewer.cli.errors import UsageError


def run_quiz(args: argparse.Namespace) -> int:
    """Questions with their answers, for tests and for teachers preparing paper quizzes."""
    from viewer.model.quiz import TOPICS, make_quiz
    from viewer.model.scene import build_scene

    topics = tuple(args.topic or TOPICS)
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        raise UsageError(f"--topic must be one of {', '.join(TOPICS)}, not {', '.join(unknown)}")
    if not 1 <= args.count <= 50:
        raise UsageError(f"--count must be 1 to 50, not {args.count}")
    scene = build_scene()
    scene.set_language(args.language)
    questions = make_quiz(scene, seed=args.seed, count=args.count, topics=topics, language=args.language)
    if args.json:
        report = {"seed": args.seed, "topics": list(topics), "questions": [q.as_dict() for q in questions]}
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    for number, question in enumerate(questions, 1):
        print(f"{number}. {question.prompt}")
        for index, option in enumerate(question.options):
            print(f"   {chr(65 + index)}. {option}")
    print("\nAnswers:")
    for number, question in enumerate(questions, 1):
        answer = question.answer
        if isinstance(answer, int):
            answer = chr(65 + answer)
        elif isinstance(answer, list):
            answer = ", ".join(chr(65 + i) for i in answer)
        print(f"{number}. {answer}: {question.explanation}")
    return 0
