"""The windowed models' row cache: pure bookkeeping, bounded, asks each block once,
neighbours first, its own block last."""

from __future__ import annotations

import pytest

from healthdesk.ui.block_cache import BlockCache


def block(number: int, size: int = 10) -> list[int]:
    return list(range(number * size, number * size + size))


def test_a_miss_is_reported_and_a_stored_block_serves_its_rows() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    assert cache.entry(25) is None
    assert cache.entry(-1) is None
    cache.store(2, block(2))
    assert cache.entry(25) == 25
    assert cache.entry(20) == 20
    assert cache.entry(29) == 29
    assert cache.entry(30) is None
    assert cache.block_of(29) == 2
    assert cache.rows == 10
    assert [number for number, _ in cache.blocks()] == [2]


def test_a_short_block_has_no_entry_past_its_end() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    cache.store(0, [0, 1, 2])
    assert cache.entry(2) == 2
    assert cache.entry(3) is None
    assert cache.rows == 3


def test_want_asks_for_the_neighbours_first_and_the_own_block_last_once() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    assert not cache.waiting
    assert cache.want(25, 100) == [1, 3, 2]
    assert cache.waiting
    assert cache.want(25, 100) == []  # already asked for
    assert cache.want(15, 100) == []  # block 1 is asked for too
    assert cache.want(35, 100) == []
    # A neighbour already asked for (3) is not asked again.
    assert cache.want(45, 100) == [5, 4]
    cache.store(2, block(2))
    assert cache.entry(25) == 25
    assert cache.want(25, 100) == []  # cached
    for number in (1, 3, 4, 5):
        cache.store(number, block(number))
    assert not cache.waiting


def test_want_stays_within_the_list() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    assert cache.want(0, 25) == [1, 0]  # no block -1
    cache.clear()
    assert cache.want(24, 25) == [1, 2]  # no block 3: the list ends in block 2
    cache.clear()
    assert cache.want(4, 5) == [0]  # a list of one block
    assert cache.want(-1, 100) == []
    assert cache.want(100, 100) == []
    assert cache.want(0, 0) == []


def test_cached_neighbours_are_not_asked_for() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    cache.store(1, block(1))
    cache.store(3, block(3))
    assert cache.want(25, 100) == [2]


def test_a_failed_block_is_never_asked_again() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    assert cache.want(25, 100) == [1, 3, 2]
    cache.fail(1)
    assert cache.failed(15)
    assert not cache.failed(25)
    assert cache.entry(15) is None
    assert cache.want(15, 100) == []
    # Nor as the neighbour of a block asked for later.
    cache.store(2, block(2))
    cache.store(3, block(3))
    cache.clear()
    assert not cache.failed(15)  # until the list is read anew
    assert cache.want(15, 100) == [0, 2, 1]


def test_a_failed_neighbour_is_left_out() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    cache.fail(4)
    assert cache.want(55, 100) == [6, 5]


def test_forget_asked_lets_a_block_be_asked_again() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    assert cache.want(25, 100) == [1, 3, 2]
    cache.forget_asked(2)  # given up (scrolled past)
    assert cache.want(25, 100) == [2]  # its neighbours are still asked for
    for number in (1, 2, 3):
        cache.forget_asked(number)
    assert not cache.waiting


def test_store_of_an_empty_block_keeps_nothing_but_is_no_longer_asked() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    assert cache.want(5, 10) == [0]
    cache.store(0, [])
    assert not cache.waiting
    assert cache.rows == 0
    assert cache.entry(5) is None
    assert cache.want(5, 10) == [0]


def test_memory_stays_bounded_least_recently_used_dropped() -> None:
    cache: BlockCache[int] = BlockCache(block_size=10, max_blocks=3)
    for number in range(10):
        cache.store(number, block(number))
        assert cache.rows <= 30
    assert cache.rows == 30
    assert [number for number, _ in cache.blocks()] == [7, 8, 9]
    assert cache.entry(75) == 75  # block 7 becomes the most recent
    cache.store(0, block(0))
    assert [number for number, _ in cache.blocks()] == [9, 7, 0]
    assert cache.entry(85) is None  # block 8 went
    assert cache.want(85, 100) == [8]  # and may be asked for again
    cache.clear()
    assert cache.rows == 0
    assert not cache.waiting
    assert list(cache.blocks()) == []


def test_the_shape_must_hold_a_block_and_its_neighbours() -> None:
    with pytest.raises(ValueError, match="max_blocks >= 3"):
        BlockCache(block_size=10, max_blocks=2)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        BlockCache(block_size=0, max_blocks=3)
