"""The status breakdown above the status tabs: one slim bar, a segment per status as wide
as its share of the contacts, in the charts' colours (core.palette).

Drawn with QPainter (no chart library). A segment's tool tip gives its exact count and
share; clicking it, or choosing it with the arrow keys and Enter/Space, shows that status's
tab. The counts are the summary's (read in the background by SummaryReader), so the bar
costs no read of its own.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from healthdesk.core.model import STATUS_ORDER, Status
from healthdesk.core.palette import STATUS_COLORS
from healthdesk.core.words import STATUS_LABELS, plural

__all__ = ["StatusBreakdown", "segment_text"]

_HEIGHT = 12
#: A status with contacts is never drawn narrower than this (pixels).
_MIN_WIDTH = 3


def segment_text(status: Status, count: int, total: int) -> str:
    """ "Failing: 49 contacts (4.4% of 1,103)"."""
    share = f"{100 * count / total:.1f}%" if total else "0%"
    return f"{STATUS_LABELS[status]}: {plural(count, 'contact')} ({share} of {total:,})"


class StatusBreakdown(QWidget):
    """Contacts by status as one stacked bar; a segment opens its status's tab.

    Signals:
        status_chosen(object): a segment was clicked or chosen with the keyboard (its
            `Status`).
    """

    status_chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("status_breakdown")
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAccessibleName("Contacts by status")
        self._counts: dict[Status, int] = {}
        self._current: Status | None = None
        self._focused: Status = STATUS_ORDER[0]
        self._hovered: Status | None = None
        self._update_description()

    # -- data -----------------------------------------------------------------------------

    def set_counts(self, counts: dict[Status, int] | None) -> None:
        """Show `counts` (None: no connection, an empty bar)."""
        self._counts = dict(counts or {})
        self._update_description()
        self.update()

    def counts(self) -> dict[Status, int]:
        return dict(self._counts)

    def set_current(self, status: Status) -> None:
        """Outline the segment of the tab shown."""
        self._current = status
        self._focused = status
        self.update()

    def segment_rect(self, status: Status) -> QRect:
        """Where `status` is drawn (empty when it has no contacts)."""
        return self._segments().get(status, QRectF()).toAlignedRect()

    def status_at(self, point: QPoint) -> Status | None:
        for status, rect in self._segments().items():
            if rect.contains(point.toPointF()):
                return status
        return None

    # -- Qt -------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(400, _HEIGHT + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(60, _HEIGHT + 4)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            track = self._track()
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self.palette().alternateBase())
            painter.drawRoundedRect(track, 3, 3)
            segments = self._segments()
            for status, rect in segments.items():
                color = QColor(STATUS_COLORS[status])
                if self._hovered is not None and status is not self._hovered:
                    color.setAlpha(150)
                painter.setBrush(color)
                painter.drawRect(rect)
            outline = self._current
            if self.hasFocus():
                outline = self._focused
            if outline in segments:
                pen = QPen(self.palette().text().color(), 2 if self.hasFocus() else 1.5)
                if self.hasFocus():
                    pen.setStyle(Qt.PenStyle.DotLine)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(segments[outline].adjusted(1, 1, -1, -1))
        finally:
            painter.end()

    def tooltip_at(self, point: QPoint) -> str | None:
        """The tool tip shown at `point`: the segment's exact count and share."""
        status = self.status_at(point)
        if status is None:
            return None
        total = sum(self._counts.values())
        return f"{segment_text(status, self._counts[status], total)}\nClick to show the list."

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(event.pos())
            if text is None:
                QToolTip.hideText()
            else:
                status = self.status_at(event.pos())
                assert status is not None
                QToolTip.showText(event.globalPos(), text, self, self.segment_rect(status))
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hovered = self.status_at(event.position().toPoint())
        if hovered is not self._hovered:
            self._hovered = hovered
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._hovered = None
        self.update()
        super().leaveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            status = self.status_at(event.position().toPoint())
            if status is not None:
                self._choose(status)
                event.accept()
                return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        shown = [s for s in STATUS_ORDER if self._counts.get(s)] or list(STATUS_ORDER)
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            index = shown.index(self._focused) if self._focused in shown else 0
            index += 1 if key == Qt.Key.Key_Right else -1
            self._focused = shown[index % len(shown)]
            self._update_description()
            self.update()
            event.accept()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self._choose(self._focused)
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

    def _choose(self, status: Status) -> None:
        self._focused = status
        self.status_chosen.emit(status)

    def _track(self) -> QRectF:
        top = (self.height() - _HEIGHT) / 2
        return QRectF(0, top, self.width(), _HEIGHT)

    def _segments(self) -> dict[Status, QRectF]:
        track = self._track()
        total = sum(self._counts.values())
        shown = [s for s in STATUS_ORDER if self._counts.get(s)]
        if not total or not shown:
            return {}
        # Every status with contacts gets at least _MIN_WIDTH; the rest is shared by size.
        spare = max(track.width() - _MIN_WIDTH * len(shown), 0)
        found: dict[Status, QRectF] = {}
        x = track.left()
        for status in shown:
            width = _MIN_WIDTH + spare * self._counts[status] / total
            found[status] = QRectF(x, track.top(), width, track.height())
            x += width
        return found

    def _update_description(self) -> None:
        total = sum(self._counts.values())
        if not total:
            self.setAccessibleDescription("No contacts")
            return
        parts = [segment_text(s, self._counts.get(s, 0), total) for s in STATUS_ORDER]
        focused = STATUS_LABELS[self._focused]
        self.setAccessibleDescription(
            "; ".join(parts) + f". Chosen with the arrow keys: {focused}; Enter shows it."
        )
