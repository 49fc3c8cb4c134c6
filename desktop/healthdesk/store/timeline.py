"""Read the event history: the activity timeline, and the contacts behind each number of
the summary of performed actions (README, "What each status means": events and actions).

Nothing here decides a status. An event names its record by `(app, ext_id)`; the record
leads to the visible contact holding it (`contacts.rid` for an anchor or single record,
`contacts.b_rid` for the b-record of a pair). A hidden record (one-way connection) or a
record the database does not hold has no contact.

Costs (measured on a generated 200,000-contact database, 215,350 events in one connection):
- `page` walks the primary key (connection_id, seq) backwards from `before_seq` (keyset
  pagination, never OFFSET): 1-5 ms for 200 events, at the top or deep in history.
- `count` is a range of the primary key: ~5 ms.
- `action_contact_keys` reads the connection's events once (no index serves `outcome`
  and `target`), then sorts the contacts concerned by name: 120-150 ms for 25,000-50,000
  contacts. It is meant to run once per list on a worker, after which
  `store.pages.rows_by_key` fills any window in ~2 ms. `count_action_contacts`: ~90 ms.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from healthdesk.core.contacts import ContactView
from healthdesk.core.model import Outcome, Side
from healthdesk.core.words import ACTION_OUTCOMES
from healthdesk.store import activity, dialect, pages
from healthdesk.store.retries import RetryAudit, audit_entries

__all__ = [
    "ACTION_OUTCOMES",
    "ActionContacts",
    "TimelineEntry",
    "TimelinePage",
    "action_contact_keys",
    "count",
    "count_action_contacts",
    "page",
    "page_action_contacts",
    "page_with_retries",
]

#: The outcomes the summary of performed actions counts (writes into the target app).
# SQLite virtual machine steps between two checks of `cancelled`.
_CANCEL_CHECK_STEPS = 20_000

#: The visible contact holding the record `r` (NULL when hidden or `r` is NULL).
_CONTACT_OF_RECORD = """
    COALESCE(
        (SELECT c.rid FROM contacts c WHERE c.rid = r.rid),
        (SELECT c.rid FROM contacts c WHERE c.b_rid = r.rid)
    )
"""
_JOIN_RECORD = (
    "LEFT JOIN records r ON r.connection_id = e.connection_id "
    "AND r.app = e.app AND r.ext_id = e.ext_id"
)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event of the history, with what the timeline shows of its record.

    `app` and `record_id` name the record the event is about (the app it lives in);
    `target` is the app written into (or refused). `record_name` is "" when the database
    does not hold the record. `contact_key` is the visible contact holding the record,
    None when the record is hidden (one-way connection) or unknown. Customer text is
    kept exactly as the apps sent it.
    """

    seq: int
    at: str
    app: Side
    record_id: str
    record_name: str
    outcome: Outcome
    target: Side
    error_code: str | None
    error_message: str | None
    contact_key: int | None


@dataclass(frozen=True, slots=True)
class ActionContacts:
    """The contacts concerned by one number of the summary of performed actions.

    `events`: how many events the number counts (the summary's number). `keys`: the
    distinct visible contacts whose records those events were about, ordered by name then
    key (8 bytes per contact). Events of hidden or unknown records count in `events` only.
    """

    events: int
    keys: array[int] = field(default_factory=lambda: array("q"))

    @property
    def contacts(self) -> int:
        return len(self.keys)


def count(engine: Engine, connection_id: str) -> int:
    """The number of events of a connection."""
    with engine.connect() as db:
        value = db.exec_driver_sql(
            "SELECT COUNT(*) FROM events WHERE connection_id = ?", (connection_id,)
        )
        return int(value.scalar_one())


def page(
    engine: Engine,
    connection_id: str,
    *,
    before_seq: int | None,
    limit: int,
    day: str | None = None,
) -> list[TimelineEntry]:
    """Up to `limit` events, most recent first (seq descending), all older than
    `before_seq` (None: from the most recent). The next page starts before the last
    entry's `seq`; a page shorter than `limit` is the last one.

    `day` ("YYYY-MM-DD", UTC): only that day's events, read within the day's seq range
    (store.activity), so an old day costs no walk through the newer history.
    """
    if limit <= 0:
        return []
    low, high = 0, 2**63 - 1
    day_filter = ""
    if day is not None:
        found = activity.day_range(engine, connection_id, day)
        if found is None:
            return []
        low, high = found
        day_filter = "AND substr(e.at, 1, 10) = ?"
    sql = f"""
        SELECT e.seq, e.at, e.app, e.ext_id, r.name, e.outcome, e.target,
            e.error_code, e.error_message, {_CONTACT_OF_RECORD}
        FROM events e {_JOIN_RECORD}
        WHERE e.connection_id = ? AND e.seq < ? AND e.seq BETWEEN ? AND ? {day_filter}
        ORDER BY e.seq DESC
        LIMIT ?
    """
    # seq is an SQLite integer: 2**63 - 1 is above any of them.
    before = before_seq if before_seq is not None else 2**63 - 1
    params: tuple[object, ...] = (connection_id, before, low, high)
    if day is not None:
        params += (day,)
    with engine.connect() as db:
        result = db.exec_driver_sql(sql, (*params, limit))
        return [
            TimelineEntry(
                seq=seq,
                at=at,
                app=Side(app),
                record_id=ext_id,
                record_name=name or "",
                outcome=Outcome(outcome),
                target=Side(target),
                error_code=code,
                error_message=message,
                contact_key=key,
            )
            for (seq, at, app, ext_id, name, outcome, target, code, message, key) in result
        ]


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """A page of the timeline: events and the retries asked among them, most recent
    first. `events` is how many of the entries are events (a page with fewer than its
    limit is the last one); the next page starts before `next_seq` (None: the end)."""

    entries: list[TimelineEntry | RetryAudit]
    events: int
    next_seq: int | None


def page_with_retries(
    engine: Engine,
    connection_id: str,
    *,
    before_seq: int | None,
    limit: int,
    day: str | None = None,
) -> TimelinePage:
    """`page`, with the retries the agent asked (store.retries' audit log) among the
    events: a retry asked when event N was the latest comes right above event N. Every
    retry of the range is on the page; the last page also has those before any event.
    With `day`, that day's events and the retries asked that day (UTC)."""
    events = page(engine, connection_id, before_seq=before_seq, limit=limit, day=day)
    last = len(events) < limit
    low = None if last else events[-1].seq
    retries = audit_entries(engine, connection_id, low_seq=low, before_seq=before_seq)
    if day is not None:
        retries = [retry for retry in retries if retry.at[:10] == day]
    entries: list[TimelineEntry | RetryAudit] = []
    pending = iter(retries)
    retry = next(pending, None)
    for event in events:
        while retry is not None and retry.after_seq >= event.seq:
            entries.append(retry)
            retry = next(pending, None)
        entries.append(event)
    while retry is not None:
        entries.append(retry)
        retry = next(pending, None)
    return TimelinePage(entries, len(events), None if last else events[-1].seq)


def _check_action(outcome: Outcome) -> None:
    if outcome not in ACTION_OUTCOMES:
        raise ValueError(f"not an action of the summary: {outcome!r}")


def action_contact_keys(
    engine: Engine,
    connection_id: str,
    target: Side,
    outcome: Outcome,
    *,
    cancelled: Callable[[], bool] | None = None,
) -> ActionContacts:
    """The events that `outcome` (created or updated) wrote into `target`, and the
    distinct contacts they concern, ordered by name (one statement, one snapshot).

    `cancelled` is polled while SQLite works; when it turns true the query stops and
    `sqlite3.OperationalError` ("interrupted") is raised.
    """
    _check_action(outcome)
    # Materialized: inlined, SQLite would evaluate the contact lookup once per use of it.
    sql = f"""
        WITH k AS MATERIALIZED (
            SELECT {_CONTACT_OF_RECORD} AS key
            FROM events e {_JOIN_RECORD}
            WHERE e.connection_id = ? AND e.target = ? AND e.outcome = ?
        ),
        g AS MATERIALIZED (SELECT key, COUNT(*) AS n FROM k GROUP BY key)
        SELECT g.key, g.n FROM g LEFT JOIN contacts c ON c.rid = g.key
        ORDER BY g.key IS NULL, {{name}}, g.key
    """
    stop = cancelled or (lambda: False)
    keys: array[int] = array("q")
    events = 0
    with engine.connect() as db:
        if dialect.is_postgres(db):
            # By name as SQLite's NOCASE column sorts it.
            sql = sql.replace("{name}", dialect.nocase("c.name", dialect.POSTGRES))
            params = (connection_id, target.value, outcome.value)
            for chunk in dialect.stream(db, sql, params, stop):
                for key, n in chunk:
                    events += n
                    if key is not None:
                        keys.append(key)
            return ActionContacts(events=events, keys=keys)
        sql = sql.replace("{name}", "c.name")
        dbapi = db.connection.driver_connection
        assert isinstance(dbapi, sqlite3.Connection)
        dbapi.set_progress_handler(lambda: 1 if stop() else 0, _CANCEL_CHECK_STEPS)
        try:
            cursor = dbapi.execute(sql, (connection_id, target.value, outcome.value))
            while chunk := cursor.fetchmany(8192):
                for key, n in chunk:
                    events += n
                    if key is not None:
                        keys.append(key)
                if stop():
                    raise dialect.Interrupted
        finally:
            dbapi.set_progress_handler(None, 0)
    return ActionContacts(events=events, keys=keys)


def count_action_contacts(
    engine: Engine, connection_id: str, target: Side, outcome: Outcome
) -> int:
    """The number of distinct contacts concerned by the events that `outcome` (created or
    updated) wrote into `target`: the length of `action_contact_keys(...).keys`."""
    _check_action(outcome)
    sql = f"""
        SELECT COUNT(DISTINCT {_CONTACT_OF_RECORD})
        FROM events e {_JOIN_RECORD}
        WHERE e.connection_id = ? AND e.target = ? AND e.outcome = ?
    """
    with engine.connect() as db:
        value = db.exec_driver_sql(sql, (connection_id, target.value, outcome.value))
        return int(value.scalar_one())


def page_action_contacts(
    engine: Engine,
    connection_id: str,
    target: Side,
    outcome: Outcome,
    *,
    offset: int,
    limit: int,
) -> list[ContactView]:
    """Rows `offset` to `offset + limit` (fewer at the end) of the contacts concerned,
    by name, as the lists read them.

    Each call reads the events again; a list shown in windows should call
    `action_contact_keys` once and `pages.rows_by_key` per window instead.
    """
    if limit <= 0 or offset < 0:
        return []
    wanted = action_contact_keys(engine, connection_id, target, outcome).keys[
        offset : offset + limit
    ]
    found = pages.rows_by_key(engine, wanted)
    return [found[key] for key in wanted if key in found]
