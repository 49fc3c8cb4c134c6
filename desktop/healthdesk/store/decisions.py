"""Gather the facts the health engine needs, let it decide, store its decisions.

The store never decides a status itself: it reads records, mappings and latest write
events, hands them to `core.health.decide`, and writes each `Decision` as a `contacts`
row, which every list, count and export then reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from healthdesk.core.health import Decision, RecordFacts, decide
from healthdesk.core.model import WRITE_OUTCOMES, Outcome, Settings, Side
from healthdesk.core.rules import Predicate

_SIDE = {"a": Side.A, "b": Side.B}
_WRITES = tuple(sorted(outcome.value for outcome in WRITE_OUTCOMES))
_FAILED = Outcome.FAILED.value
_CHUNK = 900

_RECORD_COLUMNS = "rid, app, ext_id, name, email, email_norm, created_at, deleted, matches"
_LATEST_WRITE = f"""
    SELECT app, ext_id, MAX(seq), outcome, at, target, fingerprint FROM events
    WHERE connection_id = ? AND outcome IN ({", ".join("?" * len(_WRITES))}) {{where}}
    GROUP BY app, ext_id
"""  # SQLite takes the bare columns from the row holding MAX(seq): the latest write.

_INSERT_CONTACT = """
    INSERT INTO contacts (rid, connection_id, status, reason, side, a_rid, b_rid, name, email,
        since, duplicate_of, failure_seq, failure_app, failure_at, fingerprint, opposite_deleted)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

#: A latest write event: (seq, outcome, at, target, fingerprint).
_Write = tuple[int, str, str, str, str | None]


class _Facts:
    """Records of one connection as the engine sees them, plus what rows need to show."""

    def __init__(self) -> None:
        self.records: dict[int, RecordFacts] = {}
        self.display: dict[int, tuple[str, str]] = {}
        self.rid_of: dict[tuple[str, str], int] = {}
        self.rows: list[tuple[Any, ...]] = []

    def add_rows(self, rows: Iterable[tuple[Any, ...]]) -> None:
        for row in rows:
            if row[0] not in self.records:
                self.rows.append(row)
                self.records[row[0]] = None  # type: ignore[assignment]  # filled by build()
                self.rid_of[(row[1], row[2])] = row[0]

    def build(self, latest: Mapping[tuple[str, str], _Write]) -> None:
        side = _SIDE
        for rid, app, ext_id, name, email, email_norm, created_at, deleted, matches in self.rows:
            write = latest.get((app, ext_id))
            self.records[rid] = RecordFacts(
                key=rid,
                app=side[app],
                id=ext_id,
                email=email_norm,
                created_at=created_at,
                matches=bool(matches),
                deleted=bool(deleted),
                last_write_seq=write[0] if write else None,
                last_write_failed=write is not None and write[1] == _FAILED,
            )
            self.display[rid] = (name, email)
        self.rows = []


def record_count(cursor: sqlite3.Cursor, connection_id: str) -> int:
    (count,) = cursor.execute(
        "SELECT COUNT(*) FROM records WHERE connection_id = ?", (connection_id,)
    ).fetchone()
    return int(count)


def rematch(
    cursor: sqlite3.Cursor, connection_id: str, predicates: Mapping[Side, Predicate]
) -> int:
    """Evaluate every record of a connection against (new) rules; return how many changed."""
    changed = []
    for rid, app, name, email, fields, matches in cursor.execute(
        "SELECT rid, app, name, email, fields, matches FROM records WHERE connection_id = ?",
        (connection_id,),
    ).fetchall():
        now = predicates[_SIDE[app]](name, email, orjson.loads(fields))
        if now != bool(matches):
            changed.append((now, rid))
    cursor.executemany("UPDATE records SET matches = ? WHERE rid = ?", changed)
    return len(changed)


def decide_all(cursor: sqlite3.Cursor, connection_id: str, settings: Settings) -> int:
    """Decide every contact of a connection afresh; return how many there are."""
    facts = _Facts()
    facts.add_rows(
        cursor.execute(
            f"SELECT {_RECORD_COLUMNS} FROM records WHERE connection_id = ?", (connection_id,)
        )
    )
    latest = _latest_writes(cursor, connection_id, "", ())
    facts.build(latest)
    pairs, since = _pairs(
        facts,
        cursor.execute(
            "SELECT a_id, b_id, since FROM mappings WHERE connection_id = ?", (connection_id,)
        ),
    )
    cursor.execute("DELETE FROM contacts WHERE connection_id = ?", (connection_id,))
    return _store(cursor, connection_id, settings, facts, pairs, since, latest)


def decide_some(
    cursor: sqlite3.Cursor,
    connection_id: str,
    settings: Settings,
    *,
    records: Iterable[tuple[str, str]],
    groups: Iterable[tuple[str, str]],
) -> int:
    """Decide again the contacts that changed records and email groups can have affected.

    The scope: the changed records; their mapping partners (whose being mapped may have
    changed with them); every record of the email groups of all those, old and new (a
    duplicate's original is decided among them); and the partners of the mapped records
    in those groups, to form their pairs. The result equals what `decide_all` would store
    for these contacts.
    """
    facts = _Facts()
    facts.add_rows(_select_records(cursor, connection_id, "ext_id", set(records)))
    mapping_rows = _mappings_of(cursor, connection_id, facts.rid_of)
    facts.add_rows(_select_records(cursor, connection_id, "ext_id", _partners(mapping_rows)))
    all_groups = {(app, norm) for app, norm in groups if norm}
    all_groups.update((row[1], row[5]) for row in facts.rows if row[5])
    facts.add_rows(_select_records(cursor, connection_id, "email_norm", all_groups))
    mapping_rows.update(_mappings_of(cursor, connection_id, facts.rid_of))
    missing = _partners(mapping_rows) - set(facts.rid_of)
    facts.add_rows(_select_records(cursor, connection_id, "ext_id", missing))

    loaded = list(facts.rid_of)
    latest: dict[tuple[str, str], _Write] = {}
    for app in ("a", "b"):
        ids = [ext_id for side, ext_id in loaded if side == app]
        for chunk in _chunked(ids):
            latest.update(
                _latest_writes(
                    cursor,
                    connection_id,
                    f"AND app = ? AND ext_id IN ({_marks(chunk)})",
                    (app, *chunk),
                )
            )
    facts.build(latest)
    pairs, since = _pairs(facts, mapping_rows.values())

    rids = list(facts.records)
    for chunk in _chunked(rids):
        marks = _marks(chunk)
        cursor.execute(
            f"DELETE FROM contacts WHERE rid IN ({marks}) OR b_rid IN ({marks})",
            (*chunk, *chunk),
        )
    return _store(cursor, connection_id, settings, facts, pairs, since, latest)


def _mappings_of(
    cursor: sqlite3.Cursor, connection_id: str, keys: Iterable[tuple[str, str]]
) -> dict[str, tuple[str, str, str | None]]:
    """The mappings of the records `keys` ((app, app id) pairs), by a-record id."""
    found: dict[str, tuple[str, str, str | None]] = {}
    by_app: dict[str, list[str]] = {"a": [], "b": []}
    for app, ext_id in keys:
        by_app[app].append(ext_id)
    for app, column in (("a", "a_id"), ("b", "b_id")):
        for chunk in _chunked(by_app[app]):
            for row in cursor.execute(
                f"SELECT a_id, b_id, since FROM mappings WHERE connection_id = ? "
                f"AND {column} IN ({_marks(chunk)})",
                (connection_id, *chunk),
            ):
                found[row[0]] = row
    return found


def _partners(mappings: Mapping[str, tuple[str, str, str | None]]) -> set[tuple[str, str]]:
    keys = {("a", a) for a, _, _ in mappings.values()}
    keys.update(("b", b) for _, b, _ in mappings.values())
    return keys


def _select_records(
    cursor: sqlite3.Cursor, connection_id: str, column: str, keys: Iterable[tuple[str, str]]
) -> list[tuple[Any, ...]]:
    by_app: dict[str, list[str]] = {}
    for app, value in keys:
        by_app.setdefault(app, []).append(value)
    rows: list[tuple[Any, ...]] = []
    for app, values in by_app.items():
        for chunk in _chunked(sorted(values)):
            rows.extend(
                cursor.execute(
                    f"SELECT {_RECORD_COLUMNS} FROM records WHERE connection_id = ? AND app = ? "
                    f"AND {column} IN ({_marks(chunk)})",
                    (connection_id, app, *chunk),
                )
            )
    return rows


def _latest_writes(
    cursor: sqlite3.Cursor, connection_id: str, where: str, params: tuple[str, ...]
) -> dict[tuple[str, str], _Write]:
    return {
        (app, ext_id): (seq, outcome, at, target, fp)
        for app, ext_id, seq, outcome, at, target, fp in cursor.execute(
            _LATEST_WRITE.format(where=where), (connection_id, *_WRITES, *params)
        )
    }


def _pairs(
    facts: _Facts, mappings: Iterable[tuple[str, str, str | None]]
) -> tuple[list[tuple[int, int]], dict[int, str | None]]:
    """Mappings whose two records are both known; a mapping naming a record the feed has
    not (yet) sent leaves the other record unmapped."""
    pairs = []
    since: dict[int, str | None] = {}
    rid_of = facts.rid_of
    for a_id, b_id, mapped_since in mappings:
        a = rid_of.get(("a", a_id))
        b = rid_of.get(("b", b_id))
        if a is not None and b is not None:
            pairs.append((a, b))
            since[a] = mapped_since
    return pairs, since


def _store(
    cursor: sqlite3.Cursor,
    connection_id: str,
    settings: Settings,
    facts: _Facts,
    pairs: list[tuple[int, int]],
    since: Mapping[int, str | None],
    latest: Mapping[tuple[str, str], _Write],
) -> int:
    failures = {write[0]: write for write in latest.values() if write[1] == _FAILED}
    display = facts.display
    rows = [
        _row(connection_id, decision, display, since, failures)
        for decision in decide(settings, facts.records.values(), pairs)
    ]
    cursor.executemany(_INSERT_CONTACT, rows)
    return len(rows)


def _row(
    connection_id: str,
    decision: Decision,
    display: Mapping[int, tuple[str, str]],
    since: Mapping[int, str | None],
    failures: Mapping[int, _Write],
) -> tuple[Any, ...]:
    a, b = decision.a, decision.b
    if a is not None and b is not None:
        a_name, a_email = display[a]
        b_name, b_email = display[b]
        name, email, side = a_name.strip() or b_name, a_email.strip() or b_email, None
        anchor = a
    else:
        anchor = decision.anchor
        name, email = display[anchor]
        side = "a" if a is not None else "b"
    failure = failures.get(decision.failure_seq) if decision.failure_seq is not None else None
    return (
        anchor,
        connection_id,
        decision.status.value,
        decision.reason.value if decision.reason else None,
        side,
        a,
        b,
        name,
        email.strip(),
        since.get(anchor) if side is None else None,
        decision.duplicate_of,
        decision.failure_seq,
        failure[3] if failure else None,
        failure[2] if failure else None,
        failure[4] if failure else None,
        decision.opposite_deleted,
    )


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))


def _chunked(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
