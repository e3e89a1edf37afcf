"""A lesson being written or changed in the window: add the current scene as a step, edit, reorder, delete.

Qt-free. :meth:`LessonDraft.lesson` gives the frozen :class:`~viewer.model.lessons.Lesson` that
:func:`~viewer.model.lessons.write_lesson` checks and writes atomically.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from viewer.model.lessons import Lesson, LessonStep, step_scene


def lesson_id(title: str) -> str:
    """A lesson id from its title, as the schema wants it (lower-case letters, digits, underscores)."""
    words = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    return words if words and words[0].isalpha() else f"lesson_{words}".rstrip("_")


class LessonDraft:
    """A mutable list of steps with a title; starts from a lesson or empty."""

    def __init__(self, lesson: Lesson | None = None, title: str = "My lesson") -> None:
        self.title = lesson.title if lesson else title
        self.summary = lesson.summary if lesson else ""
        self.sources = lesson.sources if lesson else ()
        self.steps: list[LessonStep] = list(lesson.steps) if lesson else []
        self.path: Path | None = lesson.path if lesson else None
        self.id = lesson.id if lesson else lesson_id(title)

    def rename(self, title: str) -> None:
        """A new title (and the id made from it)."""
        if title.strip() and title.strip() != self.title:
            self.title = title.strip()
            self.id = lesson_id(self.title)

    def add(self, document: dict[str, Any], title: str, note: str, at: int | None = None) -> int:
        """Insert a step made from a scene document (after ``at``, or at the end); its index."""
        index = len(self.steps) if at is None else min(max(at + 1, 0), len(self.steps))
        self.steps.insert(index, LessonStep(title.strip() or f"Step {index + 1}", note, step_scene(document)))
        return index

    def edit(self, index: int, title: str | None = None, note: str | None = None) -> None:
        """Change a step's title (a blank title keeps the old one) and/or its note."""
        step = self.steps[index]
        self.steps[index] = replace(
            step, title=(title.strip() or step.title) if title is not None else step.title,
            note=step.note if note is None else note,
        )  # fmt: skip

    def move(self, index: int, offset: int) -> int:
        """Move a step up (``offset`` -1) or down (+1); its new index (unchanged at either end)."""
        target = index + offset
        if not 0 <= index < len(self.steps) or not 0 <= target < len(self.steps):
            return index
        self.steps.insert(target, self.steps.pop(index))
        return target

    def delete(self, index: int) -> None:
        """Remove the step at ``index``."""
        del self.steps[index]

    def lesson(self) -> Lesson:
        """The draft as a lesson (ValueError when it has no step: a lesson file needs at least one)."""
        if not self.steps:
            raise ValueError("a lesson needs at least one step: add the current view as a step first")
        return Lesson(self.id, self.title, tuple(self.steps), self.summary, tuple(self.sources), self.path)
