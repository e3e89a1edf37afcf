"""Command line: open the window, or work headless (``inspect``, ``export``).

``glute-viewer`` and ``python -m viewer`` share this entry point. The headless
commands never import Qt; the window is imported only when it is asked for.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from viewer.anatomy.kinematics import JOINT_RANGES, PoseError
from viewer.render.views import VIEWS

MAX_EXPORT_PIXELS = 16384  # larger pictures are rendered in tiles (viewer.render.export)


class UsageError(Exception):
    """Bad command-line input: reported with the usage line, never a traceback."""


class CommandFailed(Exception):
    """The command cannot do what was asked (no display, a result it will not print): one line, exit 1."""


def refuse_non_finite(report: dict) -> None:
    """Stop before printing a result that holds NaN or Infinity anywhere (it would read as a real number)."""
    from viewer.io.annotations import field_path, first_bad_number

    bad = first_bad_number(report, [], largest=math.inf)
    if bad is not None:
        raise CommandFailed(f"result field '{field_path(bad[0])}' is {bad[1]!r}, not a finite number; nothing printed")


def print_json(report: dict) -> None:
    """``report`` as one JSON object on stdout; never a NaN or Infinity token (nothing printed then)."""
    refuse_non_finite(report)
    sys.stdout.write(json.dumps(report, indent=1, allow_nan=False) + "\n")


def parse_pose(text: str) -> dict[str, float]:
    """``hip_flexion=90,hip_rotation=20`` -> {"hip_flexion": 90.0, "hip_rotation": 20.0}."""
    angles: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise argparse.ArgumentTypeError(f"pose item {item!r} must look like key=degrees")
        if key not in JOINT_RANGES:
            raise argparse.ArgumentTypeError(f"unknown pose key {key!r}; known: {', '.join(JOINT_RANGES)}")
        if key in angles:
            raise argparse.ArgumentTypeError(f"pose key {key!r} given twice")
        try:
            angles[key] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"pose value for {key} must be a number of degrees, not {value!r}"
            ) from None
    return angles


def parse_name(text: str) -> str:
    """A structure name option: refuse the empty string instead of silently ignoring it."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a structure, e.g. piriformis_right (empty name given)")
    return text.strip()


def parse_size(text: str) -> tuple[int, int]:
    """``1920x1080`` -> (1920, 1080)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1920x1080, not {text!r}") from None
    if not (16 <= width <= MAX_EXPORT_PIXELS and 16 <= height <= MAX_EXPORT_PIXELS):
        raise argparse.ArgumentTypeError(f"size {text} outside 16..{MAX_EXPORT_PIXELS} pixels a side")
    return width, height


def positive_number(text: str) -> float:
    """``300`` -> 300.0; zero, negative or non-numbers are refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not (value > 0 and value < 1e5):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text!r}")
    return value


def parse_views(text: str) -> list[str]:
    """``posterior,right`` -> ["posterior", "right"] (2 to 6 known views)."""
    views = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [view for view in views if view not in VIEWS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown view {unknown[0]!r}; choose from {', '.join(VIEWS)}")
    if not 2 <= len(views) <= 6:
        raise argparse.ArgumentTypeError(f"give 2 to 6 views, not {len(views)}")
    return views


def _add_pose_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pose",
        type=parse_pose,
        default={},
        metavar="KEY=DEG,...",
        help=f"joint angles in degrees ({', '.join(JOINT_RANGES)}); flexion, abduction, internal rotation positive",
    )
    parser.add_argument("--side", choices=["both", "right", "left"], default="both", help="which leg --pose moves")
    parser.add_argument(
        "--body",
        choices=["female", "male"],
        help="body type of the skin (average adult woman or man; default female): bones and muscles stay the same",
    )


def _add_scene_options(parser: argparse.ArgumentParser) -> None:
    """What the picture shows: colours, layers, labels, language, technique, nerve (export and handout).

    Every option defaults to None: "not given", so a scene file or lesson step keeps its own value.
    """
    parser.add_argument(
        "--color-by",
        choices=["anatomy", "stretch"],
        help="anatomy: each structure its own colour; stretch: muscle length change from anatomical position",
    )
    parser.add_argument("--peel", type=int, metavar="N", help="hide the N outermost layers (0 = skin on)")
    parser.add_argument("--ghost", action="store_true", default=None, help="keep the last peeled layer as a faint ghost")
    parser.add_argument(
        "--isolate", type=parse_name, metavar="NAME", help="show only this structure (others ghosted), e.g. piriformis_right"
    )
    parser.add_argument(
        "--labels", action="store_true", default=None, help="name the visible structures with leader lines"
    )
    parser.add_argument(
        "--landmarks", action="store_true", default=None, help="show the landmark pins (ASIS, PSIS, trochanter...)"
    )
    parser.add_argument(
        "--language",
        choices=["english", "latin"],
        help="names on labels and pins: english, or latin (Terminologia Anatomica)",
    )
    parser.add_argument("--technique", metavar="ID", help="pose, peel and draw a massage technique (see: techniques)")
    parser.add_argument("--technique-side", choices=["right", "left"], help="side the technique works (default right)")
    parser.add_argument("--nerve-variant", metavar="ID", help="sciatic nerve variant (see: techniques --json)")
    parser.add_argument("--danger-margin", type=float, metavar="MM", help="safety margin around the sciatic nerve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glute-viewer",
        description="3D atlas of the hip and gluteal region. Without a command, opens the window "
        "(on FILE.json, a saved scene or a lesson, when one is given: glute-viewer FILE.json).",
    )
    parser.add_argument(
        "--screenshot", type=Path, metavar="FILE.png", help="open the window, save a picture of it, exit"
    )
    parser.add_argument("--view", choices=list(VIEWS), default="posterior", help="initial view of the window")
    parser.add_argument("--size", type=parse_size, default=(1600, 1000), metavar="WxH", help="window size")
    commands = parser.add_subparsers(dest="command", metavar="{inspect,export,handout,techniques,probe,quiz,lessons}")

    inspect = commands.add_parser(
        "inspect", help="print what the scene holds (units, frame, pose, landmarks, structures)"
    )
    inspect.add_argument("--json", action="store_true", help="one JSON object on standard output")
    inspect.add_argument("--fibres", action="store_true", help="include each muscle's fibre polylines (mm)")
    _add_pose_options(inspect)

    export = commands.add_parser("export", help="render the scene off-screen to a PNG, or save it as glTF (.glb/.gltf)")
    export.add_argument(
        "--view", choices=list(VIEWS), default=None, dest="export_view",
        help="camera (default: posterior, or facing the cut with --section)",
    )
    export.add_argument("--size", type=parse_size, default=(1920, 1080), metavar="WxH", dest="export_size")
    export.add_argument("--out", type=Path, required=True, metavar="FILE.png|FILE.glb|FILE.gltf")
    export.add_argument("--transparent", action="store_true", help="PNG: fully transparent background (RGBA)")
    export.add_argument("--dpi", type=positive_number, metavar="N", help="PNG: print resolution, stored in the file")
    export.add_argument("--fibres", action="store_true", help="glTF: add each muscle's fibre lines")
    _add_scene_options(export)
    export.add_argument(
        "--section",
        metavar="PLANE",
        help="cut the body and cap the cut: transverse@y=-90, sagittal@z=60, coronal@x=-80 or X,Y,Z:NX,NY,NZ",
    )
    export.add_argument(
        "--scene", type=Path, metavar="FILE.json", help="draw a saved scene (the other options override it)"
    )
    export.add_argument("--lesson", metavar="ID", help="draw a step of a lesson (see: lessons); with --step")
    export.add_argument("--step", type=int, default=1, metavar="N", help="which step of --lesson, from 1")
    export.add_argument("--save-scene", type=Path, metavar="FILE.json", help="also write the scene of this picture")

    handout = commands.add_parser("handout", help="a print-ready PDF page with 2-6 labelled views")
    handout.add_argument("--out", type=Path, required=True, metavar="FILE.pdf")
    handout.add_argument(
        "--views", type=parse_views, default=["posterior", "right"], metavar="VIEW,VIEW,...",
        help=f"2-6 of: {', '.join(VIEWS)}",
    )  # fmt: skip
    handout.add_argument("--paper", choices=["a4", "letter"], default="a4")
    handout.add_argument("--orientation", choices=["portrait", "landscape"], default="portrait")
    handout.add_argument("--title", default="The gluteal region", help="the page's title")
    handout.add_argument("--notes", default="", help="your notes, printed under the pictures")
    handout.add_argument("--dpi", type=positive_number, default=300.0, metavar="N", help="picture resolution")
    handout.add_argument(
        "--lesson", metavar="ID", help="one page per step of a lesson (see: lessons): picture, title, teaching note"
    )
    _add_scene_options(handout)
    handout.add_argument(
        "--scene", type=Path, metavar="FILE.json", help="draw a saved scene (the other options override it)"
    )
    _add_pose_options(handout)

    lessons = commands.add_parser("lessons", help="list the lessons with their steps and teaching notes")
    lessons.add_argument("--json", action="store_true", help="one JSON object on standard output")

    techniques = commands.add_parser("techniques", help="list the massage techniques with their safety check")
    techniques.add_argument("--json", action="store_true", help="one JSON object on standard output")
    techniques.add_argument("--side", choices=["right", "left", "both"], default="both", help="sides to check")
    techniques.add_argument("--nerve-variant", metavar="ID", help="check against another sciatic nerve variant")
    techniques.add_argument("--danger-margin", type=float, metavar="MM", help="safety margin around the sciatic nerve")
    _add_pose_options(export)
    _add_study_commands(commands)
    return parser


def _add_study_commands(commands) -> None:
    """``probe`` and ``quiz``: the study tools, headless."""
    probe = commands.add_parser("probe", help="the column of tissues under a point: depths, nerve and bone")
    probe.add_argument("--at", required=True, metavar="LANDMARK|X,Y,Z", help="a landmark or a point (mm)")
    probe.add_argument("--direction", metavar="X,Y,Z", help="into the body (default: the inward normal)")
    probe.add_argument("--technique", metavar="ID", help="probe along this technique's line of force instead")
    probe.add_argument("--technique-side", choices=["right", "left"], default="right")
    probe.add_argument("--depth", type=float, default=None, metavar="MM", help="how deep to look (default 150)")
    probe.add_argument("--language", choices=["english", "latin"], default="english")
    probe.add_argument("--json", action="store_true", help="one JSON object on standard output")
    _add_pose_options(probe)

    quiz = commands.add_parser("quiz", help="a reproducible self-test with answers computed from the model")
    quiz.add_argument("--seed", type=int, default=0, help="the same seed gives the same questions")
    quiz.add_argument("--count", type=int, default=10, metavar="N", help="how many questions (1-50)")
    quiz.add_argument("--topic", action="append", metavar="TOPIC", help="layers, rotators, actions or danger (repeatable)")
    quiz.add_argument("--language", choices=["english", "latin"], default="english")
    quiz.add_argument("--json", action="store_true", help="one JSON object on standard output")


def _posed_scene(args: argparse.Namespace):
    from viewer.model.scene import build_scene

    scene = build_scene(body=args.body)
    if args.pose:
        scene.set_pose(args.side, **args.pose)
        _warn_impingement(scene)
    return scene


def _warn_impingement(scene) -> None:
    """Say so when the pose drives a femur into the pelvis (the output is still written)."""
    for found in scene.impingements():
        print(f"glute-viewer: warning: {found.message()}", file=sys.stderr)


def run_inspect(args: argparse.Namespace) -> int:
    scene = _posed_scene(args)
    report = scene.describe(include_fibres=args.fibres)
    report["pose"] = {
        "side": args.side,
        **scene.pose("left" if args.side == "left" else "right").as_dict(),
        **report["pose"],
    }
    if args.json:
        print_json(report)
        return 0
    refuse_non_finite(report)
    print(f"units: {report['units']}; frame: {report['frame']['name']}")
    print("pose: " + ", ".join(f"{k}={v:g}" for k, v in scene.pose("right").as_dict().items()))
    print(f"{len(report['landmarks'])} landmarks; structures:")
    for name, entry in report["structures"].items():
        length = f"{entry['length_mm']:7.1f} mm" if "length_mm" in entry else ""
        print(f"  {name:32s} {entry['kind']:7s} {entry['layer']:13s} {entry['volume_cm3']:8.1f} cm3 {length}")
    return 0


def _check_variant(variant: str) -> str:
    from viewer.model.nerves import variant_choices

    known = [v[0] for v in variant_choices()]
    if variant not in known:
        raise UsageError(f"--nerve-variant must be one of {', '.join(known)}, not {variant!r}")
    return variant


def _set_variant(scene, variant: str) -> None:
    scene.set_nerve_variant(_check_variant(variant))


def _set_margin(scene, margin_mm: float | None) -> None:
    if margin_mm is not None:
        try:
            scene.set_danger_margin(margin_mm)
        except ValueError as error:
            raise UsageError(f"--danger-margin: {error}") from None


def _technique_session(scene):
    from viewer.model.history import History
    from viewer.model.layers import PeelState
    from viewer.model.technique_session import TechniqueSession

    peel = PeelState()
    return TechniqueSession(scene, History(scene, peel), peel)


def run_techniques(args: argparse.Namespace) -> int:
    """Every technique at its recommended pose, with the safety check computed from the geometry."""
    from viewer.model.nerves import variant_choices
    from viewer.model.scene import build_scene

    scene = build_scene()
    if args.nerve_variant:
        _set_variant(scene, args.nerve_variant)
    _set_margin(scene, args.danger_margin)
    session = _technique_session(scene)
    sides = ("right", "left") if args.side == "both" else (args.side,)
    listed = []
    for technique in session.techniques.values():
        checks = {}
        for side in sides:
            session.choose(technique.id, side)
            _geometry, report, _zones = session.result()
            checks[side] = {
                **report.summary(),
                "reaches_target": report.reaches_target,
                "crossings": [
                    {"structure": c.structure, "entry_mm": c.entry_mm, "exit_mm": c.exit_mm, "bone": c.bone}
                    for c in report.crossings
                ],
                "explanation": report.explanation,
            }
        listed.append(
            {
                "id": technique.id,
                "title": technique.title,
                "kind": technique.kind,
                "targets": list(technique.targets),
                "tool": technique.tool,
                "client_position": technique.client_position,
                "pose": {"action": technique.pose_action, **technique.pose_angles},
                "approach": {
                    k: technique.approach[k]
                    for k in ("angle_to_surface_deg", "cone_half_angle_deg")
                    if k in technique.approach
                },
                "sources": technique.citations,
                "safety": checks,
            }
        )
    report = {
        "nerve_variant": scene.nerve_variant,
        "danger_margin_mm": scene.danger_margin_mm,
        "nerve_variants": [{"id": i, "name": n, "prevalence_percent": p} for i, n, p in variant_choices()],
        "techniques": listed,
    }
    if args.json:
        print_json(report)
        return 0
    refuse_non_finite(report)
    for entry in listed:
        verdicts = ", ".join(
            f"{side}: {'FLAGGED' if c['flagged'] else 'safe'} ({c['angle_to_surface_deg']:.0f}° to surface, "
            f"{c['nerve_distance_mm']:.1f} mm from nerve, margin {c['danger_margin_mm']:g} mm)"
            for side, c in entry["safety"].items()
        )
        print(f"{entry['id']:36s} {verdicts}")
    return 0


def _section_document(text: str) -> dict:
    """``--section`` as a scene document's section (a usage error naming the option when bad)."""
    from viewer.model.sections import SectionError, parse_section

    try:
        plane = parse_section(text)
    except SectionError as error:
        raise UsageError(f"--section: {error}") from None
    return {"origin": plane.origin.tolist(), "normal": plane.normal.tolist(), "kind": plane.kind}


def _base_document(args: argparse.Namespace) -> tuple[dict, Path]:
    """The scene the export starts from: a scene file, a lesson step, or the start-up scene; and its file."""
    from viewer.model.scene_file import SCENE_VERSION, read_scene

    if args.scene and args.lesson:
        raise UsageError("give --scene or --lesson, not both")
    if args.scene:
        return read_scene(args.scene), args.scene
    if args.lesson:
        from viewer.model.lessons import lesson_step_document

        try:
            return lesson_step_document(args.lesson, args.step)
        except KeyError as error:
            raise UsageError(error.args[0]) from None
    return {"version": SCENE_VERSION}, Path("command line")


def export_document(args: argparse.Namespace, state) -> tuple[dict, Path]:
    """The scene document of one export: the base scene with the options given on the command line over it."""
    document, source = _base_document(args)
    if args.technique:
        if args.technique not in state.techniques.techniques:
            known = ", ".join(state.techniques.techniques)
            raise UsageError(f"--technique: unknown id {args.technique!r}; known: {known}")
        for key in ("pose", "peel", "isolate", "structures"):  # what the technique sets itself
            document.pop(key, None)
        document["technique"] = {"id": args.technique, "side": args.technique_side or "right"}
    elif args.technique_side and document.get("technique"):
        document["technique"]["side"] = args.technique_side
    if args.pose:
        poses = document.setdefault("pose", {})
        for side in ("right", "left") if args.side == "both" else (args.side,):
            poses[side] = {**poses.get(side, {}), **args.pose}
    n_layers = state.peel.n_layers
    if args.peel is not None and not 0 <= args.peel < n_layers:
        raise UsageError(f"--peel must be 0 to {n_layers - 1} (there are {n_layers} layers), not {args.peel}")
    if args.peel is not None or args.ghost or args.isolate:
        document.pop("structures", None)  # exact states of the file, made by its own peel and isolate
        peel = document.setdefault("peel", {})
        if args.peel is not None:
            peel["depth"] = args.peel
        if args.ghost:
            peel["ghost"] = True
    if args.isolate:
        name = args.isolate
        if name not in state.scene.structures:
            from viewer.model.search import search

            found = search(name, state.scene)
            if not found:
                raise UsageError(f"--isolate: no structure called {name!r}")
            name = found[0].structure
        document["isolate"] = name
    if args.nerve_variant:
        document["nerve_variant"] = _check_variant(args.nerve_variant)
    if args.danger_margin is not None:
        if not 0 <= args.danger_margin <= 60:
            raise UsageError(f"--danger-margin: danger margin {args.danger_margin:g} mm outside 0..60 mm")
        document["danger_margin_mm"] = args.danger_margin
    options = {"colour_mode": args.color_by, "language": args.language, "labels": args.labels}
    document.update({key: value for key, value in {**options, "landmarks": args.landmarks}.items() if value is not None})
    if args.section:
        document["section"] = _section_document(args.section)
        if not args.export_view:
            from viewer.render.views import view_facing

            document["camera"] = {"view": view_facing(document["section"]["normal"])}
    if args.export_view:
        document["camera"] = {"view": args.export_view}
    return document, source


def _check_out(out: Path, suffixes: tuple[str, ...]) -> str:
    """The lower-case suffix of ``--out`` if it is one of ``suffixes`` and names a file in an existing folder."""
    suffix = out.suffix.lower()
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a file name ending in {' or '.join(suffixes)}")
    if suffix not in suffixes:
        raise UsageError(f"--out must name a {' or '.join(suffixes)} file, not {out}")
    if not out.parent.is_dir():
        raise UsageError(f"--out: the folder {out.parent} does not exist")
    return suffix


def _report_export_error(error: Exception) -> int:
    print(f"glute-viewer: error: {error}", file=sys.stderr)
    return 1


def _export_state(args: argparse.Namespace):
    """The scene an export or handout shows: the base scene document with the options over it, applied."""
    from viewer.io.annotations import validate
    from viewer.model.scene import build_scene
    from viewer.model.scene_file import SCENE_SCHEMA, SceneState, apply_document

    base, _source = _base_document(args)
    body = args.body or base.get("body")  # the skin is built with the scene: pick it before building
    state = SceneState.for_scene(build_scene(body=body))
    document, source = export_document(args, state)
    if body:
        document["body"] = body
    apply_document(state, validate(document, SCENE_SCHEMA, source), source)
    _warn_impingement(state.scene)
    return state


def run_export(args: argparse.Namespace) -> int:
    from viewer.model.scene_file import scene_document, write_scene
    from viewer.render.export import ExportError, export_gltf, export_png

    suffix = _check_out(args.out, (".png", ".glb", ".gltf"))
    if args.save_scene and args.save_scene.suffix.lower() != ".json":
        raise UsageError(f"--save-scene must name a .json file, not {args.save_scene}")
    state = _export_state(args)
    try:
        if suffix == ".png":
            path = export_png(
                state.scene, args.out, size=args.export_size, labels=state.labels, landmarks=state.landmarks,
                techniques=state.techniques if state.techniques.active else None, camera=state.camera,
                dpi=args.dpi, transparent=args.transparent,
            )  # fmt: skip
            what = f"{args.export_size[0]}x{args.export_size[1]}, {state.camera.get('view', 'saved camera')} view"
        else:
            path = export_gltf(state.scene, args.out, fibres=args.fibres)
            what = f"glTF 2.0, {sum(state.scene.is_visible(n) for n in state.scene.structures)} structures"
    except ExportError as error:
        return _report_export_error(error)
    print(f"wrote {path} ({what})")
    if args.save_scene:
        print(f"wrote {write_scene(args.save_scene, scene_document(state))}")
    return 0


def run_handout(args: argparse.Namespace) -> int:
    from viewer.render.export import ExportError
    from viewer.render.handout import HandoutSpec, handout_sources, write_handout

    _check_out(args.out, (".pdf",))
    if args.lesson:
        return run_lesson_handout(args)
    scene_args = argparse.Namespace(**{**vars(args), "lesson": None, "step": 1, "export_view": None, "section": None})
    state = _export_state(scene_args)
    session = state.techniques if state.techniques.active else None
    spec = HandoutSpec(
        views=args.views, title=args.title, notes=args.notes, paper=args.paper, orientation=args.orientation,
        labels=bool(state.labels), landmarks=bool(state.landmarks), dpi=args.dpi, techniques=session,
        sources=handout_sources(state.scene, session),
    )  # fmt: skip
    try:
        path = write_handout(state.scene, args.out, spec)
    except ExportError as error:
        return _report_export_error(error)
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
        _warn_impingement(state.scene)
        return state_picture(state, size, args.dpi)

    spec = LessonHandoutSpec(
        title=lesson.title, steps=[(step.title, step.note) for step in lesson.steps], sources=lesson.citations(),
        paper=args.paper, orientation=args.orientation, dpi=args.dpi,
    )  # fmt: skip
    try:
        path = write_lesson_handout(spec, args.out, render_step)
    except ExportError as error:
        return _report_export_error(error)
    print(f"wrote {path} ({len(lesson.steps)} pages, lesson {lesson.id!r}, {args.paper} {args.orientation})")
    return 0


def run_probe(args: argparse.Namespace) -> int:
    """What lies how deep under a point (or along a technique's line of force)."""
    from viewer.model.probe import PROBE_DEPTH_MM, ProbeError, parse_point, parse_vector, probe, probe_technique

    scene = _posed_scene(args)
    scene.set_language(args.language)
    depth = PROBE_DEPTH_MM if args.depth is None else args.depth
    if not 0 < depth <= 500:
        raise UsageError(f"--depth must be between 0 and 500 mm, not {depth:g}")
    try:
        if args.technique:
            session = _technique_session(scene)
            if args.technique not in session.techniques:
                raise UsageError(f"--technique: unknown id {args.technique!r}; known: {', '.join(session.techniques)}")
            session.choose(args.technique, args.technique_side, layers=False)
            if args.pose:
                scene.set_pose(args.side, **args.pose)
            result = probe_technique(scene, session)
        else:
            direction = parse_vector(args.direction, "--direction") if args.direction else None
            result = probe(scene, parse_point(args.at, scene), direction=direction, depth_mm=depth)
    except ProbeError as error:
        raise UsageError(f"--at/--direction: {error}") from None
    if args.json:
        json.dump(result.as_dict(scene), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(f"probe from {result.surface} at {', '.join(f'{v:.1f}' for v in result.point)} ({result.side} side):")
    for line in result.lines(scene):
        print("  " + line)
    return 0


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


def _check_screenshot(path: Path) -> None:
    """Refuse a screenshot the window could not write, before any window opens."""
    if path.suffix.lower() != ".png":
        raise UsageError(f"--screenshot must name a .png file, not {path}")
    if path.is_dir():
        raise UsageError(f"--screenshot names a folder, not a file: {path}")
    if not path.parent.is_dir():
        raise UsageError(f"--screenshot: output folder does not exist: {path.parent}")


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


def display_problem(platform: str | None = None, environ: dict[str, str] | None = None) -> str | None:
    """Why the window cannot open here (no display on Linux), or None when it can try."""
    platform = sys.platform if platform is None else platform
    environ = os.environ if environ is None else environ
    if not platform.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no display found: neither DISPLAY nor WAYLAND_DISPLAY is set; "
        "for pictures without a window use `python -m viewer export`"
    )


def run_window(args: argparse.Namespace) -> int:
    if args.screenshot is not None:
        _check_screenshot(args.screenshot)
    file = getattr(args, "file", None)
    if file is not None and not file.is_file():
        raise UsageError(f"{file}: no such scene or lesson file")
    problem = display_problem()
    if problem:
        raise CommandFailed(problem)
    from viewer.ui.app import run_window as open_window

    return open_window(view=args.view, size=args.size, screenshot=args.screenshot, open_file=file)


WINDOW_OPTIONS_WITH_VALUES = ("--screenshot", "--view", "--size")


def split_window_file(argv: list[str], commands: Sequence[str]) -> tuple[list[str], Path | None]:
    """``glute-viewer FILE.json [options]``: the scene or lesson file the window opens, taken out of ``argv``.

    Only when no command is given; the file is the first word ending in ``.json`` that is not an option's value.
    """
    words = [w for w in argv if not w.startswith("-")]
    if not words or words[0] in commands:
        return argv, None
    for index, word in enumerate(argv):
        if word.startswith("-"):
            continue
        previous = argv[index - 1] if index else ""
        if previous in WINDOW_OPTIONS_WITH_VALUES:
            continue
        if word in commands or not word.lower().endswith(".json"):
            return argv, None  # a command, or a word argparse will name as an invalid choice
        return argv[:index] + argv[index + 1 :], Path(word)
    return argv, None


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input files or a bad environment, reported in one line (exit 1)."""
    from viewer.anatomy.bones import AssetError
    from viewer.anatomy.skin import SkinError
    from viewer.io.annotations import AnnotationError
    from viewer.io.ply import PlyError

    errors: list[type[BaseException]] = [AssetError, AnnotationError, PlyError, SkinError, CommandFailed]
    export = sys.modules.get("viewer.render.export")  # its own error class, once the exporter is loaded
    errors += [e for e in (getattr(export, "ExportError", None),) if isinstance(e, type)]
    return tuple(errors)


def one_line(text: str) -> str:
    """A message on one line (a library's multi-line text joined with "; ")."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def describe_os_error(error: OSError) -> str:
    """``/ro/x.png: Permission denied``: the file and the system's reason, one line."""
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        reason = "no space left on the device"
    names = [str(n) for n in (error.filename, error.filename2) if n is not None]
    return ": ".join([*names, reason]) if names else str(error)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture stdout)
        pass


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as the shell reports Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as the shell reports a reader that stopped (``| head``)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    commands = {
        "inspect": run_inspect, "export": run_export, "handout": run_handout, "techniques": run_techniques,
        "probe": run_probe, "quiz": run_quiz, "lessons": run_lessons,
    }  # fmt: skip
    argv, file = split_window_file(list(sys.argv[1:] if argv is None else argv), list(commands))
    args = parser.parse_args(argv)
    args.file = file
    try:
        return commands.get(args.command, run_window)(args)
    except (UsageError, PoseError) as error:
        parser.error(str(error))
    except KeyboardInterrupt:
        print("glute-viewer: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:
        print(f"glute-viewer: error: {one_line(describe_os_error(error))}", file=sys.stderr)
        return 1
    except Exception as error:
        if not isinstance(error, _user_errors()):
            raise
        print(f"glute-viewer: error: {one_line(str(error))}", file=sys.stderr)
        return 1
    return 0
