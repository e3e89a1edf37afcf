"""The window: checked before it opens (a display, the screenshot's folder, the file), then started lazily.

Qt is imported only here, and only when the window is asked for: the headless commands never load it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from viewer.cli.errors import CommandFailed, UsageError


def _check_screenshot(path: Path) -> None:
    """Refuse a screenshot the window could not write, before any window opens."""
    if path.suffix.lower() != ".png":
        raise UsageError(f"--screenshot must name a .png file, not {path}")
    if path.is_dir():
        raise UsageError(f"--screenshot names a folder, not a file: {path}")
    if not path.parent.is_dir():
        raise UsageError(f"--screenshot: output folder does not exist: {path.parent}")


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
    """Open the window (after checking the screenshot's folder, the file to open and the display)."""
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
