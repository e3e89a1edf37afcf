"""``probe``: the column of tissues under a point (or along a technique's line of force), with their depths."""

from __future__ import annotations

import argparse
import json
import sys

from viewer.cli.errors import UsageError
from viewer.cli.scene_setup import posed_scene, technique_session


def run_probe(args: argparse.Namespace) -> int:
    """What lies how deep under a point (or along a technique's line of force)."""
    from viewer.model.probe import PROBE_DEPTH_MM, ProbeError, parse_point, parse_vector, probe, probe_technique

    scene = posed_scene(args)
    scene.set_language(args.language)
    depth = PROBE_DEPTH_MM if args.depth is None else args.depth
    if not 0 < depth <= 500:
        raise UsageError(f"--depth must be between 0 and 500 mm, not {depth:g}")
    try:
        if args.technique:
            session = technique_session(scene)
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
