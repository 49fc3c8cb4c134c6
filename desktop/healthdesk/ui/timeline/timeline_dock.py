"""The "Activity" dock: the selected connection's timeline, most recent first, loading
more as the agent scrolls; clicking an entry (or Enter) opens its contact."""

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
    QWidget,
)
from sqlalchemy import Engine

from healthdesk.core.model import Connection
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

    `fetch_synchronously` reads pages on the GUI thread (tests, screenshots).

    Attributes:
        view: the `TimelineView`.
        empty_label: what shows instead of the list when there is no event.
    """

    contact_activated = Signal(int)

    def __init__(self, *, parent: QWidget | None = None, fetch_synchronously: bool = False) -> None:
        super().__init__("Activity", parent)
        self.setObjectName("timeline_dock")
        self._synchronous = fetch_synchronously
        self._model: TimelineModel | None = None
        self.view = TimelineView()
        self.view.entry_activated.connect(self._on_view_entry_activated)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("timeline_empty")
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setEnabled(False)  # greyed: a state, not content
        self._stack = QStackedWidget()
        self._stack.addWidget(self.view)
        self._stack.addWidget(self.empty_label)
        self.setWidget(self._stack)
        self._update_empty()

    @property
    def model(self) -> TimelineModel | None:
        """The shown connection's model (None when no connection is shown)."""
        return self._model

    def set_connection(self, engine: Engine | None, connection: Connection | None) -> None:
        """Show the timeline of `connection` (None: nothing); the previous model goes."""
        old = self._model
        self._model = None
        if engine is not None and connection is not None:
            self._model = TimelineModel(
                engine=engine,
                connection=connection,
                parent=self,
                fetch_synchronously=self._synchronous,
            )
            self._model.page_loaded.connect(self._on_model_page_loaded)
            self._model.modelReset.connect(self._update_empty)
        self.view.setModel(self._model)
        if old is not None:
            old.close()
            old.deleteLater()
        if self._model is not None:
            self._model.fetchMore(QModelIndex())
        self._update_empty()

    @Slot()
    def refresh(self) -> None:
        """Read the timeline again from the most recent event (after an import)."""
        if self._model is not None:
            self._model.refresh()
            self._model.fetchMore(QModelIndex())
        self._update_empty()

    def sizeHint(self) -> QSize:
        return QSize(420, 300)

    @Slot()
    def _update_empty(self) -> None:
        model = self._model
        empty = model is None or (model.rowCount() == 0 and model.exhausted)
        self._stack.setCurrentWidget(self.empty_label if empty else self.view)

    @Slot(int)
    def _on_model_page_loaded(self, _count: int) -> None:
        self._update_empty()

    @Slot(QModelIndex)
    def _on_view_entry_activated(self, index: QModelIndex) -> None:
        if self._model is None or not index.isValid():
            return
        key = index.data(TimelineModel.ContactKeyRole)
        if key is not None:
            self.contact_activated.emit(int(key))
