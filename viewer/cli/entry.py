"""The entry point: parse the words, run the command asked for, turn what went wrong into one line and an exit code.

Exit codes: 0 done, 1 a bad input file or environment (one line on stderr), 2 bad command-line input (the usage
line), 130 interrupted, 141 the reader of the output stopped.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from viewer.anatomy.kinematics import PoseError
from viewer.cli.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    UsageError,
    describe_os_error,
    one_line,
    silence_stdout,
    user_errors,
)
from viewer.cli.export import run_export
from viewer.cli.handout import run_handout
from viewer.cli.inspect_scene import run_inspect
from viewer.cli.lessons import run_lessons
from viewer.cli.parsing import build_parser, split_window_file
from viewer.cli.probe import run_probe
from viewer.cli.quiz import run_quiz
from viewer.cli.techniques import run_techniques
from viewer.cli.window import run_window


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``glute-viewer`` with ``argv`` (default: the process's arguments) and return its exit code."""
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
        silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:
        print(f"glute-viewer: error: {one_line(describe_os_error(error))}", file=sys.stderr)
        return 1
    except Exception as error:
        if not isinstance(error, user_errors()):
            raise
        print(f"glute-viewer: error: {one_line(str(error))}", file=sys.stderr)
        return 1
    return 0
