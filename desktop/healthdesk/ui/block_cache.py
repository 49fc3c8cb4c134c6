"""The row cache of the windowed models and the loader that fills it on a worker.

Blocks of rows, least recently used dropped.

A list model over the database asks it for the entry of a row; a block that is not here
is fetched at once (synchronous mode) or asked of a loader, with its neighbours, the
visible block last (the loader serves the newest request first). The cache remembers
which blocks were asked for and which could not be read, so that each is asked once.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from PySide6.QtCore import QThreadPool

T = TypeVar("T")

#: fetch(block) -> its entries, on the calling thread.
Fetch = Callable[[int], list[T]]
#: submit(blocks) -> the blocks the loader dropped (older requests it will not serve).
Submit = Callable[[list[int]], Iterable[int]]


class BlockCache(Generic[T]):
    """At most `max_blocks` blocks of `block_size` entries: memory stays flat.

    Attributes: block_size, max_blocks.
    """

    def __init__(self, *, block_size: int, max_blocks: int) -> None:
        # A miss asks for its block and both neighbours: the cache must hold all three.
        if block_size < 1 or max_blocks < 3:
            raise ValueError("block_size must be >= 1 and max_blocks >= 3")
        self.block_size = block_size
        self.max_blocks = max_blocks
        self._blocks: OrderedDict[int, list[T]] = OrderedDict()
        self._pending: set[int] = set()
        self._failed: set[int] = set()

    def clear(self) -> None:
        self._blocks.clear()
        self._pending.clear()
        self._failed.clear()

    @property
    def rows(self) -> int:
        """How many entries the cache holds now."""
        return sum(len(entries) for entries in self._blocks.values())

    @property
    def waiting(self) -> bool:
        """Whether blocks were asked of the loader and have not arrived yet."""
        return bool(self._pending)

    def blocks(self) -> Iterator[tuple[int, list[T]]]:
        """(block, entries) of what is cached."""
        return iter(self._blocks.items())

    def failed(self, row: int) -> bool:
        """Whether the block of `row` could not be read."""
        return row // self.block_size in self._failed

    def entry(
        self,
        row: int,
        count: int,
        *,
        fetch: Fetch[T] | None,
        submit: Submit | None,
        request: bool,
    ) -> T | None:
        """The entry of `row` (of `count` rows) when cached; else it is fetched with `fetch`
        when given, or (with `request`) its block is asked of the loader via `submit`."""
        if not 0 <= row < count:
            return None
        block = row // self.block_size
        entries = self._blocks.get(block)
        if entries is None:
            if fetch is not None:
                entries = fetch(block)
                self.store(block, entries)
            else:
                if request and submit is not None:
                    self._request(block, count, submit)
                return None
        else:
            self._blocks.move_to_end(block)
        offset = row - block * self.block_size
        return entries[offset] if offset < len(entries) else None

    def _request(self, block: int, count: int, submit: Submit) -> None:
        if block in self._pending or block in self._failed:
            return
        last = (count - 1) // self.block_size
        # Neighbours first: the loader serves the newest request (the visible one) first.
        wanted = [
            b
            for b in (block - 1, block + 1)
            if 0 <= b <= last
            and b not in self._blocks
            and b not in self._pending
            and b not in self._failed
        ]
        wanted.append(block)
        self._pending.update(wanted)
        for dropped in submit(wanted):
            self._pending.discard(dropped)

    def store(self, block: int, entries: list[T]) -> None:
        """Keep a block that arrived (no longer asked for); drop the least recently used."""
        self._pending.discard(block)
        if not entries:
            return
        self._blocks[block] = entries
        self._blocks.move_to_end(block)
        while len(self._blocks) > self.max_blocks:
            self._blocks.popitem(last=False)

    def fail(self, block: int) -> None:
        """A block that could not be read: not asked for again until `clear()`."""
        self._pending.discard(block)
        self._failed.add(block)


S = TypeVar("S")

#: Block requests a loader keeps waiting; older ones (scrolled past) are dropped.
MAX_QUEUED = 8


class BlockLoader(Generic[S]):
    """Serves requested blocks of a source on one worker thread of a private pool, the
    newest request first; a subclass's `_drain` does the reading and reports back.

    The pool's thread exits when idle; `close()` (on the GUI thread) drops what is queued
    and waits for a read in progress. A source replaced by `reset` is stale: what is read
    for it is dropped (and long queries may poll `stale` to stop).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[int] = deque()
        self._source: S | None = None
        self._draining = False
        self._closed = False
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(1)
        self._pool.setExpiryTimeout(5000)

    def reset(self, source: S) -> None:
        """Serve `source` from now on; requests of the previous one are dropped."""
        with self._cond:
            self._queue.clear()
            self._source = source

    def submit(self, blocks: Iterable[int]) -> list[int]:
        """Queue `blocks` (the last one is served first); return the requests dropped."""
        dropped: list[int] = []
        with self._cond:
            if self._closed:
                return list(blocks)
            self._queue.extend(blocks)
            while len(self._queue) > MAX_QUEUED:
                dropped.append(self._queue.popleft())
            start = not self._draining
            self._draining = True
        if start:
            self._pool.start(self._drain)
        return dropped

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._source = None
        # At interpreter exit the pool may be deleted already: its destructor waited.
        with contextlib.suppress(RuntimeError):
            self._pool.waitForDone()

    def stale(self, source: S) -> bool:
        return self._source is not source

    def _drain(self) -> None:  # runs on the worker thread
        raise NotImplementedError
