"""``export``: the scene of the options (over a scene file or a lesson step) rendered to PNG or saved as glTF."""

from __future__ import annotations

import argparse
from pathlib import Path

from viewer.cli.errors import UsageError, report_error
from viewer.cli.scene_setup import check_variant, warn_impingement


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


def _structure_named(name: str, state, option: str) -> str:
    """The scene's structure called ``name``, or the best match of a search for it; a UsageError names ``option``."""
    if name in state.scene.structures:
        return name
    from viewer.model.search import search

    found = search(name, state.scene)
    if not found:
        raise UsageError(f"{option}: no structure called {name!r}")
    return found[0].structure


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
        document["isolate"] = _structure_named(args.isolate, state, "--isolate")
    for name, opacity in (args.opacity or {}).items():
        structures = document.setdefault("structures", {})
        name = _structure_named(name, state, "--opacity")
        structures[name] = {**structures.get(name, {}), "opacity": opacity}
    if args.nerve_variant:
        document["nerve_variant"] = check_variant(args.nerve_variant)
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


def check_out(out: Path, suffixes: tuple[str, ...]) -> str:
    """The lower-case suffix of ``--out`` if it is one of ``suffixes`` and names a file in an existing folder."""
    suffix = out.suffix.lower()
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a file name ending in {' or '.join(suffixes)}")
    if suffix not in suffixes:
        raise UsageError(f"--out must name a {' or '.join(suffixes)} file, not {out}")
    if not out.parent.is_dir():
        raise UsageError(f"--out: the folder {out.parent} does not exist")
    return suffix


def export_state(args: argparse.Namespace):
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
    warn_impingement(state.scene)
    return state


def run_export(args: argparse.Namespace) -> int:
    """``export``: render the scene to PNG or save it as glTF; also its scene file with ``--save-scene``."""
    from viewer.model.scene_file import scene_document, write_scene
    from viewer.render.export import ExportError, export_gltf, export_png

    suffix = check_out(args.out, (".png", ".glb", ".gltf"))
    if args.save_scene and args.save_scene.suffix.lower() != ".json":
        raise UsageError(f"--save-scene must name a .json file, not {args.save_scene}")
    state = export_state(args)
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
        return report_error(error)
    print(f"wrote {path} ({what})")
    if args.save_scene:
        print(f"wrote {write_scene(args.save_scene, scene_document(state))}")
    return 0
