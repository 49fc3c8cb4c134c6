"""Keyboard manners shared by every window: a focus that is always visible, tables that
Tab leaves, and a tab order set in one call.

Fusion (the style Qt draws on Linux without a desktop theme) marks the focus with a
one-pixel dotted line, or not at all on a label that takes the focus: after a few Tabs
an agent could not tell where they were. `FocusRing` is one QFocusFrame for the whole
application that moves to the widget with the focus and draws a two-pixel ring in the
palette's highlight colour around it (light or dark scheme alike). QFocusFrame sits over
its widget's parent, follows its moves and resizes, and lets the mouse through.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QApplication,
    QFocusFrame,
    QMenu,
    QMenuBar,
    QProxyStyle,
    QStyle,
    QStyleHintReturn,
    QStyleOption,
    QWidget,
)
from shiboken6 import isValid

#: Width of the ring, and how far it reaches out of its widget (device-independent px).
RING_WIDTH = 2
RING_MARGIN = 3


class FocusRing(QObject):
    """The application's one focus ring: `FocusRing.install(app)` (again: the same one).

    The frame itself lives among the widgets (QFocusFrame moves into its widget's parent),
    so a panel that is rebuilt can take it down with it; a new frame is made then.
    """

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.setObjectName("focus_ring")
        self._frame: _RingFrame | None = None
        app.focusChanged.connect(self._on_focus_changed)

    @classmethod
    def install(cls, app: QApplication) -> FocusRing:
        existing = app.findChild(FocusRing, "focus_ring")
        return existing if existing is not None else cls(app)

    def frame(self) -> QFocusFrame | None:
        """The frame drawn now, if any (for tests)."""
        return self._live_frame()

    def _live_frame(self) -> _RingFrame | None:
        return self._frame if self._frame is not None and isValid(self._frame) else None

    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        frame = self._live_frame()
        if new is None or isinstance(new, QMenu | QMenuBar) or new.isWindow():
            if frame is not None:
                frame.setWidget(None)  # type: ignore[arg-type]  # None: follow nothing
                frame.hide()
            return
        if frame is None:
            frame = self._frame = _RingFrame()
        frame.ring_inside(isinstance(new, QAbstractScrollArea))
        frame.setWidget(new)


class _RingStyle(QProxyStyle):
    """The frame's own style: QFocusFrame reaches out from its widget by the focus-frame
    margins. Fusion's are 1 px, too close to see, so the ring reaches out further; around
    a list or table, which most often fills its panel (where a ring outside is cut off),
    it lies over the widget's own border instead."""

    margin = RING_MARGIN

    def pixelMetric(
        self,
        metric: QStyle.PixelMetric,
        option: QStyleOption | None = None,
        widget: QWidget | None = None,
    ) -> int:
        if metric in (
            QStyle.PixelMetric.PM_FocusFrameHMargin,
            QStyle.PixelMetric.PM_FocusFrameVMargin,
        ):
            return self.margin
        return super().pixelMetric(metric, option, widget)

    def styleHint(
        self,
        hint: QStyle.StyleHint,
        option: QStyleOption | None = None,
        widget: QWidget | None = None,
        returnData: QStyleHintReturn | None = None,
    ) -> int:
        if hint is QStyle.StyleHint.SH_FocusFrame_AboveWidget:
            return 1  # over its widget: a ring lying on the widget's border must be seen
        return super().styleHint(hint, option, widget, returnData)


class _RingFrame(QFocusFrame):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("focus_ring_frame")
        self._style = _RingStyle()  # a style is not owned by the widgets that use it
        self.setStyle(self._style)

    def ring_inside(self, inside: bool) -> None:
        """Draw the ring over the next widget's border (True) or around it."""
        self._style.margin = 0 if inside else RING_MARGIN

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), RING_WIDTH)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        inset = RING_WIDTH / 2
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(inset, inset, -inset, -inset), 3, 3)
        painter.end()


def tab_leaves(view: QAbstractItemView) -> None:
    """Tab moves the focus out of `view` (arrows move between its cells): a table's
    default keeps Tab inside it, a trap for an agent working by keyboard."""
    view.setTabKeyNavigation(False)


def chain(widgets: Sequence[QWidget]) -> None:
    """Tab visits `widgets` in this order (hidden or disabled ones are skipped by Qt)."""
    for first, second in pairwise(widgets):
        QWidget.setTabOrder(first, second)
