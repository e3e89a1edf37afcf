"""Where the suite's time goes: CPU and wall seconds per test file (setup, call and teardown), ``--file-times``.

Each phase's CPU seconds travel on its report (``user_properties``), so the numbers also add up when
pytest-xdist runs the tests in worker processes.
"""

from __future__ import annotations

import os

import pytest

FILE_TIMES: dict[str, list[float]] = {}  # test file -> [cpu seconds, wall seconds, tests]
_PHASE_CPU = pytest.StashKey[float]()


def cpu_seconds() -> float:
    """This process's CPU plus that of the subprocesses it waited for (CLI tests, pdftotext)."""
    return sum(os.times()[:4])


def start_phase(item) -> None:
    """Note the CPU clock as a test's setup, call or teardown begins."""
    item.stash[_PHASE_CPU] = cpu_seconds()


def charge_phase(item, report) -> None:
    """Put the CPU seconds of the phase that just ended on its report."""
    start = item.stash.get(_PHASE_CPU, None)
    if start is not None:  # the report's user_properties list is the item's, shared by the three phases
        report.user_properties = [*report.user_properties, ("cpu_s", cpu_seconds() - start)]


def add_report(report) -> None:
    """Add a phase's report (from this process or a worker) to its file's times."""
    spent = FILE_TIMES.setdefault(report.location[0], [0.0, 0.0, 0])
    spent[0] += sum(value for name, value in report.user_properties if name == "cpu_s")
    spent[1] += report.duration
    spent[2] += report.when == "call"


def table_lines() -> list[str]:
    """One line per test file, most CPU first, and the totals."""
    lines = [
        f"{cpu:8.1f} cpu {wall:8.1f} wall {count:4d} tests  {name}"
        for name, (cpu, wall, count) in sorted(FILE_TIMES.items(), key=lambda item: -item[1][0])
    ]
    total_cpu = sum(v[0] for v in FILE_TIMES.values())
    total_wall = sum(v[1] for v in FILE_TIMES.values())
    return [*lines, f"{total_cpu:8.1f} cpu {total_wall:8.1f} wall  total"]
