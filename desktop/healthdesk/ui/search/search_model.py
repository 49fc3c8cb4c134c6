"""The results of a contact search, as a list model; the query runs in the background.

`set_query` hands the text to the window's `Operations` under one purpose, so that only
the newest text is searched and answered (typing fast never queues a backlog, and an
older answer is dropped): the list always shows the results of the last text set. The
debounce of typing is the search bar's job, not the model's.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from sqlalchemy import Engine

from healthdesk.core.contacts import ContactView, failure_reason
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection
from healthdesk.core.words import STATUS_WORDS
from healthdesk.store.queries import Found, find
from healthdesk.ui.icons import status_icon
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations
from healthdesk.ui.text import plain_tooltip

__all__ = ["DEFAULT_LIMIT", "SearchResultsModel", "ids_text", "title_text"]

#: Results shown at most; the total says how many match in all.
DEFAULT_LIMIT: Final = 50

_AnyIndex = QModelIndex | QPersistentModelIndex


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


class SearchResultsModel(QAbstractListModel):
    """The contacts matching a search text, best first (store.queries.find), at most
    `limit` of them.

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
        more: more than `total` contacts match (`total` is then a lower bound).
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
        operations: Operations,
        engine: Engine | None,
        connection: Connection | None,
        catalog: Catalog,
        parent: QObject | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        super().__init__(parent)
        self.limit: Final = limit
        self._engine = engine
        self._connection = connection
        self._catalog = catalog
        self._contacts: list[ContactView] = []
        self._operations = operations
        self.query = ""
        self.total = 0
        self.more = False
        self.busy = False

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
        self.query = text
        text = text.strip()
        if not text or self._engine is None or self._connection is None:
            self._operations.cancel(self, "search")
            self.busy = False
            self._show(Found([], 0))
            return
        self.busy = True
        self._operations.run(
            self,
            "search",
            partial(_find, self._engine, self._connection.id, text, self.limit),
            self._on_found,
            failed=self._on_failed,
        )

    def contact_at(self, row: int) -> ContactView | None:
        if 0 <= row < len(self._contacts):
            return self._contacts[row]
        return None

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
        self.more = result.more
        self.endResetModel()
        self.finished.emit(result.total)

    def _on_found(self, result: Found) -> None:
        self.busy = False
        self._show(result)

    def _on_failed(self, exc: BaseException) -> None:
        self.busy = False
        self.beginResetModel()
        self._contacts = []
        self.total = 0
        self.more = False
        self.endResetModel()
        self.failed.emit(error_text(exc))


def _find(engine: Engine, connection_id: str, text: str, limit: int, _work: object) -> Found:
    return find(engine, connection_id, text, limit=limit)
