"""Gather the facts the health engine needs, let it decide, store its decisions.

The store never decides a status itself: it reads records, mappings and latest write
events, hands them to `core.health.decide`, and writes each `Decision` as a `contacts`
row, which every list, count and export then reads. SQLite does the joins (latest write
per record, the records of each mapping, the names and failure shown on each row), so
that Python touches each record once, on imports of millions.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from healthdesk.core.health import Decision, RecordFacts, decide
from healthdesk.core.model import WRITE_OUTCOMES, Outcome, Settings, Side
from healthdesk.core.rules import Predicate
from healthdesk.store import counts, dialect, search_index

_SIDE = {"a": Side.A, "b": Side.B}
_CHUNK = 900
#: Contacts decided and written per step of a full decision: memory stays flat.
_BATCH = 5000
_WRITES = ", ".join(f"'{outcome.value}'" for outcome in sorted(WRITE_OUTCOMES))
#: Write outcomes that leave the write unsettled: it failed, or a retry is queued.
_UNSETTLED = f"'{Outcome.FAILED.value}', '{Outcome.QUEUED.value}'"


def _facts_columns(r: str) -> str:
    """The columns `_facts` reads, of the records aliased `r`.

    The latest write event of a record as one number, seq * 2 + (1 if it is unsettled:
    failed or queued): seqs are unique per connection, so the largest such number is the
    latest write. Which of the two an unsettled write is, `_facts` looks up for those few.
    """
    return f"""{r}.rid, {r}.app, {r}.ext_id, {r}.email_norm, {r}.created_at, {r}.matches,
        {r}.deleted,
        (SELECT MAX(e.seq * 2 + CASE WHEN e.outcome IN ({_UNSETTLED}) THEN 1 ELSE 0 END)
         FROM events e WHERE e.connection_id = {r}.connection_id AND e.app = {r}.app
           AND e.ext_id = {r}.ext_id AND e.outcome IN ({_WRITES})),
        {r}.name, {r}.email"""


_FACTS_WIDTH = 10
_FACTS_SELECT = f"SELECT {_facts_columns('r')} FROM records r"

#: Every mapping of a connection whose two records are stored, with both records' facts.
_PAIRS_STREAM = f"""
    SELECT {_facts_columns("ra")}, {_facts_columns("rb")}, m.since FROM mappings m
    JOIN records ra ON ra.connection_id = m.connection_id AND ra.app = 'a' AND ra.ext_id = m.a_id
    JOIN records rb ON rb.connection_id = m.connection_id AND rb.app = 'b' AND rb.ext_id = m.b_id
    WHERE m.connection_id = ?1
"""

#: SQLite's (PostgreSQL's is `_groups_query_pg`): every record of a connection by
#: duplicate group (app, normalized email), flagged when
#: it is in a pair (`{in_r}`, `_in_paired`: its rid in the temporary table `paired`, which
#: the pairs' pass fills, or in the CTE `paired_rids` of `PAIRED_QUERY` on a connection
#: that must not write); a paired record's latest write is not needed here (its pair is
#: decided already). `{where}`: with duplicate checks `_GROUPS_WITH_SINGLES`; without,
#: `_SINGLES_IN_TABLE_ORDER`: only the single records, in table order (a record in a pair
#: then competes with no one). `{joins}`: none on SQLite.
_GROUPS_STREAM = f"""
    SELECT r.rid, r.app, r.ext_id, r.email_norm, r.created_at, r.matches, r.deleted,
        CASE WHEN {{in_r}} THEN NULL ELSE
        (SELECT MAX(e.seq * 2 + CASE WHEN e.outcome IN ({_UNSETTLED}) THEN 1 ELSE 0 END)
         FROM events e
         WHERE e.connection_id = r.connection_id AND e.app = r.app
           AND e.ext_id = r.ext_id AND e.outcome IN ({_WRITES})) END,
        r.name, r.email, {{in_r}}
    FROM records r {{joins}} WHERE {{where}}
"""

#: The records of a connection by duplicate group, the records in a pair only in groups
#: that hold a single record (elsewhere they compete with no one); the index on
#: (connection_id, app, email_norm) answers whether a group does.
_GROUPS_WITH_SINGLES = """
    r.connection_id = ?1 AND ({not_in_r} OR (r.email_norm <> '' AND EXISTS (
        SELECT 1 FROM records s WHERE s.connection_id = ?1 AND s.app = r.app
            AND s.email_norm = r.email_norm AND {not_in_s})))
    ORDER BY r.app, r.email_norm
"""

#: The single records of a connection in table order (its run of rids read in sequence,
#: not through an index a row at a time: `+` keeps SQLite off the index).
_SINGLES_IN_TABLE_ORDER = """
    r.rid BETWEEN (SELECT MIN(rid) FROM records WHERE connection_id = ?1)
        AND (SELECT MAX(rid) FROM records WHERE connection_id = ?1)
    AND +r.connection_id = ?1 AND {not_in_r}
"""

#: The records in a pair (both of a mapping's records stored), as `_PAIRS_STREAM` reads
#: them: the set `temp.paired` holds after the pairs' pass, computed by SQLite instead
#: (a connection that must not write cannot fill a temporary table).
#: Its one parameter (?1) is the connection id.
PAIRED_QUERY = """(
    SELECT ra.rid FROM mappings m
    JOIN records ra ON ra.connection_id = m.connection_id AND ra.app = 'a' AND ra.ext_id = m.a_id
    JOIN records rb ON rb.connection_id = m.connection_id AND rb.app = 'b' AND rb.ext_id = m.b_id
    WHERE m.connection_id = ?1
    UNION ALL
    SELECT rb.rid FROM mappings m
    JOIN records ra ON ra.connection_id = m.connection_id AND ra.app = 'a' AND ra.ext_id = m.a_id
    JOIN records rb ON rb.connection_id = m.connection_id AND rb.app = 'b' AND rb.ext_id = m.b_id
    WHERE m.connection_id = ?1)"""


def _groups_query_pg(write_paired: bool, avoid_duplicates: bool) -> str:
    """`_GROUPS_STREAM` for PostgreSQL: the pairs' set and the groups holding a single
    record joined, not asked per record. PostgreSQL runs a correlated subquery per row,
    and once a set outgrows its hash memory, as at a million contacts, that subquery
    scanned the whole set for each record: the groups' pass did not end in 15 minutes.
    """
    if write_paired:
        ctes, paired = [], "pg_temp.paired"
    else:
        ctes, paired = [f"paired_rids(rid) AS MATERIALIZED {PAIRED_QUERY}"], "paired_rids"
    joins = f"LEFT JOIN {paired} p ON p.rid = r.rid"
    if avoid_duplicates:
        ctes.append(
            f"""single_groups(app, email_norm) AS MATERIALIZED (
            SELECT DISTINCT s.app, s.email_norm FROM records s
            LEFT JOIN {paired} sp ON sp.rid = s.rid
            WHERE s.connection_id = ?1 AND s.email_norm <> '' AND sp.rid IS NULL)"""
        )
        joins += " LEFT JOIN single_groups g ON g.app = r.app AND g.email_norm = r.email_norm"
        where = "r.connection_id = ?1 AND (p.rid IS NULL OR g.app IS NOT NULL)"
        where += " ORDER BY r.app, r.email_norm"
    else:
        where = "r.connection_id = ?1 AND p.rid IS NULL"
    head = f"WITH {', '.join(ctes)} " if ctes else ""
    return head + _GROUPS_STREAM.format(in_r="p.rid IS NOT NULL", joins=joins, where=where)


def _in_paired(alias: str, paired: str) -> tuple[str, str]:
    """Whether the record aliased `alias` is in the pairs' set `paired`, and whether not
    (SQLite reads `rid IN table` as a lookup in it)."""
    return f"{alias}.rid IN {paired}", f"{alias}.rid NOT IN {paired}"


_CONTACT_COLUMNS = (
    "rid, connection_id, status, reason, side, a_rid, b_rid, duplicate_of, failure_seq, "
    "opposite_deleted, name, email, since, failure_app, failure_at, fingerprint"
)
_CONTACT_COLUMN_NAMES = tuple(_CONTACT_COLUMNS.split(", "))


@dataclass(frozen=True, slots=True)
class Matches:
    """Whether records match rules other than the stored ones (a what-if): by rid,
    `flags[rid - base]` is 1 (matches), 0 (does not) or `STORED` (as stored)."""

    base: int
    flags: bytearray

    STORED: ClassVar[int] = 255

    def changed(self) -> list[int]:
        """The rids whose matching differs from the stored one."""
        stored = self.STORED
        return [self.base + i for i, flag in enumerate(self.flags) if flag != stored]

    def of(self, rid: int, stored: int) -> bool:
        index = rid - self.base
        flag = self.flags[index] if 0 <= index < len(self.flags) else self.STORED
        return stored == 1 if flag == self.STORED else flag == 1


def _facts(
    cursor: sqlite3.Cursor,
    connection_id: str,
    rows: Iterable[tuple[Any, ...]],
    shown: dict[int, tuple[str, str]] | None = None,
    matches: Matches | None = None,
) -> dict[int, RecordFacts]:
    """The engine's facts of records read with `_facts_columns`; their names and emails
    go to `shown` (rid -> (name, email)) for the contact rows. `matches` replaces the
    stored matching of the records (a what-if)."""
    side = _SIDE
    facts: dict[int, RecordFacts] = {}
    unsettled: list[RecordFacts] = []
    for rid, app, ext_id, email_norm, created_at, stored, deleted, write, name, email in rows:
        fact = facts[rid] = RecordFacts(
            rid,
            side[app],
            ext_id,
            email_norm,
            created_at,
            stored == 1 if matches is None else matches.of(rid, stored),
            deleted == 1,
            None if write is None else write >> 1,
            write is not None and write & 1 == 1,
        )
        if fact.last_write_failed:
            unsettled.append(fact)
        if shown is not None:
            shown[rid] = (name, email)
    if unsettled:
        # Rare (a retry asked for and not done yet): those writes are queued, not failed.
        queued = _queued_seqs(cursor, connection_id, [f.last_write_seq for f in unsettled])
        for fact in unsettled:
            if fact.last_write_seq in queued:
                fact.last_write_failed = False
                fact.last_write_queued = True
    return facts


#: Which of some write events (`{marks}`: their seqs) are queued retries, not failures.
#: `target`, which ix_events_record lacks, makes SQLite look the seqs up by the primary
#: key: asked only for columns that index covers, it scanned all the connection's events
#: in it, for each chunk (70 ms a chunk at a million contacts, 1 ms now).
QUEUED_AMONG = (
    "SELECT seq, target FROM events WHERE connection_id = ? AND outcome = ? AND seq IN ({marks})"
)


def _queued_seqs(cursor: sqlite3.Cursor, connection_id: str, seqs: list[Any]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunked(sorted(set(seqs))):
        found.update(
            seq
            for seq, _target in cursor.execute(
                QUEUED_AMONG.format(marks=_marks(chunk)),
                (connection_id, Outcome.QUEUED.value, *chunk),
            )
        )
    return found


def _shown(text: str | None) -> str | None:
    """SQLite's NULLIF(TRIM(text), ''): the text without surrounding spaces, or None."""
    if text is None:
        return None
    return text.strip(" ") or None


class _ContactWriter:
    """Writes decisions as contact rows of one connection, and tallies them for counts.

    The rows carry what lists show (name, email, since, the failure shown), taken from
    the facts' records (`shown`), the pairs' mappings (`since`) and the failed events.
    """

    def __init__(self, cursor: sqlite3.Cursor, connection_id: str) -> None:
        self._cursor = cursor
        self._connection_id = connection_id
        self.shown: dict[int, tuple[str, str]] = {}
        self.since: dict[int, str | None] = {}
        self.tally: Counter[counts.ContactKey] = Counter()
        self.written = 0

    def write(self, decided: Iterable[Decision]) -> None:
        rows = self.rows(decided)
        dialect.insert_rows(self._cursor, "contacts", _CONTACT_COLUMN_NAMES, rows)
        self.written += len(rows)

    def rows(self, decided: Iterable[Decision]) -> list[tuple[Any, ...]]:
        """The contact rows of `decided` (as _CONTACT_COLUMNS), tallied, not written."""
        connection_id = self._connection_id
        shown = self.shown
        since_of = self.since
        decisions = list(decided)
        failures = self._failures([d.failure_seq for d in decisions if d.failure_seq is not None])
        rows = []
        tally = self.tally
        for decision in decisions:
            a, b = decision.a, decision.b
            shown_a = shown.get(a) if a is not None else None
            shown_b = shown.get(b) if b is not None else None
            name = email = None
            if shown_a is not None:
                name, email = _shown(shown_a[0]), _shown(shown_a[1])
            if shown_b is not None:
                name = name or _shown(shown_b[0])
                email = email or _shown(shown_b[1])
            pair = a is not None and b is not None
            failure = failures.get(decision.failure_seq) if decision.failure_seq else None
            failure_app, failure_at, fingerprint = failure or (None, None, None)
            status = decision.status
            reason = decision.reason
            rows.append(
                (
                    decision.anchor,
                    connection_id,
                    status,
                    reason,
                    None if pair else ("a" if a is not None else "b"),
                    a,
                    b,
                    decision.duplicate_of,
                    decision.failure_seq,
                    decision.opposite_deleted,
                    name or "",
                    email or "",
                    since_of.get(a) if pair and a is not None else None,
                    failure_app,
                    failure_at,
                    fingerprint,
                )
            )
            tally[counts.contact_key(status, reason, failure_app, fingerprint)] += 1
        return rows

    def _failures(self, seqs: list[int]) -> dict[int, tuple[str, str, str | None]]:
        found: dict[int, tuple[str, str, str | None]] = {}
        for chunk in _chunked(sorted(set(seqs))):
            for seq, target, at, fingerprint in self._cursor.execute(
                f"SELECT seq, target, at, fingerprint FROM events WHERE connection_id = ? "
                f"AND seq IN ({_marks(chunk)})",
                (self._connection_id, *chunk),
            ):
                found[seq] = (target, at, fingerprint)
        return found


def record_count(cursor: sqlite3.Cursor, connection_id: str) -> int:
    (count,) = cursor.execute(
        "SELECT COUNT(*) FROM records WHERE connection_id = ?", (connection_id,)
    ).fetchone()
    return int(count)


#: The records of one side of a connection (?1, ?2: its id, the side), with what rules
#: read, in table order: `{plus}` ("+" on SQLite) keeps SQLite from reading them through
#: the email index, a row at a random place of the file each (2.0 s against 0.85 s for
#: half a million records).
SIDE_IN_TABLE_ORDER = """
    SELECT rid, name, email, fields, matches FROM records
    WHERE rid BETWEEN (SELECT MIN(rid) FROM records WHERE connection_id = ?1)
        AND (SELECT MAX(rid) FROM records WHERE connection_id = ?1)
    AND {plus}connection_id = ?1 AND {plus}app = ?2
"""


def _rematched(
    cursor: sqlite3.Cursor,
    connection_id: str,
    predicates: Mapping[Side, Predicate],
    sides: Iterable[Side] = tuple(Side),
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[tuple[int, bool]]:
    """(rid, matching now) of the records of `sides` whose matching under `predicates`
    differs from the stored one. Raises DecisionCancelled when `cancelled()` turns true."""
    loads = orjson.loads
    plus = "" if dialect.of_cursor(cursor) == dialect.POSTGRES else "+"
    for side in sides:
        predicate = predicates[side]
        cursor.execute(SIDE_IN_TABLE_ORDER.format(plus=plus), (connection_id, side.value))
        # A loop of its own per side, yielding only changes: it runs once per record of
        # a side (half a million at a million contacts) for every what-if of its rules.
        while rows := cursor.fetchmany(_BATCH):
            for rid, name, email, fields, stored in rows:
                now = predicate(name, email, loads(fields))
                if now != (stored == 1):
                    yield rid, now
            if cancelled():
                raise DecisionCancelled


def rematch(
    cursor: sqlite3.Cursor, connection_id: str, predicates: Mapping[Side, Predicate]
) -> int:
    """Evaluate every record of a connection against (new) rules; return how many changed."""
    # Read whole before writing: the reading and the writing share `cursor`.
    changed = [(now, rid) for rid, now in _rematched(cursor, connection_id, predicates)]
    cursor.executemany("UPDATE records SET matches = ? WHERE rid = ?", changed)
    return len(changed)


def matches_under(
    cursor: sqlite3.Cursor,
    connection_id: str,
    predicates: Mapping[Side, Predicate],
    sides: Iterable[Side],
    cancelled: Callable[[], bool] = lambda: False,
) -> Matches:
    """Whether each record of `sides` would match `predicates`, without storing it: what
    `rematch` would write, for a what-if. Records whose matching stays keep `STORED`
    (so `changed()` are those that `rematch` would change)."""
    low, high = cursor.execute(
        "SELECT MIN(rid), MAX(rid) FROM records WHERE connection_id = ?", (connection_id,)
    ).fetchone()
    if low is None:
        return Matches(0, bytearray())
    flags = bytearray([Matches.STORED]) * (high - low + 1)
    for rid, now in _rematched(cursor, connection_id, predicates, sides, cancelled):
        flags[rid - low] = now
    return Matches(low, flags)


class DecisionCancelled(Exception):
    """A decision stream was stopped by its reader (nothing was written)."""


def decide_all(cursor: sqlite3.Cursor, connection_id: str, settings: Settings) -> int:
    """Decide every contact of a connection afresh; return how many there are.

    Streams (`decision_stream`): memory stays flat whatever the size of the connection.
    """
    cursor.execute("DELETE FROM contacts WHERE connection_id = ?", (connection_id,))
    counts.reset_contacts(cursor, connection_id)
    writer = _ContactWriter(cursor, connection_id)
    cursor.execute("CREATE TEMP TABLE IF NOT EXISTS paired (rid INTEGER PRIMARY KEY)")
    cursor.execute("DELETE FROM paired")
    try:
        for decided in decision_stream(
            cursor, connection_id, settings, shown=writer.shown, since=writer.since
        ):
            writer.write(decided)
    finally:
        cursor.execute("DELETE FROM paired")
    counts.add_contacts(cursor, connection_id, writer.tally)
    search_index.index_connection(cursor, connection_id)
    return writer.written


def decision_stream(
    cursor: sqlite3.Cursor,
    connection_id: str,
    settings: Settings,
    *,
    shown: dict[int, tuple[str, str]] | None = None,
    since: dict[int, str | None] | None = None,
    matches: Matches | None = None,
    write_paired: bool = True,
) -> Iterator[list[Decision]]:
    """Every contact of a connection as `core.health.decide` decides it under
    `settings`, a batch at a time; writes nothing but `temp.paired` (none at all
    without `write_paired`, which then computes that set in SQL: `PAIRED_QUERY`).

    The pairs first, a batch of mappings at a time; then the records by duplicate group
    (app, normalized email), whole groups at a time, the records in pairs among them only
    as competitors for a group's original. Needs the index on (connection_id, app,
    email_norm). `shown` and `since` receive, per batch, the names and emails of its
    records and the pairs' mapping times (for the contact rows); `matches` replaces the
    stored matching of records (a what-if).
    """
    postgres = dialect.of_cursor(cursor) == dialect.POSTGRES
    reader = cursor.connection.cursor()
    try:
        reader.execute(_PAIRS_STREAM, (connection_id,))
        width = _FACTS_WIDTH
        while rows := reader.fetchmany(_BATCH):
            if shown is not None:
                shown.clear()
            facts = _facts(cursor, connection_id, (row[:width] for row in rows), shown, matches)
            facts.update(
                _facts(
                    cursor, connection_id, (row[width : 2 * width] for row in rows), shown, matches
                )
            )
            if since is not None:
                since.clear()
                since.update((row[0], row[-1]) for row in rows)
            pairs = [(row[0], row[width]) for row in rows]
            if write_paired:
                cursor.executemany(
                    "INSERT INTO paired (rid) VALUES (?) ON CONFLICT (rid) DO NOTHING",
                    [(rid,) for pair in pairs for rid in pair],
                )
            yield list(decide(settings, facts.values(), pairs))
        if since is not None:
            since.clear()
        if shown is not None:
            shown.clear()
        # Without writing, the pairs' set is computed once by SQLite (a CTE) instead.
        paired = "temp.paired" if write_paired else "paired_rids"
        head = "" if write_paired else f"WITH paired_rids(rid) AS MATERIALIZED {PAIRED_QUERY}"
        if postgres:
            if write_paired:  # its size, for the planner: it was empty when last seen
                cursor.execute("ANALYZE pg_temp.paired")
            query = _groups_query_pg(write_paired, settings.avoid_duplicates)
        else:
            in_r, not_in_r = _in_paired("r", paired)
            _in_s, not_in_s = _in_paired("s", paired)
            if settings.avoid_duplicates:
                where = _GROUPS_WITH_SINGLES.format(not_in_r=not_in_r, not_in_s=not_in_s)
            else:
                where = _SINGLES_IN_TABLE_ORDER.format(not_in_r=not_in_r)
            query = head + _GROUPS_STREAM.format(in_r=in_r, joins="", where=where)
        reader.execute(query, (connection_id,))
        avoid = settings.avoid_duplicates
        batch: list[tuple[Any, ...]] = []
        for row in reader:
            # A batch ends between groups (or anywhere among records without email, and
            # anywhere at all without duplicate checks): a group is decided whole.
            if len(batch) >= _BATCH and (
                not avoid or not row[3] or row[1] != batch[-1][1] or row[3] != batch[-1][3]
            ):
                yield _decide_group_batch(cursor, connection_id, settings, batch, shown, matches)
                batch = []
            batch.append(row)
        if batch:
            yield _decide_group_batch(cursor, connection_id, settings, batch, shown, matches)
    finally:
        reader.close()


def _decide_group_batch(
    cursor: sqlite3.Cursor,
    connection_id: str,
    settings: Settings,
    batch: list[tuple[Any, ...]],
    shown: dict[int, tuple[str, str]] | None,
    matches: Matches | None,
) -> list[Decision]:
    width = _FACTS_WIDTH
    if shown is not None:
        shown.clear()
    facts = _facts(cursor, connection_id, (row[:width] for row in batch), shown, matches)
    paired = [row[0] for row in batch if row[width]]
    return list(decide(settings, facts.values(), (), mapped_elsewhere=paired))


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

    The scope is `scope_of`'s. The result equals what `decide_all` would store for these
    contacts.
    """
    changed_records = set(records)
    writer = _ContactWriter(cursor, connection_id)
    scope = scope_of(
        cursor, connection_id, records=changed_records, groups=groups, shown=writer.shown
    )
    writer.since.update(scope.since)
    before = _contact_rows(cursor, list(scope.facts))
    after = {
        row[0]: row for row in writer.rows(decide(settings, scope.facts.values(), scope.pairs))
    }
    # Only the contacts whose row changes are written: most of a scope (the rest of the
    # email groups, the partners) is decided as it was.
    changed = {rid for rid in before.keys() | after.keys() if before.get(rid) != after.get(rid)}
    old_rows = sorted(changed & before.keys())
    new_rows = sorted(changed & after.keys())
    for chunk in _chunked(old_rows):
        cursor.execute(f"DELETE FROM contacts WHERE rid IN ({_marks(chunk)})", chunk)
    dialect.insert_rows(cursor, "contacts", _CONTACT_COLUMN_NAMES, [after[rid] for rid in new_rows])
    # A contact's text is made of its row and its records: only those of changed rows and
    # of changed records can differ.
    record_rids = {
        rid for rid, fact in scope.facts.items() if (fact.app.value, fact.id) in changed_records
    }
    search_index.reindex_contacts(
        cursor,
        changed
        | {
            row[0]
            for row in (*before.values(), *after.values())
            if row[5] in record_rids or row[6] in record_rids
        },
    )
    delta = counts.tally_contacts(_count_key(after[rid]) for rid in new_rows)
    delta.subtract(counts.tally_contacts(_count_key(before[rid]) for rid in old_rows))
    counts.add_contacts(cursor, connection_id, delta)
    return len(changed)


@dataclass(frozen=True, slots=True)
class Scope:
    """The records whose contacts some changes can have affected (`facts`, by rid), and
    the pairs among them (a-record rid, b-record rid) with their mapping times (`since`,
    by a-record rid)."""

    facts: dict[int, RecordFacts]
    pairs: list[tuple[int, int]]
    since: dict[int, str | None]


def scope_of(
    cursor: sqlite3.Cursor,
    connection_id: str,
    *,
    records: Iterable[tuple[str, str]],
    groups: Iterable[tuple[str, str]] = (),
    shown: dict[int, tuple[str, str]] | None = None,
    matches: Matches | None = None,
) -> Scope:
    """What to decide again when the records `records` ((app, app id) pairs) and the
    email groups `groups` ((app, normalized email) pairs) changed. Reads only.

    The scope: the changed records; their mapping partners (whose being mapped may have
    changed with them); every record of the email groups of all those, old and new (a
    duplicate's original is decided among them); and the partners of the mapped records
    in those groups, to form their pairs. `shown` and `matches` as `decision_stream`'s.
    """
    facts: dict[int, RecordFacts] = {}

    def load(column: str, keys: Iterable[tuple[str, str]]) -> None:
        rows = _select_records(cursor, connection_id, column, keys)
        facts.update(_facts(cursor, connection_id, rows, shown, matches))

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
    since: dict[int, str | None] = {}
    for a_id, (b_id, mapped_since) in mapping_rows.items():
        a, b = rid_of.get(("a", a_id)), rid_of.get(("b", b_id))
        if a is not None and b is not None:
            pairs.append((a, b))
            since[a] = mapped_since
    return Scope(facts, pairs, since)


def _contact_rows(cursor: sqlite3.Cursor, rids: list[int]) -> dict[int, tuple[Any, ...]]:
    """The stored contacts of these records (as anchor or b-record), by anchor."""
    rows: dict[int, tuple[Any, ...]] = {}
    for chunk in _chunked(rids):
        marks = _marks(chunk)
        for row in cursor.execute(
            f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE rid IN ({marks}) OR b_rid IN ({marks})",
            (*chunk, *chunk),
        ):
            rows[row[0]] = tuple(row)
    return rows


def _count_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """(status, reason, failure_app, fingerprint) of a row read as _CONTACT_COLUMNS."""
    return (row[2], row[3], row[13], row[15])


def _mappings_of(
    cursor: sqlite3.Cursor, connection_id: str, keys: Iterable[tuple[str, str]]
) -> dict[str, tuple[str, str | None]]:
    """The mappings of the records `keys` ((app, app id) pairs): a-record id -> (b-record
    id, since)."""
    found: dict[str, tuple[str, str | None]] = {}
    by_app: dict[str, list[str]] = {"a": [], "b": []}
    for app, ext_id in keys:
        by_app[app].append(ext_id)
    for app, column in (("a", "a_id"), ("b", "b_id")):
        for chunk in _chunked(sorted(by_app[app])):
            for a_id, b_id, since in cursor.execute(
                f"SELECT a_id, b_id, since FROM mappings WHERE connection_id = ? "
                f"AND {column} IN ({_marks(chunk)})",
                (connection_id, *chunk),
            ):
                found[a_id] = (b_id, since)
    return found


def _partners(mappings: Mapping[str, tuple[str, str | None]]) -> set[tuple[str, str]]:
    keys = {("a", a) for a in mappings}
    keys.update(("b", b) for b, _since in mappings.values())
    return keys


def by_rid(cursor: sqlite3.Cursor, select: str, rids: Iterable[int]) -> Iterator[tuple[Any, ...]]:
    """The rows of `select` (a SELECT of one table) for the rows `rids`, in rid order, a
    chunk of keys at a time; each chunk is read whole before it is handed on, so the
    caller may use `cursor` meanwhile."""
    for chunk in _chunked(sorted(rids)):
        yield from cursor.execute(f"{select} WHERE rid IN ({_marks(chunk)})", chunk).fetchall()


def stored_matching(cursor: sqlite3.Cursor, rids: Iterable[int]) -> dict[int, bool]:
    """Whether each of the records `rids` matches its side's rules, as stored."""
    rows = by_rid(cursor, "SELECT rid, matches FROM records", rids)
    return {rid: matches == 1 for rid, matches in rows}


def facts_of(
    cursor: sqlite3.Cursor, connection_id: str, rids: Iterable[int], matches: Matches | None
) -> dict[int, RecordFacts]:
    """The engine's facts of the records `rids` (`matches` as `decision_stream`'s)."""
    return _facts(cursor, connection_id, by_rid(cursor, _FACTS_SELECT, rids), None, matches)


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


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))


def _chunked(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
