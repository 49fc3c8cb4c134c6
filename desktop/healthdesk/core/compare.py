"""What changed between two states of one connection: the moves between statuses and the
failure groups that grew, shrank, appeared or went.

Pure: the statuses come from the store (what `core.health.decide` decided, as stored, or
as a what-if decided it again); nothing here decides a status. A contact is identified
across two states by its app-a record id when it has one, else its app-b record id
(`Identity`); a contact in one state only moved from or to `ABSENT`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from healthdesk.core.model import STATUS_ORDER, Side, Status

#: Where a contact that one of the two states lacks comes from, or goes to.
ABSENT: Final = "absent"

#: A status, or ABSENT.
Place = str
#: (app, record id): the contact's app-a record, else its app-b record.
Identity = tuple[str, str]

#: The order of the places everywhere (rows and columns of a matrix, lists of moves).
PLACE_ORDER: Final[tuple[Place, ...]] = (*(status.value for status in STATUS_ORDER), ABSENT)

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Move:
    """`count` contacts were `from_` and are `to` (a status value or ABSENT)."""

    from_: Place
    to: Place
    count: int


@dataclass(frozen=True, slots=True)
class FailureChange:
    """A failure group (the app refusing, its category and fingerprint) whose number of
    failing contacts differs between the two states (0 where it has none)."""

    app: Side
    category: str
    fingerprint: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two states of one connection side by side.

    `before` and `after` are the five counts by status (derived from the moves, so the
    three always agree); `moves` every (from, to) with its count, the contacts that stayed
    in their status included (from == to); `failures` the groups that changed.
    """

    connection_id: str
    moves: tuple[Move, ...]
    failures: tuple[FailureChange, ...] = ()
    before: dict[Status, int] = field(default_factory=dict)
    after: dict[Status, int] = field(default_factory=dict)

    @property
    def changed(self) -> tuple[Move, ...]:
        """The moves proper: contacts whose place differs."""
        return tuple(move for move in self.moves if move.from_ != move.to)

    def count(self, from_: Place, to: Place) -> int:
        return next((m.count for m in self.moves if m.from_ == from_ and m.to == to), 0)

    @property
    def grew(self) -> tuple[FailureChange, ...]:
        """The failure groups with more failing contacts than before (new ones included)."""
        return tuple(change for change in self.failures if change.after > change.before)


def merge_by_identity(
    old: Iterable[tuple[Any, V]], new: Iterable[tuple[Any, V]]
) -> Iterator[tuple[Any, V | None, V | None]]:
    """Join two streams sorted by identity (ascending, each identity once): every
    identity with its value in each (None where a stream lacks it). Streaming: holds one
    item of each at a time."""
    old_iter, new_iter = iter(old), iter(new)
    o = next(old_iter, None)
    n = next(new_iter, None)
    while o is not None and n is not None:
        if o[0] == n[0]:
            yield o[0], o[1], n[1]
            o = next(old_iter, None)
            n = next(new_iter, None)
        elif o[0] < n[0]:
            yield o[0], o[1], None
            o = next(old_iter, None)
        else:
            yield n[0], None, n[1]
            n = next(new_iter, None)
    while o is not None:
        yield o[0], o[1], None
        o = next(old_iter, None)
    while n is not None:
        yield n[0], None, n[1]
        n = next(new_iter, None)


def place(status: str | None) -> Place:
    """A status value as a place of the moves (None: absent)."""
    return ABSENT if status is None else status


def tally_moves(pairs: Iterable[tuple[str | None, str | None]]) -> Counter[tuple[Place, Place]]:
    """How many contacts went from each place to each other, of (old, new) statuses."""
    tally: Counter[tuple[Place, Place]] = Counter()
    for old, new in pairs:
        tally[(ABSENT if old is None else old, ABSENT if new is None else new)] += 1
    return tally


def _order(value: Place) -> int:
    return PLACE_ORDER.index(value) if value in PLACE_ORDER else len(PLACE_ORDER)


def comparison(
    connection_id: str,
    moves: Mapping[tuple[Place, Place], int],
    failures: Iterable[FailureChange] = (),
) -> Comparison:
    """The comparison of these tallied moves: counts derived, moves in place order."""
    ordered = tuple(
        Move(from_, to, count)
        for (from_, to), count in sorted(
            moves.items(), key=lambda i: (_order(i[0][0]), _order(i[0][1]))
        )
        if count
    )
    before = dict.fromkeys(STATUS_ORDER, 0)
    after = dict.fromkeys(STATUS_ORDER, 0)
    for move in ordered:
        if move.from_ != ABSENT:
            before[Status(move.from_)] += move.count
        if move.to != ABSENT:
            after[Status(move.to)] += move.count
    return Comparison(
        connection_id=connection_id,
        moves=ordered,
        failures=tuple(failures),
        before=before,
        after=after,
    )


#: A failure group's key: (app, fingerprint).
GroupKey = tuple[Side, str]


def failure_changes(
    before: Mapping[GroupKey, int],
    after: Mapping[GroupKey, int],
    category_of: Callable[[Side, str], str],
) -> list[FailureChange]:
    """Every failure group whose count differs, the largest change first."""
    changes = [
        FailureChange(
            app=app,
            category=category_of(app, fingerprint),
            fingerprint=fingerprint,
            before=before.get((app, fingerprint), 0),
            after=after.get((app, fingerprint), 0),
        )
        for app, fingerprint in before.keys() | after.keys()
        if before.get((app, fingerprint), 0) != after.get((app, fingerprint), 0)
    ]
    changes.sort(key=lambda c: (-abs(c.delta), -c.after, c.app.value, c.category, c.fingerprint))
    return changes


__all__ = [
    "ABSENT",
    "PLACE_ORDER",
    "Comparison",
    "FailureChange",
    "GroupKey",
    "Identity",
    "Move",
    "comparison",
    "failure_changes",
    "merge_by_identity",
    "place",
    "tally_moves",
]
