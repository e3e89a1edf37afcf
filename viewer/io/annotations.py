"""Read validated annotation files (JSON) with errors that name the file and the field."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from viewer.paths import annotations_dir


class AnnotationError(ValueError):
    """A data file that is missing, unreadable or does not match its schema."""

    def __init__(self, path: Path | str, message: str, field: str | None = None) -> None:
        self.path = Path(path)
        self.field = field
        where = f"{self.path}: field '{field}': " if field else f"{self.path}: "
        super().__init__(where + message)


@cache
def schema(name: str) -> dict[str, Any]:
    """The JSON schema shipped with the package for one kind of annotation file."""
    text = resources.files("viewer.io").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def read_json(path: Path) -> Any:
    """Parse a JSON file with the standard (safe) loader; errors name the file."""
    try:
        with Path(path).open(encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError as error:
        raise AnnotationError(path, "file not found") from error
    except json.JSONDecodeError as error:
        raise AnnotationError(
            path, f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from error
    except (OSError, UnicodeDecodeError) as error:
        raise AnnotationError(path, f"cannot read file ({error})") from error


def field_path(parts: Any) -> str:
    """Render a jsonschema path like ``bones[2].colour``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def validate(data: Any, schema_name: str, path: Path) -> Any:
    """Check ``data`` against a shipped schema; raise naming the first bad field."""
    validator = jsonschema.Draft202012Validator(schema(schema_name))
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        first = errors[0]
        raise AnnotationError(path, first.message, field_path(first.absolute_path))
    return data


def load_annotation(name: str, schema_name: str | None = None, directory: Path | None = None) -> Any:
    """Load ``assets/annotations/<name>.json`` validated against its schema."""
    path = (directory or annotations_dir()) / f"{name}.json"
    return validate(read_json(path), schema_name or name, path)
