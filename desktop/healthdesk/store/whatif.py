"""What if a connection had other settings: its contacts decided again, in memory, on the
stored records, mappings and events, without writing the database.

The decision paths of an import hand the facts to `core.health.decide`, with the
settings changed: records are matched against the changed rules of a side as an import
would store it (`decisions.matches_under`), and nothing is written (the connection reads
with SQLite's `query_only`, on PostgreSQL in a READ ONLY transaction).

- When the direction stays and no decision is pending, the stored statuses are right for
  the stored settings: only the contacts the change can affect are decided again, as a
  live page's are (`decisions.scope_of`), and every other keeps its stored status.
- Otherwise every contact is decided again (`decisions.decision_stream`; the pairs' set
  is computed in SQL instead of a temporary table).

The new statuses are held as one byte per record (a `bytearray` by rid), then compared
with the stored ones in one pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from healthdesk.core.compare import Comparison, Place, comparison, tally_moves
from healthdesk.core.health import RecordFacts, decide, pair_matches
from healthdesk.core.model import STATUS_ORDER, Settings, Side, Status
from healthdesk.core.rules import compile_side
from healthdesk.store import decisions, dialect
from healthdesk.store.codec import settings_from_row
from healthdesk.store.db import READ_CACHE_KIB, WRITE_CACHE_KIB

#: A status as one byte (0: no contact).
_CODE = {status.value: index + 1 for index, status in enumerate(STATUS_ORDER)}
_STATUS = {code: value for value, code in _CODE.items()}
#: Contacts decided again at a time, when a what-if decides only some.
_BATCH = 5000
#: A record whose pair keeps its stored status (`_scope_decided`).
_KEPT = 2


class WhatIfCancelled(Exception):
    """The what-if was stopped by its caller; nothing was written either way."""


def stored_settings(engine: Engine, connection_id: str) -> Settings:
    with engine.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT direction, avoid_duplicates, rules_json FROM connections WHERE id = ?",
            (connection_id,),
        ).one()
    return settings_from_row(*row)


@contextmanager
def _read_only(engine: Engine) -> Iterator[Any]:
    """A DBAPI cursor in one read transaction of a connection that cannot write."""
    with engine.connect() as connection:
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        if dialect.is_postgres(connection):
            connection.execution_options(isolation_level="REPEATABLE READ")
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            pg_cursor = dialect.PgCursor(dbapi.cursor())
            try:
                yield pg_cursor
            finally:
                pg_cursor.close()
                connection.rollback()
            return
        cursor = dbapi.cursor()
        cursor.execute("PRAGMA query_only = ON")
        # The records are read by email group, all over the file: the writers' cache, for
        # the time of the what-if only.
        cursor.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
        try:
            connection.exec_driver_sql("BEGIN")
            try:
                yield cursor
            finally:
                connection.exec_driver_sql("ROLLBACK")
        finally:
            cursor.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
            cursor.execute("PRAGMA query_only = OFF")
            cursor.close()


def _changed_sides(stored: Settings, settings: Settings) -> list[Side]:
    return [side for side in Side if stored.rules_of(side) != settings.rules_of(side)]


def _matches(
    cursor: Any,
    connection_id: str,
    stored: Settings,
    settings: Settings,
    cancelled: Callable[[], bool],
) -> decisions.Matches | None:
    """Whether records would match the rules of `settings` where they differ from the
    stored ones (None: the rules are the stored ones)."""
    sides = _changed_sides(stored, settings)
    if not sides:
        return None
    predicates = {side: compile_side(settings.rules_of(side)) for side in Side}
    try:
        return decisions.matches_under(cursor, connection_id, predicates, sides, cancelled)
    except decisions.DecisionCancelled:
        raise WhatIfCancelled from None


def _all_decided(
    cursor: Any,
    connection_id: str,
    settings: Settings,
    matches: decisions.Matches | None,
    cancelled: Callable[[], bool],
    progress: Callable[[int, int], None] | None,
) -> Iterator[tuple[int, str | None, str | None]]:
    """(anchor rid, stored status, status under `settings`) of every contact, stored or
    new (None: no such contact), from a pass over all of them (`decision_stream`)."""
    low, high, records = cursor.execute(
        "SELECT MIN(rid), MAX(rid), COUNT(*) FROM records WHERE connection_id = ?",
        (connection_id,),
    ).fetchone()
    codes = bytearray(high - low + 1) if low is not None else bytearray()
    code = _CODE
    done = 0
    for batch in decisions.decision_stream(
        cursor, connection_id, settings, matches=matches, write_paired=False
    ):
        for decision in batch:
            codes[decision.anchor - low] = code[decision.status]
        done += len(batch)
        if cancelled():
            raise WhatIfCancelled
        if progress is not None:
            progress(min(done, records), records)

    def stored() -> Iterator[tuple[int, str]]:
        cursor.execute("SELECT rid, status FROM contacts WHERE connection_id = ?", (connection_id,))
        while rows := cursor.fetchmany(10_000):
            yield from rows

    return _against_stored(low or 0, codes, stored())


def _against_stored(
    low: int, codes: bytearray, stored: Iterable[tuple[int, str]]
) -> Iterator[tuple[int, str | None, str | None]]:
    """(rid, stored status, status decided) of the stored contacts `stored`, by the
    codes decided (none: no contact now), then the contacts decided that none of them
    is (new ones)."""
    size = len(codes)
    for rid, status in stored:
        index = rid - low
        now = codes[index] if 0 <= index < size else 0
        if now:
            codes[index] = 0  # seen: what remains is new
        yield rid, status, _STATUS[now] if now else None
    for index, now in enumerate(codes):
        if now:
            yield low + index, None, _STATUS[now]


def _scope_decided(
    cursor: Any,
    connection_id: str,
    settings: Settings,
    matches: decisions.Matches | None,
    targets: set[int],
    cancelled: Callable[[], bool],
    progress: Callable[[int, int], None] | None,
) -> Iterator[tuple[int, str | None, str | None]]:
    """As `_all_decided`, when the direction stays and no decision is pending, but only
    for the contacts of the records `targets` (those whose matching changes, and every
    single record when Avoid Duplicates changes) and those they can affect: every other
    contact keeps its stored status.

    Those are the pairs of the targets in a pair whose verdict on the rules changes
    (`core.health.pair_matches`: the rest of a pair's decision does not read matching),
    and the scope of the other targets (`decisions.scope_of`, the scope of a live page:
    their email groups). A record in a pair needs no group: it competes to be its
    group's original whether it matches or not (`core.health.decide`), and Avoid
    Duplicates does not concern pairs, so a change moves its pair alone. Both are
    decided a batch at a time, into one byte per record: memory stays flat however many
    records are targets.
    """
    (low, high, records) = cursor.execute(
        "SELECT MIN(rid), MAX(rid), COUNT(*) FROM records WHERE connection_id = ?",
        (connection_id,),
    ).fetchone()
    if low is None:
        return
    codes = bytearray(high - low + 1)  # the status decided again (0: none, no contact)
    # 1: the record's contact was decided again; _KEPT: its pair keeps its status.
    decided = bytearray(high - low + 1)
    code = _CODE
    done = 0  # records read: two a pair, then the single targets

    def step(records_done: int) -> None:
        nonlocal done
        done += records_done
        if cancelled():
            raise WhatIfCancelled
        if progress is not None:
            progress(min(done, records), records)

    def note(known: dict[int, RecordFacts], pairs: Sequence[tuple[int, int]]) -> None:
        for decision in decide(settings, known.values(), pairs):
            codes[decision.anchor - low] = code[decision.status]
        for rid in known:
            decided[rid - low] = 1

    def keep(pairs: Sequence[tuple[int, int]]) -> None:
        for pair in pairs:
            for rid in pair:
                decided[rid - low] = decided[rid - low] or _KEPT

    if matches is not None:  # a record in a pair is a target only by its matching
        _decide_pairs(cursor, connection_id, settings, targets, matches, note, keep, step)
    singles = sorted(rid for rid in targets if not decided[rid - low])
    for start in range(0, len(singles), _BATCH):
        some = singles[start : start + _BATCH]
        if settings.avoid_duplicates:
            keys = decisions.by_rid(cursor, "SELECT app, ext_id FROM records", some)
            scope = decisions.scope_of(cursor, connection_id, records=keys, matches=matches)
            note(scope.facts, scope.pairs)
        else:  # no original is looked for: a single record is decided on its own facts
            note(decisions.facts_of(cursor, connection_id, some, matches), ())
        step(len(some))
    # The stored contacts of the records decided again (a pair's under its a-record).
    again = [low + index for index, flag in enumerate(decided) if flag == 1]
    stored = decisions.by_rid(cursor, "SELECT rid, status FROM contacts", again)
    yield from _against_stored(low, codes, stored)


def _decide_pairs(
    cursor: Any,
    connection_id: str,
    settings: Settings,
    targets: set[int],
    matches: decisions.Matches,
    note: Callable[[dict[int, RecordFacts], Sequence[tuple[int, int]]], None],
    keep: Callable[[Sequence[tuple[int, int]]], None],
    step: Callable[[int], None],
) -> None:
    """Decide again the stored pairs with a record among `targets` whose verdict on the
    rules changes (`core.health.pair_matches`, as the pair's decision reads it); the
    others keep their status (`keep`). A batch at a time."""
    source = settings.direction.source
    batch: list[tuple[int, int]] = []

    def flush() -> None:
        stored = decisions.stored_matching(cursor, [rid for pair in batch for rid in pair])
        flipped: list[tuple[int, int]] = []
        kept: list[tuple[int, int]] = []
        for a, b in batch:
            was = pair_matches(source, stored[a], stored[b])
            now = pair_matches(source, matches.of(a, stored[a]), matches.of(b, stored[b]))
            (flipped if now != was else kept).append((a, b))
        keep(kept)
        if flipped:
            rids = [rid for pair in flipped for rid in pair]
            note(decisions.facts_of(cursor, connection_id, rids, matches), flipped)
        batch.clear()

    reader = cursor.connection.cursor()
    try:
        reader.execute(
            "SELECT a_rid, b_rid FROM contacts WHERE connection_id = ? AND a_rid IS NOT NULL "
            "AND b_rid IS NOT NULL",
            (connection_id,),
        )
        while rows := reader.fetchmany(_BATCH):
            batch.extend((a, b) for a, b in rows if a in targets or b in targets)
            if len(batch) >= _BATCH:
                flush()
            step(2 * len(rows))
        flush()
    finally:
        reader.close()


def _outcome(
    cursor: Any,
    connection_id: str,
    stored: Settings,
    settings: Settings,
    cancelled: Callable[[], bool],
    progress: Callable[[int, int], None] | None,
    every_contact: bool = False,
) -> tuple[Iterator[tuple[int, str | None, str | None]], bool]:
    """(anchor rid, stored status, status under `settings`) of the contacts decided
    again, and whether those are all of them (else every other keeps its stored status).
    `every_contact`: decide all of them again, as when a decision is pending."""
    matches = _matches(cursor, connection_id, stored, settings, cancelled)
    if every_contact or settings.direction != stored.direction or _pending(cursor, connection_id):
        rows = _all_decided(cursor, connection_id, settings, matches, cancelled, progress)
        return rows, True
    # The contacts a change of rules or of Avoid Duplicates can affect: those of the
    # records whose matching changes, and (Avoid Duplicates) every single record's. Even
    # when that is most records, this beats a pass over all the contacts (3.6x with the
    # matching of 433,306 of 997,509 records changed: `healthdesk bench --suite whatif`).
    targets = set(matches.changed()) if matches is not None else set()
    if settings.avoid_duplicates != stored.avoid_duplicates:
        cursor.execute(
            "SELECT rid FROM contacts WHERE connection_id = ? AND side IS NOT NULL",
            (connection_id,),
        )
        while rows := cursor.fetchmany(10_000):
            targets.update(rid for (rid,) in rows)
    decided = _scope_decided(cursor, connection_id, settings, matches, targets, cancelled, progress)
    return decided, False


def _stored(cursor: Any, connection_id: str) -> Settings:
    (row,) = cursor.execute(
        "SELECT direction, avoid_duplicates, rules_json FROM connections WHERE id = ?",
        (connection_id,),
    ).fetchall()
    return settings_from_row(*row)


def _unchanged(cursor: Any, connection_id: str) -> dict[tuple[str, str], int]:
    """The moves of a what-if that changes nothing: each status to itself."""
    return {
        (status, status): int(count)
        for status, count in cursor.execute(
            "SELECT status, SUM(count) FROM contact_counts WHERE connection_id = ? GROUP BY status",
            (connection_id,),
        )
    }


def _pending(cursor: Any, connection_id: str) -> bool:
    """Whether the stored statuses wait for a full decision (an interrupted pull)."""
    return bool(
        cursor.execute(
            "SELECT 1 FROM pending_decisions WHERE connection_id = ?", (connection_id,)
        ).fetchall()
    )


def whatif_statuses(engine: Engine, connection_id: str, settings: Settings) -> dict[int, Status]:
    """Each contact's status under `settings` by its key (for tests and small lists)."""
    with _read_only(engine) as cursor:
        stored = _stored(cursor, connection_id)
        rows, whole = _outcome(cursor, connection_id, stored, settings, lambda: False, None)
        decided = {rid: now for rid, _before, now in rows}
        statuses: dict[int, str | None] = {}
        if not whole:
            cursor.execute(
                "SELECT rid, status FROM contacts WHERE connection_id = ?", (connection_id,)
            )
            statuses.update(cursor.fetchall())
        statuses.update(decided)
    return {rid: Status(now) for rid, now in statuses.items() if now is not None}


def whatif(
    engine: Engine,
    connection_id: str,
    settings: Settings,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] | None = None,
    every_contact: bool = False,
) -> Comparison:
    """The moves from the stored statuses of a connection to those it would have under
    `settings`. Writes nothing; raises WhatIfCancelled when `cancelled()` turns true;
    `progress(done, total)` counts records decided. `every_contact` decides every
    contact again, as a pending decision makes it (the benchmark's baseline)."""
    with _read_only(engine) as cursor:
        stored = _stored(cursor, connection_id)
        if not every_contact and settings == stored and not _pending(cursor, connection_id):
            # Nothing changed: every contact stays as stored (the maintained counts).
            return comparison(connection_id, _unchanged(cursor, connection_id))
        rows, whole = _outcome(
            cursor, connection_id, stored, settings, cancelled, progress, every_contact
        )
        moves = tally_moves((before, now) for _rid, before, now in rows)
        if not whole:
            # The contacts not decided again stay where the maintained counts have them.
            moved_from: Counter[Place] = Counter()
            for (before, _now), count in moves.items():
                moved_from[before] += count
            for (status, _same), count in _unchanged(cursor, connection_id).items():
                moves[(status, status)] += count - moved_from[status]
    return comparison(connection_id, moves)


def with_changes(
    settings: Settings,
    *,
    avoid_duplicates: bool | None = None,
    without_rules: frozenset[str] = frozenset(),
) -> Settings:
    """`settings` with Avoid Duplicates set and the rules `without_rules` removed."""
    from dataclasses import replace

    return replace(
        settings,
        avoid_duplicates=settings.avoid_duplicates
        if avoid_duplicates is None
        else avoid_duplicates,
        rules=tuple(rule for rule in settings.rules if rule.id not in without_rules),
    )


__all__ = ["WhatIfCancelled", "stored_settings", "whatif", "whatif_statuses", "with_changes"]
