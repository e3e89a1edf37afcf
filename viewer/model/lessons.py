"""Lessons: titled, ordered steps an instructor goes through, each a scene with a teaching note (Qt-free).

A lesson file (``viewer/io/schemas/lesson.schema.json``) holds an id, a title, the published works it
draws on, and its steps: a title, a short Markdown note and a scene document without its version
(:mod:`viewer.model.scene_file`). The shipped lessons live in ``assets/lessons/``; instructors write
their own from the window (add the current view as a step, reorder, edit, save) or by hand.

``load_lesson(id)`` and ``list_lessons()`` are the API other commands (handouts) use.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from viewer.io.annotations import AnnotationError, read_json, validate
from viewer.io.references import cite
from viewer.model.scene_file import SCENE_SCHEMA, SCENE_VERSION, write_json
from viewer.paths import assets_dir

LESSON_SCHEMA = "lesson"
LESSON_VERSION = 1


@dataclass(frozen=True)
class LessonStep:
    title: str
    note: str  # Markdown
    scene: dict[str, Any]  # a scene document without "version"

    def document(self) -> dict[str, Any]:
        """The step's scene as a complete scene document (with its version)."""
        return {"version": SCENE_VERSION, **self.scene}


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    steps: tuple[LessonStep, ...]
    summary: str = ""
    sources: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    def citations(self) -> list[str]:
        """The published works the lesson draws on, as a reader would look them up."""
        return cite(self.sources)

    def as_dict(self) -> dict[str, Any]:
        """The lesson file's content."""
        data: dict[str, Any] = {"version": LESSON_VERSION, "id": self.id, "title": self.title}
        if self.summary:
            data["summary"] = self.summary
        if self.sources:
            data["sources"] = list(self.sources)
        data["steps"] = [{"title": s.title, "note": s.note, "scene": dict(s.scene)} for s in self.steps]
        return data

    def with_steps(self, steps: list[LessonStep]) -> Lesson:
        """The same lesson with other steps."""
        return replace(self, steps=tuple(steps))


def lessons_dir() -> Path:
    """The folder of the shipped lessons."""
    return assets_dir() / "lessons"


def step_scene(document: dict[str, Any]) -> dict[str, Any]:
    """A scene document as a lesson step stores it (without its version)."""
    return {k: v for k, v in document.items() if k != "version"}


def read_lesson(path: Path) -> Lesson:
    """A lesson file checked against the lesson schema and every step's scene against the scene schema."""
    path = Path(path)
    data = validate(read_json(path), LESSON_SCHEMA, path)
    steps = []
    for index, step in enumerate(data["steps"]):
        scene = step["scene"]
        if "version" in scene:
            raise AnnotationError(path, "a step's scene has no version of its own", f"steps[{index}].scene.version")
        validate({"version": SCENE_VERSION, **scene}, SCENE_SCHEMA, path, ("steps", index, "scene"))
        steps.append(LessonStep(step["title"], step["note"], scene))
    if data.get("sources"):
        cite(data["sources"])  # an unknown work is an error now, not when the lesson is shown
    return Lesson(
        data["id"], data["title"], tuple(steps), data.get("summary", ""), tuple(data.get("sources", ())), path
    )


def write_lesson(path: Path, lesson: Lesson) -> Path:
    """Write a lesson file atomically (checked against the schemas first)."""
    data = validate(lesson.as_dict(), LESSON_SCHEMA, Path(path))
    for index, step in enumerate(lesson.steps):
        validate(step.document(), SCENE_SCHEMA, Path(path), ("steps", index, "scene"))
    return write_json(path, data)


def list_lessons(directory: Path | None = None) -> list[Lesson]:
    """The shipped lessons, in file-name order."""
    folder = directory or lessons_dir()
    return [read_lesson(path) for path in sorted(folder.glob("*.json"))]


def load_lesson(lesson_id: str, directory: Path | None = None) -> Lesson:
    """One shipped lesson by id; KeyError naming the known ids when there is none."""
    folder = directory or lessons_dir()
    path = folder / f"{lesson_id}.json"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(folder.glob("*.json")))
        raise KeyError(f"--lesson: unknown id {lesson_id!r}; known: {known}")
    lesson = read_lesson(path)
    if lesson.id != lesson_id:
        raise AnnotationError(path, f"the id must match the file name, {lesson_id!r}", "id")
    return lesson


def lesson_step_document(lesson_id: str, number: int) -> tuple[dict[str, Any], Path]:
    """Step ``number`` (from 1) of a shipped lesson as a scene document, and the lesson's file."""
    lesson = load_lesson(lesson_id)
    if not 1 <= number <= len(lesson.steps):
        raise KeyError(f"--step must be 1 to {len(lesson.steps)} for lesson {lesson_id!r}, not {number}")
    return lesson.steps[number - 1].document(), lesson.path


__all__ = [
    "Lesson",
    "LessonStep",
    "lesson_step_document",
    "list_lessons",
    "load_lesson",
    "read_lesson",
    "step_scene",
    "write_lesson",
]
