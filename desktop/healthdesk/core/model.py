"""The domain's vocabulary: connections, rules, records, mappings, events and statuses.

Pure data, no I/O: the feed parses into these types, the store persists them and the
health engine decides over them. The contract: README, "What each status means".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Side(StrEnum):
    """One of the two apps of a connection."""

    A = "a"
    B = "b"

    @property
    def other(self) -> Side:
        return Side.B if self is Side.A else Side.A


class Direction(StrEnum):
    TWO_WAY = "two_way"
    A_TO_B = "a_to_b"
    B_TO_A = "b_to_a"

    @property
    def source(self) -> Side | None:
        """The only side that syncs from, for a one-way connection; None for two-way."""
        if self is Direction.A_TO_B:
            return Side.A
        if self is Direction.B_TO_A:
            return Side.B
        return None

    def syncs_from(self, side: Side) -> bool:
        """Whether records of `side` are sources: their rules count, unmapped ones show."""
        source = self.source
        return source is None or source is side


class Op(StrEnum):
    """The condition operators of a rule (README, "What each status means": rules)."""

    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"
    IN = "in"
    NOT_IN = "not_in"
    HAS_TAG = "has_tag"
    LACKS_TAG = "lacks_tag"


#: Operators that take no `value`.
UNARY_OPS = frozenset({Op.IS_EMPTY, Op.IS_NOT_EMPTY})
#: Operators whose `value` is a list of texts.
LIST_OPS = frozenset({Op.IN, Op.NOT_IN})


@dataclass(frozen=True, slots=True)
class Condition:
    """`field` `op` `value`; `value` is None for unary ops, a tuple of str for list ops."""

    field: str
    op: Op
    value: str | tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule of one side: all of its conditions must hold (an empty list always holds)."""

    id: str
    side: Side
    conditions: tuple[Condition, ...] = ()


class Phase(StrEnum):
    SCANNING = "scanning"
    SYNCING = "syncing"
    ACTIVE = "active"
    PAUSED = "paused"
    LOCKED = "locked"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class LockedBy:
    """The other connection a locked connection waits for."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class SyncState:
    phase: Phase
    app: Side | None = None
    locked_by: LockedBy | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class App:
    """One app of a connection: its display name and its kind (catalog key)."""

    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Settings:
    """What decides statuses: a change of any of these re-decides the whole connection."""

    direction: Direction
    avoid_duplicates: bool
    rules: tuple[Rule, ...]

    def rules_of(self, side: Side) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.side is side)


@dataclass(frozen=True, slots=True)
class Connection:
    id: str
    name: str
    app_a: App
    app_b: App
    settings: Settings
    state: SyncState

    def app(self, side: Side) -> App:
        return self.app_a if side is Side.A else self.app_b


@dataclass(slots=True)  # not frozen: made once per item on imports of millions
class Record:
    """One contact as it lives in one app. Times are canonical UTC strings (feed.items)."""

    connection: str
    app: Side
    id: str
    name: str
    email: str
    fields: Mapping[str, Any]
    created_at: str
    updated_at: str
    deleted: bool = False


@dataclass(slots=True)  # not frozen: made once per item on imports of millions
class MappingItem:
    """An active link between record `a` of app a and record `b` of app b."""

    connection: str
    a: str
    b: str
    since: str | None
    removed: bool = False


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    EXCLUDED = "excluded"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    #: The service queued the record's write again (a retry asked for); the write event
    #: that follows says how it went. Until then the contact is pending.
    QUEUED = "queued"


#: Outcomes that are (attempted or queued) writes into the other app: the latest one
#: decides failing (a failure) and pending (a queued retry).
WRITE_OUTCOMES = frozenset({Outcome.CREATED, Outcome.UPDATED, Outcome.FAILED, Outcome.QUEUED})


@dataclass(slots=True)  # not frozen: made once per item on imports of millions
class AppError:
    """A destination app's raw error, kept whole as the app sent it."""

    code: str
    message: str


@dataclass(slots=True)  # not frozen: made once per item on imports of millions
class Event:
    connection: str
    seq: int
    at: str
    app: Side
    id: str
    outcome: Outcome
    target: Side
    error: AppError | None = None


class Status(StrEnum):
    IN_SYNC = "in_sync"
    EXCLUDED = "excluded"
    DUPLICATE = "duplicate"
    FAILING = "failing"
    PENDING = "pending"


#: The order of the status lists everywhere (tabs, counts, summaries).
STATUS_ORDER: tuple[Status, ...] = (
    Status.IN_SYNC,
    Status.EXCLUDED,
    Status.DUPLICATE,
    Status.FAILING,
    Status.PENDING,
)


class Reason(StrEnum):
    """Why a contact is excluded."""

    NO_RULE_MATCH = "no_rule_match"
    NO_EMAIL = "no_email"


@dataclass(frozen=True, slots=True)
class Header:
    """Line 1 of a snapshot file."""

    format: str
    version: int
    exported_at: str | None = None


Item = Connection | Record | MappingItem | Event
