"""Command line: open the window, or work headless (``inspect``, ``export``).

``glute-viewer`` and ``python -m viewer`` share this entry point. The headless
commands never import Qt; the window is imported only when it is asked for.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from viewer.anatomy.kinematics import JOINT_RANGES, PoseError
from viewer.render.views import VIEWS

MAX_EXPORT_PIXELS = 8192


class UsageError(Exception):
    """Bad command-line input: reported with the usage line, never a traceback."""


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
        try:
            angles[key] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"pose value for {key} must be a number of degrees, not {value!r}"
            ) from None
    return angles


def parse_size(text: str) -> tuple[int, int]:
    """``1920x1080`` -> (1920, 1080)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1920x1080, not {text!r}") from None
    if not (16 <= width <= MAX_EXPORT_PIXELS and 16 <= height <= MAX_EXPORT_PIXELS):
        raise argparse.ArgumentTypeError(f"size {text} outside 16..{MAX_EXPORT_PIXELS} pixels a side")
    return width, height


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
        default="female",
        help="body type of the skin (average adult woman or man; default female): bones and muscles stay the same",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glute-viewer",
        description="3D atlas of the hip and gluteal region. Without a command, opens the window.",
    )
    parser.add_argument(
        "--screenshot", type=Path, metavar="FILE.png", help="open the window, save a picture of it, exit"
    )
    parser.add_argument("--view", choices=list(VIEWS), default="posterior", help="initial view of the window")
    parser.add_argument("--size", type=parse_size, default=(1600, 1000), metavar="WxH", help="window size")
    commands = parser.add_subparsers(dest="command", metavar="{inspect,export,techniques}")

    inspect = commands.add_parser(
        "inspect", help="print what the scene holds (units, frame, pose, landmarks, structures)"
    )
    inspect.add_argument("--json", action="store_true", help="one JSON object on standard output")
    inspect.add_argument("--fibres", action="store_true", help="include each muscle's fibre polylines (mm)")
    _add_pose_options(inspect)

    export = commands.add_parser("export", help="render the scene off-screen to a PNG")
    export.add_argument("--view", choices=list(VIEWS), default="posterior", dest="export_view")
    export.add_argument("--size", type=parse_size, default=(1920, 1080), metavar="WxH", dest="export_size")
    export.add_argument("--out", type=Path, required=True, metavar="FILE.png")
    export.add_argument(
        "--color-by",
        choices=["anatomy", "stretch"],
        default="anatomy",
        help="anatomy: each structure its own colour; stretch: muscle length change from anatomical position",
    )
    export.add_argument("--peel", type=int, default=0, metavar="N", help="hide the N outermost layers (0 = skin on)")
    export.add_argument("--ghost", action="store_true", help="keep the last peeled layer as a faint ghost")
    export.add_argument(
        "--isolate", metavar="NAME", help="show only this structure (others ghosted), e.g. piriformis_right"
    )
    export.add_argument("--labels", action="store_true", help="name the visible structures with leader lines")
    export.add_argument("--landmarks", action="store_true", help="show the landmark pins (ASIS, PSIS, trochanter...)")
    export.add_argument("--technique", metavar="ID", help="pose, peel and draw a massage technique (see: techniques)")
    export.add_argument("--technique-side", choices=["right", "left"], default="right", help="side the technique works")
    export.add_argument("--nerve-variant", metavar="ID", help="sciatic nerve variant (see: techniques --json)")
    export.add_argument("--danger-margin", type=float, metavar="MM", help="safety margin around the sciatic nerve")

    techniques = commands.add_parser("techniques", help="list the massage techniques with their safety check")
    techniques.add_argument("--json", action="store_true", help="one JSON object on standard output")
    techniques.add_argument("--side", choices=["right", "left", "both"], default="both", help="sides to check")
    techniques.add_argument("--nerve-variant", metavar="ID", help="check against another sciatic nerve variant")
    techniques.add_argument("--danger-margin", type=float, metavar="MM", help="safety margin around the sciatic nerve")
    _add_pose_options(export)
    return parser


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
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(f"units: {report['units']}; frame: {report['frame']['name']}")
    print("pose: " + ", ".join(f"{k}={v:g}" for k, v in scene.pose("right").as_dict().items()))
    print(f"{len(report['landmarks'])} landmarks; structures:")
    for name, entry in report["structures"].items():
        length = f"{entry['length_mm']:7.1f} mm" if "length_mm" in entry else ""
        print(f"  {name:32s} {entry['kind']:7s} {entry['layer']:13s} {entry['volume_cm3']:8.1f} cm3 {length}")
    return 0


def _apply_layers(scene, args: argparse.Namespace) -> None:
    """Peel, ghost and isolate exactly as the window's layer controls do."""
    from viewer.model.history import History
    from viewer.model.layers import PeelState

    peel = PeelState(ghost=args.ghost)
    if not 0 <= args.peel < peel.n_layers:
        raise UsageError(f"--peel must be 0 to {peel.n_layers - 1} (there are {peel.n_layers} layers), not {args.peel}")
    history = History(scene, peel)
    history.set_depth(args.peel)
    if args.isolate:
        if args.isolate not in scene.structures:
            from viewer.model.search import search

            found = search(args.isolate, scene)
            if not found:
                raise UsageError(f"--isolate: no structure called {args.isolate!r}")
            args.isolate = found[0].name
        history.isolate(args.isolate)


def _set_variant(scene, variant: str) -> None:
    from viewer.model.nerves import variant_choices

    known = [v[0] for v in variant_choices()]
    if variant not in known:
        raise UsageError(f"--nerve-variant must be one of {', '.join(known)}, not {variant!r}")
    scene.set_nerve_variant(variant)


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
                    {"structure": c.structure, "entry_mm": round(c.entry_mm, 1), "exit_mm": round(c.exit_mm, 1)}
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
                "source": list(technique.source),
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
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    for entry in listed:
        verdicts = ", ".join(
            f"{side}: {'FLAGGED' if c['flagged'] else 'safe'} ({c['angle_to_surface_deg']:.0f}° to surface, "
            f"{c['force_line_min_distance_mm']:.0f} mm from nerve)"
            for side, c in entry["safety"].items()
        )
        print(f"{entry['id']:36s} {verdicts}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from viewer.render.export import export_png

    if args.out.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file, not {args.out}")
    scene = _posed_scene(args)
    scene.set_colour_mode(args.color_by)
    if args.nerve_variant:
        _set_variant(scene, args.nerve_variant)
    _set_margin(scene, args.danger_margin)
    session = None
    if args.technique:
        session = _technique_session(scene)
        if args.technique not in session.techniques:
            raise UsageError(f"--technique: unknown id {args.technique!r}; known: {', '.join(session.techniques)}")
        session.choose(args.technique, args.technique_side)
        if args.pose:  # an explicit pose wins over the technique's own
            scene.set_pose(args.side, **args.pose)
            _warn_impingement(scene)
    if not args.technique or args.peel or args.isolate:
        _apply_layers(scene, args)
    path = export_png(
        scene,
        args.out,
        view=args.export_view,
        size=args.export_size,
        labels=args.labels,
        landmarks=args.landmarks,
        techniques=session,
    )
    print(f"wrote {path} ({args.export_size[0]}x{args.export_size[1]}, {args.export_view} view)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from viewer.anatomy.bones import AssetError
    from viewer.io.annotations import AnnotationError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "inspect":
            return run_inspect(args)
        if args.command == "export":
            return run_export(args)
        if args.command == "techniques":
            return run_techniques(args)
        from viewer.ui.app import run_window

        return run_window(view=args.view, size=args.size, screenshot=args.screenshot)
    except (UsageError, PoseError) as error:
        parser.error(str(error))
    except (AssetError, AnnotationError, FileNotFoundError) as error:
        print(f"glute-viewer: error: {error}", file=sys.stderr)
        return 1
    return 0
