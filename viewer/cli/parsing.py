"""The command line's words: the argument parser, its option types, and the file the window opens.

Parsing only: what each command does lives in its own module (``viewer.cli.export``, ``viewer.cli.probe``...).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from viewer.anatomy.kinematics import JOINT_RANGES
from viewer.render.views import VIEWS

MAX_EXPORT_PIXELS = 16384  # larger pictures are rendered in tiles (viewer.render.export)


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


def parse_opacities(text: str) -> dict[str, float]:
    """``skin=1,gluteus_maximus_right=0.4`` -> {"skin": 1.0, "gluteus_maximus_right": 0.4} (each 0 to 1)."""
    opacities: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"opacity item {item!r} must look like name=0.5")
        try:
            opacity = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"opacity of {name} must be a number from 0 to 1, not {value!r}") from None
        if not 0.0 <= opacity <= 1.0:
            raise argparse.ArgumentTypeError(f"opacity of {name} must be from 0 to 1, not {value.strip()}")
        opacities[name] = opacity
    if not opacities:
        raise argparse.ArgumentTypeError("give at least one name=opacity, e.g. skin=1")
    return opacities


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
        "--opacity",
        type=parse_opacities,
        metavar="NAME=O,...",
        help="opacity 0-1 of structures (names or search words, as --isolate), e.g. skin=1 for an opaque skin",
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
    """The argument parser of ``glute-viewer``: the window's options and every headless command."""
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
