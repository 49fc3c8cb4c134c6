"""The list model of the activity timeline: a connection's events, most recent first,
with the retries the agent asked of the sync service among them (their own kind of
entry: `RetryAudit`, shown in bold, opening no contact).

The history only grows at its top and is read from the top down, so this is a lazy
list (`canFetchMore`/`fetchMore`) rather than a windowed table: each `fetchMore` reads
the next keyset page (`store.timeline.page`, `page_size` events older than the last one
held) through the window's `Operations`, and the page is appended when it comes back;
`refresh()` drops a page on its way. The texts of a page are made in the background
too, so `data()` only indexes lists.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any, Final, NamedTuple

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QFont, QIcon, QPixmap
from sqlalchemy import Engine

from healthdesk.core.model import Connection, Outcome, Status
from healthdesk.core.words import plural
from healthdesk.store import timeline
from healthdesk.store.retries import SENT, RetryAudit
from healthdesk.store.timeline import TimelineEntry
from healthdesk.ui.icons import status_icon
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.text import plain_tooltip

__all__ = [
    "OUTCOME_STATUS",
    "TimelineModel",
    "entry_text",
    "entry_tooltip",
    "outcome_icon",
    "retry_text",
    "retry_tooltip",
]


_AnyIndex = QModelIndex | QPersistentModelIndex

#: The status icon each outcome shows; "unchanged" shows none.
OUTCOME_STATUS: Final[dict[Outcome, Status | None]] = {
    Outcome.CREATED: Status.IN_SYNC,
    Outcome.UPDATED: Status.IN_SYNC,
    Outcome.UNCHANGED: None,
    Outcome.EXCLUDED: Status.EXCLUDED,
    Outcome.DUPLICATE: Status.DUPLICATE,
    Outcome.FAILED: Status.FAILING,
    Outcome.QUEUED: Status.PENDING,
}
_DOT = " \u00b7 "  # middle dot
_ARROW = " \u2192 "  # rightwards arrow
_HIDDEN_NOTE = (
    "This record is not a contact of the lists (hidden by the connection's direction, "
    "or not in the database)."
)


def _when(at: str) -> str:
    """A canonical UTC time ("2026-02-01T08:30:05Z") as "2026-02-01 08:30"."""
    return f"{at[:10]} {at[11:16]}" if len(at) >= 16 else at


def _one_line(text: str) -> str:
    # A list row is one line: line breaks of a raw error would break uniform rows.
    return " ".join(text.splitlines()) if "\n" in text or "\r" in text else text


def _who(entry: TimelineEntry, connection: Connection) -> str:
    record = f"{connection.app(entry.app).name} {entry.record_id}"
    return f"{entry.record_name} ({record})" if entry.record_name.strip() else record


def _error(entry: TimelineEntry) -> str:
    parts = [part for part in (entry.error_code, entry.error_message) if part]
    return ": ".join(parts) if parts else "no error given"


def _what(entry: TimelineEntry, connection: Connection) -> str:
    target = connection.app(entry.target).name
    outcome = entry.outcome
    if outcome is Outcome.CREATED:
        return f"created in {target}"
    if outcome is Outcome.UPDATED:
        return f"updated in {target}"
    if outcome is Outcome.UNCHANGED:
        return f"nothing to change in {target}"
    if outcome is Outcome.EXCLUDED:
        return "skipped: excluded"
    if outcome is Outcome.DUPLICATE:
        return "skipped: duplicate"
    if outcome is Outcome.QUEUED:
        return f"retry queued (into {target})"
    return f"failed: {_error(entry)}"


def entry_text(entry: TimelineEntry, connection: Connection) -> str:
    """One line: "2026-11-19 09:57 · Ada Lovelace (HubSpot 101) → created in Mailchimp",
    or "… → failed: <code>: <message>". Customer text verbatim (plain text), on one line."""
    return _one_line(
        f"{_when(entry.at)}{_DOT}{_who(entry, connection)}{_ARROW}{_what(entry, connection)}"
    )


def entry_tooltip(entry: TimelineEntry, connection: Connection) -> str:
    """The whole entry as plain text: when, the record, what happened and, for a
    failure, the app that refused and its raw error whole, line breaks kept."""
    lines = [f"{_when(entry.at)} UTC", _who(entry, connection)]
    if entry.outcome is Outcome.FAILED:
        lines.append(f"Failed: {connection.app(entry.target).name} refused the write.")
        if entry.error_code:
            lines.append(f"Code: {entry.error_code}")
        if entry.error_message:
            lines.append(entry.error_message)
    else:
        what = _what(entry, connection)
        lines.append(what[:1].upper() + what[1:])
    if entry.contact_key is None:
        lines.append(_HIDDEN_NOTE)
    return "\n".join(lines)


def _answered(audit: RetryAudit) -> str:
    if audit.refused is not None:
        return f"not retried: {audit.refused}"
    if audit.outcome == SENT:
        return "sent; no answer recorded"
    parts = [f"{audit.queued:,} queued"]
    if audit.already_queued:
        parts.append(f"{audit.already_queued:,} already waiting")
    if audit.unknown:
        parts.append(f"{audit.unknown:,} unknown to the service")
    return ", ".join(parts)


def retry_text(audit: RetryAudit) -> str:
    """One line, the group last (it may be long): "2026-11-30 20:51 · Alice retried 12
    contacts (10 queued, 2 unknown to the service) · Mailchimp > Invalid email"."""
    contacts = plural(audit.requested, "contact")
    return _one_line(
        f"{_when(audit.at)}{_DOT}{audit.agent} retried {contacts} ({_answered(audit)})"
        f"{_DOT}{audit.scope}"
    )


def retry_tooltip(audit: RetryAudit) -> str:
    """The whole audit entry as plain text."""
    return "\n".join(
        [
            f"{_when(audit.at)} UTC",
            f"Retry asked by {audit.agent}",
            f"Which: {audit.scope}",
            f"How many: {plural(audit.requested, 'contact')}",
            f"The service answered: {_answered(audit)}",
            f"Service: {audit.service_url}",
            f"Request: {audit.request_key}",
        ]
    )


@cache
def _bold() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


@cache
def _blank_icon() -> QIcon:
    # Rows without a status icon keep the same indent as the others.
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    return QIcon(pixmap)


def outcome_icon(outcome: Outcome) -> QIcon:
    """The status icon of an outcome; a blank icon (no symbol) for "unchanged"."""
    status = OUTCOME_STATUS[outcome]
    return status_icon(status) if status is not None else _blank_icon()


class _Item(NamedTuple):
    entry: TimelineEntry | RetryAudit
    text: str
    tooltip: str


class _Page(NamedTuple):
    items: list[_Item]
    events: int
    next_seq: int | None


def _item(entry: TimelineEntry | RetryAudit, connection: Connection) -> _Item:
    if isinstance(entry, RetryAudit):
        return _Item(entry, retry_text(entry), plain_tooltip(retry_tooltip(entry)))
    return _Item(
        entry, entry_text(entry, connection), plain_tooltip(entry_tooltip(entry, connection))
    )


def _load(
    engine: Engine,
    connection: Connection,
    before_seq: int | None,
    limit: int,
    day: str | None,
    _work: Work,
) -> _Page:
    found = timeline.page_with_retries(
        engine, connection.id, before_seq=before_seq, limit=limit, day=day
    )
    return _Page([_item(e, connection) for e in found.entries], found.events, found.next_seq)


class TimelineModel(QAbstractListModel):
    """The events of a connection, most recent first, for a QListView.

    Starts empty; the view's `fetchMore` (or the caller's) appends pages of `page_size`
    events until the history is exhausted. Customer text is returned as plain str.

    Signals:
        page_loaded(int): a page was appended (its number of entries; 0 at the end).
        load_failed(str): a page could not be read; `fetchMore` tries it again.

    Attributes:
        ContactKeyRole: the data role of an entry's contact key (None when hidden).
        EntryRole: the data role of an entry's `store.timeline.TimelineEntry`.
        page_size: events read per `fetchMore`.
    """

    ContactKeyRole: Final = Qt.ItemDataRole.UserRole + 1
    EntryRole: Final = Qt.ItemDataRole.UserRole + 2

    page_loaded = Signal(int)
    load_failed = Signal(str)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        connection: Connection,
        parent: QObject | None = None,
        page_size: int = 200,
        day: str | None = None,
    ) -> None:
        """`day` ("YYYY-MM-DD", UTC): only that day's events."""
        super().__init__(parent)
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.page_size: Final = page_size
        self._engine = engine
        self._connection = connection
        self._day = day
        self._items: list[_Item] = []
        self._operations = operations
        self._exhausted = False
        self._appending = False
        self._next_seq: int | None = None

    # ------------------------------------------------------------------ public API

    @property
    def connection(self) -> Connection:
        return self._connection

    @property
    def day(self) -> str | None:
        """The one day shown ("YYYY-MM-DD"), or None for every day."""
        return self._day

    @property
    def exhausted(self) -> bool:
        """Whether every event of the connection is held (no more to fetch)."""
        return self._exhausted

    @property
    def loading(self) -> bool:
        """Whether a page is being read."""
        return self._operations.busy(self, "page")

    def entry_at(self, row: int) -> TimelineEntry | RetryAudit | None:
        """The event (`TimelineEntry`) or retry (`RetryAudit`) of a row."""
        return self._items[row].entry if 0 <= row < len(self._items) else None

    @Slot()
    def refresh(self) -> None:
        """Forget every entry and start again from the most recent (after an import)."""
        self._operations.cancel(self, "page")
        self.beginResetModel()
        self._items.clear()
        self._exhausted = False
        self._next_seq = None
        self.endResetModel()

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.column() != 0:
            return None
        row = index.row()
        if not 0 <= row < len(self._items):
            return None
        item = self._items[row]
        entry = item.entry
        if role == Qt.ItemDataRole.DisplayRole:
            return item.text
        if role == Qt.ItemDataRole.DecorationRole:
            if isinstance(entry, RetryAudit):
                return status_icon(Status.PENDING)  # what a retry turns its contacts into
            return outcome_icon(entry.outcome)
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.tooltip
        if role == Qt.ItemDataRole.FontRole and isinstance(entry, RetryAudit):
            return _bold()
        if role == self.ContactKeyRole:
            return None if isinstance(entry, RetryAudit) else entry.contact_key
        if role == self.EntryRole:
            return item.entry
        return None

    def canFetchMore(self, parent: _AnyIndex) -> bool:
        if parent.isValid():
            return False
        return not self._exhausted

    def fetchMore(self, parent: _AnyIndex) -> None:
        # Guarded: views call it again while a page is on its way (or, with an inline
        # runner, from inside the insertion of the previous one).
        if parent.isValid() or self._exhausted or self._appending or self.loading:
            return
        before = self._next_seq if self._items else None
        self._operations.run(
            self,
            "page",
            partial(_load, self._engine, self._connection, before, self.page_size, self._day),
            self._append,
            failed=self._on_failed,
        )

    # ------------------------------------------------------------------ internals

    def _append(self, found: _Page) -> None:
        items = found.items
        self._next_seq = found.next_seq
        if found.events < self.page_size or found.next_seq is None:
            self._exhausted = True
        if items:
            first = len(self._items)
            self._appending = True
            try:
                self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
                self._items.extend(items)
                self.endInsertRows()
            finally:
                self._appending = False
        self.page_loaded.emit(len(items))

    def _on_failed(self, exc: BaseException) -> None:
        self.load_failed.emit(error_text(exc))
