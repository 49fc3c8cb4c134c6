"""What if a connection had other settings: its contacts decided again, in memory, on the
stored records, mappings and events, without writing the database.

The one decision path of an import (`store.decisions.decision_stream`, which hands the
facts to `core.health.decide`), with the settings changed: records are matched against
the changed rules of a side as an import would store it (`decisions.matches_under`), and
nothing is written (the connection reads with SQLite's `query_only`, on PostgreSQL in a
READ ONLY transaction; the pairs' set is computed in SQL instead of a temporary table).
The new statuses are held as one byte per record (a `bytearray` by rid), then compared
with the stored ones in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from healthdesk.core.compare import Comparison, comparison, tally_moves
from healthdesk.core.model import STATUS_ORDER, Settings, Side, Status
from healthdesk.core.rules import compile_side
from healthdesk.store import decisions, dialect
from healthdesk.store.codec import settings_from_row
from healthdesk.store.db import READ_CACHE_KIB, WRITE_CACHE_KIB

#: A status as one byte (0: no contact).
_CODE = {status.value: index + 1 for index, status in enumerate(STATUS_ORDER)}
_STATUS = {code: value for value, code in _CODE.items()}


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


def _decided(
    cursor: Any,
    connection_id: str,
    settings: Settings,
    cancelled: Callable[[], bool],
    progress: Callable[[int, int], None] | None,
) -> tuple[int, bytearray]:
    """(base, codes): the status code of each contact under `settings`, by anchor rid."""
    stored = _stored(cursor, connection_id)
    low, high, records = cursor.execute(
        "SELECT MIN(rid), MAX(rid), COUNT(*) FROM records WHERE connection_id = ?",
        (connection_id,),
    ).fetchone()
    if low is None:
        return 0, bytearray()
    matches = None
    sides = _changed_sides(stored, settings)
    # A pair's status hangs on its records' matching and the direction alone: when
    # neither changed, it stays as stored (Avoid Duplicates concerns single records).
    only_pairs_of: list[int] | None = None
    if settings.direction == stored.direction and not _pending(cursor, connection_id):
        only_pairs_of = []
    if sides:
        predicates = {side: compile_side(settings.rules_of(side)) for side in Side}
        try:
            matches = decisions.matches_under(cursor, connection_id, predicates, sides, cancelled)
        except decisions.DecisionCancelled:
            raise WhatIfCancelled from None
        if only_pairs_of is not None:
            only_pairs_of = matches.changed()
    codes = bytearray(high - low + 1)
    code = _CODE
    done = 0
    for batch in decisions.decision_stream(
        cursor,
        connection_id,
        settings,
        matches=matches,
        write_paired=False,
        only_pairs_of=only_pairs_of,
    ):
        for decision in batch:
            codes[decision.anchor - low] = code[decision.status]
        done += len(batch)
        if cancelled():
            raise WhatIfCancelled
        if progress is not None:
            progress(min(done, records), records)
    if only_pairs_of is not None:
        # The pairs not decided again keep their stored status.
        size = len(codes)
        cursor.execute(
            "SELECT rid, status FROM contacts WHERE connection_id = ? AND b_rid IS NOT NULL "
            "AND a_rid IS NOT NULL",
            (connection_id,),
        )
        while rows := cursor.fetchmany(10_000):
            for rid, status in rows:
                index = rid - low
                if 0 <= index < size and not codes[index]:
                    codes[index] = code[status]
    return low, codes


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
        low, codes = _decided(cursor, connection_id, settings, lambda: False, None)
    return {low + i: Status(_STATUS[c]) for i, c in enumerate(codes) if c}


def whatif(
    engine: Engine,
    connection_id: str,
    settings: Settings,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] | None = None,
) -> Comparison:
    """The moves from the stored statuses of a connection to those it would have under
    `settings`. Writes nothing; raises WhatIfCancelled when `cancelled()` turns true;
    `progress(done, total)` counts contacts decided."""
    with _read_only(engine) as cursor:
        if settings == _stored(cursor, connection_id) and not _pending(cursor, connection_id):
            # Nothing changed: every contact stays as stored (the maintained counts).
            return comparison(connection_id, _unchanged(cursor, connection_id))
        low, codes = _decided(cursor, connection_id, settings, cancelled, progress)

        def pairs() -> Iterator[tuple[str | None, str | None]]:
            cursor.execute(
                "SELECT rid, status FROM contacts WHERE connection_id = ?", (connection_id,)
            )
            size = len(codes)
            while rows := cursor.fetchmany(10_000):
                for rid, status in rows:
                    index = rid - low
                    now = codes[index] if 0 <= index < size else 0
                    if now:
                        codes[index] = 0  # seen: what remains is new
                    yield status, _STATUS[now] if now else None
            for now in codes:
                if now:
                    yield None, _STATUS[now]

        moves = tally_moves(pairs())
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
