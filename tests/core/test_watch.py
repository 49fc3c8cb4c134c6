"""The watch's pure decision: new failure groups, and groups that grew past a threshold."""

from __future__ import annotations

import pytest

from healthdesk.core.model import Side
from healthdesk.core.watch import AlertKind, WatchAlert, alerts

A = (Side.A, "400: Email is invalid")
B = (Side.B, "429: Too many requests")
C = (Side.B, "500: Internal error")


def kinds(found: list[WatchAlert]) -> list[tuple[tuple[Side, str], AlertKind, int, int]]:
    return [((a.app, a.fingerprint), a.kind, a.before, a.after) for a in found]


def test_the_first_snapshot_is_the_baseline() -> None:
    assert alerts("c-1", None, {A: 50, B: 3}, threshold=10) == []


def test_a_group_that_appears_is_new() -> None:
    found = alerts("c-1", {A: 5}, {A: 5, B: 1}, threshold=10)
    assert kinds(found) == [(B, AlertKind.NEW, 0, 1)]
    assert found[0].connection_id == "c-1"
    assert found[0].threshold == 10


def test_a_group_back_from_zero_is_new_again() -> None:
    assert kinds(alerts("c-1", {A: 0}, {A: 2}, threshold=10)) == [(A, AlertKind.NEW, 0, 2)]


def test_growing_past_the_threshold_is_announced_once() -> None:
    assert kinds(alerts("c-1", {A: 9}, {A: 10}, threshold=10)) == []
    assert kinds(alerts("c-1", {A: 10}, {A: 11}, threshold=10)) == [(A, AlertKind.GREW, 10, 11)]
    assert kinds(alerts("c-1", {A: 3}, {A: 40}, threshold=10)) == [(A, AlertKind.GREW, 3, 40)]
    # Already past it: growing further, or shrinking, says nothing.
    assert alerts("c-1", {A: 11}, {A: 30}, threshold=10) == []
    assert alerts("c-1", {A: 30}, {A: 12}, threshold=10) == []
    # Back under it, then past it again: announced again.
    assert kinds(alerts("c-1", {A: 8}, {A: 12}, threshold=10)) == [(A, AlertKind.GREW, 8, 12)]


def test_groups_that_went_or_shrank_say_nothing() -> None:
    assert alerts("c-1", {A: 5, B: 2}, {A: 1}, threshold=1) == []


def test_largest_first() -> None:
    found = alerts("c-1", {A: 1}, {A: 30, B: 2, C: 7}, threshold=5)
    assert kinds(found) == [
        (A, AlertKind.GREW, 1, 30),
        (C, AlertKind.NEW, 0, 7),
        (B, AlertKind.NEW, 0, 2),
    ]


@pytest.mark.parametrize("threshold", [0, -3])
def test_the_threshold_is_at_least_one(threshold: int) -> None:
    with pytest.raises(ValueError, match="1 or more"):
        alerts("c-1", {}, {A: 1}, threshold=threshold)
