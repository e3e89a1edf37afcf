"""Find a structure or landmark by English, Latin or common name, forgiving typos (Qt-free).

``search("glute med")`` ranks ``gluteus_medius_right`` then ``..._left``;
side words (left, right, L, R, lt, rt) restrict the side. Without a side both
sides are returned, the right first. Scoring compares query words with the
words of each structure's names (display name, base name, and the English,
Terminologia Anatomica Latin and common names of :mod:`viewer.model.terminology`):
exact words score highest, then prefixes ("piri", "med"), initials ("TFL",
"ITB", "QF") and close spellings. Given a scene model, its landmarks are found
too ("greater trochanter", "sit bone"); their candidates name the bone they lie on.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from viewer.model.terminology import Term, base_and_side, landmark_term, structure_term

SIDE_WORDS = {"right": "right", "r": "right", "rt": "right", "left": "left", "l": "left", "lt": "left"}


@dataclass(frozen=True)
class Candidate:
    name: str  # a structure, a landmark such as greater_trochanter_right, or an action id
    display: str
    score: float  # 0..1, higher is better
    kind: str = "structure"  # "structure" | "landmark" | "action" (a movement to play: "internal rotation", "frog")
    structure: str = ""  # the structure to select: itself, or the bone a landmark lies on ("" for an action)

    def __post_init__(self) -> None:
        if not self.structure and self.kind != "action":
            object.__setattr__(self, "structure", self.name)


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


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


def _term_phrases(term: Term | None) -> list[str]:
    return [term.english, term.latin, *term.common_names, term.abbreviation or ""] if term else []


def _phrases(name: str, structure: Any) -> list[str]:
    base, _side = base_and_side(name)
    display = re.sub(r"\s*\((right|left)\)\s*$", "", getattr(structure, "display_name", "") or "")
    phrases = [base.replace("_", " "), display]
    phrases += list(getattr(structure, "common_names", ()) or ())
    phrases += _term_phrases(structure_term(name))
    return [p for p in phrases if p]


def _entries(structures: Mapping[str, Any] | Any) -> list[tuple[str, str, list[str], str, str]]:
    """(name, display, phrases, kind, structure to select) for every structure, and every landmark of a scene."""
    table: Mapping[str, Any] = getattr(structures, "structures", structures)
    entries = [
        (name, getattr(s, "display_name", name), _phrases(name, s), "structure", name) for name, s in table.items()
    ]
    bones = structures.landmark_bones() if hasattr(structures, "landmark_bones") else {}
    for name, bone in bones.items():
        term = landmark_term(name)
        if term is None or bone not in table:
            continue
        side = base_and_side(name)[1]
        display = f"{term.english} ({side})" if side else term.english
        entries.append((name, display, _term_phrases(term), "landmark", bone))
    return entries


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
    """Ranked candidates for a typed query.

    ``structures`` is a name->Structure mapping, or a SceneModel (then its landmarks are searched too).
    """
    words, side = parse_query(query)
    if not words:
        return []
    side_rank = {"right": 0, "left": 1, None: 2}
    results = []
    for name, display, phrases, kind, target in _entries(structures):
        entry_side = base_and_side(name)[1]
        if side is not None and entry_side not in (side, None):
            continue
        score = max((_phrase_score(words, phrase) for phrase in phrases), default=0.0)
        if score >= threshold:
            results.append((round(score, 4), side_rank[entry_side], name, display, kind, target))
    results.sort(key=lambda r: (-r[0], r[1], r[2]))
    return [
        Candidate(name, display, score, kind, target) for score, _rank, name, display, kind, target in results[:limit]
    ]


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
    return sorted(found, key=lambda c: (-c.score, c.kind == "action"))


def best_match(query: str, structures: Mapping[str, Any] | Any) -> str | None:
    """The structure name the search finds first for ``query``, or None."""
    found = search(query, structures, limit=1)
    return found[0].structure if found else None


def names_matching(query: str, names: Iterable[str]) -> list[str]:
    """Search plain structure names (no display or common names)."""
    return [c.name for c in search(query, dict.fromkeys(names))]


__all__ = [
    "SIDE_WORDS",
    "Candidate",
    "best_match",
    "names_matching",
    "parse_query",
    "search",
    "search_actions",
    "search_all",
]
