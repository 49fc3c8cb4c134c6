"""The "Activity" dock: the selected connection's activity per day (a chart, whose bars
filter the timeline to one day) over its timeline, most recent first, loading more as the
agent scrolls; clicking an entry (or Enter) opens its contact. When the connection's data
changes (`Operations.changed`) it reads the newest entries again, unless the agent is
reading older ones: then it waits until they scroll back to the top."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QLabel,
    QListView,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from healthdesk.core.model import Connection
from healthdesk.ui.operations import Operations
from healthdesk.ui.overview.activity_chart import ActivityPanel
from healthdesk.ui.timeline.timeline_model import TimelineModel

__all__ = ["EMPTY_TEXT", "TimelineDock", "TimelineView"]

EMPTY_TEXT = "No activity yet"


class TimelineView(QListView):
    """A list of timeline entries, one line each, elided on the right.

    Signals:
        entry_activated(QModelIndex): an entry was clicked, or Enter pressed on it
            (once per click: a double click does not activate it twice).
    """

    entry_activated = Signal(QModelIndex)

    def __init__(self, *, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline_view")
        self.setUniformItemSizes(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setWordWrap(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setIconSize(QSize(16, 16))
        self.setSpacing(1)
        self.clicked.connect(self.entry_activated)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.entry_activated.emit(self.currentIndex())
            event.accept()
            return
        super().keyPressEvent(event)


class TimelineDock(QDockWidget):
    """The activity timeline of one connection, in a dock titled "Activity".

    Signals:
        contact_activated(int): the agent chose an entry whose record is a visible
            contact (its key); entries of hidden records emit nothing.

    Attributes:
        view: the `TimelineView`.
        activity: the `ActivityPanel` (events per day; a day filters the list).
        empty_label: what shows instead of the list when there is no event.
    """

    contact_activated = Signal(int)

    def __init__(self, *, operations: Operations, parent: QWidget | None = None) -> None:
        super().__init__("Activity", parent)
        self.setObjectName("timeline_dock")
        self._operations = operations
        self._model: TimelineModel | None = None
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._stale = False
        self.view = TimelineView()
        self.view.entry_activated.connect(self._on_view_entry_activated)
        self.view.verticalScrollBar().valueChanged.connect(self._on_view_scrolled)
        operations.changed.connect(self._on_operations_changed)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("timeline_empty")
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setEnabled(False)  # greyed: a state, not content
        self._stack = QStackedWidget()
        self._stack.addWidget(self.view)
        self._stack.addWidget(self.empty_label)
        self.activity = ActivityPanel(operations=operations)
        self.activity.day_changed.connect(self._on_activity_day_changed)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.activity)
        layout.addWidget(self._stack, 1)
        self.setWidget(body)
        self._update_empty()

    @property
    def model(self) -> TimelineModel | None:
        """The shown connection's model (None when no connection is shown)."""
        return self._model

    def set_connection(self, engine: Engine | None, connection: Connection | None) -> None:
        """Show the timeline of `connection` (None: nothing), every day of it; the previous
        model goes."""
        self._engine, self._connection = engine, connection
        self.activity.set_connection(engine, connection)
        self._show(day=None)

    def day(self) -> str | None:
        """The one day the timeline shows ("YYYY-MM-DD", UTC), or None for every day."""
        return self._model.day if self._model is not None else None

    def set_day(self, day: str | None) -> None:
        """Show only the events of `day` (None: every day), as a click on its bar does."""
        self.activity.set_day(day or "")

    @Slot(str)
    def _on_activity_day_changed(self, day: str) -> None:
        self._show(day=day or None)

    def _show(self, *, day: str | None) -> None:
        old = self._model
        self._model = None
        engine, connection = self._engine, self._connection
        if engine is not None and connection is not None:
            self._model = TimelineModel(
                operations=self._operations,
                engine=engine,
                connection=connection,
                parent=self,
                day=day,
            )
            self._model.page_loaded.connect(self._on_model_page_loaded)
            self._model.modelReset.connect(self._update_empty)
        self._stale = False
        self.view.setModel(self._model)
        if old is not None:
            old.deleteLater()
        if self._model is not None:
            self._model.fetchMore(QModelIndex())
        self._update_empty()

    @Slot()
    def refresh(self) -> None:
        """Read the timeline again from the most recent event (after an import)."""
        self._stale = False
        if self._model is not None:
            self._model.refresh()
            self._model.fetchMore(QModelIndex())
        self._update_empty()

    def sizeHint(self) -> QSize:
        return QSize(420, 380)

    @Slot()
    def _update_empty(self) -> None:
        model = self._model
        empty = model is None or (model.rowCount() == 0 and model.exhausted)
        day = model.day if model is not None else None
        self.empty_label.setText(f"No activity on {day} (UTC)" if day else EMPTY_TEXT)
        self._stack.setCurrentWidget(self.empty_label if empty else self.view)

    @Slot(int)
    def _on_model_page_loaded(self, _count: int) -> None:
        self._update_empty()

    @Slot(str)
    def _on_operations_changed(self, connection_id: str) -> None:
        model = self._model
        if model is None or connection_id != model.connection.id:
            return
        bar = self.view.verticalScrollBar()
        if bar.value() > bar.minimum():
            self._stale = True  # the agent reads older entries: keep them for now
            return
        self.refresh()

    @Slot(int)
    def _on_view_scrolled(self, value: int) -> None:
        if self._stale and value <= self.view.verticalScrollBar().minimum():
            self.refresh()

    @Slot(QModelIndex)
    def _on_view_entry_activated(self, index: QModelIndex) -> None:
        if self._model is None or not index.isValid():
            return
        key = index.data(TimelineModel.ContactKeyRole)
        if key is not None:
            self.contact_activated.emit(int(key))
