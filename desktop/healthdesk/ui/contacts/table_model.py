"""The table model of one status list, over the database, never loaded whole.

A `WindowedTableModel`: `rowCount()` is the list's exact count (`store.pages.count`), rows
come from a bounded cache of blocks read by the window's `Operations`, sorted in SQL. A
list sorted by a column no index serves holds its order too (8 bytes per contact), read
once with the count, so that every window after the first costs a lookup by key instead
of a sort of the whole list. Nothing here reads the database on the GUI thread.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt

from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection
from healthdesk.store import pages
from healthdesk.store.pages import CategoryOf, ContactFilter, SortKey
from healthdesk.ui.contacts.columns import Column, RenderContext, columns_for, render_row
from healthdesk.ui.icons import status_icon
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.text import plain_tooltip
from healthdesk.ui.windowed_model import PLACEHOLDER, Entry, Loaded, WindowedTableModel

__all__ = ["PLACEHOLDER", "ContactTableModel", "ListSource"]

_AnyIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class ListSource:
    """One status list as it is read: connection, filter, order (plain data, immutable;
    used from worker threads). The one description of a list: the window's lists and the
    export of the current list read through it, so they show the same rows in one order.
    """

    engine: Any
    connection_id: str
    filter: ContactFilter
    sort: SortKey
    descending: bool
    block_size: int
    columns: tuple[Column, ...]
    context: RenderContext
    count: int = 0
    keys: array[int] | None = None

    @property
    def category_of(self) -> CategoryOf | None:
        return self.context.category if self.sort is SortKey.CATEGORY else None

    @property
    def uses_keys(self) -> bool:
        return self.sort not in pages.INDEXED_SORTS

    def load(self, work: Work, keep: Sequence[int], blocks: Sequence[int]) -> Loaded:
        count = pages.count(self.engine, self.connection_id, self.filter)
        keys = None
        if self.uses_keys and count:
            keys = pages.keys(
                self.engine,
                self.connection_id,
                self.filter,
                sort=self.sort,
                descending=self.descending,
                category_of=self.category_of,
                cancelled=work.cancelled,
            )
            count = len(keys)
        source = replace(self, count=count, keys=keys)
        positions = {}
        for key in keep:
            found = source.position_of(key)
            if found is not None:
                positions[key] = found
        fetched = {b: source.fetch(b, work) for b in blocks if b * self.block_size < count}
        return Loaded(count=count, source=source, blocks=fetched, positions=positions)

    def fetch(self, block: int, work: Work | None = None) -> list[Entry]:
        """The entries of `block`: exactly as many as the count says the block holds."""
        offset = block * self.block_size
        limit = min(self.block_size, self.count - offset)
        if limit <= 0:
            return []
        rows: list[ContactView | None]
        if self.keys is not None:
            wanted = self.keys[offset : offset + limit]
            found = pages.rows_by_key(self.engine, wanted)
            rows = [found.get(key) for key in wanted]
        else:
            rows = list(self._page(offset, limit))
        rows.extend([None] * (limit - len(rows)))  # the list shrank since it was counted
        blank = ("",) * len(self.columns)
        return [
            (row, render_row(row, self.columns, self.context) if row else blank)
            for row in rows[:limit]
        ]

    def ordered_keys(self, cancelled: Callable[[], bool] | None = None) -> array[int]:
        """Every contact key of the list, in the order shown (an export reads them)."""
        if self.keys is not None:
            return self.keys
        return pages.keys(
            self.engine,
            self.connection_id,
            self.filter,
            sort=self.sort,
            descending=self.descending,
            category_of=self.category_of,
            cancelled=cancelled,
        )

    def position_of(self, key: int) -> int | None:
        if self.keys is not None:
            try:
                return self.keys.index(key)
            except ValueError:
                return None
        found = pages.position_of(
            self.engine,
            self.connection_id,
            self.filter,
            key,
            self.sort,
            self.descending,
            category_of=self.category_of,
        )
        return found if found is not None and found < self.count else None

    def _page(self, offset: int, limit: int) -> list[ContactView]:
        # An index walked from its far end reaches the last rows as fast as the first.
        tail = self.count - offset - limit
        reverse = tail < offset
        rows = pages.page(
            self.engine,
            self.connection_id,
            self.filter,
            sort=self.sort,
            descending=self.descending != reverse,
            offset=tail if reverse else offset,
            limit=limit,
            category_of=self.category_of,
        )
        if reverse:
            rows.reverse()
        return rows


class ContactTableModel(WindowedTableModel):
    """The contacts of one status list of a connection, for a QTableView.

    Columns depend on the filter's status (`columns.columns_for`); the first column shows
    the status icon. Customer text is returned as plain str, exactly as stored. The list
    is read when the model is made (unless made with `read=False`: then on `read_once()`),
    and again on `reload()`, `set_filter()` and `sort()`.

    Signals: those of `WindowedTableModel` (count_changed, reloaded, load_failed).

    Attributes:
        RowRole: the data role of a cell's whole `core.contacts.ContactView` (None until loaded).
        KeyRole: the data role of a row's contact key (None until loaded).
        filter: the list shown (read-only; change it with `set_filter`).
        sort_key, descending: the current order (change it with `sort`).
    """

    RowRole: Final = Qt.ItemDataRole.UserRole + 1
    KeyRole: Final = Qt.ItemDataRole.UserRole + 2

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Any,
        connection: Connection,
        filter: ContactFilter,
        catalog: Catalog,
        parent: QObject | None = None,
        block_size: int = 256,
        max_blocks: int = 32,
        read: bool = True,
    ) -> None:
        super().__init__(
            operations=operations, block_size=block_size, max_blocks=max_blocks, parent=parent
        )
        self._engine = engine
        self._connection = connection
        self._context = RenderContext(connection=connection, catalog=catalog)
        self._filter = filter
        self._columns = columns_for(filter.status)
        self._sort = SortKey.NAME
        self._descending = False
        if read:
            self.reload()

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

    def list_source(self) -> ListSource:
        """The list as shown (filter and order), to read it whole elsewhere (export)."""
        return self._make_source()

    def set_filter(self, contact_filter: ContactFilter) -> None:
        """Show another list (another status or failure group): read it anew."""
        self._filter = contact_filter
        columns = columns_for(contact_filter.status)
        if columns != self._columns:
            self.beginResetModel()
            self._columns = columns
            self.endResetModel()
        if self._sort not in {column.sort for column in self._columns}:
            self._sort, self._descending = SortKey.NAME, False
        self.reload()

    def row_at(self, row: int) -> ContactView | None:
        """The row at `row` if it is cached, else None."""
        entry = self.row_entry(row)
        return entry[0] if entry is not None else None

    def contact_key(self, row: int) -> int | None:
        """The key of the contact at `row`, or None when not loaded yet or out of range."""
        found = self.row_at(row)
        return found.key if found is not None else None

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
        if not (0 <= row < self.rowCount() and 0 <= column < len(self._columns)):
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return status_icon(self._filter.status) if column == 0 else None
        if role not in _ROW_ROLES:
            return None
        entry = self._entry(row)
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
        """Order the list by `column` in SQL (read anew); -1 restores the default (name)."""
        key = self.column_sort_key(column) or SortKey.NAME
        descending = order == Qt.SortOrder.DescendingOrder and column >= 0
        if (key, descending) == (self._sort, self._descending):
            return
        self._sort = key
        self._descending = descending
        self.reload()

    # ------------------------------------------------------------------ internals

    def _make_source(self) -> ListSource:
        return ListSource(
            engine=self._engine,
            connection_id=self._connection.id,
            filter=self._filter,
            sort=self._sort,
            descending=self._descending,
            block_size=self.block_size,
            columns=self._columns,
            context=self._context,
        )


_ROW_ROLES: Final = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        ContactTableModel.RowRole,
        ContactTableModel.KeyRole,
    }
)
