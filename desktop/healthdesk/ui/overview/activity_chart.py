"""Activity over time, above the Activity timeline: a bar per (UTC) day, stacked by what
the sync service did (created, updated, failed), drawn with QPainter.

`ActivityChart` draws days it is given; `ActivityPanel` reads them in the background
(`store.activity.per_day`, the maintained per-day rows: a few hundred rows at any size)
when a connection is shown and whenever its data changes (`Operations.changed`), and says
which day filters the timeline. A bar's tool tip gives the day's exact numbers; clicking
it, or choosing it with the arrow keys and Enter, filters the timeline to that day;
clicking it again, Escape or "Show all days" shows every day again.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QFontMetrics,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from healthdesk.core.model import Connection
from healthdesk.core.palette import ACTIVITY_COLORS, ACTIVITY_LABELS, ACTIVITY_OUTCOMES
from healthdesk.store.activity import DayActivity, per_day
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.text import plain_label

__all__ = ["MAX_DAYS", "ActivityChart", "ActivityPanel", "day_text"]

#: Days the chart shows at most (the most recent ones).
MAX_DAYS = 366
_AXIS = 16  # pixels under the bars for the first and last day
_TOP = 4


def day_text(day: DayActivity) -> str:
    """ "2026-11-19 (UTC): 120 created, 40 updated, 3 failed"."""
    parts = ", ".join(
        f"{day.count(outcome):,} {ACTIVITY_LABELS[outcome].lower()}"
        for outcome in ACTIVITY_OUTCOMES
    )
    return f"{day.day} (UTC): {parts}"


def _calendar(days: list[DayActivity]) -> list[DayActivity]:
    """The days from the first to the last, those without events included (at most
    MAX_DAYS, the most recent)."""
    if not days:
        return []
    by_day = {d.day: d for d in days}
    last = date.fromisoformat(days[-1].day)
    first = max(date.fromisoformat(days[0].day), last - timedelta(days=MAX_DAYS - 1))
    found = []
    current = first
    while current <= last:
        text = current.isoformat()
        found.append(by_day.get(text) or DayActivity(text, {}))
        current += timedelta(days=1)
    return found


class ActivityChart(QWidget):
    """Events per day as stacked bars; a bar filters the timeline to its day.

    Signals:
        day_chosen(str): a day was clicked or chosen with the keyboard ("YYYY-MM-DD"), or
            "" to show every day again.
    """

    day_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activity_chart")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Activity per day")
        self._days: list[DayActivity] = []
        self._selected: str | None = None
        self._focused = -1
        self._hovered = -1
        self._update_description()

    # -- data -----------------------------------------------------------------------------

    def set_days(self, days: list[DayActivity]) -> None:
        """Show `days` (oldest first; days without events are filled in)."""
        self._days = _calendar(days)
        if not 0 <= self._focused < len(self._days):
            self._focused = len(self._days) - 1
        self._hovered = -1
        self._update_description()
        self.update()

    def days(self) -> list[DayActivity]:
        return list(self._days)

    def set_selected(self, day: str | None) -> None:
        """Highlight the day the timeline shows (None: every day)."""
        self._selected = day or None
        index = self._index_of(day)
        if index >= 0:
            self._focused = index
        self._update_description()
        self.update()

    def selected(self) -> str | None:
        return self._selected

    def day_rect(self, day: str) -> QRect:
        """Where the bar of `day` is (empty when the chart does not show it)."""
        index = self._index_of(day)
        return self._column(index).toAlignedRect() if index >= 0 else QRect()

    def day_at(self, point: QPoint) -> DayActivity | None:
        index = self._index_at(point)
        return self._days[index] if index >= 0 else None

    # -- Qt -------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(400, 66)

    def minimumSizeHint(self) -> QSize:
        return QSize(120, 60)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        palette = self.palette()
        muted = palette.placeholderText().color()
        plot = self._plot()
        metrics = QFontMetrics(self.font())
        if not self._days:
            painter.setPen(muted)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No activity yet")
            return
        scale = self._scale()
        painter.setPen(QPen(palette.mid().color(), 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        for index, day in enumerate(self._days):
            column = self._column(index)
            dim = (self._selected is not None and day.day != self._selected) or (
                self._hovered >= 0 and index != self._hovered and self._selected is None
            )
            bottom = column.bottom()
            total = self._total(day)
            # A day above the scale is drawn to the top, its parts in proportion, and cut.
            shrink = min(1.0, scale / total) if total else 1.0
            for outcome in ACTIVITY_OUTCOMES:
                count = day.count(outcome)
                if not count:
                    continue
                height = max(plot.height() * count * shrink / scale, 1.0)
                color = QColor(ACTIVITY_COLORS[outcome])
                if dim:
                    color.setAlpha(90)
                painter.fillRect(
                    QRectF(column.left(), bottom - height, column.width(), height), color
                )
                bottom -= height
            if total > scale:
                cut = column.top() + 5
                painter.setPen(QPen(palette.base().color(), 2))
                painter.drawLine(
                    QPoint(int(column.left()), int(cut + 3)), QPoint(int(column.right()), int(cut))
                )
        if self.hasFocus() and 0 <= self._focused < len(self._days):
            pen = QPen(palette.text().color(), 1, Qt.PenStyle.DotLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self._column(self._focused).adjusted(-1, -1, 0, 0))
        # The first and last day under the axis; the largest day's total at the top left.
        painter.setPen(muted)
        baseline = plot.bottom() + metrics.ascent() + 2
        painter.drawText(QPoint(int(plot.left()), int(baseline)), self._days[0].day)
        last = self._days[-1].day
        painter.drawText(
            QPoint(int(plot.right() - metrics.horizontalAdvance(last)), int(baseline)), last
        )
        scale_text = f"{scale:,} events a day"
        painter.drawText(QPoint(int(plot.left()) + 2, _TOP + metrics.ascent()), scale_text)
        self._paint_legend(painter, plot, metrics)

    def _paint_legend(self, painter: QPainter, plot: QRectF, metrics: QFontMetrics) -> None:
        x = plot.right()
        y = _TOP
        for outcome in reversed(ACTIVITY_OUTCOMES):
            label = ACTIVITY_LABELS[outcome]
            x -= metrics.horizontalAdvance(label)
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(QPoint(int(x), y + metrics.ascent()), label)
            x -= 12
            painter.fillRect(
                QRectF(x, y + metrics.ascent() - 8, 8, 8), QColor(ACTIVITY_COLORS[outcome])
            )
            x -= 10

    def tooltip_at(self, point: QPoint) -> str | None:
        """The tool tip shown at `point`: the day's exact numbers and what a click does."""
        index = self._index_at(point)
        if index < 0:
            return None
        day = self._days[index]
        hint = (
            "Click to show every day again."
            if day.day == self._selected
            else "Click to show this day in the timeline."
        )
        return f"{day_text(day)}\n{hint}"

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(event.pos())
            if text is None:
                QToolTip.hideText()
            else:
                index = self._index_at(event.pos())
                QToolTip.showText(
                    event.globalPos(), text, self, self._column(index).toAlignedRect()
                )
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self._index_at(event.position().toPoint())
        if index != self._hovered:
            self._hovered = index
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._hovered = -1
        self.update()
        super().leaveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            index = self._index_at(event.position().toPoint())
            if index >= 0:
                self._focused = index
                self._choose(index)
                event.accept()
                return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if self._days and key in (
            Qt.Key.Key_Left,
            Qt.Key.Key_Right,
            Qt.Key.Key_Home,
            Qt.Key.Key_End,
        ):
            last = len(self._days) - 1
            if key == Qt.Key.Key_Home:
                self._focused = 0
            elif key == Qt.Key.Key_End:
                self._focused = last
            else:
                step = 1 if key == Qt.Key.Key_Right else -1
                self._focused = min(max(self._focused + step, 0), last)
            self._update_description()
            self.update()
            event.accept()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and self._days:
            self._choose(self._focused)
            event.accept()
            return
        if key == Qt.Key.Key_Escape and self._selected is not None:
            self.day_chosen.emit("")
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.update()

    # -- internals ------------------------------------------------------------------------

    def _choose(self, index: int) -> None:
        if not 0 <= index < len(self._days):
            return
        day = self._days[index].day
        self.day_chosen.emit("" if day == self._selected else day)

    def _scale(self) -> int:
        """The count a full-height bar stands for: the largest day's, unless it dwarfs
        the others (a first import, say): then three times the 90th percentile, and the
        taller days are drawn cut (their tool tips give their numbers)."""
        totals = sorted(self._total(d) for d in self._days if self._total(d))
        if not totals:
            return 1
        usual = totals[(len(totals) * 9) // 10 - (1 if len(totals) >= 10 else 0)]
        return min(totals[-1], max(3 * usual, 1))

    @staticmethod
    def _total(day: DayActivity) -> int:
        return sum(day.count(outcome) for outcome in ACTIVITY_OUTCOMES)

    def _plot(self) -> QRectF:
        metrics = QFontMetrics(self.font())
        top = _TOP + metrics.height() + 2
        return QRectF(1, top, self.width() - 2, self.height() - top - _AXIS)

    def _column(self, index: int) -> QRectF:
        """The full-height column of day `index` (its bar stands in it)."""
        plot = self._plot()
        count = max(len(self._days), 1)
        step = plot.width() / count
        gap = 1.0 if step >= 4 else 0.0
        width = min(step - gap, 28.0)
        left = plot.left() + index * step + (step - width) / 2
        return QRectF(left, plot.top(), max(width, 1.0), plot.height())

    def _index_at(self, point: QPoint) -> int:
        plot = self._plot()
        if not self._days or not (plot.top() <= point.y() <= plot.bottom() + 1):
            return -1
        step = plot.width() / len(self._days)
        index = int((point.x() - plot.left()) // step) if step > 0 else -1
        return index if 0 <= index < len(self._days) else -1

    def _index_of(self, day: str | None) -> int:
        if day is None:
            return -1
        return next((i for i, d in enumerate(self._days) if d.day == day), -1)

    def _update_description(self) -> None:
        if not self._days:
            self.setAccessibleDescription("No activity yet")
            return
        total = {o: sum(d.count(o) for d in self._days) for o in ACTIVITY_OUTCOMES}
        words = ", ".join(f"{total[o]:,} {ACTIVITY_LABELS[o].lower()}" for o in ACTIVITY_OUTCOMES)
        parts = [
            f"{len(self._days)} days from {self._days[0].day} to {self._days[-1].day}: {words}"
        ]
        if 0 <= self._focused < len(self._days):
            parts.append(f"Chosen with the arrow keys: {day_text(self._days[self._focused])}")
        if self._selected:
            parts.append(f"The timeline shows {self._selected} only")
        self.setAccessibleDescription(". ".join(parts) + ".")


class ActivityPanel(QWidget):
    """The activity chart of the shown connection, kept up to date, and the day it
    filters the timeline to.

    Signals:
        day_changed(str): the timeline should show this day only ("" for every day).
    """

    day_changed = Signal(str)

    def __init__(self, *, operations: Operations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activity_panel")
        self._operations = operations
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self.chart = ActivityChart()
        self.chart.day_chosen.connect(self.set_day)
        self.filter_label = plain_label(name="activity_filter", muted=True)
        self.show_all_button = QPushButton("Show All Days")
        self.show_all_button.setObjectName("activity_show_all")
        self.show_all_button.clicked.connect(self._on_show_all_button_clicked)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.filter_label, 1)
        bar.addWidget(self.show_all_button)
        self._bar = QWidget()
        self._bar.setLayout(bar)
        self._bar.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addWidget(self.chart)
        layout.addWidget(self._bar)
        operations.changed.connect(self._on_operations_changed)

    def day(self) -> str | None:
        return self.chart.selected()

    def set_connection(self, engine: Engine | None, connection: Connection | None) -> None:
        """Show the activity of `connection` (None: none); every day is shown again."""
        self._engine = engine
        self._connection = connection
        self._operations.cancel(self)
        self.chart.set_days([])
        self._show_day(None)
        self.read()

    def read(self) -> None:
        engine, connection = self._engine, self._connection
        if engine is None or connection is None:
            return
        self._operations.run(
            self,
            "days",
            partial(_days, engine, connection.id),
            partial(self._on_read, connection.id),
            what="read the activity per day",
        )

    @Slot(str)
    def set_day(self, day: str) -> None:
        """Filter the timeline to `day` ("" or a day the chart does not hold: every day)."""
        wanted = day or None
        if wanted == self.chart.selected():
            return
        self._show_day(wanted)
        self.day_changed.emit(wanted or "")

    def _show_day(self, day: str | None) -> None:
        self.chart.set_selected(day)
        self._bar.setVisible(day is not None)
        if day is not None:
            found = next((d for d in self.chart.days() if d.day == day), DayActivity(day, {}))
            self.filter_label.setText(f"The timeline shows {day_text(found)}")

    def _on_read(self, connection_id: str, days: list[DayActivity]) -> None:
        if self._connection is None or self._connection.id != connection_id:
            return
        self.chart.set_days(days)
        selected = self.chart.selected()
        if selected is not None:
            self._show_day(selected)  # its numbers may have grown

    @Slot()
    def _on_show_all_button_clicked(self) -> None:
        self.set_day("")

    @Slot(str)
    def _on_operations_changed(self, connection_id: str) -> None:
        if self._connection is not None and connection_id == self._connection.id:
            self.read()


def _days(engine: Engine, connection_id: str, _work: Work) -> list[DayActivity]:
    return per_day(engine, connection_id)
