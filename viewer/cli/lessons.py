"""``lessons``: the shipped lessons with their steps and teaching notes."""

from __future__ import annotations

import argparse
import json
import sys


def run_lessons(args: argparse.Namespace) -> int:
    """The shipped lessons: id, title, sources and each step's title and teaching note."""
    from viewer.model.lessons import list_lessons

    lessons = [
        {
            "id": lesson.id,
            "title": lesson.title,
            "summary": lesson.summary,
            "sources": lesson.citations(),
            "steps": [{"number": n, "title": s.title, "note": s.note} for n, s in enumerate(lesson.steps, 1)],
        }
        for lesson in list_lessons()
    ]
    if args.json:
        json.dump({"lessons": lessons}, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    for lesson in lessons:
        print(f"{lesson['id']}: {lesson['title']} ({len(lesson['steps'])} steps)")
        for step in lesson["steps"]:
            print(f"  {step['number']}. {step['title']}")
    return 0
