"""Shared fixtures and the pytest hooks of the suite's machinery (which lives in tests/_support)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _support import counters, file_times, groups
from _support.muscle_builds import MuscleBuild, recorded_full_builds, session_build
from _support.window_pool import WindowPool

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def scene():
    from viewer.model.scene import build_scene

    return build_scene()


@pytest.fixture(scope="session", autouse=True)
def _counted_muscle_builds():
    """Every muscle build from the data in this process is counted by cache key (the session fails on a repeat)."""
    with recorded_full_builds():
        yield


@pytest.fixture(scope="session")
def muscle_build() -> MuscleBuild:
    """All muscles built from their data, for the tests of the build itself (geometry, forms, cache).

    The session's one build, shared with the scenes and the other test process through the cache (see
    :mod:`_support.muscle_builds`). Read-only: tests must not change the arrays.
    """
    return session_build()


@pytest.fixture()
def fresh_scene():
    """A scene a test may pose and change freely."""
    from viewer.model.scene import build_scene

    return build_scene()


@pytest.fixture()
def bones_scene():
    """Bones and landmarks only: for kinematics tests that need no muscles."""
    from viewer.model.scene import build_scene

    return build_scene(muscles=False)


@pytest.fixture()
def asset_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of assets/ that a test may break; the viewer is pointed at it."""
    from viewer.anatomy.bones import clear_caches
    from viewer.paths import assets_dir

    copy = tmp_path / "assets"
    shutil.copytree(assets_dir(), copy)
    monkeypatch.setenv("GLUTE_VIEWER_ASSETS", str(copy))
    clear_caches()
    yield copy
    clear_caches()


@pytest.fixture(scope="module")
def _window_pool(qapp):
    pool = WindowPool()
    yield pool
    pool.finish()


@pytest.fixture()
def window(_window_pool, qtbot):
    """The real main window under Xvfb, as new (built, or reused and verified back in its fresh state)."""
    return _window_pool.take()


# --- hooks ---------------------------------------------------------------------------------------------
def pytest_addoption(parser) -> None:
    parser.addoption("--file-times", action="store_true", help="print the CPU and wall time of each test file")
    parser.addoption("--window-diffs", action="store_true", help="print what made the shared test window be rebuilt")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "xdist_group(name): run in the same pytest-xdist worker as its group")


def pytest_collection_modifyitems(config, items) -> None:
    groups.assign_groups(items)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    file_times.start_phase(item)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    file_times.start_phase(item)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    file_times.start_phase(item)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    file_times.charge_phase(item, outcome.get_result())


def pytest_runtest_logreport(report) -> None:
    file_times.add_report(report)


def pytest_sessionfinish(session) -> None:
    counters.send_to_controller(session)
    if not hasattr(session.config, "workeroutput") and counters.repeated_builds(counters.SUITE_COUNTS["muscle builds"]):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # the same muscles built twice: named in the summary


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    counters.add_from_worker(node)


def pytest_terminal_summary(terminalreporter, config) -> None:
    if config.getoption("--file-times", default=False) and file_times.FILE_TIMES:
        terminalreporter.write_sep("=", "CPU and wall seconds per test file")
        for line in file_times.table_lines():
            terminalreporter.write_line(line)
    for line in counters.summary_lines(config.getoption("--window-diffs", default=False)):
        terminalreporter.write_line(line)
