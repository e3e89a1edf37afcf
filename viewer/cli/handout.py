"""``handout``: a print-ready PDF page of 2-6 views, or one page per step of a lesson."""

from __future__ import annotations

import argparse

from viewer.cli.errors import UsageError, report_error
from viewer.cli.export import check_out, export_document, export_state
from viewer.cli.scene_setup import warn_impingement


def run_handout(args: argparse.Namespace) -> int:
    """``handout``: a PDF page of 2-6 views of the scene (or one page per step with ``--lesson``)."""
    from viewer.render.export import ExportError
    from viewer.render.handout import HandoutSpec, handout_sources, write_handout

    check_out(args.out, (".pdf",))
    if args.lesson:
        return run_lesson_handout(args)
    scene_args = argparse.Namespace(**{**vars(args), "lesson": None, "step": 1, "export_view": None, "section": None})
    state = export_state(scene_args)
    session = state.techniques if state.techniques.active else None
    spec = HandoutSpec(
        views=args.views, title=args.title, notes=args.notes, paper=args.paper, orientation=args.orientation,
        labels=bool(state.labels), landmarks=bool(state.landmarks), dpi=args.dpi, techniques=session,
        sources=handout_sources(state.scene, session),
    )  # fmt: skip
    try:
        path = write_handout(state.scene, args.out, spec)
    except ExportError as error:
        return report_error(error)
    print(f"wrote {path} ({len(args.views)} views, {args.paper} {args.orientation})")
    return 0


def run_lesson_handout(args: argparse.Namespace) -> int:
    """``handout --lesson ID``: one page per step, each step's scene with the command line's options over it."""
    from viewer.io.annotations import validate
    from viewer.model.lessons import load_lesson
    from viewer.model.scene import build_scene
    from viewer.model.scene_file import SCENE_SCHEMA, SceneState, apply_document
    from viewer.render.export import ExportError
    from viewer.render.handout import LessonHandoutSpec, state_picture, write_lesson_handout

    if args.scene:
        raise UsageError("give --scene or --lesson, not both")
    try:
        lesson = load_lesson(args.lesson)
    except KeyError as error:
        raise UsageError(error.args[0]) from None
    body = args.body or lesson.steps[0].scene.get("body")  # the skin is built with the scene, once
    state = SceneState.for_scene(build_scene(body=body))

    def render_step(index: int, size: tuple[int, int]):
        step_args = argparse.Namespace(**{**vars(args), "step": index + 1, "export_view": None, "section": None})
        document, source = export_document(step_args, state)
        if body:
            document["body"] = body
        apply_document(state, validate(document, SCENE_SCHEMA, source), source)
        warn_impingement(state.scene)
        return state_picture(state, size, args.dpi)

    spec = LessonHandoutSpec(
        title=lesson.title, steps=[(step.title, step.note) for step in lesson.steps], sources=lesson.citations(),
        paper=args.paper, orientation=args.orientation, dpi=args.dpi,
    )  # fmt: skip
    try:
        path = write_lesson_handout(spec, args.out, render_step)
    except ExportError as error:
        return report_error(error)
    print(f"wrote {path} ({len(lesson.steps)} pages, lesson {lesson.id!r}, {args.paper} {args.orientation})")
    return 0
