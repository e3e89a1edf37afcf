"""Read validated annotation files (JSON) with errors that name the file and the field."""

from __future__ import annotations

import hashlib
import json
import math
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


LARGEST_NUMBER = 1e9  # no number in the annotation files comes near this (millimetres, degrees, counts)


def read_json(path: Path) -> Any:
    """Parse a JSON file with the standard (safe) loader; errors name the file (and the field).

    Every number must be finite and of sane size: JSON Schema cannot say "finite", so the check
    is made here once for every file rather than per field (``NaN``, ``Infinity``, ``1e999`` and
    absurdly long integers are refused, naming the field).
    """
    try:
        with Path(path).open(encoding="utf-8") as handle:
            data = json.load(handle, parse_constant=_non_finite)
    except FileNotFoundError as error:
        raise AnnotationError(path, "file not found") from error
    except IsADirectoryError as error:
        raise AnnotationError(path, "is a folder, not a file") from error
    except json.JSONDecodeError as error:
        raise AnnotationError(
            path, f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from error
    except RecursionError as error:
        raise AnnotationError(path, "not valid JSON (nested too deeply)") from error
    except ValueError as error:  # e.g. an integer of thousands of digits
        raise AnnotationError(path, f"not valid JSON ({str(error).split(':')[0]})") from error
    except (OSError, UnicodeDecodeError) as error:
        raise AnnotationError(path, f"cannot read file ({error})") from error
    bad = first_bad_number(data, [])
    if bad is not None:
        where, value = bad
        raise AnnotationError(path, f"{value!r} is not a finite number of sane size", field_path(where))
    return data


def _non_finite(token: str) -> float:
    return float(token)  # NaN / Infinity: kept so the walk below can name the field


def first_bad_number(data: Any, where: list, largest: float = LARGEST_NUMBER) -> tuple[list, Any] | None:
    """Path and value of the first number that is not finite or larger than ``largest``, depth first."""
    stack = [(data, where)]
    while stack:
        value, at = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            if not math.isfinite(value) or abs(value) > largest:
                return at, value
        elif isinstance(value, dict):
            stack.extend((v, [*at, k]) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((v, [*at, i]) for i, v in reversed(list(enumerate(value))))
    return None


def field_path(parts: Any) -> str:
    """Render a jsonschema path like ``bones[2].colour``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def validate(data: Any, schema_name: str, path: Path, prefix: tuple = ()) -> Any:
    """Check ``data`` against a shipped schema; raise naming the first bad field.

    ``prefix`` is where ``data`` sits in its file (e.g. ``("steps", 2, "scene")``), for the field name.
    Content already found valid against the same schema in this process is not checked again (every scene
    built reads the same files): the check is keyed by the content itself, so an edited file is checked anew.
    """
    content = json.dumps([schema_name, data], sort_keys=True, default=repr).encode()
    key = hashlib.blake2b(content, digest_size=16).digest()
    if key in _VALID:
        return data
    validator = jsonschema.Draft202012Validator(schema(schema_name))
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        first = errors[0]
        raise AnnotationError(path, first.message, field_path([*prefix, *first.absolute_path]))
    _VALID.add(key)
    return data


_VALID: set[bytes] = set()  # digests of (schema name, content) found valid


def load_annotation(name: str, schema_name: str | None = None, directory: Path | None = None) -> Any:
    """Load ``assets/annotations/<name>.json`` validated against its schema."""
    path = (directory or annotations_dir()) / f"{name}.json"
    return validate(read_json(path), schema_name or name, path)
