"""The published works behind the viewer's text, cited as a reader would look them up (Qt-free).

``assets/annotations/references.json`` is the bibliography. Annotation files cite a work by its id,
or by a string in the work's ``cited_as`` list (how files written before the bibliography cite it,
file names included). :func:`cite` turns such entries into citations, one per work, in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from viewer.io.annotations import AnnotationError, load_annotation
from viewer.paths import annotations_dir

REFERENCES_FILE = "references"


@dataclass(frozen=True)
class Work:
    """One published work: a book, a journal article, a magazine article or a web resource."""

    id: str
    title: str
    publication: str
    authors: str | None = None
    year: int | None = None

    def citation(self) -> str:
        """``Authors (year). Title. Publication.``, or ``Title. Publication, year.`` without authors."""
        title = self.title if self.title.endswith(("?", "!", ".")) else self.title + "."
        if self.authors:
            year = f" ({self.year})" if self.year else ""
            return f"{self.authors}{year}. {title} {self.publication}."
        year = f", {self.year}" if self.year else ""
        return f"{title} {self.publication}{year}."


@dataclass(frozen=True)
class Bibliography:
    works: dict[str, Work]
    cited_as: dict[str, tuple[str, ...]]  # legacy entry -> ids of the works it stands for

    def resolve(self, entry: str) -> tuple[Work, ...]:
        """The works one source entry stands for; a clear error naming the file when none."""
        if entry in self.works:
            return (self.works[entry],)
        ids = self.cited_as.get(entry)
        if not ids:
            raise AnnotationError(
                annotations_dir() / f"{REFERENCES_FILE}.json",
                f"no work has the id or 'cited_as' entry {entry!r}; add the published work it stands for",
                "works",
            )
        return tuple(self.works[i] for i in ids)


@cache
def bibliography() -> Bibliography:
    """The shipped bibliography, validated against its schema."""
    data = load_annotation(REFERENCES_FILE)
    works: dict[str, Work] = {}
    cited_as: dict[str, list[str]] = {}
    for index, entry in enumerate(data["works"]):
        if entry["id"] in works:
            path = annotations_dir() / f"{REFERENCES_FILE}.json"
            raise AnnotationError(path, f"id {entry['id']!r} used twice", f"works[{index}].id")
        works[entry["id"]] = Work(
            entry["id"], entry["title"], entry["publication"], entry.get("authors"), entry.get("year")
        )
        for text in entry["cited_as"]:
            cited_as.setdefault(text, []).append(entry["id"])
    return Bibliography(works, {k: tuple(v) for k, v in cited_as.items()})


def cited_works(entries: Iterable[str]) -> list[Work]:
    """The works behind source entries, each once, in first-cited order."""
    found: dict[str, Work] = {}
    for entry in entries:
        for work in bibliography().resolve(entry):
            found.setdefault(work.id, work)
    return list(found.values())


def cite(entries: Iterable[str]) -> list[str]:
    """Citations for source entries as users read them: one per work, no file names."""
    return [work.citation() for work in cited_works(entries)]


__all__ = ["Bibliography", "Work", "bibliography", "cite", "cited_works"]
