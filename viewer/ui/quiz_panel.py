"""Self-test: ten questions generated from the model, a score, and a review that shows each right answer in 3D."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from viewer.anatomy.bones import SIDES
from viewer.anatomy.kinematics import LegPose
from viewer.model.quiz import TOPICS, Question, make_quiz
from viewer.model.scene import SceneModel
from viewer.ui.pose_glide import PoseGlide

QUESTIONS = 10
TOPIC_LABELS = {"layers": "Layers", "rotators": "Rotators", "actions": "Actions", "danger": "Danger zones"}
INDEX_ROLE = Qt.ItemDataRole.UserRole


@dataclass
class Attempt:
    question: Question
    response: object
    right: bool


def right_structures(question: Question) -> list[str]:
    """What the review shows in 3D: the structure to click or name, else what the question is about."""
    if question.kind == "click":
        return [str(question.answer)]
    return list(question.highlight)


class QuizPanel(QWidget):
    """Runs a quiz; ``highlight`` marks structures in the view (a :class:`~viewer.render.quiz_view.QuizHighlight`)."""

    def __init__(self, model: SceneModel, highlight) -> None:
        super().__init__()
        self.model = model
        self.highlight = highlight
        self.questions: list[Question] = []
        self.attempts: list[Attempt] = []
        self.index = -1
        self.glide = PoseGlide(model, self)  # an action's question plays the action on the model
        self.pose_before: dict[str, LegPose] | None = None  # where the legs were before it played
        layout = QVBoxLayout(self)
        topics = QHBoxLayout()
        self.topic_boxes: dict[str, QCheckBox] = {}
        for topic in TOPICS:
            box = QCheckBox(TOPIC_LABELS[topic])
            box.setToolTip(f"Ask questions about {TOPIC_LABELS[topic].lower()}")
            box.setChecked(True)
            topics.addWidget(box)
            self.topic_boxes[topic] = box
        layout.addLayout(topics)
        start_row = QHBoxLayout()
        self.seed_spin = QSpinBox()
        self.seed_spin.setToolTip("Each number gives its own reproducible set of questions")
        self.seed_spin.setRange(0, 9999)
        self.seed_spin.setPrefix("Quiz no. ")
        self.start_button = QPushButton(f"Start {QUESTIONS} questions")
        self.start_button.setToolTip("Start a new quiz on the topics ticked")
        self.start_button.clicked.connect(lambda: self.start(self.seed_spin.value()))
        start_row.addWidget(self.seed_spin)
        start_row.addWidget(self.start_button)
        layout.addLayout(start_row)
        self.progress = QLabel("Choose topics and start.")
        self.prompt = QLabel()
        self.prompt.setWordWrap(True)
        self.options = QListWidget()
        self.options.setToolTip("Choose your answer (drag the layers into order for an ordering question)")
        self.answer_button = QPushButton("Answer")
        self.answer_button.setToolTip("Check your answer")
        self.answer_button.clicked.connect(lambda: self.answer(self.response()))
        self.next_button = QPushButton("Next question")
        self.next_button.setToolTip("Go on to the next question")
        self.next_button.clicked.connect(self.next_question)
        self.feedback = QLabel()
        self.feedback.setWordWrap(True)
        self.score_label = QLabel()
        self.review = QListWidget()
        self.review.setToolTip("Your mistakes: click one to see the right answer on the model")
        self.review.currentRowChanged.connect(self.review_mistake)
        for widget in (self.progress, self.prompt, self.options):
            layout.addWidget(widget)
        buttons = QHBoxLayout()
        buttons.addWidget(self.answer_button)
        buttons.addWidget(self.next_button)
        layout.addLayout(buttons)
        for widget in (self.feedback, self.score_label, QLabel("Mistakes (click one to see the right answer):"), self.review):
            layout.addWidget(widget)
        self._set_answering(False)
        self.next_button.setEnabled(False)

    # --- running -----------------------------------------------------------------------------------
    @property
    def question(self) -> Question | None:
        """The question being asked, or None before a quiz and after its last question."""
        return self.questions[self.index] if 0 <= self.index < len(self.questions) else None

    @property
    def score(self) -> int:
        """How many questions were answered right."""
        return sum(attempt.right for attempt in self.attempts)

    @property
    def awaiting_click(self) -> bool:
        """The current question is answered by clicking a structure in the 3D view."""
        return self.question is not None and self.question.kind == "click" and len(self.attempts) == self.index

    def start(self, seed: int) -> None:
        """Start a quiz with the ticked topics; the same ``seed`` gives the same questions."""
        topics = tuple(t for t, box in self.topic_boxes.items() if box.isChecked()) or TOPICS
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.questions = make_quiz(self.model, seed=seed, count=QUESTIONS, topics=topics, language=self.model.language)
        finally:
            QApplication.restoreOverrideCursor()
        self.attempts, self.index = [], -1
        self.return_pose()
        self.review.clear()
        self.next_question()

    def clear(self) -> None:
        """Back to the start: no quiz running, nothing highlighted, no score or mistakes listed."""
        self.glide.finish()
        self.return_pose()
        self.glide.finish()
        self.questions, self.attempts, self.index = [], [], -1
        self.highlight.show([])
        self.progress.setText("Choose topics and start.")
        for label in (self.prompt, self.feedback, self.score_label):
            label.clear()
        self.options.clear()
        self.options.setVisible(True)
        self.review.clear()
        self._set_answering(False)
        self.next_button.setEnabled(False)

    def next_question(self) -> None:
        """Ask the next question."""
        self.index += 1
        self.feedback.clear()
        self.next_button.setEnabled(False)
        question = self.question
        if question is None:
            self._finish()
            return
        self.progress.setText(f"Question {self.index + 1} of {len(self.questions)} ({TOPIC_LABELS[question.topic]})")
        self.prompt.setText(question.prompt + ("  Click it in the 3D view." if question.kind == "click" else ""))
        self.options.clear()
        self.options.setDragDropMode(
            QAbstractItemView.DragDropMode.InternalMove if question.kind == "order" else QAbstractItemView.DragDropMode.NoDragDrop
        )
        for index, text in enumerate(question.options):
            item = QListWidgetItem(text)
            item.setData(INDEX_ROLE, index)
            if question.kind == "lengthen":
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
            self.options.addItem(item)
        self.options.setVisible(question.kind != "click")
        self.highlight.show(question.highlight if question.kind == "name" else [])
        if question.kind == "lengthen":
            self.play_action(question)
        self._set_answering(True)
        self._update_score()

    def response(self):
        """What the student chose: an option index, the indices ticked, the order arranged."""
        question = self.question
        items = [self.options.item(row) for row in range(self.options.count())]
        if question.kind == "order":
            return [item.data(INDEX_ROLE) for item in items]
        if question.kind == "lengthen":
            return [item.data(INDEX_ROLE) for item in items if item.checkState() == Qt.CheckState.Checked]
        return self.options.currentRow()

    def answer(self, response) -> bool:
        """Mark a response to the current question; returns whether it is right."""
        question = self.question
        if question is None or len(self.attempts) > self.index:
            return False
        right = question.is_right(response)
        self.attempts.append(Attempt(question, response, right))
        verdict = "Right." if right else f"Not quite. The answer: {self.right_answer_text(question)}."
        self.feedback.setText(f"{verdict} {question.explanation}")
        if not right:
            item = QListWidgetItem(f"{self.index + 1}. {question.prompt}")
            item.setData(INDEX_ROLE, len(self.attempts) - 1)
            self.review.addItem(item)
        self._set_answering(False)
        self.next_button.setEnabled(True)
        self._update_score()
        self.return_pose()
        return right

    def play_action(self, question: Question) -> None:
        """Glide the legs into the pose the question asks about (they go back once it is answered)."""
        if self.pose_before is None:
            self.pose_before = {side: self.model.pose(side) for side in SIDES}
        self.glide.go({side: self.model.pose(side).replaced(**angles) for side, angles in question.pose.items()})

    def return_pose(self) -> None:
        """Glide the legs back to where they were before an action's question played."""
        if self.pose_before is not None:
            before, self.pose_before = self.pose_before, None
            self.glide.go(before)

    def answer_click(self, name: str | None) -> bool:
        """A structure clicked in the view while a click question waits."""
        return self.answer(name)

    def right_answer_text(self, question: Question) -> str:
        """The right answer of ``question`` in words, for the feedback and the review."""
        answer = question.answer
        if question.kind == "click":
            return self.model.structure_name(str(answer))
        if question.kind == "order":
            return " → ".join(question.options[i] for i in answer)
        if question.kind == "lengthen":
            return ", ".join(question.options[i] for i in answer) or "none of them"
        return question.options[int(answer)]

    def review_mistake(self, row: int) -> None:
        """Show a missed question's right answer: its explanation, the structure highlighted and selected."""
        item = self.review.item(row)
        if item is None:
            return
        attempt = self.attempts[item.data(INDEX_ROLE)]
        question = attempt.question
        self.prompt.setText(question.prompt)
        self.feedback.setText(f"The answer: {self.right_answer_text(question)}. {question.explanation}")
        names = right_structures(question)
        self.highlight.show(names)
        if names:
            self.model.select(names[0])

    def _finish(self) -> None:
        self.highlight.show([])
        self.progress.setText("Quiz finished.")
        self.prompt.setText(
            f"You scored {self.score} of {len(self.questions)}."
            + (" Review your mistakes below." if self.review.count() else " No mistakes!")
        )
        self.options.clear()
        self._set_answering(False)

    def _set_answering(self, on: bool) -> None:
        self.answer_button.setEnabled(on and self.question is not None and self.question.kind != "click")
        self.options.setEnabled(on)

    def _update_score(self) -> None:
        self.score_label.setText(f"Score: {self.score} of {len(self.attempts)} answered")
