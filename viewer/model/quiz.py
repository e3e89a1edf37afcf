"""Self-test questions generated from the annotation data and the computed geometry (Qt-free).

No answer is written down anywhere: each question is built from what the model says (names and
layers from the annotations, length changes from the posed fibres, verdicts from the safety check),
so :func:`check_answer` can re-derive every answer and the tests do. Topics:

- ``layers``: name or click a structure of a layer; put structures in order from skin to bone;
- ``rotators``: name or click the lateral rotators (muscles whose first listed action is lateral rotation);
- ``actions``: which muscles lengthen in a phase of an action (played on the model);
- ``danger``: is this approach safe, and why (a technique, or the same push made vertical).

``make_quiz(scene, seed)`` is reproducible: the same seed, the same questions and answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from viewer.anatomy.kinematics import LegPose

TOPICS = ("layers", "rotators", "actions", "danger")
CLEAR_CHANGE = 0.03  # a muscle lengthens (or shortens) in a question only if its fibres change more than 3%
OPTIONS = 4
VERTICAL_DEG = 90.0  # the variant of a technique pushed straight down


@dataclass
class Question:
    """One question; ``answer`` is an option index, a list of indices (several right, or an order) or a structure."""

    kind: str  # click, name, order, lengthen, safety
    topic: str
    prompt: str
    options: list[str]
    answer: int | list[int] | str
    explanation: str
    highlight: list[str] = field(default_factory=list)  # structures to show in 3D (the right answer in review)
    pose: dict = field(default_factory=dict)  # side -> joint angles the question is asked at
    technique: dict = field(default_factory=dict)  # id, side, angle override (safety questions)
    keys: list[str] = field(default_factory=list)  # the structure (or verdict) behind each option

    def as_dict(self) -> dict:
        """The question with its answer and explanation, as ``quiz --json`` prints it."""
        return {
            "kind": self.kind, "topic": self.topic, "prompt": self.prompt, "options": self.options,
            "answer": self.answer, "explanation": self.explanation, "highlight": self.highlight,
            "pose": self.pose, "technique": self.technique, "keys": self.keys,
        }

    def is_right(self, response) -> bool:
        """Whether a response is right: an index, a set of indices, an order, or a clicked structure."""
        if self.kind == "lengthen":
            return sorted(response) == sorted(self.answer)
        if self.kind == "order":
            return list(response) == list(self.answer)
        return response == self.answer


# --- which structures a topic asks about -----------------------------------------------------------
def rotators(scene, side: str = "right") -> list[str]:
    """Muscles whose first listed action (the annotations) is lateral rotation of the thigh."""
    return [
        n
        for n, s in scene.structures.items()
        if s.kind == "muscle" and s.side == side and "lateral rotation" in (s.info.get("actions") or [""])[0].lower()
    ]


def _nameable(scene, side: str) -> list[str]:
    return [n for n, s in scene.structures.items() if s.kind in ("muscle", "fascia", "bone", "nerve") and s.side == side]


def _layer(scene, name: str) -> int:
    layer = scene.layer_of(name)
    return scene.layers.index(layer) if layer is not None else -1


# --- generators -------------------------------------------------------------------------------------
def _name_question(scene, rng, pool: list[str], topic: str, language: str) -> Question:
    target = str(rng.choice(pool))
    kind = scene.structures[target].kind
    others = [n for n in _nameable(scene, scene.structures[target].side) if n != target]
    same = [n for n in others if scene.structures[n].kind == kind]
    distractors = list(rng.choice(same if len(same) >= OPTIONS - 1 else others, OPTIONS - 1, replace=False))
    keys = [target, *distractors]
    rng.shuffle(keys)
    return Question(
        kind="name", topic=topic, prompt="Name the highlighted structure.",
        options=[scene.structure_name(k, language) for k in keys], answer=keys.index(target),
        explanation=f"It is {scene.both_names(target)}.", highlight=[target], keys=keys,
    )


def _click_question(scene, rng, pool: list[str], topic: str, language: str) -> Question:
    target = str(rng.choice(pool))
    return Question(
        kind="click", topic=topic, prompt=f"Click the structure named {scene.structure_name(target, language)}.",
        options=[], answer=target, explanation=f"This is {scene.both_names(target)}.", highlight=[target],
    )


def _order_question(scene, rng, side: str, language: str) -> Question:
    by_layer: dict[int, list[str]] = {}
    for name in scene.names():
        structure = scene.structures[name]
        if structure.kind in ("skin", "muscle", "fascia", "bone") and structure.side in (side, None):
            by_layer.setdefault(_layer(scene, name), []).append(name)
    layers = sorted(rng.choice(sorted(k for k in by_layer if k >= 0), OPTIONS, replace=False))
    picked = [str(rng.choice(sorted(by_layer[k]))) for k in layers]  # one structure from each of 4 layers
    keys = list(picked)
    rng.shuffle(keys)
    order = sorted(range(len(keys)), key=lambda i: _layer(scene, keys[i]))
    return Question(
        kind="order", topic="layers", prompt="Put these in order from the skin to the bone.",
        options=[scene.structure_name(k, language) for k in keys], answer=order,
        explanation="From the skin: " + ", ".join(
            f"{scene.structure_name(keys[i], language)} ({scene.layer_of(keys[i]).display_name})" for i in order
        ) + ".",
        highlight=picked, keys=keys,
    )


def length_changes(scene, poses: dict[str, LegPose], names: list[str]) -> dict[str, float]:
    """Mean fibre length change of each named muscle at ``poses`` from anatomical position (0.1 = 10%)."""
    rest = scene.lengths_at({}, names)
    posed = scene.lengths_at(poses, names)
    return {n: posed[n] / rest[n] - 1.0 for n in names}


def _phase_pose(action, phase) -> LegPose:
    """The pose at the peak of a phase (where its angle is largest)."""
    angle = action.played_angle()
    times = np.linspace(phase.start, phase.end, 41)
    values = np.abs(action.angle_at(times, angle))
    return action.pose_at(float(times[int(np.argmax(values))]))


def action_phases(scene) -> list[tuple]:
    """(action, phase, side) of every named phase of every movement."""
    from viewer.model.actions import load_actions

    found = []
    for action in load_actions().values():
        side = "left" if action.side == "left" else "right"
        found.extend((action, phase, side) for phase in action.phases() if phase.name)
    return found


def _lengthen_question(scene, rng, language: str) -> Question | None:
    phases = action_phases(scene)
    action, phase, side = phases[int(rng.integers(len(phases)))]
    pose = _phase_pose(action, phase)
    muscles = [n for n, s in scene.structures.items() if s.kind == "muscle" and s.side == side]
    change = length_changes(scene, {side: pose}, muscles)
    longer = [n for n in muscles if change[n] > CLEAR_CHANGE]
    shorter = [n for n in muscles if change[n] < -CLEAR_CHANGE]
    if not longer or len(longer) + len(shorter) < OPTIONS:
        return None
    count_longer = int(rng.integers(1, min(len(longer), OPTIONS - 1) + 1))
    count_longer = max(count_longer, OPTIONS - len(shorter))
    keys = list(rng.choice(longer, count_longer, replace=False)) + list(
        rng.choice(shorter, OPTIONS - count_longer, replace=False)
    )
    keys = [str(k) for k in keys]
    rng.shuffle(keys)
    words = lambda n: f"{scene.structure_name(n, language)} {100 * change[n]:+.0f}%"  # noqa: E731
    return Question(
        kind="lengthen", topic="actions",
        prompt=f"{action.title}: in {phase.name} ({side} leg), which of these muscles lengthen?",
        options=[scene.structure_name(k, language) for k in keys],
        answer=sorted(i for i, k in enumerate(keys) if change[k] > 0),
        explanation="Fibre length change from anatomical position: " + ", ".join(words(k) for k in keys) + ".",
        highlight=[k for k in keys if change[k] > 0], pose={side: pose.as_dict()}, keys=keys,
    )


VERDICTS = (
    "Safe: the pressure stays outside the danger margin around the nerve",
    "Not safe: it reaches into the danger margin around the sciatic nerve",
    "Not safe: the push is too vertical near the nerve",
    "Not safe: both too close to the nerve and too vertical",
)


def verdict_index(report) -> int:
    """Which of :data:`VERDICTS` a safety report gives."""
    return {(False, False): 0, (True, False): 1, (False, True): 2, (True, True): 3}[
        (report.too_close, report.too_vertical)
    ]


def safety_report(scene, technique_id: str, side: str, angle: float | None):
    """The safety check of a technique (optionally pushed at another angle) at its own pose."""
    from viewer.model.technique_session import TechniqueSession
    from viewer.techniques.context import context_from_scene
    from viewer.techniques.geometry import technique_geometry
    from viewer.techniques.safety import assess

    session = TechniqueSession(scene)
    session.choose(technique_id, side, layers=False)
    technique = session.techniques[technique_id]
    context = context_from_scene(scene, side)  # the scene's posed nerve and zones
    geometry = technique_geometry(technique, context, angle_to_surface_deg=angle)
    return technique, assess(technique, geometry, context)


def _safety_question(scene, rng) -> Question:
    from viewer.techniques.library import load_techniques

    techniques = sorted(t.id for t in load_techniques().values() if t.depth["layer"] == "deep")
    technique_id = str(rng.choice(techniques))
    side = str(rng.choice(["right", "left"]))
    angle = VERTICAL_DEG if rng.random() < 0.5 else None
    technique, report = safety_report(scene, technique_id, side, angle)
    how = "pushed straight down (90 degrees to the surface)" if angle else "as described"
    return Question(
        kind="safety", topic="danger", prompt=f"{technique.title} ({side} side), {how}: is this approach safe, and why?",
        options=list(VERDICTS), answer=verdict_index(report), explanation=report.explanation,
        highlight=[f"sciatic_nerve_{side}"],
        pose={side: technique.leg_pose().as_dict()}, technique={"id": technique_id, "side": side, "angle_to_surface_deg": angle},
        keys=list(VERDICTS),
    )


def make_question(scene, rng, topic: str, language: str = "english") -> Question | None:
    """One question of ``topic`` with its answer computed from ``scene``; None when none can be asked."""
    side = "right"
    if topic == "layers":
        kind = rng.choice(["order", "name", "click"])
        if kind == "order":
            return _order_question(scene, rng, side, language)
        pool = _nameable(scene, side)
        return (_name_question if kind == "name" else _click_question)(scene, rng, pool, topic, language)
    if topic == "rotators":
        pool = rotators(scene, side)
        return (_name_question if rng.random() < 0.5 else _click_question)(scene, rng, pool, topic, language)
    if topic == "actions":
        return _lengthen_question(scene, rng, language)
    if topic == "danger":
        return _safety_question(scene, rng)
    raise ValueError(f"quiz topic must be one of {', '.join(TOPICS)}, not {topic!r}")


def make_quiz(
    scene, seed: int = 0, count: int = 10, topics: tuple[str, ...] = TOPICS, language: str = "english"
) -> list[Question]:
    """``count`` questions over ``topics`` in turn, reproducible from ``seed``; the scene's pose is kept."""
    unknown = [t for t in topics if t not in TOPICS]
    if unknown or not topics:
        raise ValueError(f"quiz topics must be among {', '.join(TOPICS)}, not {', '.join(unknown) or 'none'}")
    rng = np.random.default_rng(seed)
    poses = {side: scene.pose(side) for side in ("right", "left")}
    questions: list[Question] = []
    attempts = 0
    try:
        while len(questions) < count and attempts < 10 * count:
            question = make_question(scene, rng, topics[attempts % len(topics)], language)
            attempts += 1
            if question is not None and question.prompt not in {q.prompt for q in questions}:
                questions.append(question)
    finally:
        scene.set_leg_poses(poses)
    return questions


def check_answer(scene, question: Question, language: str = "english"):
    """Re-derive a question's answer from the model, independently of how it was generated."""
    keys = question.keys
    if question.kind == "name":
        return question.options.index(scene.structure_name(question.highlight[0], language))
    if question.kind == "click":
        return next(n for n in scene.structures if question.prompt.endswith(f" {scene.structure_name(n, language)}."))
    if question.kind == "order":
        return [keys.index(k) for k in sorted(keys, key=lambda k: _layer(scene, k))]
    if question.kind == "lengthen":
        side, angles = next(iter(question.pose.items()))
        change = length_changes(scene, {side: LegPose(**angles)}, keys)
        return [i for i, k in enumerate(keys) if change[k] > 0]
    if question.kind == "safety":
        technique = question.technique
        _technique, report = safety_report(scene, technique["id"], technique["side"], technique["angle_to_surface_deg"])
        return verdict_index(report)
    raise ValueError(f"unknown question kind {question.kind!r}")


__all__ = ["TOPICS", "VERDICTS", "Question", "check_answer", "length_changes", "make_quiz", "rotators"]
