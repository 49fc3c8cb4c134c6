"""The contacts behind a number of the summary of performed actions ("Created in
Mailchimp: 512"): a table model over the database and the dialog that shows it.

The list is the distinct visible contacts whose records the events were about, by name
(`store.timeline.action_contact_keys`). Finding them reads the connection's events once
(~150 ms per 200,000 contacts), so the model reads that order on a worker: it holds no
row until then (8 bytes per contact afterwards), then its `rowCount()` is the exact count
and rows are served from an LRU cache of blocks fetched by key (`store.pages.rows_by_key`)
on the same worker, like `ui.contacts.table_model.ContactTableModel` (whose cache is
private to its status lists: sorting and counting there are per status and in SQL).
Results of an older generation (before `refresh()`) are dropped.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable
from functools import partial
from typing import Any, Final, NamedTuple

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from healthdesk.core.model import Connection, Outcome, Side, Status
from healthdesk.store import pages, timeline
from healthdesk.store.pages import Row
from healthdesk.store.timeline import ActionContacts
from healthdesk.ui.block_cache import BlockCache, BlockLoader
from healthdesk.ui.contacts.status_tabs import ContactTable
from healthdesk.ui.icons import status_icon
from healthdesk.ui.text import plain_tooltip

__all__ = ["COLUMNS", "PLACEHOLDER", "ActionContactsDialog", "ActionContactsModel", "title_for"]

_log = logging.getLogger(__name__)
_AnyIndex = QModelIndex | QPersistentModelIndex

#: What a cell shows while its block is being fetched.
PLACEHOLDER: Final = "…"
COLUMNS: Final = ("Status", "Name", "Email", "IDs")
#: One contact's status, in a cell (the tabs' titles are plural: "Duplicates").
STATUS_TEXT: Final = {
    Status.IN_SYNC: "In sync",
    Status.EXCLUDED: "Excluded",
    Status.DUPLICATE: "Duplicate",
    Status.FAILING: "Failing",
    Status.PENDING: "Pending",
}
_VERB: Final = {Outcome.CREATED: "Created", Outcome.UPDATED: "Updated"}
_PAIR_SEPARATOR = " / "
#: Block requests the worker keeps waiting; older ones (scrolled past) are dropped.


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def title_for(
    connection: Connection, target: Side, outcome: Outcome, found: ActionContacts | None = None
) -> str:
    """ "Created in Mailchimp (512 events, 498 contacts)"; without counts until known."""
    title = f"{_VERB[outcome]} in {connection.app(target).name}"
    if found is None:
        return title
    return f"{title} ({_plural(found.events, 'event')}, {_plural(found.contacts, 'contact')})"


def _ids(row: Row, connection: Connection) -> str:
    sides = (Side.A, Side.B) if row.side is None else (row.side,)
    ids = {Side.A: row.a_id, Side.B: row.b_id}
    return _PAIR_SEPARATOR.join(
        f"{connection.app(side).name} {ids[side]}" for side in sides if ids[side] is not None
    )


class _Entry(NamedTuple):
    """A cached row: the row (None when it left the database since the list was read)
    and the text of each cell."""

    row: Row | None
    texts: tuple[str, ...]


def _render(row: Row | None, connection: Connection) -> _Entry:
    if row is None:
        return _Entry(None, ("",) * len(COLUMNS))
    return _Entry(row, (STATUS_TEXT[row.status], row.name, row.email, _ids(row, connection)))


class _Bridge(QObject):
    """Carries the worker's results to the GUI thread (queued: it lives there)."""

    keys_loaded = Signal(int, object)  # generation, ActionContacts
    loaded = Signal(int, int, object)  # generation, block, list of _Entry
    failed = Signal(int, int, str)  # generation, block (-1: the list itself), message


class _Source:
    """What one generation of a model reads: the list's order, then blocks of it."""

    def __init__(
        self,
        *,
        generation: int,
        engine: Engine,
        connection: Connection,
        target: Side,
        outcome: Outcome,
        block_size: int,
    ) -> None:
        self.generation = generation
        self.found: ActionContacts | None = None
        self._engine = engine
        self._connection = connection
        self._target = target
        self._outcome = outcome
        self._block_size = block_size

    def load_keys(self, cancelled: Callable[[], bool] | None = None) -> ActionContacts:
        self.found = timeline.action_contact_keys(
            self._engine, self._connection.id, self._target, self._outcome, cancelled=cancelled
        )
        return self.found

    def fetch(self, block: int) -> list[_Entry]:
        """The entries of `block`: exactly as many as the list holds there."""
        keys: array[int] = self.found.keys if self.found is not None else array("q")
        wanted = keys[block * self._block_size : (block + 1) * self._block_size]
        found = pages.rows_by_key(self._engine, wanted)
        return [_render(found.get(key), self._connection) for key in wanted]


class _Loader(BlockLoader[_Source]):
    """Reads the list's order, then requested blocks (newest first), on one worker
    thread of a private pool. `close()` drops what is queued and waits for a read in
    progress (the long read of the order is interrupted)."""

    def __init__(self) -> None:
        super().__init__()
        self.bridge = _Bridge()

    def reset(self, source: _Source) -> None:
        """Serve `source` from now on (reading its order first); drop older requests."""
        super().reset(source)
        self.submit([])

    def _drain(self) -> None:
        while True:
            with self._cond:
                source = self._source
                if source is None or (source.found is not None and not self._queue):
                    self._draining = False
                    return
                block = -1 if source.found is None else self._queue.pop()
            try:
                if block < 0:
                    found = source.load_keys(cancelled=partial(self.stale, source))
                    self.bridge.keys_loaded.emit(source.generation, found)
                else:
                    self.bridge.loaded.emit(source.generation, block, source.fetch(block))
            except Exception as exc:
                if self.stale(source):
                    continue
                _log.warning("reading the contacts of an action failed: %s", exc)
                self.bridge.failed.emit(source.generation, block, str(exc))
                if block < 0:
                    with self._cond:
                        if self._source is source:
                            self._source = None  # nothing more to read for it


class ActionContactsModel(QAbstractTableModel):
    """The contacts concerned by the events that `outcome` (created or updated) wrote
    into `target`, by name, for a QTableView.

    Holds no row until the list's order is read (on the worker, or at once with
    `fetch_synchronously`); then `rowCount()` is the exact number of contacts and
    `loaded` is emitted. Columns: Status (icon and label), Name, Email, IDs. Customer
    text is returned as plain str, exactly as stored.

    Signals:
        loaded(int, int): the list is known: its number of events and of contacts.
        load_failed(str): the list or a block of it could not be read.

    Attributes:
        KeyRole: the data role of a row's contact key (None until loaded).
        RowRole: the data role of a row's `store.pages.Row` (None until loaded).
        target, outcome: which number of the summary the list is.
        block_size, max_blocks: the cache's shape (at most `block_size * max_blocks` rows).
    """

    KeyRole: Final = Qt.ItemDataRole.UserRole + 1
    RowRole: Final = Qt.ItemDataRole.UserRole + 2

    loaded = Signal(int, int)
    load_failed = Signal(str)

    def __init__(
        self,
        *,
        engine: Engine,
        connection: Connection,
        target: Side,
        outcome: Outcome,
        parent: QObject | None = None,
        fetch_synchronously: bool = False,
        block_size: int = 256,
        max_blocks: int = 32,
    ) -> None:
        super().__init__(parent)
        if outcome not in timeline.ACTION_OUTCOMES:
            raise ValueError(f"not an action of the summary: {outcome!r}")
        self.target: Final = target
        self.outcome: Final = outcome
        self.block_size: Final = block_size
        self.max_blocks: Final = max_blocks
        self._engine = engine
        self._connection = connection
        self._generation = 0
        self._found: ActionContacts | None = None
        self._count = 0
        self._cache: BlockCache[_Entry] = BlockCache(block_size=block_size, max_blocks=max_blocks)
        self._loader: _Loader | None = None
        if not fetch_synchronously:
            loader = _Loader()
            loader.bridge.keys_loaded.connect(self._on_loader_keys_loaded)
            loader.bridge.loaded.connect(self._on_loader_loaded)
            loader.bridge.failed.connect(self._on_loader_failed)
            # The worker must be finished before the model goes (deleted by its parent or
            # by Python): the lambda holds the loader, not the model.
            self.destroyed.connect(lambda *_, loader=loader: loader.close())
            self._loader = loader
        self._source = self._new_source()
        self._start()

    # ------------------------------------------------------------------ public API

    @property
    def connection(self) -> Connection:
        return self._connection

    @property
    def found(self) -> ActionContacts | None:
        """The events and contacts of the list once read (None until then)."""
        return self._found

    @property
    def is_loaded(self) -> bool:
        return self._found is not None

    @property
    def cached_rows(self) -> int:
        return self._cache.rows

    def title(self) -> str:
        """ "Created in Mailchimp (512 events, 498 contacts)" (counts once known)."""
        return title_for(self._connection, self.target, self.outcome, self._found)

    def contact_key(self, row: int) -> int | None:
        """The key of the contact at `row` (known as soon as the list is read)."""
        if self._found is None or not 0 <= row < self._count:
            return None
        return self._found.keys[row]

    def row_at(self, row: int) -> Row | None:
        """The row at `row` if loaded (synchronous mode: loaded now), else None."""
        entry = self._entry(row, request=False)
        return entry.row if entry is not None else None

    @Slot()
    def refresh(self) -> None:
        """Read the list again (after an import): a reset to no row until it is read."""
        self.beginResetModel()
        self._generation += 1
        self._found = None
        self._count = 0
        self._cache.clear()
        self._source = self._new_source()
        self.endResetModel()
        self._start()

    def close(self) -> None:
        """Stop the worker (waiting for a read in progress). Called by itself when the
        model is deleted; call it when a model is dropped but not deleted."""
        if self._loader is not None:
            self._loader.close()

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation == Qt.Orientation.Vertical:
            return super().headerData(section, orientation, role)
        if role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < self._count and 0 <= column < len(COLUMNS)):
            return None
        if role == self.KeyRole:
            return self.contact_key(row)
        if role not in _ROW_ROLES:
            return None
        entry = self._entry(row, request=True)
        if role == Qt.ItemDataRole.DisplayRole:
            if entry is not None:
                return entry.texts[column]
            return "" if self._cache.failed(row) else PLACEHOLDER
        if entry is None or entry.row is None:
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return status_icon(entry.row.status) if column == 0 else None
        if role == Qt.ItemDataRole.ToolTipRole:
            text = entry.texts[column]
            return plain_tooltip(text) if text else None
        return entry.row  # RowRole

    # ------------------------------------------------------------------ internals

    def _new_source(self) -> _Source:
        return _Source(
            generation=self._generation,
            engine=self._engine,
            connection=self._connection,
            target=self.target,
            outcome=self.outcome,
            block_size=self.block_size,
        )

    def _start(self) -> None:
        if self._loader is not None:
            self._loader.reset(self._source)
            return
        try:
            found = self._source.load_keys()
        except Exception as exc:
            self.load_failed.emit(str(exc))
            return
        self._set_found(found)

    def _set_found(self, found: ActionContacts) -> None:
        if found.contacts:
            self.beginInsertRows(QModelIndex(), 0, found.contacts - 1)
            self._found = found
            self._count = found.contacts
            self.endInsertRows()
        else:
            self._found = found
        self.loaded.emit(found.events, found.contacts)

    def _entry(self, row: int, *, request: bool) -> _Entry | None:
        loader = self._loader
        return self._cache.entry(
            row,
            self._count,
            fetch=self._source.fetch if loader is None else None,
            submit=loader.submit if loader is not None else None,
            request=request,
        )

    @Slot(int, object)
    def _on_loader_keys_loaded(self, generation: int, found: ActionContacts) -> None:
        if generation == self._generation:
            self._set_found(found)

    @Slot(int, int, object)
    def _on_loader_loaded(self, generation: int, block: int, entries: list[_Entry]) -> None:
        if generation != self._generation:
            return
        self._cache.store(block, entries)
        if not entries:
            return
        first = block * self.block_size
        last = min(first + len(entries), self._count) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1), [])

    @Slot(int, int, str)
    def _on_loader_failed(self, generation: int, block: int, message: str) -> None:
        if generation != self._generation:
            return
        if block >= 0:
            self._cache.fail(block)
        self.load_failed.emit(message)


_ROW_ROLES: Final = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.ToolTipRole,
        ActionContactsModel.RowRole,
    }
)


class ActionContactsDialog(QDialog):
    """The list of the contacts behind one number of the summary of performed actions.

    Titled "Created in Mailchimp (512 events, 498 contacts)" once the list is read.
    Not modal by itself and not deleted on close: the opener chooses (`show()` or
    `exec()`, `Qt.WidgetAttribute.WA_DeleteOnClose`).

    Signals:
        contact_activated(int): the agent double-clicked a contact (or pressed Enter).

    Attributes:
        model: the `ActionContactsModel`.
        table: the table view.
        empty_label: shown instead of the table when no contact is concerned.
    """

    contact_activated = Signal(int)

    def __init__(
        self,
        *,
        engine: Engine,
        connection: Connection,
        target: Side,
        outcome: Outcome,
        parent: QWidget | None = None,
        fetch_synchronously: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("action_contacts_dialog")
        self.model = ActionContactsModel(
            engine=engine,
            connection=connection,
            target=target,
            outcome=outcome,
            parent=self,
            fetch_synchronously=fetch_synchronously,
        )
        self.model.loaded.connect(self._on_model_loaded)
        self.model.load_failed.connect(self._on_model_load_failed)
        verb = _VERB[outcome].lower()
        app = connection.app(target).name
        self._hint = QLabel(
            f"Contacts whose records the sync {verb} in {app}. Double-click a contact to open it."
        )
        self._hint.setObjectName("action_contacts_hint")
        self._hint.setTextFormat(Qt.TextFormat.PlainText)
        self._hint.setWordWrap(True)
        self.table = ContactTable()
        self.table.setObjectName("action_contacts_table")
        self.table.setSortingEnabled(False)
        self.table.set_contact_model(self.model, None)
        self.table.activated.connect(self._on_table_activated)
        self.table.copy_requested.connect(self.copy_rows)
        self.empty_label = QLabel(f"No contact was {verb} in {app}.")
        self.empty_label.setObjectName("action_contacts_empty")
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setEnabled(False)
        self._stack = QStackedWidget()
        self._stack.addWidget(self.table)
        self._stack.addWidget(self.empty_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self._hint)
        layout.addWidget(self._stack, 1)
        layout.addWidget(buttons)
        self.resize(900, 520)
        self._update()

    @Slot()
    def copy_rows(self) -> None:
        """Copy the selected rows' cells, tab-separated, one line per row."""
        lines = []
        for row in self.table.selected_rows():
            cells = [
                str(self.model.index(row, column).data() or "")
                for column in range(self.model.columnCount())
            ]
            lines.append("\t".join(cells))
        if lines:
            QGuiApplication.clipboard().setText("\n".join(lines))

    def _update(self) -> None:
        self.setWindowTitle(self.model.title())
        found = self.model.found
        empty = found is not None and found.contacts == 0
        self._stack.setCurrentWidget(self.empty_label if empty else self.table)
        self._hint.setVisible(not empty)

    @Slot(int, int)
    def _on_model_loaded(self, _events: int, _contacts: int) -> None:
        self._update()

    @Slot(str)
    def _on_model_load_failed(self, message: str) -> None:
        self._hint.setText(f"The list could not be read: {message}")

    @Slot(QModelIndex)
    def _on_table_activated(self, index: QModelIndex) -> None:
        key = self.model.contact_key(index.row()) if index.isValid() else None
        if key is not None:
            self.contact_activated.emit(key)
