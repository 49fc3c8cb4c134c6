"""The table model of one status list, over the database, never loaded whole.

`rowCount()` is the list's exact count (`store.pages.count`). Rows are served from an LRU
cache of blocks (windows of `block_size` rows): a block that is not cached is fetched by a
loader on a worker thread while `data()` shows a placeholder; the block comes back by a
queued signal and the model emits `dataChanged` for it. Results of an older generation
(before a reset: sort, filter, refresh) are dropped. This is the shape of DB Browser for
SQLite's `RowLoader`/`RowCache`.

Memory stays flat: at most `block_size * max_blocks` rows are held, whatever the count.
A list sorted by a column no index serves additionally holds its order (8 bytes per
contact), fetched once by the loader, so that every window after the first costs a
lookup by key instead of a sort of the whole list.

The GUI thread only runs the count (a covering-index range: ~10 ms per 100,000 rows) and
cheap bookkeeping; with `fetch_synchronously=True` (tests, screenshots) blocks are
fetched on the calling thread instead.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable
from functools import partial
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection
from healthdesk.store import pages
from healthdesk.store.pages import ContactFilter, Row, SortKey
from healthdesk.ui.block_cache import BlockCache, BlockLoader
from healthdesk.ui.contacts.columns import Column, RenderContext, columns_for, render_row
from healthdesk.ui.icons import status_icon
from healthdesk.ui.text import plain_tooltip

__all__ = ["PLACEHOLDER", "ContactTableModel"]

_log = logging.getLogger(__name__)

#: What a cell shows while its block is being fetched.
PLACEHOLDER: Final = "…"

_AnyIndex = QModelIndex | QPersistentModelIndex
#: A cached row: the row (None when it vanished from the database since the count) and
#: the text of each cell.
_Entry = tuple[Row | None, tuple[str, ...]]


class _Source:
    """Fetches blocks of one generation of a model's list (one filter, sort and count).

    Used by one thread at a time: the loader's worker, or the GUI thread in synchronous
    mode. Holds the list's order when the sort needs it (`keys`).
    """

    def __init__(
        self,
        *,
        generation: int,
        engine: Engine,
        connection_id: str,
        contact_filter: ContactFilter,
        sort: SortKey,
        descending: bool,
        count: int,
        block_size: int,
        columns: tuple[Column, ...],
        context: RenderContext,
    ) -> None:
        self.generation = generation
        self.keys: array[int] | None = None
        self._engine = engine
        self._connection_id = connection_id
        self._filter = contact_filter
        self._sort = sort
        self._descending = descending
        self._count = count
        self._block_size = block_size
        self._columns = columns
        self._context = context
        self._category_of = context.category if sort is SortKey.CATEGORY else None

    @property
    def uses_keys(self) -> bool:
        return self._sort not in pages.INDEXED_SORTS

    def fetch(self, block: int, cancelled: Callable[[], bool] | None = None) -> list[_Entry]:
        """The entries of `block`: exactly as many as the count says the block holds."""
        offset = block * self._block_size
        limit = min(self._block_size, self._count - offset)
        if limit <= 0:
            return []
        rows: list[Row | None]
        if self.uses_keys:
            if self.keys is None:
                self.keys = pages.keys(
                    self._engine,
                    self._connection_id,
                    self._filter,
                    sort=self._sort,
                    descending=self._descending,
                    category_of=self._category_of,
                    cancelled=cancelled,
                )
            wanted = self.keys[offset : offset + limit]
            found = pages.rows_by_key(self._engine, wanted)
            rows = [found.get(key) for key in wanted]
        else:
            rows = list(self._page(offset, limit))
        rows.extend([None] * (limit - len(rows)))  # the list shrank since it was counted
        blank = ("",) * len(self._columns)
        return [
            (row, render_row(row, self._columns, self._context) if row else blank)
            for row in rows[:limit]
        ]

    def _page(self, offset: int, limit: int) -> list[Row]:
        # An index walked from its far end reaches the last rows as fast as the first.
        tail = self._count - offset - limit
        reverse = tail < offset
        rows = pages.page(
            self._engine,
            self._connection_id,
            self._filter,
            sort=self._sort,
            descending=self._descending != reverse,
            offset=tail if reverse else offset,
            limit=limit,
            category_of=self._category_of,
        )
        if reverse:
            rows.reverse()
        return rows


class _Bridge(QObject):
    """Carries the loader's results to the GUI thread (queued: it lives there)."""

    loaded = Signal(int, int, object)  # generation, block, list of entries
    keys_loaded = Signal(int, object)  # generation, array of keys
    failed = Signal(int, int, str)  # generation, block, message


class _Loader(BlockLoader[_Source]):
    """Fetches requested blocks on one worker thread of a private pool, newest first.

    The pool's thread exits when idle; `close()` (on the GUI thread) drops what is queued
    and waits for a fetch in progress, whose long queries are interrupted.
    """

    def __init__(self) -> None:
        super().__init__()
        self.bridge = _Bridge()

    def _drain(self) -> None:
        while True:
            with self._cond:
                if not self._queue or self._source is None:
                    self._draining = False
                    return
                block = self._queue.pop()
                source = self._source
            had_keys = source.keys is not None
            try:
                entries = source.fetch(block, cancelled=partial(self.stale, source))
            except Exception as exc:
                if not self.stale(source):
                    _log.warning("fetching rows failed: %s", exc)
                    self.bridge.failed.emit(source.generation, block, str(exc))
                continue
            if not had_keys and source.keys is not None:
                self.bridge.keys_loaded.emit(source.generation, source.keys)
            self.bridge.loaded.emit(source.generation, block, entries)


class ContactTableModel(QAbstractTableModel):
    """The contacts of one status list of a connection, for a QTableView.

    Columns depend on the filter's status (`columns.columns_for`); the first column shows
    the status icon. Customer text is returned as plain str, exactly as stored.

    Signals:
        count_changed(int): the exact count changed after `refresh()` or `set_filter()`.
        load_failed(str): a block could not be read (its cells stay empty until a reset).

    Attributes:
        RowRole: the data role of a cell's whole `store.pages.Row` (None until loaded).
        KeyRole: the data role of a row's contact key (None until loaded).
        filter: the list shown (read-only; change it with `set_filter`).
        sort_key, descending: the current order (change it with `sort`).
        block_size, max_blocks: the cache's shape; it never holds more than
            `block_size * max_blocks` rows.
    """

    RowRole: Final = Qt.ItemDataRole.UserRole + 1
    KeyRole: Final = Qt.ItemDataRole.UserRole + 2

    count_changed = Signal(int)
    load_failed = Signal(str)

    def __init__(
        self,
        *,
        engine: Engine,
        connection: Connection,
        filter: ContactFilter,
        catalog: Catalog,
        parent: QObject | None = None,
        fetch_synchronously: bool = False,
        block_size: int = 256,
        max_blocks: int = 32,
    ) -> None:
        super().__init__(parent)
        self.block_size: Final = block_size
        self.max_blocks: Final = max_blocks
        self._engine = engine
        self._connection = connection
        self._context = RenderContext(connection=connection, catalog=catalog)
        self._filter = filter
        self._columns = columns_for(filter.status)
        self._sort = SortKey.NAME
        self._descending = False
        self._generation = 0
        self._count = pages.count(engine, connection.id, filter)
        self._cache: BlockCache[_Entry] = BlockCache(block_size=block_size, max_blocks=max_blocks)
        self._keys: array[int] | None = None
        self._loader: _Loader | None = None
        if not fetch_synchronously:
            loader = _Loader()
            loader.bridge.loaded.connect(self._on_loader_loaded)
            loader.bridge.keys_loaded.connect(self._on_loader_keys_loaded)
            loader.bridge.failed.connect(self._on_loader_failed)
            # The worker must be finished before the model (and the loader with it) goes:
            # when the model is deleted (by its parent or by Python), or by close().
            self.destroyed.connect(lambda *_, loader=loader: loader.close())
            self._loader = loader
        self._source = self._new_source()
        if self._loader is not None:
            self._loader.reset(self._source)

    # ------------------------------------------------------------------ public API

    @property
    def filter(self) -> ContactFilter:
        return self._filter

    @property
    def connection(self) -> Connection:
        return self._connection

    @property
    def sort_key(self) -> SortKey:
        return self._sort

    @property
    def descending(self) -> bool:
        return self._descending

    @property
    def cached_rows(self) -> int:
        """How many rows the cache holds now (at most `block_size * max_blocks`)."""
        return self._cache.rows

    @property
    def loading(self) -> bool:
        """Whether rows asked for are still being fetched."""
        return self._cache.waiting

    def set_filter(self, contact_filter: ContactFilter) -> None:
        """Show another list (another status or failure group): a reset and a re-count."""
        self._reset(contact_filter)

    @Slot()
    def refresh(self) -> None:
        """Re-count and forget every cached row (after an import): a reset."""
        self._reset(self._filter)

    def close(self) -> None:
        """Stop the loader (waiting for a fetch in progress); the model fetches no more.

        Called by itself when the model is deleted (by its parent or by Python); call it
        when a model is dropped but not deleted, e.g. at shutdown.
        """
        if self._loader is not None:
            self._loader.close()

    def row_at(self, row: int) -> Row | None:
        """The row at `row` if loaded (synchronous mode: loaded now), else None."""
        entry = self._entry(row, request=False)
        return entry[0] if entry is not None else None

    def contact_key(self, row: int) -> int | None:
        """The key of the contact at `row`, or None when not loaded yet or out of range."""
        found = self.row_at(row)
        return found.key if found is not None else None

    def row_of(self, key: int) -> int | None:
        """The row of contact `key` in the current order, or None if it is not listed.

        Looks in the cache, then in the list's order when the loader holds it; otherwise
        asks the database (`pages.position_of`: an index range when sorted by name or
        fingerprint, a scan of the list for other sorts).
        """
        for block, entries in self._cache.blocks():
            for i, (found, _) in enumerate(entries):
                if found is not None and found.key == key:
                    return block * self.block_size + i
        if self._keys is not None:
            try:
                found_at = self._keys.index(key)
            except ValueError:
                return None
            return found_at if found_at < self._count else None
        position = pages.position_of(
            self._engine,
            self._connection.id,
            self._filter,
            key,
            self._sort,
            self._descending,
            category_of=self._context.category if self._sort is SortKey.CATEGORY else None,
        )
        if position is None or position >= self._count:
            return None
        return position

    @property
    def sort_column(self) -> int:
        """The column of the current order (for the header's indicator), or -1."""
        for column, spec in enumerate(self._columns):
            if spec.sort is self._sort:
                return column
        return -1

    def column_sort_key(self, column: int) -> SortKey | None:
        if 0 <= column < len(self._columns):
            return self._columns[column].sort
        return None

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation == Qt.Orientation.Vertical:
            return super().headerData(section, orientation, role)
        if role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self._columns):
            return self._columns[section].title(self._connection)
        return None

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < self._count and 0 <= column < len(self._columns)):
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return status_icon(self._filter.status) if column == 0 else None
        if role not in _ROW_ROLES:
            return None
        entry = self._entry(row, request=True)
        if role == Qt.ItemDataRole.DisplayRole:
            if entry is not None:
                return entry[1][column]
            return "" if self._cache.failed(row) else PLACEHOLDER
        if entry is None:
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            text = entry[1][column]
            return plain_tooltip(text) if text else None
        found = entry[0]
        if role == self.RowRole:
            return found
        return found.key if found is not None else None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order the list by `column` in SQL (a reset); -1 restores the default (name)."""
        key = self.column_sort_key(column) or SortKey.NAME
        descending = order == Qt.SortOrder.DescendingOrder and column >= 0
        if (key, descending) == (self._sort, self._descending):
            return
        self._sort = key
        self._descending = descending
        self._reset(None)

    # ------------------------------------------------------------------ internals

    def _new_source(self) -> _Source:
        return _Source(
            generation=self._generation,
            engine=self._engine,
            connection_id=self._connection.id,
            contact_filter=self._filter,
            sort=self._sort,
            descending=self._descending,
            count=self._count,
            block_size=self.block_size,
            columns=self._columns,
            context=self._context,
        )

    def _reset(self, contact_filter: ContactFilter | None) -> None:
        """A model reset; with a filter, (re-)count that list first."""
        before = self._count
        self.beginResetModel()
        self._generation += 1
        self._cache.clear()
        self._keys = None
        if contact_filter is not None:
            self._filter = contact_filter
            self._columns = columns_for(contact_filter.status)
            if self._sort not in {column.sort for column in self._columns}:
                self._sort, self._descending = SortKey.NAME, False
            self._count = pages.count(self._engine, self._connection.id, contact_filter)
        self._source = self._new_source()
        if self._loader is not None:
            self._loader.reset(self._source)
        self.endResetModel()
        if self._count != before:
            self.count_changed.emit(self._count)

    def _entry(self, row: int, *, request: bool) -> _Entry | None:
        loader = self._loader
        return self._cache.entry(
            row,
            self._count,
            fetch=self._source.fetch if loader is None else None,
            submit=loader.submit if loader is not None else None,
            request=request,
        )

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
            self.dataChanged.emit(
                self.index(first, 0), self.index(last, len(self._columns) - 1), []
            )

    @Slot(int, object)
    def _on_loader_keys_loaded(self, generation: int, keys: array[int]) -> None:
        if generation == self._generation:
            self._keys = keys

    @Slot(int, int, str)
    def _on_loader_failed(self, generation: int, block: int, message: str) -> None:
        if generation != self._generation:
            return
        self._cache.fail(block)
        self.load_failed.emit(message)


_ROW_ROLES: Final = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        ContactTableModel.RowRole,
        ContactTableModel.KeyRole,
    }
)
