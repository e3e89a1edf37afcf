"""Names of structures and landmarks in English, Terminologia Anatomica Latin and everyday speech (Qt-free).

``assets/annotations/terminology.json`` is the one place the viewer takes the names it shows and
searches: ``Gluteus maximus`` / ``musculus gluteus maximus`` / "glute max". Entries are keyed by base
name (``gluteus_medius`` covers ``gluteus_medius_right`` and ``gluteus_medius_left``; a danger zone
``sciatic_notch_zone_right`` has base ``sciatic_notch_zone``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from viewer.io.annotations import load_annotation
from viewer.model.structures import Structure

LANGUAGES = ("english", "latin")
SIDES = ("right", "left")


@dataclass(frozen=True)
class Term:
    """One structure's or landmark's names."""

    english: str
    latin: str
    common_names: tuple[str, ...] = ()
    abbreviation: str | None = None  # short English label for a pin (ASIS)

    def name(self, language: str) -> str:
        """The name in ``language`` (``english`` or ``latin``)."""
        return self.latin if language == "latin" else self.english

    def both(self, language: str) -> str:
        """Both names, the chosen language first: ``Gluteus maximus (musculus gluteus maximus)``."""
        other = "english" if language == "latin" else "latin"
        return f"{self.name(language)} ({self.name(other)})"


@dataclass(frozen=True)
class Terminology:
    structures: dict[str, Term]
    landmarks: dict[str, Term]


def base_and_side(name: str) -> tuple[str, str | None]:
    """``gluteus_medius_right`` -> (``gluteus_medius``, ``right``); unsided names keep side None."""
    for side in SIDES:
        if name.endswith("_" + side):
            return name[: -len(side) - 1], side
    return name, None


def _terms(entries: dict) -> dict[str, Term]:
    return {
        base: Term(e["english"], e["latin"], tuple(e["common_names"]), e.get("abbreviation"))
        for base, e in entries.items()
    }


@cache
def terminology() -> Terminology:
    """The shipped terminology, validated against its schema."""
    data = load_annotation("terminology")
    return Terminology(_terms(data["structures"]), _terms(data["landmarks"]))


def structure_term(name: str) -> Term | None:
    """Names of a structure (sided or not); None for a structure the file does not know."""
    return terminology().structures.get(base_and_side(name)[0])


def landmark_term(name: str) -> Term | None:
    """Names of a landmark or pin (sided or not); None when the file does not know it."""
    return terminology().landmarks.get(base_and_side(name)[0])


def apply_terminology(structures: Iterable[Structure]) -> None:
    """Give each known structure its English display name, Latin name and common names from the file."""
    for structure in structures:
        term = structure_term(structure.name)
        if term is None:
            continue
        structure.display_name = f"{term.english} ({structure.side})" if structure.side else term.english
        structure.latin_name = term.latin
        structure.common_names = term.common_names


__all__ = [
    "LANGUAGES",
    "Term",
    "Terminology",
    "apply_terminology",
    "base_and_side",
    "landmark_term",
    "structure_term",
    "terminology",
]
