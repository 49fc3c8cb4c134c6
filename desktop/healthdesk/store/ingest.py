"""Apply feed items to the local database in bulk, then re-decide what they changed.

The one path by which data enters the database, for snapshot files and the sync service
alike. Items are buffered and written with `executemany` in one transaction; afterwards
each touched connection's statuses are decided again: all of them when the connection is
new or its settings changed, otherwise only the contacts the items can have affected.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from healthdesk.core.failures import fingerprint
from healthdesk.core.health import normalize_email
from healthdesk.core.model import (
    WRITE_OUTCOMES,
    Connection,
    Event,
    MappingItem,
    Record,
    Settings,
    Side,
)
from healthdesk.core.rules import Predicate, compile_side
from healthdesk.feed.items import FeedError
from healthdesk.feed.reader import Located
from healthdesk.store import activity, counts, decisions, dialect
from healthdesk.store.codec import rules_to_json, settings_from_row
from healthdesk.store.schema import create_index_sql, deferrable_indexes

BATCH_SIZE = 5000
#: Above this share of a connection's records (and this many), deciding all of it is
#: cheaper than deciding a part.
FULL_DECIDE_SHARE = 0.3
FULL_DECIDE_MIN = 2000
_RECORD_COLUMNS = (
    "connection_id", "app", "ext_id", "name", "email", "email_norm", "fields", "created_at",
    "updated_at", "deleted", "matches", "digest", "line",
)  # fmt: skip
_EVENT_COLUMNS = (
    "connection_id", "seq", "at", "app", "ext_id", "outcome", "target", "error_code",
    "error_message", "fingerprint", "digest", "line",
)  # fmt: skip
#: Items after which an ingest refreshes PostgreSQL's statistics before deciding.
ANALYZE_AFTER = 20_000


class ImportCancelled(Exception):
    """The user cancelled; the transaction was rolled back and nothing changed."""


@dataclass(slots=True)
class IngestReport:
    """What one ingest did."""

    connections: int = 0
    records: int = 0
    mappings: int = 0
    events: int = 0
    events_new: int = 0
    #: Lines skipped unparsed: rows of the database held them already (store.digests).
    unchanged: int = 0
    #: Per connection: contacts decided (all of them when in `full`), or changed.
    decided: dict[str, int] = field(default_factory=dict)
    #: Connections whose decision was left to a later ingest (`decide=False`).
    deferred: list[str] = field(default_factory=list)
    full: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        return self.connections + self.records + self.mappings + self.events


@dataclass(slots=True)
class _ConnectionWork:
    """What the ingest knows and has changed of one connection."""

    id: str
    settings: Settings
    predicates: dict[Side, Predicate]
    #: The database held none of its records before this ingest: no change tracking needed.
    fresh: bool
    #: Decide every contact at the end (new connection, or new settings).
    full: bool = False
    #: Records were matched against rules that have since changed.
    matches_stale: bool = False
    has_records: bool = False
    dirty_records: set[tuple[str, str]] = field(default_factory=set)
    dirty_groups: set[tuple[str, str]] = field(default_factory=set)

    @property
    def tracks_changes(self) -> bool:
        return not self.fresh and not self.full


def _predicates(settings: Settings) -> dict[Side, Predicate]:
    return {side: compile_side(settings.rules_of(side)) for side in Side}


class Ingestor:
    """Applies items inside one open transaction (a DBAPI cursor); `finish()` decides.

    Not thread-safe; one per transaction.
    """

    def __init__(self, *, cursor: sqlite3.Cursor, source: str = "", decide: bool = True) -> None:
        """`decide=False` applies the items and leaves the deciding to a later ingest of the
        same connection (see schema.PendingDecisionRow): for the pages of a long pull."""
        self._cursor = cursor
        self._source = source
        self._decide = decide
        self._work: dict[str, _ConnectionWork] = {}
        # Each item with the digest and number of its line (None when from no file).
        self._records: list[tuple[Record, int | None, int | None]] = []
        self._pending = 0
        self._mappings: list[tuple[MappingItem, int | None, int | None]] = []
        self._events: list[tuple[Event, int | None, int | None]] = []
        self._recount_events: set[str] = set()
        self.report = IngestReport()
        # The deferrable indexes a pull's earlier pages left unbuilt (see finish).
        present = dialect.index_names(cursor)
        self._deferred = [index for index in deferrable_indexes() if index.name not in present]
        self.had_rows = self._has_rows()
        if not self.had_rows:
            # Into an empty database, building the secondary indexes once at the end is
            # several times faster than keeping them up to date row by row.
            self._defer(None)

    # -- items -------------------------------------------------------------------------

    def add(self, located: Located) -> None:
        item = located.item
        kind = type(item)
        if kind is Connection:
            self.flush()
            self._apply_connection(item)  # type: ignore[arg-type]
            self.report.connections += 1
            return
        if item.connection not in self._work:  # type: ignore[union-attr]
            self._require(item.connection, located)  # type: ignore[union-attr]
        digest = located.digest
        line = None if digest is None else located.line
        if kind is Record:
            self._records.append((item, digest, line))  # type: ignore[arg-type]
        elif kind is Event:
            self._events.append((item, digest, line))  # type: ignore[arg-type]
        else:
            self._mappings.append((item, digest, line))  # type: ignore[arg-type]
        self._pending += 1
        if self._pending >= BATCH_SIZE:
            self.flush()

    def _require(self, connection_id: str, located: Located) -> _ConnectionWork:
        work = self._work.get(connection_id)
        if work is None:
            work = self._load_connection(connection_id)
            if work is None:
                raise FeedError(
                    f"connection {connection_id!r} was never declared by a connection item",
                    source=located.source,
                    line=located.line,
                    key="connection",
                )
        return work

    def _load_connection(self, connection_id: str) -> _ConnectionWork | None:
        row = self._cursor.execute(
            "SELECT direction, avoid_duplicates, rules_json FROM connections WHERE id = ?",
            (connection_id,),
        ).fetchone()
        if row is None:
            return None
        settings = settings_from_row(*row)
        fresh = not self._has_records(connection_id)
        # With no records stored yet, deciding everything is deciding what is new.
        work = _ConnectionWork(
            id=connection_id,
            settings=settings,
            predicates=_predicates(settings),
            fresh=fresh,
            # Deciding everything at the end needs no record of what changed.
            full=fresh or not self._decide,
        )
        work.has_records = not work.fresh
        self._work[connection_id] = work
        return work

    def _has_rows(self) -> bool:
        """Whether the database holds any record, mapping or event."""
        return any(
            self._cursor.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None
            for table in ("records", "mappings", "events")
        )

    def _has_records(self, connection_id: str | None) -> bool:
        """Whether the database holds records (of one connection, or at all)."""
        if connection_id is None:
            row = self._cursor.execute("SELECT 1 FROM records LIMIT 1").fetchone()
        else:
            row = self._cursor.execute(
                "SELECT 1 FROM records WHERE connection_id = ? LIMIT 1", (connection_id,)
            ).fetchone()
        return row is not None

    def _defer(self, tables: tuple[str, ...] | None) -> None:
        """Drop the deferrable indexes of `tables` (None: of all) that are built, for
        `_build_deferred` to build once at the end."""
        deferred = {index.name for index in self._deferred}
        for index in deferrable_indexes():
            if index.name in deferred or index.table is None:
                continue
            if tables is None or index.table.name in tables:
                self._cursor.execute(f"DROP INDEX {index.name}")
                self._deferred.append(index)

    def _build_deferred(self, table: str) -> None:
        for index in [i for i in self._deferred if i.table is not None and i.table.name == table]:
            self._cursor.execute(create_index_sql(index, dialect.of_cursor(self._cursor)))
            self._deferred.remove(index)

    def _apply_connection(self, item: Connection) -> None:
        settings = item.settings
        rules_json = rules_to_json(settings.rules)
        work = self._work.get(item.id) or self._load_connection(item.id)
        state = item.state
        self._cursor.execute(
            """
            INSERT INTO connections (id, name, app_a_name, app_a_kind, app_b_name, app_b_kind,
                direction, avoid_duplicates, rules_json, state_phase, state_app, locked_by_id,
                locked_by_name, state_message, source, imported_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                app_a_name = excluded.app_a_name, app_a_kind = excluded.app_a_kind,
                app_b_name = excluded.app_b_name, app_b_kind = excluded.app_b_kind,
                direction = excluded.direction, avoid_duplicates = excluded.avoid_duplicates,
                rules_json = excluded.rules_json, state_phase = excluded.state_phase,
                state_app = excluded.state_app, locked_by_id = excluded.locked_by_id,
                locked_by_name = excluded.locked_by_name,
                state_message = excluded.state_message, source = excluded.source,
                imported_at = excluded.imported_at
            """,
            (
                item.id,
                item.name,
                item.app_a.name,
                item.app_a.kind,
                item.app_b.name,
                item.app_b.kind,
                settings.direction.value,
                settings.avoid_duplicates,
                rules_json,
                state.phase.value,
                state.app.value if state.app else None,
                state.locked_by.id if state.locked_by else None,
                state.locked_by.name if state.locked_by else None,
                state.message,
                self._source or None,
                datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            ),
        )
        if work is None:
            self._work[item.id] = _ConnectionWork(
                id=item.id,
                settings=settings,
                predicates=_predicates(settings),
                fresh=True,
                full=True,
            )
        elif work.settings != settings:
            work.settings = settings
            work.predicates = _predicates(settings)
            work.full = True
            work.matches_stale = work.matches_stale or work.has_records

    # -- flushing ----------------------------------------------------------------------

    def flush(self) -> None:
        report = self.report
        report.records += len(self._records)
        report.mappings += len(self._mappings)
        report.events += len(self._events)
        self._pending = 0
        if self._records:
            self._flush_records()
        if self._mappings:
            self._flush_mappings()
        if self._events:
            self._flush_events()

    def _flush_records(self) -> None:
        rows = []
        work_of = self._work
        for record, digest, line in self._records:
            work = work_of[record.connection]
            email = record.email
            fields = record.fields
            # Enum members are str: SQLite stores their value as they are.
            rows.append(
                (
                    record.connection,
                    record.app,
                    record.id,
                    record.name,
                    email,
                    normalize_email(email),
                    orjson.dumps(fields).decode(),
                    record.created_at,
                    record.updated_at,
                    record.deleted,
                    work.predicates[record.app](record.name, email, fields),
                    digest,
                    line,
                )
            )
            work.has_records = True
        self._records.clear()
        rows = self._track_record_changes(rows)
        dialect.insert_rows(
            self._cursor,
            "records",
            _RECORD_COLUMNS,
            rows,
            on_conflict="""
            ON CONFLICT (connection_id, app, ext_id) DO UPDATE SET name = excluded.name,
                email = excluded.email, email_norm = excluded.email_norm,
                fields = excluded.fields, created_at = excluded.created_at,
                updated_at = excluded.updated_at, deleted = excluded.deleted,
                matches = excluded.matches, digest = excluded.digest, line = excluded.line
            """,
            key=_RECORD_COLUMNS[:3],
        )

    def _track_record_changes(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Drop rows identical to what is stored; note what the others make dirty."""
        tracked = [row for row in rows if self._work[row[0]].tracks_changes]
        if not tracked:
            return rows
        existing: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        for (connection_id, app), ids in _group_keys(tracked).items():
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                for row in self._cursor.execute(
                    f"""
                    SELECT connection_id, app, ext_id, name, email, email_norm, fields,
                        created_at, updated_at, deleted, matches, digest
                    FROM records WHERE connection_id = ? AND app = ? AND ext_id IN ({marks})
                    """,
                    (connection_id, app, *chunk),
                ):
                    existing[row[:3]] = row
        kept = []
        for row in rows:
            work = self._work[row[0]]
            if not work.tracks_changes:
                kept.append(row)
                continue
            old = existing.get(row[:3])
            if old is not None and _same_record(old, row):
                if old[11] != row[11]:
                    # The same record from another line: keep that line's digest.
                    kept.append(row)
                    existing[row[:3]] = row
                continue
            kept.append(row)
            existing[row[:3]] = row
            app = row[1]
            work.dirty_records.add((app, row[2]))
            work.dirty_groups.add((app, row[5]))
            if old is not None:
                work.dirty_groups.add((app, old[5]))
        return kept

    def _flush_mappings(self) -> None:
        by_connection: dict[str, list[tuple[MappingItem, int | None, int | None]]] = {}
        for entry in self._mappings:
            by_connection.setdefault(entry[0].connection, []).append(entry)
        self._mappings.clear()
        for connection_id, mappings in by_connection.items():
            self._apply_mappings(self._work[connection_id], mappings)

    def _apply_mappings(
        self,
        work: _ConnectionWork,
        mappings: list[tuple[MappingItem, int | None, int | None]],
    ) -> None:
        # The batch's net effect, as if applied one by one: a mapping keyed by its a-record
        # replaces that record's mapping, and takes its b-record from whichever mapping held
        # it, here or in the database (a record is in at most one mapping).
        final: dict[str, tuple[str, str | None, int | None, int | None] | None] = {}
        taker_of_b: dict[str, str] = {}
        for mapping, digest, line in mappings:
            if mapping.removed:
                final[mapping.a] = None
                continue
            holder = taker_of_b.get(mapping.b)
            if holder is not None and holder != mapping.a:
                held = final.get(holder)
                if held is not None and held[0] == mapping.b:
                    final[holder] = None
            final[mapping.a] = (mapping.b, mapping.since, digest, line)
            taker_of_b[mapping.b] = mapping.a
        connection_id = work.id
        if work.tracks_changes:
            self._track_mapping_changes(work, final, taker_of_b)
        cursor = self._cursor
        cursor.executemany(
            "DELETE FROM mappings WHERE connection_id = ? AND b_id = ? AND a_id <> ?",
            [(connection_id, b, a) for b, a in taker_of_b.items()],
        )
        cursor.executemany(
            "DELETE FROM mappings WHERE connection_id = ? AND a_id = ?",
            [(connection_id, a) for a, value in final.items() if value is None],
        )
        cursor.executemany(
            """
            INSERT INTO mappings (connection_id, a_id, b_id, since, digest, line)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (connection_id, a_id) DO UPDATE SET b_id = excluded.b_id,
                since = excluded.since, digest = excluded.digest, line = excluded.line
            """,
            [(connection_id, a, *value) for a, value in final.items() if value],
        )

    def _track_mapping_changes(
        self,
        work: _ConnectionWork,
        final: dict[str, tuple[str, str | None, int | None, int | None] | None],
        taker_of_b: dict[str, str],
    ) -> None:
        """Mark dirty every record whose mapping the batch changes (ends, starts, moves)."""
        cursor = self._cursor
        old_by_a: dict[str, tuple[str, str | None]] = {}
        old_by_b: dict[str, str] = {}
        for column, ids in (("a_id", list(final)), ("b_id", list(taker_of_b))):
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                for a, b, since in cursor.execute(
                    f"SELECT a_id, b_id, since FROM mappings WHERE connection_id = ? "
                    f"AND {column} IN ({marks})",
                    (work.id, *chunk),
                ):
                    old_by_a[a] = (b, since)
                    old_by_b[b] = a
        dirty = work.dirty_records
        for a, value in final.items():
            old = old_by_a.get(a)
            if old == (value[:2] if value is not None else None):
                continue
            dirty.add((Side.A.value, a))
            if old is not None:
                dirty.add((Side.B.value, old[0]))
            if value is not None:
                dirty.add((Side.B.value, value[0]))
        for b, a in taker_of_b.items():
            holder = old_by_b.get(b)
            if holder is not None and holder != a:
                dirty.add((Side.A.value, holder))
                dirty.add((Side.B.value, b))

    def _flush_events(self) -> None:
        events = self._events
        self._events = []
        known = self._known_events([entry[0] for entry in events])
        rows: list[tuple[object, ...]] = []
        tallies: dict[str, Counter[counts.EventKey]] = {}
        days: dict[str, activity.DayTally] = {}
        work_of = self._work
        for event, digest, line in events:
            if known and (event.connection, event.seq) in known:
                continue
            error = event.error
            # Enum members are str: SQLite stores their value as they are.
            if error is None:
                rows.append(
                    (event.connection, event.seq, event.at, event.app, event.id, event.outcome,
                     event.target, None, None, None, digest, line)
                )  # fmt: skip
            else:
                rows.append(
                    (event.connection, event.seq, event.at, event.app, event.id, event.outcome,
                     event.target, error.code, error.message,
                     fingerprint(error.code, error.message), digest, line)
                )  # fmt: skip
            tally = tallies.get(event.connection)
            if tally is None:
                tally = tallies[event.connection] = Counter()
            tally[(event.target, event.outcome)] += 1
            day_tally = days.get(event.connection)
            if day_tally is None:
                day_tally = days[event.connection] = activity.DayTally()
            day_tally.add(event.at, event.outcome, event.seq)
            work = work_of[event.connection]
            if work.tracks_changes and event.outcome in WRITE_OUTCOMES:
                work.dirty_records.add((event.app, event.id))
        # DO NOTHING: a repeated seq is ignored, applying the same item twice changes nothing.
        inserted = max(
            dialect.insert_rows(
                self._cursor,
                "events",
                _EVENT_COLUMNS,
                rows,
                on_conflict="ON CONFLICT (connection_id, seq) DO NOTHING",
            ),
            0,
        )
        self.report.events_new += inserted
        for connection_id, tally in tallies.items():
            if inserted == len(rows):
                counts.add_events(self._cursor, connection_id, tally)
                activity.add(self._cursor, connection_id, days[connection_id])
            else:
                # Some seqs were repeats: which ones, only the table knows.
                self._recount_events.add(connection_id)

    def _known_events(self, events: list[Event]) -> set[tuple[str, int]]:
        """The (connection, seq) of `events` already stored, for connections that had data.

        Those are skipped, so that a re-import marks nothing dirty.
        """
        seqs_of: dict[str, list[int]] = {}
        for event in events:
            if self._work[event.connection].tracks_changes:
                seqs_of.setdefault(event.connection, []).append(event.seq)
        known: set[tuple[str, int]] = set()
        for connection_id, seqs in seqs_of.items():
            for (seq,) in self._cursor.execute(
                "SELECT seq FROM events WHERE connection_id = ? AND seq BETWEEN ? AND ?",
                (connection_id, min(seqs), max(seqs)),
            ):
                known.add((connection_id, seq))
        return known

    # -- deciding ----------------------------------------------------------------------

    def finish(self, *, also: Iterable[str] = ()) -> IngestReport:
        """Flush what is buffered and decide every contact the items may have changed.

        Connections whose decision an earlier ingest left pending are decided whole when
        this one touches them, or names them in `also` (a pull's last, maybe empty, page).
        """
        self.flush()
        for connection_id in sorted(self._recount_events):
            counts.recount_events(self._cursor, connection_id)
            activity.recount(self._cursor, connection_id)
        if not self._decide:
            self._leave_pending()
            # A pull's page with more to come: the records', mappings' and events'
            # deferrable indexes stay unbuilt until the page that decides (no write of an
            # undecided page reads them, and nothing is decided meanwhile): building them
            # once then is faster than keeping them up to date page by page (a pull of
            # 250,000 contacts: 27.7 s against 29.8 s). The contacts' and texts' are built
            # now, as lists and search expect them.
            for table in ("contacts", "search_docs"):
                self._build_deferred(table)
            dialect.announce(self._cursor, ["", *self._work, *also])
            return self.report
        # Deciding reads events by record and records by email group: those indexes are
        # worth having first.
        self._build_deferred("events")
        self._build_deferred("records")
        if self.report.items >= ANALYZE_AFTER and dialect.of_cursor(self._cursor) == "postgresql":
            # PostgreSQL plans the decision's joins from table statistics, which a bulk
            # load leaves stale until autovacuum comes by: without them it reads every
            # event per record (20x slower, measured on 100,000 contacts).
            self._cursor.execute("ANALYZE records, mappings, events")
        self._take_pending({*self._work, *also})
        for work in self._work.values():
            if not work.full and (work.dirty_records or work.dirty_groups):
                total = decisions.record_count(self._cursor, work.id)
                if len(work.dirty_records) > max(FULL_DECIDE_MIN, FULL_DECIDE_SHARE * total):
                    work.full = True
        self._defer_contact_indexes()
        for work in self._work.values():
            if work.matches_stale:
                decisions.rematch(self._cursor, work.id, work.predicates)
            if work.full:
                self.report.full.append(work.id)
                self.report.decided[work.id] = decisions.decide_all(
                    self._cursor, work.id, work.settings
                )
            elif work.dirty_records or work.dirty_groups:
                changed = decisions.decide_some(
                    self._cursor,
                    work.id,
                    work.settings,
                    records=work.dirty_records,
                    groups=work.dirty_groups,
                )
                # A record sent twice (an old version, then the stored one) re-decides
                # contacts without changing them: only real changes count.
                if changed:
                    self.report.decided[work.id] = changed
        for table in ("records", "mappings", "contacts", "search_docs"):
            self._build_deferred(table)
        if self.report.items >= ANALYZE_AFTER and dialect.of_cursor(self._cursor) == "postgresql":
            # And the decided contacts, which every list reads (stale statistics made the
            # first page of a 400,000-row list take 80 ms instead of a few).
            self._cursor.execute("ANALYZE contacts")
        dialect.announce(self._cursor, ["", *self._work, *also])
        return self.report

    def _defer_contact_indexes(self) -> None:
        """Drop the contacts' and texts' deferrable indexes when every stored contact is
        about to be decided afresh (they are built again at the end).

        As into an empty database: building them once is several times faster than
        keeping them up to date row by row. This is a pull's last page, whose earlier
        pages filled the database undecided.
        """
        full = sorted(work.id for work in self._work.values() if work.full)
        if not full:
            return
        marks = ",".join("?" * len(full))
        other = self._cursor.execute(
            f"SELECT 1 FROM contacts WHERE connection_id NOT IN ({marks}) LIMIT 1", full
        ).fetchone()
        if other is None:
            self._defer(("contacts", "search_docs"))

    def _leave_pending(self) -> None:
        for work in self._work.values():
            if work.full or work.dirty_records or work.dirty_groups or work.matches_stale:
                self._cursor.execute(
                    """
                    INSERT INTO pending_decisions (connection_id, rematch) VALUES (?, ?)
                    ON CONFLICT (connection_id) DO UPDATE
                        SET rematch = pending_decisions.rematch OR excluded.rematch
                    """,
                    (work.id, work.matches_stale),
                )
                self.report.deferred.append(work.id)

    def _take_pending(self, connection_ids: Iterable[str]) -> None:
        for connection_id in sorted(connection_ids):
            row = self._cursor.execute(
                "SELECT rematch FROM pending_decisions WHERE connection_id = ?",
                (connection_id,),
            ).fetchone()
            if row is None:
                continue
            work = self._work.get(connection_id) or self._load_connection(connection_id)
            self._cursor.execute(
                "DELETE FROM pending_decisions WHERE connection_id = ?", (connection_id,)
            )
            if work is not None:
                work.full = True
                work.matches_stale = work.matches_stale or bool(row[0])


def _same_record(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    # SQLite hands booleans back as 0/1; compare them as booleans.
    return old[3:9] == new[3:9] and bool(old[9]) == new[9] and bool(old[10]) == new[10]


def _group_keys(rows: list[tuple[Any, ...]]) -> dict[tuple[str, str], list[str]]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        grouped.setdefault((row[0], row[1]), []).append(row[2])
    return grouped


def _chunks(values: list[str], size: int = 900) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
