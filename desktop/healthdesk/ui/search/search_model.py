"""The results of a contact search, as a list model; the query runs on a worker thread.

`set_query` hands the text to a private one-thread searcher that keeps only the newest
request (typing fast never queues a backlog of queries) and runs `store.queries.find`;
the result comes back by a queued signal. Every query has a generation: a result of an
older one is dropped, so the list always shows the results of the last text set. The
debounce of typing is the search bar's job, not the model's.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QThreadPool,
    Signal,
    Slot,
)
from sqlalchemy import Engine

from healthdesk.core.contacts import ContactView, failure_reason
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection, Status
from healthdesk.store.queries import Found, find
from healthdesk.ui.icons import status_icon
from healthdesk.ui.text import plain_tooltip

__all__ = ["DEFAULT_LIMIT", "STATUS_WORDS", "SearchResultsModel", "ids_text", "title_text"]

_log = logging.getLogger(__name__)

#: A status in words, for one contact ("Duplicate", where the tab says "Duplicates").
STATUS_WORDS: Final = {
    Status.IN_SYNC: "In sync",
    Status.EXCLUDED: "Excluded",
    Status.DUPLICATE: "Duplicate",
    Status.FAILING: "Failing",
    Status.PENDING: "Pending",
}
#: Results shown at most; the total says how many match in all.
DEFAULT_LIMIT: Final = 50

_AnyIndex = QModelIndex | QPersistentModelIndex
#: A search to run: generation, engine, connection id, text, limit.
_Request = tuple[int, Engine, str, str, int]


def title_text(contact: ContactView) -> str:
    """The first line of a result: "Name <email>", or whichever of the two there is."""
    name, email = contact.name, contact.email
    if name and email:
        return f"{name} <{email}>"
    if name or email:
        return name or email
    return "(no name, no email)"


def ids_text(contact: ContactView, connection: Connection) -> str:
    """The second line of a result: the app ids, "HubSpot 1 · Mailchimp m1"."""
    return " · ".join(f"{connection.app(r.app).name} {r.id}" for r in contact.records)


class _Bridge(QObject):
    """Carries the searcher's results to the GUI thread (queued: it lives there)."""

    found = Signal(int, object)  # generation, Found
    failed = Signal(int, str)  # generation, message


class _Searcher:
    """Runs the newest requested search on one worker thread; older requests are dropped."""

    def __init__(self) -> None:
        self.bridge = _Bridge()
        self._lock = threading.Lock()
        self._request: _Request | None = None
        self._running = False
        self._closed = False
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(1)
        self._pool.setExpiryTimeout(5000)

    def submit(self, request: _Request) -> None:
        with self._lock:
            if self._closed:
                return
            self._request = request
            start = not self._running
            self._running = True
        if start:
            self._pool.start(self._drain)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._request = None
        # At interpreter exit the pool may be deleted already: its destructor waited.
        with contextlib.suppress(RuntimeError):
            self._pool.waitForDone()

    def _drain(self) -> None:
        while True:
            with self._lock:
                request = self._request
                self._request = None
                if request is None:
                    self._running = False
                    return
            generation, engine, connection_id, text, limit = request
            try:
                result = find(engine, connection_id, text, limit=limit)
            except Exception as exc:
                _log.warning("search failed: %s", exc)
                self.bridge.failed.emit(generation, str(exc))
            else:
                self.bridge.found.emit(generation, result)


class SearchResultsModel(QAbstractListModel):
    """The contacts matching a search text, sorted by name, at most `limit` of them.

    Rows: DisplayRole "Name <email>" (plain text); `IdsRole` the app ids ("HubSpot 1 ·
    Mailchimp m1"); ToolTipRole both lines (a plain-text tool tip); DecorationRole the
    status icon; `StatusTextRole` the status in words; `ContactRole` the `ContactView`.

    Signals:
        finished(int): the results of the current text arrived; the argument is how many
            contacts match in all (the model holds at most `limit` of them).
        failed(str): the current search failed; the list is empty.

    Attributes:
        query: the text of the results shown (or being searched).
        total: how many contacts match `query` in all (0 before the first result).
        busy: whether a search of the current text is running.
        limit: the most results held.
    """

    ContactRole: Final = Qt.ItemDataRole.UserRole + 1
    IdsRole: Final = Qt.ItemDataRole.UserRole + 2
    StatusTextRole: Final = Qt.ItemDataRole.UserRole + 3

    finished = Signal(int)
    failed = Signal(str)

    def __init__(
        self,
        *,
        engine: Engine | None,
        connection: Connection | None,
        catalog: Catalog,
        parent: QObject | None = None,
        fetch_synchronously: bool = False,
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        super().__init__(parent)
        self.limit: Final = limit
        self._engine = engine
        self._connection = connection
        self._catalog = catalog
        self._contacts: list[ContactView] = []
        self._generation = 0
        self.query = ""
        self.total = 0
        self.busy = False
        self._searcher: _Searcher | None = None
        if not fetch_synchronously:
            searcher = _Searcher()
            searcher.bridge.found.connect(self._on_searcher_found)
            searcher.bridge.failed.connect(self._on_searcher_failed)
            # The worker must be finished before the model (and the searcher with it) goes.
            self.destroyed.connect(lambda *_, searcher=searcher: searcher.close())
            self._searcher = searcher

    # ------------------------------------------------------------------ public API

    @property
    def connection(self) -> Connection | None:
        return self._connection

    def set_connection(self, engine: Engine | None, connection: Connection | None) -> None:
        """Search another connection (or database); the results are cleared."""
        self._engine = engine
        self._connection = connection
        self.set_query("")

    def set_query(self, text: str) -> None:
        """Search `text` (name, email or app id, case-insensitive); "" clears the list.

        `finished` is emitted when the results are in, also for "".
        """
        self._generation += 1
        self.query = text
        text = text.strip()
        if not text or self._engine is None or self._connection is None:
            self.busy = False
            self._show(Found([], 0))
            return
        self.busy = True
        request = (self._generation, self._engine, self._connection.id, text, self.limit)
        if self._searcher is None:
            try:
                result = find(self._engine, self._connection.id, text, limit=self.limit)
            except Exception as exc:
                self._on_searcher_failed(self._generation, str(exc))
                return
            self._on_searcher_found(self._generation, result)
        else:
            self._searcher.submit(request)

    def contact_at(self, row: int) -> ContactView | None:
        if 0 <= row < len(self._contacts):
            return self._contacts[row]
        return None

    def close(self) -> None:
        """Stop the worker (waiting for a search in progress); called on deletion too."""
        if self._searcher is not None:
            self._searcher.close()

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._contacts)

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        contact = self.contact_at(index.row())
        if contact is None or index.column() != 0:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return title_text(contact)
        if role == self.IdsRole:
            return self._ids(contact)
        if role == Qt.ItemDataRole.DecorationRole:
            return status_icon(contact.status)
        if role == self.StatusTextRole:
            return STATUS_WORDS[contact.status]
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(
                f"{title_text(contact)}\n{self._ids(contact)}\n{self._status_text(contact)}"
            )
        if role == self.ContactRole:
            return contact
        return None

    # ------------------------------------------------------------------ internals

    def _ids(self, contact: ContactView) -> str:
        if self._connection is None:
            return " · ".join(f"{r.app.value}:{r.id}" for r in contact.records)
        return ids_text(contact, self._connection)

    def _status_text(self, contact: ContactView) -> str:
        """ "Failing: Invalid or fake email" (the catalog's category), else the status."""
        text = STATUS_WORDS[contact.status]
        if self._connection is not None and contact.failure is not None:
            reason = failure_reason(contact, self._connection, self._catalog)
            if reason is not None:
                text += f": {reason.category}"
        return text

    def _show(self, result: Found) -> None:
        self.beginResetModel()
        self._contacts = list(result.contacts)
        self.total = result.total
        self.endResetModel()
        self.finished.emit(result.total)

    @Slot(int, object)
    def _on_searcher_found(self, generation: int, result: Found) -> None:
        if generation != self._generation:
            return  # the text changed since: a newer result is on its way
        self.busy = False
        self._show(result)

    @Slot(int, str)
    def _on_searcher_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self.busy = False
        self.beginResetModel()
        self._contacts = []
        self.total = 0
        self.endResetModel()
        self.failed.emit(message)
