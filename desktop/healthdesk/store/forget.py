"""Forget a connection: remove it and every trace of its customers from the database files.

`forget_connection(engine, connection_id)` deletes the connection's rows from every table
(records, mappings, events, contacts, search texts, pending decisions, feed cursors, the
connection), in one transaction with `PRAGMA secure_delete=ON`, so SQLite overwrites the deleted
content with zeros instead of leaving it in free space; the search index drops the
deleted texts' trigrams (merged away, not just marked deleted) and forgets characters no
remaining text holds. It then copies the WAL into the
database and truncates it (`PRAGMA wal_checkpoint(TRUNCATE)`), so that no older copy of
the pages stays in `-wal` either, and finally VACUUMs the file (rebuilt whole, shrunk; its
transient copy, which holds only what remains, goes to a temporary file rather than
memory, so that a large database costs no memory) and truncates the WAL again.

When another process holds the database open in a read (a window in the middle of a
query), the WAL cannot be truncated at once: SQLite waits for it (busy_timeout); if it
still cannot, `ForgetReport.wiped` is False and the caller should say that traces remain
in the `-wal` file until that process is done (running `wipe_wal(engine)` again then
finishes the job).

On a team store (PostgreSQL) the rows are deleted in one transaction and the tables
vacuumed; the server's own WAL and backups are its administrator's to wipe.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlalchemy import Engine

from healthdesk.store import dialect
from healthdesk.store.db import raw_transaction
from healthdesk.store.queries import UnknownConnection
from healthdesk.store.search_index import forget_connection_texts, forget_search_traces

#: Tables holding a connection's rows, children first.
_TABLES = (
    "contact_counts",
    "event_counts",
    "activity_days",
    "search_docs",
    "contacts",
    "pending_decisions",
    "events",
    "mappings",
    "records",
    "feed_cursors",
    "retry_audit",
)


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What `forget_connection` removed, by table, and whether the files are clean."""

    connection_id: str
    name: str
    removed: dict[str, int] = field(default_factory=dict)
    #: The WAL was checkpointed and truncated: no trace remains in the files.
    wiped: bool = True


def connection_name(engine: Engine, connection_id: str) -> str:
    """The connection's name; UnknownConnection when there is no such connection."""
    with engine.connect() as db:
        row = db.exec_driver_sql(
            "SELECT name FROM connections WHERE id = ?", (connection_id,)
        ).first()
        ids = [r[0] for r in db.exec_driver_sql("SELECT id FROM connections ORDER BY id")]
    if row is None:
        there = ", ".join(ids) if ids else "none"
        raise UnknownConnection(f"no connection {connection_id!r} (connections: {there})")
    return str(row[0])


def forget_connection(engine: Engine, connection_id: str) -> ForgetReport:
    """Remove `connection_id` and every row of its customers; wipe them from the files.

    Raises UnknownConnection when there is no such connection (nothing is changed) and
    store.db.DatabaseBusy when another process keeps writing.
    """
    name = connection_name(engine, connection_id)
    removed: dict[str, int] = {}
    if dialect.is_postgres(engine):
        return _forget_on_postgres(engine, connection_id, name)
    with raw_transaction(engine) as cursor:
        cursor.execute("PRAGMA secure_delete=ON")
        try:
            for table in (*_TABLES, "connections"):
                if table == "search_docs":
                    removed[table] = forget_connection_texts(cursor, connection_id)
                    continue
                key = "id" if table == "connections" else "connection_id"
                cursor.execute(f"DELETE FROM {table} WHERE {key} = ?", (connection_id,))
                removed[table] = max(cursor.rowcount, 0)
            forget_search_traces(cursor)
        finally:
            cursor.execute("PRAGMA secure_delete=OFF")
    wiped = wipe_wal(engine) and _vacuum(engine) and wipe_wal(engine)
    return ForgetReport(connection_id, name, removed, wiped)


def _forget_on_postgres(engine: Engine, connection_id: str, name: str) -> ForgetReport:
    """The team store: the rows deleted in one transaction, then the tables vacuumed so
    that their space is reused. What the server keeps beyond its tables (its WAL,
    backups, replicas) is its administrator's to wipe."""
    removed: dict[str, int] = {}
    with raw_transaction(engine) as cursor:
        for table in (*_TABLES, "connections"):
            key = "id" if table == "connections" else "connection_id"
            cursor.execute(f"DELETE FROM {table} WHERE {key} = ?", (connection_id,))
            removed[table] = max(cursor.rowcount, 0)
        dialect.announce(cursor, ["", connection_id])
    with engine.connect() as connection:
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        dbapi.rollback()
        dbapi.autocommit = True  # VACUUM cannot run inside a transaction
        try:
            dbapi.execute(f"VACUUM {', '.join((*_TABLES, 'connections'))}")
        finally:
            dbapi.autocommit = False
    return ForgetReport(connection_id, name, removed, wiped=True)


def wipe_wal(engine: Engine) -> bool:
    """Copy the WAL into the database and truncate it; False when a reader prevents it."""
    with engine.connect() as connection:
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        busy, _log, _done = dbapi.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy


def _vacuum(engine: Engine) -> bool:
    """Rebuild the file; False when another process keeps it busy (nothing is lost)."""
    with engine.connect() as connection:
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        previous = dbapi.isolation_level
        dbapi.isolation_level = None  # VACUUM cannot run inside a transaction
        dbapi.execute("PRAGMA temp_store=FILE")
        try:
            dbapi.execute("VACUUM")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return False
            raise
        finally:
            dbapi.execute("PRAGMA temp_store=MEMORY")
            dbapi.isolation_level = previous
    return True
