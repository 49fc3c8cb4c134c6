"""The one lazy table model over the database, which the status lists and the action
lists specialize: an exact row count, rows served from a bounded cache of blocks, every
read done by `Operations` (never on the GUI thread). The shape of DB Browser for
SQLite's `RowLoader`/`RowCache`.

A model reads through a *window source*: a plain-data object (no Qt) that knows how to
load the list (its count and whatever a fetch needs, such as the whole order for a sort
no index serves) and how to fetch one block of rows. Loading also reads, in the same
worker call, the blocks the view shows and the new rows of the contacts selected, so that
a refresh (a live page, an import) swaps the list in one reset with no placeholder and
keeps the selection (`reloaded`).

Until a list is loaded the model shows the previous one (or no row): never a stale row
of another list, because a block of an older load is dropped on arrival.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, Protocol

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Signal

from healthdesk.ui.block_cache import BlockCache
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations, Work

__all__ = ["PLACEHOLDER", "Entry", "Loaded", "WindowSource", "WindowedTableModel"]

#: What a cell shows while its block is being fetched.
PLACEHOLDER: Final = "…"
#: Block requests a model keeps waiting; older ones (scrolled past) are given up.
MAX_QUEUED: Final = 8

_AnyIndex = QModelIndex | QPersistentModelIndex

#: A cached row: the store's row object (None when it vanished since the count) and the
#: text of each cell.
Entry = tuple[Any, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Loaded:
    """What loading a list found (on a worker): its count, the source to fetch its
    blocks with, the blocks read already, the rows of the contacts asked to keep, and
    whatever else the list needs to show (its subclass's business)."""

    count: int
    source: WindowSource
    blocks: dict[int, list[Entry]] = field(default_factory=dict)
    positions: dict[int, int] = field(default_factory=dict)
    extra: Any = None


class WindowSource(Protocol):
    """Plain data that reads one list; used from worker threads, so immutable."""

    def load(self, work: Work, keep: Sequence[int], blocks: Sequence[int]) -> Loaded: ...

    def fetch(self, block: int, work: Work) -> list[Entry]: ...


class WindowedTableModel(QAbstractTableModel):
    """A list of `rowCount()` rows read a block at a time; subclasses give the source,
    the columns and the cells.

    Signals:
        count_changed(int): the list was (re)loaded with another count.
        reloaded(object): a load was applied; its argument maps each contact key asked
            to keep (`reload(keep=...)`) to its row now (keys no longer listed left out).
        load_failed(str): the list or a block of it could not be read (the cells of the
            block stay empty until the next load).

    Attributes:
        block_size, max_blocks: the cache's shape; it never holds more than
            `block_size * max_blocks` rows.
        load_error: why the last load failed (None after a load that worked): a view
            made after the failure (an inline runner answers before it is connected)
            reads it here.
    """

    count_changed = Signal(int)
    reloaded = Signal(object)
    load_failed = Signal(str)

    def __init__(
        self,
        *,
        operations: Operations,
        block_size: int,
        max_blocks: int,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.block_size: Final = block_size
        self.max_blocks: Final = max_blocks
        self._operations = operations
        self._cache: BlockCache[Entry] = BlockCache(block_size=block_size, max_blocks=max_blocks)
        self._count = 0
        self._generation = 0
        self._source: WindowSource | None = None
        self._queue: deque[int] = deque()
        self._delivering_inline = False
        self._loaded_once = False
        self.load_error: str | None = None

    # -- for subclasses -------------------------------------------------------------------

    def _make_source(self) -> WindowSource:
        raise NotImplementedError

    def _apply_extra(self, extra: Any) -> None:
        """Called inside the reset of a load, with `Loaded.extra`."""

    # -- public ---------------------------------------------------------------------------

    @property
    def operations(self) -> Operations:
        return self._operations

    @property
    def is_loaded(self) -> bool:
        """Whether a list has been loaded (until then the model has no row)."""
        return self._loaded_once

    @property
    def loading(self) -> bool:
        """Whether the list or rows asked for are still being read."""
        return self._operations.busy(self)

    @property
    def cached_rows(self) -> int:
        """How many rows the cache holds now (at most `block_size * max_blocks`)."""
        return self._cache.rows

    def reload(self, *, keep: Sequence[int] = (), rows: Sequence[int] | None = None) -> None:
        """Read the list again (after a change of the data, the filter or the order).

        `keep`: contact keys whose new rows `reloaded` reports (to select them again);
        `rows`: rows whose blocks are read with it (what the view shows; None: the first
        rows, () none), so the new list appears whole. The current rows stay until it is
        read.
        """
        # Without a view's rows, the top of the list: the first rows come with the count,
        # in one trip to the worker instead of two.
        wanted = [0] if rows is None else [row for row in rows if row >= 0]
        blocks = sorted({row // self.block_size for row in wanted})
        source = self._make_source()
        self._operations.run(
            self,
            "load",
            partial(_load, source, tuple(keep), tuple(blocks)),
            self._on_loaded,
            failed=self._on_load_failed,
            what="read the list",
        )

    def read_once(self) -> bool:
        """Read the list unless it was read or is being read (a model made unread, or
        whose read failed); whether it started a read."""
        if self._loaded_once or self.loading:
            return False
        self.reload()
        return True

    def loaded_source(self) -> WindowSource | None:
        """The source of the list shown (None until loaded): it reads exactly these rows
        in this order (copy and export use it)."""
        return self._source

    def row_entry(self, row: int) -> Entry | None:
        """The entry of `row` when it is cached (no read is started)."""
        if not 0 <= row < self._count:
            return None
        return self._cache.entry(row)

    # -- Qt -------------------------------------------------------------------------------

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    # -- internals ------------------------------------------------------------------------

    def _entry(self, row: int) -> Entry | None:
        """The entry of `row`, asking for its block (in the background) when missing."""
        if not 0 <= row < self._count:
            return None
        entry = self._cache.entry(row)
        if entry is None and not self._cache.failed(row):
            self._request(row)
            entry = self._cache.entry(row)  # an inline runner has answered already
        return entry

    def _request(self, row: int) -> None:
        source = self._source
        if source is None:
            return
        generation = self._generation
        self._delivering_inline = True
        try:
            for block in self._cache.want(row, self._count):
                self._queue.append(block)
                while len(self._queue) > MAX_QUEUED:
                    dropped = self._queue.popleft()
                    self._operations.cancel(self, ("block", generation, dropped))
                    self._cache.forget_asked(dropped)
                self._operations.run(
                    self,
                    ("block", generation, block),
                    partial(source.fetch, block),
                    partial(self._on_block, generation, block),
                    failed=partial(self._on_block_failed, generation, block),
                    what="read rows of the list",
                )
        finally:
            self._delivering_inline = False

    def _on_loaded(self, loaded: Loaded) -> None:
        for block in self._queue:
            self._operations.cancel(self, ("block", self._generation, block))
        self._queue.clear()
        before = self._count
        self.beginResetModel()
        self._generation += 1
        self._cache.clear()
        self._count = loaded.count
        self._source = loaded.source
        for block, entries in loaded.blocks.items():
            self._cache.store(block, entries)
        self._apply_extra(loaded.extra)
        self._loaded_once = True
        self.load_error = None
        self.endResetModel()
        if self._count != before:
            self.count_changed.emit(self._count)
        self.reloaded.emit(dict(loaded.positions))

    def _on_load_failed(self, exc: BaseException) -> None:
        self.load_error = error_text(exc)
        self.load_failed.emit(self.load_error)

    def _on_block(self, generation: int, block: int, entries: list[Entry]) -> None:
        if generation != self._generation:
            return
        if block in self._queue:
            self._queue.remove(block)
        self._cache.store(block, entries)
        if not entries or self._delivering_inline:
            return  # inline: the view is reading this very block now
        first = block * self.block_size
        last = min(first + len(entries), self._count) - 1
        if last >= first:
            self.dataChanged.emit(
                self.index(first, 0), self.index(last, self.columnCount() - 1), []
            )

    def _on_block_failed(self, generation: int, block: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        if block in self._queue:
            self._queue.remove(block)
        self._cache.fail(block)
        self._on_load_failed(exc)


def _load(source: WindowSource, keep: Sequence[int], blocks: Sequence[int], work: Work) -> Loaded:
    return source.load(work, keep, blocks)
