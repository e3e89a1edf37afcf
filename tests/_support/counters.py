"""What the session counted, added up over the pytest-xdist workers and printed at its end.

A worker's counters reach the controller when the worker finishes (``workeroutput``).
"""

from __future__ import annotations

from collections import Counter

# built, reused: main windows (see window_pool); differed: fingerprint parts a reset missed, differences: the
# lines naming them (``--window-diffs``); muscle builds: full builds from the data (not read from the cache), by
# cache key (see muscle_builds)
SUITE_COUNTS: dict = {"built": 0, "reused": 0, "differed": Counter(), "differences": [], "muscle builds": Counter()}
_ADDED = ("built", "reused")
_COUNTED = ("differed", "muscle builds")


def send_to_controller(session) -> None:
    """In a pytest-xdist worker, hand this process's counters to the controller (elsewhere nothing)."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["suite_counts"] = {**SUITE_COUNTS, **{name: dict(SUITE_COUNTS[name]) for name in _COUNTED}}


def add_from_worker(node) -> None:
    """Add a finished worker's counters to the controller's."""
    counts = getattr(node, "workeroutput", {}).get("suite_counts")
    if counts:
        for name in _ADDED:
            SUITE_COUNTS[name] += counts[name]
        for name in _COUNTED:
            SUITE_COUNTS[name].update(counts[name])
        SUITE_COUNTS["differences"] += counts["differences"]


def repeated_builds(builds: Counter) -> list[str]:
    """Lines naming each muscle cache key built more than once in the session (every path must share one build)."""
    return [
        f"the muscles of cache key {key} were built {count}x from their data in this session (once is enough: "
        "every test process and path reads the cache's one build)"
        for key, count in sorted(builds.items())
        if count > 1
    ]


def summary_lines(window_diffs: bool) -> list[str]:
    """The end-of-session lines: muscle builds, windows built and reused, and what made a reset fail."""
    lines = []
    builds = SUITE_COUNTS["muscle builds"]
    if builds:
        lines.append(f"muscles built from their data: {sum(builds.values())}x ({len(builds)} cache keys)")
    lines += repeated_builds(builds)
    if SUITE_COUNTS["built"]:
        lines.append(
            f"main windows: {SUITE_COUNTS['built']} built, {SUITE_COUNTS['reused']} reused after a verified reset"
        )
    if SUITE_COUNTS["differed"]:
        missed = ", ".join(f"{part} {count}x" for part, count in SUITE_COUNTS["differed"].most_common())
        lines.append(f"windows rebuilt because the reset left: {missed}")
    if window_diffs:
        lines += SUITE_COUNTS["differences"]
    return lines
