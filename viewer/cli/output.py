"""Printing a command's result: JSON on stdout, never a NaN or Infinity shown as if it were a number."""

from __future__ import annotations

import json
import math
import sys

from viewer.cli.errors import CommandFailed


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
