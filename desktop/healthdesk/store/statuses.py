"""A connection's stored statuses as a stream by contact identity, and the comparison of
two databases' (two imports of one connection) built on it.

Statuses are read as `core.health.decide` stored them (the `contacts` table); nothing here
decides one. The stream is ordered by identity (the anchor record's app, then its id:
the a-record of a pair, else the single record), which the unique index on records gives
without a sort, so that two streams join in one pass holding one row of each.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from healthdesk.core.compare import (
    Comparison,
    GroupKey,
    Identity,
    Place,
    comparison,
    failure_changes,
    merge_by_identity,
    place,
    tally_moves,
)
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection
from healthdesk.store import dialect
from healthdesk.store.counts import read_counts

#: How many contacts are read between two looks at `cancelled` and `progress`.
STEP = 50_000
#: The most contacts that changed place a comparison keeps the keys of (16 MB).
MOVED_LIMIT = 1_000_000

#: (status, contact key) of an identity in one database.
Stored = tuple[str, int]

_STREAM = """
    SELECT r.app, r.ext_id, c.status, c.rid FROM records r
    JOIN contacts c ON c.rid = r.rid
    WHERE r.connection_id = ? ORDER BY r.app, r.ext_id
"""


class CompareCancelled(Exception):
    """The comparison was stopped by its caller."""


@contextmanager
def _reading(engine: Engine) -> Iterator[Any]:
    """A DBAPI cursor in one read transaction: every row of one state of the database
    (on PostgreSQL a REPEATABLE READ one, read through a server-side cursor)."""
    with engine.connect() as connection:
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        if dialect.is_postgres(connection):
            connection.execution_options(isolation_level="REPEATABLE READ")
            connection.exec_driver_sql("SELECT 1")  # the transaction begins
            stream = dialect.PgConnection(dbapi).cursor()
            try:
                yield stream
            finally:
                stream.close()
                connection.rollback()
            return
        cursor = dbapi.cursor()
        try:
            connection.exec_driver_sql("BEGIN")
            yield cursor
        finally:
            cursor.close()
            connection.exec_driver_sql("ROLLBACK")


def identity_statuses(cursor: Any, connection_id: str) -> Iterator[tuple[Identity, Stored]]:
    """Every stored contact of a connection: ((app, record id), (status, key)), by identity."""
    cursor.execute(_STREAM, (connection_id,))
    while rows := cursor.fetchmany(10_000):
        for app, ext_id, status, rid in rows:
            yield (app, ext_id), (status, rid)


def contact_total(engine: Engine, connection_id: str) -> int:
    with engine.connect() as connection:
        return sum(read_counts(connection, connection_id).statuses.values())


def _joined(
    old: Engine,
    new: Engine,
    connection_id: str,
    cancelled: Callable[[], bool],
    progress: Callable[[int, int], None] | None,
) -> Iterator[tuple[Identity, Stored | None, Stored | None]]:
    total = contact_total(old, connection_id) + contact_total(new, connection_id)
    with _reading(old) as old_cursor, _reading(new) as new_cursor:
        joined = merge_by_identity(
            identity_statuses(old_cursor, connection_id),
            identity_statuses(new_cursor, connection_id),
        )
        for done, each in enumerate(joined, 1):
            yield each
            if done % STEP == 0:
                if cancelled():
                    raise CompareCancelled
                if progress is not None:
                    progress(min(done, total), total)
        if progress is not None:
            progress(total, total)


class MovedKeys:
    """The contacts that changed place, by move, as a comparison's pass met them: what a
    cell of the matrix lists, without reading both databases again. Each contact is its
    key in the old and in the new database (-1 in the one that lacks it), two 8-byte
    numbers; past `limit` contacts in all, none is kept (`get` answers None)."""

    def __init__(self, limit: int | None = None) -> None:
        self._limit = MOVED_LIMIT if limit is None else limit
        self._count = 0
        self._by_move: dict[tuple[Place, Place], tuple[array[int], array[int]]] | None = {}

    def add(self, move: tuple[Place, Place], old: int | None, new: int | None) -> None:
        by_move = self._by_move
        if by_move is None:
            return
        self._count += 1
        if self._count > self._limit:
            self._by_move = None  # too many to hold: the cells read again
            return
        keys = by_move.get(move)
        if keys is None:
            keys = by_move[move] = (array("q"), array("q"))
        keys[0].append(-1 if old is None else old)
        keys[1].append(-1 if new is None else new)

    def get(self, move: tuple[Place, Place]) -> list[tuple[int | None, int | None]] | None:
        """The keys of the contacts of `move` (as `moved_keys`), or None when a contact
        stays where it was or too many moved: those are not kept."""
        if self._by_move is None or move[0] == move[1]:
            return None
        old, new = self._by_move.get(move, (array("q"), array("q")))
        return [
            (a if a >= 0 else None, b if b >= 0 else None) for a, b in zip(old, new, strict=True)
        ]


def _failure_groups(engine: Engine, connection_id: str) -> dict[GroupKey, int]:
    with engine.connect() as connection:
        found = read_counts(connection, connection_id)
    return {(group.app, group.fingerprint): group.count for group in found.failures}


def compare_databases(
    old: Engine,
    new: Engine,
    connection: Connection,
    catalog: Catalog,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] | None = None,
    moved: MovedKeys | None = None,
) -> Comparison:
    """The moves between the statuses of `connection` in `old` and in `new`, and its
    failure groups that changed (categories by `connection`'s apps, as in `new`).

    Streams both databases in one pass (memory flat whatever their size, but for
    `moved`, which receives the keys of the contacts that changed place); raises
    CompareCancelled when `cancelled()` turns true; `progress(done, total)` counts
    contacts of both.
    """

    def places() -> Iterator[tuple[str | None, str | None]]:
        for _identity, before, after in _joined(old, new, connection.id, cancelled, progress):
            was = None if before is None else before[0]
            now = None if after is None else after[0]
            if moved is not None and was != now:
                moved.add(
                    (place(was), place(now)),
                    None if before is None else before[1],
                    None if after is None else after[1],
                )
            yield was, now

    moves = tally_moves(places())

    def category_of(app: Any, fingerprint: str) -> str:
        return catalog.classify(connection.app(app).kind, fingerprint).category

    failures = failure_changes(
        _failure_groups(old, connection.id), _failure_groups(new, connection.id), category_of
    )
    return comparison(connection.id, moves, failures)


def compare_snapshot(
    snapshot: Path,
    engine: Engine,
    connection: Connection,
    catalog: Catalog,
    *,
    cancelled: Callable[[], bool] = lambda: False,
) -> Comparison:
    """The moves since a snapshot file of `connection` (before) to `engine` (after, e.g.
    your database): the snapshot is imported into a temporary database, removed after.
    Raises FeedError for a broken file and UnknownConnection when it lacks the connection."""
    from healthdesk.store.imports import snapshot_database
    from healthdesk.store.queries import get_connection

    with snapshot_database([snapshot], should_cancel=cancelled) as imported:
        get_connection(imported, connection.id)
        return compare_databases(imported, engine, connection, catalog, cancelled=cancelled)


def moved_keys(
    old: Engine,
    new: Engine,
    connection_id: str,
    from_: Place,
    to: Place,
    *,
    cancelled: Callable[[], bool] = lambda: False,
) -> list[tuple[int | None, int | None]]:
    """The contacts that went from `from_` to `to` (places of `core.compare`), by
    identity: their keys in `old` and in `new` (None in the one that lacks them)."""
    found: list[tuple[int | None, int | None]] = []
    for _identity, before, after in _joined(old, new, connection_id, cancelled, None):
        if place(None if before is None else before[0]) != from_:
            continue
        if place(None if after is None else after[0]) != to:
            continue
        found.append((None if before is None else before[1], None if after is None else after[1]))
    return found


def by_name(engine: Engine, keys: Sequence[int]) -> list[int]:
    """The contacts `keys` in the order of the lists (by name, then key); one statement."""
    if not keys:
        return []
    with engine.connect() as db:
        name = dialect.dialect_of(db)
        within, values = dialect.in_values("c.rid", list(keys), name)
        sql = (
            f"SELECT c.rid FROM contacts c WHERE {within} "
            f"ORDER BY c.name = '', {dialect.nocase('c.name', name)}, c.rid"
        )
        return [row[0] for row in db.exec_driver_sql(sql, (values,))]


__all__ = [
    "STEP",
    "CompareCancelled",
    "by_name",
    "compare_databases",
    "compare_snapshot",
    "contact_total",
    "identity_statuses",
    "moved_keys",
]
