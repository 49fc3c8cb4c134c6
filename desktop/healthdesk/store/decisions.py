"""Gather the facts the health engine needs, let it decide, store its decisions.

The store never decides a status itself: it reads records, mappings and latest write
events, hands them to `core.health.decide`, and writes each `Decision` as a `contacts`
row, which every list, count and export then reads. SQLite does the joins (latest write
per record, the records of each mapping, the names and failure shown on each row), so
that Python touches each record once, on imports of millions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from healthdesk.core.health import RecordFacts, decide
from healthdesk.core.model import WRITE_OUTCOMES, Outcome, Settings, Side
from healthdesk.core.rules import Predicate

_SIDE = {"a": Side.A, "b": Side.B}
_CHUNK = 900
_WRITES = ", ".join(f"'{outcome.value}'" for outcome in sorted(WRITE_OUTCOMES))

# The latest write event of a record as one number, seq * 2 + (1 if it failed): seqs are
# unique per connection, so the largest such number is the latest write.
_FACTS_SELECT = f"""
    SELECT r.rid, r.app, r.ext_id, r.email_norm, r.created_at, r.matches, r.deleted,
        (SELECT MAX(e.seq * 2 + (e.outcome = '{Outcome.FAILED.value}')) FROM events e
         WHERE e.connection_id = r.connection_id AND e.app = r.app AND e.ext_id = r.ext_id
           AND e.outcome IN ({_WRITES}))
    FROM records r
"""

_PAIRS_SELECT = """
    SELECT ra.rid, rb.rid FROM mappings m
    JOIN records ra ON ra.connection_id = m.connection_id AND ra.app = 'a' AND ra.ext_id = m.a_id
    JOIN records rb ON rb.connection_id = m.connection_id AND rb.app = 'b' AND rb.ext_id = m.b_id
"""

# Display columns come from the records, the pair's `since` from its mapping and the
# failure shown from its event, joined here rather than carried through Python.
_INSERT_CONTACT = """
    INSERT INTO contacts (rid, connection_id, status, reason, side, a_rid, b_rid,
        duplicate_of, failure_seq, opposite_deleted, name, email, since, failure_app,
        failure_at, fingerprint)
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,
        COALESCE(NULLIF(TRIM(ra.name), ''), NULLIF(TRIM(rb.name), ''), ''),
        COALESCE(NULLIF(TRIM(ra.email), ''), NULLIF(TRIM(rb.email), ''), ''),
        CASE WHEN ?5 IS NULL THEN m.since END,
        e.target, e.at, e.fingerprint
    FROM (SELECT 1)
    LEFT JOIN records ra ON ra.rid = ?6
    LEFT JOIN records rb ON rb.rid = ?7
    LEFT JOIN mappings m ON ?5 IS NULL AND m.connection_id = ?2 AND m.a_id = ra.ext_id
    LEFT JOIN events e ON ?9 IS NOT NULL AND e.connection_id = ?2 AND e.seq = ?9
"""


def _facts(rows: Iterable[tuple[Any, ...]]) -> dict[int, RecordFacts]:
    side = _SIDE
    facts: dict[int, RecordFacts] = {}
    for rid, app, ext_id, email_norm, created_at, matches, deleted, write in rows:
        facts[rid] = RecordFacts(
            rid,
            side[app],
            ext_id,
            email_norm,
            created_at,
            matches == 1,
            deleted == 1,
            None if write is None else write >> 1,
            write is not None and write & 1 == 1,
        )
    return facts


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
    # A connection's records mostly sit in one run of rids (imports append): scanning
    # that run reads the table in order, where the index would jump about.
    low, high = cursor.execute(
        "SELECT MIN(rid), MAX(rid) FROM records WHERE connection_id = ?", (connection_id,)
    ).fetchone()
    cursor.execute("DELETE FROM contacts WHERE connection_id = ?", (connection_id,))
    if low is None:
        return 0
    facts = _facts(
        cursor.execute(
            _FACTS_SELECT + " WHERE r.rid BETWEEN ? AND ? AND +r.connection_id = ?",
            (low, high, connection_id),
        )
    )
    pairs = cursor.execute(_PAIRS_SELECT + " WHERE m.connection_id = ?", (connection_id,))
    return _store(cursor, connection_id, settings, facts, pairs.fetchall())


def decide_some(
    cursor: sqlite3.Cursor,
    connection_id: str,
    settings: Settings,
    *,
    records: Iterable[tuple[str, str]],
    groups: Iterable[tuple[str, str]],
) -> int:
    """Decide again the contacts that changed records and email groups can have affected;
    return how many stored contacts this changed (added, removed or altered).

    The scope: the changed records; their mapping partners (whose being mapped may have
    changed with them); every record of the email groups of all those, old and new (a
    duplicate's original is decided among them); and the partners of the mapped records
    in those groups, to form their pairs. The result equals what `decide_all` would store
    for these contacts.
    """
    facts: dict[int, RecordFacts] = {}

    def load(column: str, keys: Iterable[tuple[str, str]]) -> None:
        facts.update(_facts(_select_records(cursor, connection_id, column, keys)))

    def loaded_keys() -> set[tuple[str, str]]:
        return {(fact.app.value, fact.id) for fact in facts.values()}

    load("ext_id", set(records))
    mapping_rows = _mappings_of(cursor, connection_id, loaded_keys())
    load("ext_id", _partners(mapping_rows) - loaded_keys())
    all_groups = {(app, norm) for app, norm in groups if norm}
    all_groups.update((fact.app.value, fact.email) for fact in facts.values() if fact.email)
    load("email_norm", all_groups)
    mapping_rows.update(_mappings_of(cursor, connection_id, loaded_keys()))
    load("ext_id", _partners(mapping_rows) - loaded_keys())

    rid_of = {(fact.app.value, fact.id): rid for rid, fact in facts.items()}
    pairs = []
    for a_id, b_id in mapping_rows.items():
        a, b = rid_of.get(("a", a_id)), rid_of.get(("b", b_id))
        if a is not None and b is not None:
            pairs.append((a, b))

    rids = list(facts)
    before = _contact_rows(cursor, rids)
    for chunk in _chunked(rids):
        marks = _marks(chunk)
        cursor.execute(
            f"DELETE FROM contacts WHERE rid IN ({marks}) OR b_rid IN ({marks})",
            (*chunk, *chunk),
        )
    _store(cursor, connection_id, settings, facts, pairs)
    after = _contact_rows(cursor, rids)
    return len(before.keys() ^ after.keys()) + sum(
        1 for rid, row in after.items() if rid in before and before[rid] != row
    )


def _contact_rows(cursor: sqlite3.Cursor, rids: list[int]) -> dict[int, tuple[Any, ...]]:
    """The stored contacts of these records (as anchor or b-record), by anchor."""
    rows: dict[int, tuple[Any, ...]] = {}
    for chunk in _chunked(rids):
        marks = _marks(chunk)
        for row in cursor.execute(
            f"SELECT * FROM contacts WHERE rid IN ({marks}) OR b_rid IN ({marks})",
            (*chunk, *chunk),
        ):
            rows[row[0]] = tuple(row)
    return rows


def _mappings_of(
    cursor: sqlite3.Cursor, connection_id: str, keys: Iterable[tuple[str, str]]
) -> dict[str, str]:
    """The mappings of the records `keys` ((app, app id) pairs), a-record id -> b-record id."""
    found: dict[str, str] = {}
    by_app: dict[str, list[str]] = {"a": [], "b": []}
    for app, ext_id in keys:
        by_app[app].append(ext_id)
    for app, column in (("a", "a_id"), ("b", "b_id")):
        for chunk in _chunked(sorted(by_app[app])):
            for a_id, b_id in cursor.execute(
                f"SELECT a_id, b_id FROM mappings WHERE connection_id = ? "
                f"AND {column} IN ({_marks(chunk)})",
                (connection_id, *chunk),
            ):
                found[a_id] = b_id
    return found


def _partners(mappings: Mapping[str, str]) -> set[tuple[str, str]]:
    keys = {("a", a) for a in mappings}
    keys.update(("b", b) for b in mappings.values())
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
                    _FACTS_SELECT + f" WHERE r.connection_id = ? AND r.app = ? "
                    f"AND r.{column} IN ({_marks(chunk)})",
                    (connection_id, app, *chunk),
                )
            )
    return rows


def _store(
    cursor: sqlite3.Cursor,
    connection_id: str,
    settings: Settings,
    facts: dict[int, RecordFacts],
    pairs: Iterable[tuple[int, int]],
) -> int:
    # A generator: executemany streams the rows, a million of them never sit in a list.
    rows = (
        (
            decision.anchor,
            connection_id,
            decision.status,
            decision.reason,
            None
            if decision.a is not None and decision.b is not None
            else ("a" if decision.a is not None else "b"),
            decision.a,
            decision.b,
            decision.duplicate_of,
            decision.failure_seq,
            decision.opposite_deleted,
        )
        for decision in decide(settings, facts.values(), pairs)
    )
    before = cursor.connection.total_changes
    cursor.executemany(_INSERT_CONTACT, rows)
    return cursor.connection.total_changes - before


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))


def _chunked(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
