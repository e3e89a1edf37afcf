"""Find a structure by name, common name or abbreviation, forgiving typos (Qt-free).

``search("glute med")`` ranks ``gluteus_medius_right`` then ``..._left``;
side words (left, right, L, R, lt, rt) restrict the side. Without a side both
sides are returned, the right first. Scoring compares query words with the
words of each structure's names (display name, base name, common names and a
small table of teaching abbreviations): exact words score highest, then
prefixes ("piri", "med"), initials ("TFL", "ITB", "QF") and close spellings.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SIDE_WORDS = {"right": "right", "r": "right", "rt": "right", "left": "left", "l": "left", "lt": "left"}
# Extra names a teacher or student may type (base structure name -> aliases).
ALIASES: dict[str, tuple[str, ...]] = {
    "gluteus_maximus": ("glute max", "glut max", "gmax", "buttock"),
    "gluteus_medius": ("glute med", "glut med", "gmed", "hip abductor"),
    "gluteus_minimus": ("glute min", "glut min", "gmin"),
    "piriformis": ("piri", "piriformis muscle"),
    "superior_gemellus": ("gemellus superior", "gemelli", "gemellus"),
    "inferior_gemellus": ("gemellus inferior", "gemelli", "gemellus"),
    "obturator_internus": ("obturator", "obturator internus", "oi"),
    "quadratus_femoris": ("quad fem", "qf", "quadratus"),
    "tensor_fasciae_latae": ("tfl", "tensor fascia lata", "tensor"),
    "iliotibial_band": ("it band", "itb", "iliotibial tract", "it tract"),
    "hip_bone": ("hip bone", "innominate", "os coxae", "ilium", "ischium", "pubis", "pelvis"),
    "sacrum": ("sacrum", "sacral", "coccyx", "tailbone", "pelvis"),
    "femur": ("thigh bone", "thighbone", "femur"),
    "tibia_fibula": ("tibia", "fibula", "shin bone"),
    "patella": ("kneecap", "knee cap"),
    "skin": ("skin", "surface"),
    "sciatic_nerve": ("sciatic",),
}


@dataclass(frozen=True)
class Candidate:
    name: str  # a structure name, or an action id when kind is "action"
    display: str
    score: float  # 0..1, higher is better
    kind: str = "structure"  # "structure" | "action" (a movement to play: "internal rotation", "frog")


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def _base_and_side(name: str) -> tuple[str, str | None]:
    for side in ("right", "left"):
        if name.endswith("_" + side):
            return name[: -len(side) - 1], side
    return name, None


def _word_score(query: str, word: str) -> float:
    if query == word:
        return 1.0
    if len(query) >= 2 and word.startswith(query):
        return 0.75 + 0.2 * len(query) / len(word)
    if len(query) >= 4 and len(word) >= 4:
        ratio = difflib.SequenceMatcher(None, query, word).ratio()
        if ratio >= 0.72:
            return 0.85 * ratio
    return 0.0


def _phrase_score(query_words: list[str], phrase: str) -> float:
    """How well the query words match one name phrase (each query word to its best phrase word)."""
    words = _words(phrase)
    if not words or not query_words:
        return 0.0
    initials = "".join(w[0] for w in words)
    joined = "".join(query_words)
    if len(words) > 1 and joined == initials:
        return 0.97
    scores = [max(_word_score(q, w) for w in words) for q in query_words]
    if min(scores) == 0.0:
        # a fused query ("gluteusmedius", "itband") against the fused phrase
        ratio = difflib.SequenceMatcher(None, joined, "".join(words)).ratio()
        return 0.8 * ratio if ratio >= 0.8 else 0.0
    mean = sum(scores) / len(scores)
    coverage = min(1.0, len(query_words) / len(words))  # "gluteus" alone matches three muscles less well
    return mean * (0.9 + 0.1 * coverage)


def _phrases(name: str, structure: Any) -> list[str]:
    base, _side = _base_and_side(name)
    display = re.sub(r"\s*\((right|left)\)\s*$", "", getattr(structure, "display_name", "") or "")
    phrases = [base.replace("_", " "), display]
    phrases += list(getattr(structure, "common_names", ()) or ())
    phrases += list(ALIASES.get(base, ()))
    return [p for p in phrases if p]


def parse_query(query: str) -> tuple[list[str], str | None]:
    """Query words without side words, and the side asked for (None if none)."""
    words = _words(query)
    side = None
    kept = []
    for word in words:
        if word in SIDE_WORDS and (len(words) > 1 or len(word) > 1):
            side = SIDE_WORDS[word]
        else:
            kept.append(word)
    return kept, side


def search(
    query: str, structures: Mapping[str, Any] | Any, limit: int = 10, threshold: float = 0.45
) -> list[Candidate]:
    """Ranked candidates for a typed query; ``structures`` is a name->Structure mapping or a SceneModel."""
    table: Mapping[str, Any] = getattr(structures, "structures", structures)
    words, side = parse_query(query)
    if not words:
        return []
    side_rank = {"right": 0, "left": 1, None: 2}
    results = []
    for name, structure in table.items():
        _base, structure_side = _base_and_side(name)
        if side is not None and structure_side not in (side, None):
            continue
        score = max((_phrase_score(words, phrase) for phrase in _phrases(name, structure)), default=0.0)
        if score >= threshold:
            display = getattr(structure, "display_name", name)
            results.append((round(score, 4), side_rank[structure_side], name, display))
    results.sort(key=lambda r: (-r[0], r[1], r[2]))
    return [Candidate(name, display, score) for score, _rank, name, display in results[:limit]]


SECONDARY_MOVEMENT = 0.9  # an action matched by a movement it also makes ranks below one that is about it


def search_actions(query: str, actions: Mapping[str, Any], threshold: float = 0.6) -> list[Candidate]:
    """Actions found by title or by the movement typed ("internal rotation", "abduction", "frog"), best first.

    ``actions`` maps ids to :class:`viewer.model.actions.Action`.
    """
    words, _side = parse_query(query)
    if not words:
        return []
    results = []
    for action_id, action in actions.items():
        main = action.movements((action.played_angle(),))
        scores = [_phrase_score(words, p) for p in (action.title, action_id.replace("_", " "), *main)]
        scores += [SECONDARY_MOVEMENT * _phrase_score(words, p) for p in action.movements() if p not in main]
        score = max(scores)
        if score >= threshold:
            results.append(Candidate(action_id, action.title, round(score, 4), "action"))
    return sorted(results, key=lambda c: -c.score)


def search_all(query: str, structures: Mapping[str, Any] | Any, actions: Mapping[str, Any]) -> list[Candidate]:
    """Structures and actions together, best first; a structure wins a tie (it is what the view shows)."""
    found = search(query, structures) + search_actions(query, actions)
    return sorted(found, key=lambda c: (-c.score, c.kind != "structure"))


def best_match(query: str, structures: Mapping[str, Any] | Any) -> str | None:
    found = search(query, structures, limit=1)
    return found[0].name if found else None


def names_matching(query: str, names: Iterable[str]) -> list[str]:
    """Search plain structure names (no display or common names)."""
    return [c.name for c in search(query, dict.fromkeys(names))]


__all__ = [
    "ALIASES",
    "SIDE_WORDS",
    "Candidate",
    "best_match",
    "names_matching",
    "parse_query",
    "search",
    "search_actions",
    "search_all",
]
