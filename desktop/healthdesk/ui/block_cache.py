"""The row cache of the windowed list models: blocks of rows, least recently used dropped.

Pure bookkeeping, no Qt and no database: a model asks it for the entry of a row; a block
that is not here is reported missing, and `want` says which blocks to read for it (its
neighbours first, the visible block last, so that a newest-first reader serves the
visible one first). It remembers which blocks were asked for and which could not be
read, so that each is asked once until `clear()`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


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
        """Whether blocks were asked for and have not arrived yet."""
        return bool(self._pending)

    def blocks(self) -> Iterator[tuple[int, list[T]]]:
        """(block, entries) of what is cached."""
        return iter(self._blocks.items())

    def block_of(self, row: int) -> int:
        return row // self.block_size

    def failed(self, row: int) -> bool:
        """Whether the block of `row` could not be read."""
        return row // self.block_size in self._failed

    def entry(self, row: int) -> T | None:
        """The entry of `row` when its block is cached (it becomes the most recent)."""
        if row < 0:
            return None
        block = row // self.block_size
        entries = self._blocks.get(block)
        if entries is None:
            return None
        self._blocks.move_to_end(block)
        offset = row - block * self.block_size
        return entries[offset] if offset < len(entries) else None

    def want(self, row: int, count: int) -> list[int]:
        """The blocks to read for `row` of `count` rows, marked as asked for: its
        neighbours, then its own block last; none that are cached, asked or failed."""
        if not 0 <= row < count:
            return []
        block = row // self.block_size
        if block in self._blocks or block in self._pending or block in self._failed:
            return []
        last = (count - 1) // self.block_size
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
        return wanted

    def forget_asked(self, block: int) -> None:
        """A request given up (scrolled past): the block may be asked for again."""
        self._pending.discard(block)

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
