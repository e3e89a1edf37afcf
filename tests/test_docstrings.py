"""Every public function and method of the viewer says what it does (numpydoc, with array shapes)."""

from __future__ import annotations

import ast
from pathlib import Path

VIEWER = Path(__file__).resolve().parents[1] / "viewer"


def _is_qt_override(name: str) -> bool:
    """Qt's own virtual methods (``paintEvent``, ``eventFilter``...): documented by Qt."""
    return name.endswith("Event") or name == "eventFilter"


def undocumented(root: Path = VIEWER) -> list[str]:
    """``path:line: Class.method`` of each public function or method in ``root`` without a docstring."""
    missing = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))

        def walk(node: ast.AST, prefix: str = "", path: Path = path) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef) and not child.name.startswith("_"):
                    walk(child, f"{prefix}{child.name}.")
                elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    setter = any(isinstance(d, ast.Attribute) and d.attr == "setter" for d in child.decorator_list)
                    public = not child.name.startswith("_") and not _is_qt_override(child.name) and not setter
                    if public and ast.get_docstring(child) is None:
                        missing.append(f"{path.relative_to(root.parent)}:{child.lineno}: {prefix}{child.name}")

        walk(tree)
    return missing


def test_every_public_function_has_a_docstring():
    assert undocumented() == []


def test_the_check_finds_a_function_without_one(tmp_path):
    package = tmp_path / "viewer"
    package.mkdir()
    (package / "m.py").write_text(
        'def told():\n    """Says."""\n\n\ndef silent():\n    return 1\n\n\nclass A:\n    def paintEvent(self, e):\n'
        "        pass\n\n    def _private(self):\n        pass\n\n    def shown(self):\n        pass\n"
    )
    assert undocumented(package) == ["viewer/m.py:5: silent", "viewer/m.py:16: A.shown"]
