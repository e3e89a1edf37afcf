"""Which tests share a pytest-xdist worker, and in which order they go out (``-n auto --dist loadgroup``).

Tests go to the workers file by file: a module's fixtures (its window, its scenes) are built once. A long
test that uses no fixture of its module is a group of its own (:data:`ALONE`), so that the rest of its file
can run on the other worker meanwhile. The groups go out heaviest first (``--no-loadscope-reorder`` keeps
this order; xdist would otherwise order them by their number of tests): a worker given a long group near
the end of the run keeps running alone while the other idles, so the long groups run first and the short
ones fill in at the end.
"""

from __future__ import annotations

import pytest

# long tests that need none of their module's fixtures: each runs as a group of its own
ALONE = {"tests/test_skin.py::test_rebuild_matches_the_committed_skin"}

# CPU seconds of the heaviest groups (``--file-times`` of a cold run with 2 workers on the loaded 2-core machine,
# 4025884; the skin rebuild as measured alone after its distance grids were made cheaper, the rest of test_skin.py
# its file's figure less that; the first group also carries the session's one muscle build, about 60 s, on a cold
# cache); the others follow in collection order. Only the order depends on these figures: a stale one costs balance,
# never a test.
GROUP_CPU_S: dict[str, float] = {
    "tests/test_classroom_gui.py": 104.9,
    "tests/test_skin.py::test_rebuild_matches_the_committed_skin": 66.3,
    "tests/test_muscle_posing.py": 56.6,
    "tests/test_gui.py": 42.4,
    "tests/test_techniques.py": 31.3,
    "tests/test_labels.py": 29.8,
    "tests/test_handouts.py": 29.1,
    "tests/test_skin.py": 25.5,
    "tests/test_scene_file.py": 24.0,
    "tests/test_study_gui.py": 23.3,
    "tests/test_render.py": 22.1,
    "tests/test_technique_session.py": 18.6,
    "tests/test_pose_space.py": 17.0,
    "tests/test_cli.py": 16.2,
    "tests/test_export_dialog.py": 15.6,
    "tests/test_skin_contact.py": 14.9,
    "tests/test_muscle_binding.py": 14.3,
    "tests/test_fuzz.py": 14.1,
    "tests/test_quiz.py": 12.9,
    "tests/test_sections.py": 12.1,
    "tests/test_nerve_scene.py": 11.0,
    "tests/test_scene_model.py": 9.9,
    "tests/test_muscle_forms.py": 9.7,
    "tests/test_nerve.py": 9.1,
    "tests/test_handout_caption.py": 7.8,
    "tests/test_probe.py": 7.3,
}


def group_of(item) -> str:
    """The test's xdist group: its own node id when it runs alone, else its file."""
    return item.nodeid if item.nodeid in ALONE else item.location[0]


def assign_groups(items) -> None:
    """Mark each test with its group and put the heaviest groups first (the tests of a group keep their order)."""
    items.sort(key=lambda item: -GROUP_CPU_S.get(group_of(item), 0.0))
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item)))
