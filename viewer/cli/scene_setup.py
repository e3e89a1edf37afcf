"""The scene a headless command works on: built, posed, its nerve variant checked, a technique session on it."""

from __future__ import annotations

import argparse
import sys

from viewer.cli.errors import UsageError


def posed_scene(args: argparse.Namespace):
    """The scene of ``--body``, posed by ``--pose`` on ``--side`` (an impingement is warned about on stderr)."""
    from viewer.model.scene import build_scene

    scene = build_scene(body=args.body)
    if args.pose:
        scene.set_pose(args.side, **args.pose)
        warn_impingement(scene)
    return scene


def warn_impingement(scene) -> None:
    """Say so when the pose drives a femur into the pelvis (the output is still written)."""
    for found in scene.impingements():
        print(f"glute-viewer: warning: {found.message()}", file=sys.stderr)


def check_variant(variant: str) -> str:
    """``--nerve-variant``'s value if it names a known sciatic nerve variant, else a usage error."""
    from viewer.model.nerves import variant_choices

    known = [v[0] for v in variant_choices()]
    if variant not in known:
        raise UsageError(f"--nerve-variant must be one of {', '.join(known)}, not {variant!r}")
    return variant


def technique_session(scene):
    """A technique session on ``scene`` with its own peel state and undo history (as the window has)."""
    from viewer.model.history import History
    from viewer.model.layers import PeelState
    from viewer.model.technique_session import TechniqueSession

    peel = PeelState()
    return TechniqueSession(scene, History(scene, peel), peel)
