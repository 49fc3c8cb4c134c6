"""The windowed models' row cache: bounded, asks each block once, neighbours first."""

from __future__ import annotations

import pytest

from healthdesk.ui.block_cache import BlockCache


def test_a_miss_asks_for_the_block_after_its_neighbours_once() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    asked: list[list[int]] = []
    submit = lambda blocks: (asked.append(blocks), [])[1]  # noqa: E731
    assert cache.entry(25, 100, fetch=None, submit=submit, request=True) is None
    assert asked == [[1, 3, 2]]
    assert cache.waiting
    cache.entry(25, 100, fetch=None, submit=submit, request=True)
    assert asked == [[1, 3, 2]]  # already asked for
    cache.store(2, list(range(20, 30)))
    assert cache.entry(25, 100, fetch=None, submit=submit, request=True) == 25
    cache.fail(1)
    assert cache.failed(15)
    cache.entry(15, 100, fetch=None, submit=submit, request=True)
    assert asked == [[1, 3, 2]]  # a failed block is not asked again


def test_memory_stays_bounded_and_synchronous_fetches_fill_it() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    fetch = lambda block: list(range(block * 10, block * 10 + 10))  # noqa: E731
    for row in range(0, 100, 10):
        assert cache.entry(row, 100, fetch=fetch, submit=None, request=False) == row
    assert cache.rows == 30
    assert [block for block, _ in cache.blocks()] == [7, 8, 9]
    assert cache.entry(100, 100, fetch=fetch, submit=None, request=False) is None
    cache.clear()
    assert cache.rows == 0


def test_the_shape_must_hold_a_block_and_its_neighbours() -> None:
    with pytest.raises(ValueError, match="max_blocks >= 3"):
        BlockCache(block_size=10, max_blocks=2)
