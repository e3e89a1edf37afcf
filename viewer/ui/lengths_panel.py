"""Muscle lengths: a table of every visible muscle's change, and the selected muscle over the action."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from viewer.anatomy.kinematics import LegPose
from viewer.model.actions import Action, Phase, Timeline, angle_axis_label
from viewer.model.scene import SceneModel
from viewer.model.units import MINUS, signed_percent
from viewer.ui.listening import while_alive

PLOT_SAMPLES = 41
LENGTHENED, SHORTENED = QColor("#c0392b"), QColor("#2166ac")
PHASE_SHADES = {1: QColor("#fdebd0"), -1: QColor("#d6eaf8")}  # positive angle (e.g. internal rotation), negative
TIME_LABEL = "time (s)"
LENGTH_LABEL = "length change (%)"


def change_colour(change: float) -> QColor:
    """Pale red for lengthened, pale blue for shortened, stronger with the size of the change."""
    strength = min(abs(change) / 0.2, 1.0)
    base = LENGTHENED if change > 0 else SHORTENED
    white = QColor("white")
    mix = lambda a, b: round(a + (b - a) * strength * 0.6)  # noqa: E731
    return QColor(mix(white.red(), base.red()), mix(white.green(), base.green()), mix(white.blue(), base.blue()))


class LengthTable(QTableWidget):
    """Each visible muscle's length at this pose and its change from anatomical position."""

    def __init__(self, model: SceneModel) -> None:
        super().__init__(0, 3)
        self.model = model
        self.setHorizontalHeaderLabels(["Muscle", "Length", "Change"])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.horizontalHeader().setStretchLastSection(True)
        # bound methods (viewer/ui/listening.py): the model holds them weakly; a deleted table stops listening
        model.pose_changed.connect(self._on_model_change)
        model.visibility_changed.connect(self._on_model_change)
        self.cellClicked.connect(self._on_click)
        self.refresh()

    def rows(self) -> list[tuple[str, float, float]]:
        """(name, length mm, change) for every visible structure with fibres."""
        result = []
        for name, structure in self.model.structures.items():
            if structure.fibres is None or not self.model.is_visible(name):
                continue
            result.append((name, self.model.length_mm(name), self.model.length_change(name)))
        return result

    @while_alive
    def _on_model_change(self, *_args) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Fill the table again with each visible muscle's length and change at the current pose."""
        rows = self.rows()
        self.setRowCount(len(rows))
        for row, (name, length, change) in enumerate(rows):
            items = (
                QTableWidgetItem(self.model.structures[name].display_name),
                QTableWidgetItem(f"{length:.0f} mm"),
                QTableWidgetItem(signed_percent(change)),
            )
            items[0].setData(Qt.ItemDataRole.UserRole, name)
            items[2].setBackground(change_colour(change))
            for column, item in enumerate(items):
                self.setItem(row, column, item)
        self.resizeColumnsToContents()

    def _on_click(self, row: int, _column: int) -> None:
        self.model.select(self.item(row, 0).data(Qt.ItemDataRole.UserRole))


class LengthPlot(QWidget):
    """Length change of the selected muscle across the action, with a cursor at the current time.

    The x axis is time (s) with the played angle (e.g. hip rotation, degrees) under it at the keyframes;
    the stretches where that angle is positive or negative are shaded and named (internal / external
    rotation, abduction / adduction, flexion / extension), so a student reads which part lengthens what.
    """

    def __init__(self, model: SceneModel, timeline: Timeline) -> None:
        super().__init__()
        self.model = model
        self.timeline = timeline
        self.setMinimumHeight(200)
        self.times = np.zeros(0)
        self.changes = np.zeros(0)
        self.title = ""
        self.angle: str | None = None  # the joint angle the action plays, e.g. "hip_rotation"
        self.phases: list[Phase] = []
        self.x_label, self.angle_label, self.y_label = TIME_LABEL, "", LENGTH_LABEL
        model.selection_changed.connect(self._on_selection_or_action)
        timeline.changed.connect(self._on_time)
        timeline.action_changed.connect(self._on_selection_or_action)

    @while_alive
    def _on_selection_or_action(self, *_args) -> None:
        self.recompute()

    @while_alive
    def _on_time(self, *_args) -> None:
        self.update()

    def recompute(self) -> None:
        """Sample the whole action for the selected muscle (the scene itself is not moved)."""
        name, action = self.model.selection, self.timeline.action
        if name is None or self.model.structures[name].fibres is None or action is None or action.duration == 0:
            self.times, self.changes, self.title = np.zeros(0), np.zeros(0), ""
            self.angle, self.phases, self.angle_label = None, [], ""
            self.update()
            return
        rest = self.model.lengths_at({}, [name])[name]
        self.times = np.linspace(0.0, action.duration, PLOT_SAMPLES)
        self.changes = np.array(
            [self.model.lengths_at(self._poses(action, t), [name])[name] / rest - 1 for t in self.times]
        )
        self.title = f"{self.model.structures[name].display_name}: {action.title}"
        self.angle = action.played_angle()
        self.phases = action.phases(self.angle)
        self.angle_label = angle_axis_label(self.angle) if self.angle else ""
        self.update()

    def _poses(self, action: Action, time: float) -> dict[str, LegPose]:
        pose = action.pose_at(time)
        moving = self.timeline.side_override or action.side
        return {side: pose for side in ("right", "left") if moving in ("both", side)}

    def paintEvent(self, _event) -> None:  # Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        if len(self.times) == 0:
            painter.setPen(QColor("#777"))
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, "Select a muscle to plot its length over the action"
            )
            return
        line = painter.fontMetrics().height()
        left, right, top = 58, self.width() - 10, 8 + 2 * line
        bottom = self.height() - (3 if self.angle else 2) * line - 6
        limit = max(0.05, float(np.abs(self.changes).max()) * 1.1)
        x = lambda t: left + (right - left) * t / self.times[-1]  # noqa: E731
        y = lambda c: top + (bottom - top) * (limit - c) / (2 * limit)  # noqa: E731
        painter.setPen(QColor("#333"))
        painter.drawText(left, line, self.title)
        for phase in self.phases:  # shaded halves, named: "internal rotation" | "external rotation"
            band = QRectF(QPointF(x(phase.start), top), QPointF(x(phase.end), bottom))
            painter.fillRect(band, PHASE_SHADES[phase.sign])
            painter.setPen(QColor("#555"))
            painter.drawText(
                QRectF(band.left(), top - line - 2, band.width(), line), Qt.AlignmentFlag.AlignCenter, phase.name
            )
        painter.setPen(QPen(QColor("#bbb"), 1))
        painter.drawLine(QPointF(left, y(0)), QPointF(right, y(0)))
        painter.setPen(QColor("#555"))
        for value in (limit, 0.0, -limit):  # kept inside the plot's height, clear of the time axis below
            centre = min(max(y(value), top + line / 2), bottom - line / 2)
            painter.drawText(
                QRectF(0, centre - line / 2, left - 16, line), Qt.AlignmentFlag.AlignRight, signed_percent(value, 0)
            )
        painter.save()  # y axis title, written upwards
        painter.translate(line * 0.8, (top + bottom) / 2)
        painter.rotate(-90)
        painter.drawText(
            QRectF(-(bottom - top) / 2, -line, bottom - top, line), Qt.AlignmentFlag.AlignCenter, self.y_label
        )
        painter.restore()
        self._draw_x_axes(painter, x, bottom, line)
        path = QPainterPath(QPointF(x(self.times[0]), y(self.changes[0])))
        for t, c in zip(self.times[1:], self.changes[1:], strict=True):
            path.lineTo(QPointF(x(t), y(c)))
        painter.setPen(QPen(QColor("#8e1b1b"), 2))
        painter.drawPath(path)
        painter.setPen(QPen(QColor("#1f5fa8"), 1, Qt.PenStyle.DashLine))
        cursor = x(min(self.timeline.time, self.times[-1]))
        painter.drawLine(QPointF(cursor, top), QPointF(cursor, bottom))

    def _draw_x_axes(self, painter: QPainter, x, bottom: float, line: int) -> None:
        """Seconds under the plot, then the played angle at each keyframe, each row with its axis title."""
        duration = float(self.times[-1])
        painter.setPen(QColor("#555"))
        step = 1.0 if duration <= 10 else 2.0
        for second in np.arange(0.0, duration + 1e-9, step):
            painter.drawText(QRectF(x(second) - 20, bottom + 2, 40, line), Qt.AlignmentFlag.AlignCenter, f"{second:g}")
        painter.drawText(QRectF(0, bottom + 2, 52, line), Qt.AlignmentFlag.AlignRight, self.x_label)
        action = self.timeline.action
        if not self.angle or action is None:
            return
        row = bottom + 2 + line
        painter.setPen(QColor("#8a5a00"))
        for frame in action.keyframes:
            degrees = round(frame.pose.as_dict()[self.angle])
            text = f"{'+' if degrees > 0 else MINUS if degrees < 0 else ''}{abs(degrees)}°"
            painter.drawText(QRectF(x(frame.time) - 24, row, 48, line), Qt.AlignmentFlag.AlignCenter, text)
        painter.drawText(QRectF(x(0.0), row + line, self.width(), line), Qt.AlignmentFlag.AlignLeft, self.angle_label)


class LengthsPanel(QWidget):
    def __init__(self, model: SceneModel, timeline: Timeline) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Length change from anatomical position (red longer, blue shorter)"))
        self.table = LengthTable(model)
        self.table.setToolTip("Each muscle's length change from anatomical position in this pose")
        self.plot = LengthPlot(model, timeline)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.plot, 1)
