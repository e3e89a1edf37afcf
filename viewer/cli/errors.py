"""How the command line fails: its exceptions, exit codes, and errors told in one line (never a traceback)."""

from __future__ import annotations

import errno
import os
import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as the shell reports Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as the shell reports a reader that stopped (``| head``)


class UsageError(Exception):
    """Bad command-line input: reported with the usage line, never a traceback."""


class CommandFailed(Exception):
    """The command cannot do what was asked (no display, a result it will not print): one line, exit 1."""


def report_error(error: Exception) -> int:
    """Tell ``error`` on stderr as the command's one-line error; the exit code 1."""
    print(f"glute-viewer: error: {error}", file=sys.stderr)
    return 1


def user_errors() -> tuple[type[BaseException], ...]:
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


def silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture stdout)
        pass
