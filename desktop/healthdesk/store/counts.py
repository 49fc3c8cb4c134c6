"""Counts kept up to date by the ingest, so that no view re-counts a million contacts.

Two small tables (schema.ContactCountRow, schema.EventCountRow) hold, per connection, how
many contacts have each (status, reason, failure app, fingerprint) and how many events
each (target, outcome). The decision step adds what it stores and subtracts what it
removes, in the same transaction, so a count always equals the rows it counts.

Writers: `tally_contacts`, `add_contacts`, `reset_contacts`, `add_events`,
`recount_events` (store.decisions and store.ingest only). Readers: `read_counts`, which
gives every figure of a summary (statuses, excluded reasons, failure groups, actions) in
one small query per table.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection as SAConnection

from healthdesk.core.model import STATUS_ORDER, Outcome, Reason, Side, Status

#: (status, reason, failure_app, fingerprint), "" for what a contact lacks.
ContactKey = tuple[str, str, str, str]
#: (target, outcome) of events.
EventKey = tuple[str, str]


def contact_key(
    status: str, reason: str | None, failure_app: str | None, fingerprint: str | None
) -> ContactKey:
    return (status, reason or "", failure_app or "", fingerprint or "")


def tally_contacts(rows: Iterable[tuple[Any, ...]], *, sign: int = 1) -> Counter[ContactKey]:
    """Counts of contact rows given as (status, reason, failure_app, fingerprint)."""
    tally: Counter[ContactKey] = Counter()
    for status, reason, failure_app, fingerprint in rows:
        tally[contact_key(status, reason, failure_app, fingerprint)] += sign
    return tally


def add_contacts(cursor: sqlite3.Cursor, connection_id: str, delta: Counter[ContactKey]) -> None:
    """Add `delta` (which may be negative) to a connection's contact counts."""
    changes = [(connection_id, *key, count) for key, count in delta.items() if count]
    if not changes:
        return
    cursor.executemany(
        """
        INSERT INTO contact_counts (connection_id, status, reason, failure_app, fingerprint,
            count) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (connection_id, status, reason, failure_app, fingerprint)
            DO UPDATE SET count = contact_counts.count + excluded.count
        """,
        changes,
    )
    cursor.execute(
        "DELETE FROM contact_counts WHERE connection_id = ? AND count = 0", (connection_id,)
    )


#: Counts every connection's contacts again from the table (after a change of all
#: stored fingerprints, which are part of the key).
RECOUNT_ALL_CONTACTS = """
    INSERT INTO contact_counts (connection_id, status, reason, failure_app, fingerprint, count)
    SELECT connection_id, status, COALESCE(reason, ''), COALESCE(failure_app, ''),
        COALESCE(fingerprint, ''), COUNT(*)
    FROM contacts GROUP BY 1, 2, 3, 4, 5
"""


def reset_contacts(cursor: sqlite3.Cursor, connection_id: str) -> None:
    """Forget a connection's contact counts (its contacts are about to be decided anew)."""
    cursor.execute("DELETE FROM contact_counts WHERE connection_id = ?", (connection_id,))


def add_events(cursor: sqlite3.Cursor, connection_id: str, delta: Counter[EventKey]) -> None:
    changes = [(connection_id, *key, count) for key, count in delta.items() if count]
    cursor.executemany(
        """
        INSERT INTO event_counts (connection_id, target, outcome, count) VALUES (?, ?, ?, ?)
        ON CONFLICT (connection_id, target, outcome)
            DO UPDATE SET count = event_counts.count + excluded.count
        """,
        changes,
    )


def recount_events(cursor: sqlite3.Cursor, connection_id: str) -> None:
    """Count a connection's events again from the table (when a batch's tally is unsure)."""
    cursor.execute("DELETE FROM event_counts WHERE connection_id = ?", (connection_id,))
    cursor.execute(
        """
        INSERT INTO event_counts (connection_id, target, outcome, count)
        SELECT connection_id, target, outcome, COUNT(*) FROM events WHERE connection_id = ?
        GROUP BY connection_id, target, outcome
        """,
        (connection_id,),
    )


@dataclass(frozen=True, slots=True)
class FailureCount:
    """A failure group: the app that refused the write and the error's fingerprint."""

    app: Side
    fingerprint: str
    count: int


@dataclass(frozen=True, slots=True)
class MaintainedCounts:
    """Every count of one connection's summary, as maintained by the ingest.

    `statuses` has every status (0 when none); `excluded` every reason; `failures` the
    failure groups of failing contacts, largest first; `actions[app][outcome]` the events
    that wrote into `app` with outcome created or updated.
    """

    statuses: dict[Status, int]
    excluded: dict[Reason, int]
    failures: list[FailureCount] = field(default_factory=list)
    actions: dict[Side, dict[Outcome, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def read_counts(source: Engine | SAConnection, connection_id: str) -> MaintainedCounts:
    """The maintained counts of a connection (a few rows read, whatever its size).

    `source` is an engine, or an open connection (to read inside a snapshot together with
    other queries).
    """
    if isinstance(source, Engine):
        with source.connect() as connection:
            return read_counts(connection, connection_id)
    contact_rows = source.exec_driver_sql(
        "SELECT status, reason, failure_app, fingerprint, count FROM contact_counts "
        "WHERE connection_id = ?",
        (connection_id,),
    ).all()
    event_rows = source.exec_driver_sql(
        "SELECT target, outcome, count FROM event_counts WHERE connection_id = ?",
        (connection_id,),
    ).all()
    statuses = dict.fromkeys(STATUS_ORDER, 0)
    excluded = dict.fromkeys(Reason, 0)
    failures: Counter[tuple[str, str]] = Counter()
    for status, reason, failure_app, fingerprint, count in contact_rows:
        statuses[Status(status)] += count
        if status == Status.EXCLUDED.value and reason:
            excluded[Reason(reason)] += count
        if status == Status.FAILING.value and failure_app:
            failures[(failure_app, fingerprint)] += count
    actions = {side: {Outcome.CREATED: 0, Outcome.UPDATED: 0} for side in Side}
    for target, outcome, count in event_rows:
        if outcome in (Outcome.CREATED.value, Outcome.UPDATED.value):
            actions[Side(target)][Outcome(outcome)] += count
    return MaintainedCounts(
        statuses=statuses,
        excluded=excluded,
        failures=[
            FailureCount(Side(app), fingerprint, count)
            for (app, fingerprint), count in sorted(
                failures.items(), key=lambda item: (-item[1], item[0])
            )
        ],
        actions=actions,
    )
