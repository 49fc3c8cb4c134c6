"""The team store: the database on a PostgreSQL server, shared by every agent's window.

`--db postgresql://USER@HOST[:PORT]/DB` (or `?host=/socket/dir&port=N`) opens it through
psycopg 3. The password never travels in the URL (nor on a command line): libpq reads it
from ~/.pgpass (or $PGPASSFILE), or Health Desk keeps it in the OS keyring under
`KEYRING_SERVICE`, keyed by `password_key` (`store_password`).

Writers take one lock of the database (`WRITE_LOCK`, an advisory lock held for the whole
transaction), so that imports and syncs write one after the other as they do on SQLite:
none loses another's rows and none deadlocks (there is only one lock to wait for). A
writer that waits says so after `WAIT_NOTICE_AFTER` s and gives up with `DatabaseBusy`
after `write_wait()` s, having written nothing. Readers never wait for writers.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import keyring
import keyring.errors
import psycopg
import psycopg.errors
from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from healthdesk.store import dialect
from healthdesk.store.db import (
    WAIT_MESSAGE,
    WAIT_NOTICE_AFTER,
    WRITE_WAIT_ENV,
    DatabaseBusy,
    OnWait,
    TeamStoreError,
    _migrations_config,
    is_current,
    notify_wait,
    write_wait,
)
from healthdesk.store.fingerprints import refresh_fingerprints

#: The key of the advisory lock every writer holds (any constant: "HDWRITE" as bytes).
WRITE_LOCK = 0x48_44_57_52_49_54_45
KEYRING_SERVICE = "healthdesk-postgresql"

_log = logging.getLogger(__name__)


#: What a role that may only read is told when it tries to write.
READ_ONLY_MESSAGE = (
    "your database role may only read this team store: nothing was written (imports, "
    "syncs and forgetting need the syncing role)"
)


def describe_error(exc: BaseException) -> str | None:
    """One line for the user about a team store's refusal (None: not one we know)."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(
        orig, psycopg.errors.InsufficientPrivilege | psycopg.errors.ReadOnlySqlTransaction
    ):
        return READ_ONLY_MESSAGE
    if isinstance(orig, psycopg.OperationalError):
        first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        return f"cannot use the team store: {first}"
    return None


def engine_url(text: str) -> URL:
    """The SQLAlchemy URL of a `postgresql://` --db value (driver: psycopg 3).

    Raises TeamStoreError when it is not a PostgreSQL URL, has no database, or carries a
    password (which would show in process lists and shell histories).
    """
    try:
        url = make_url(text.strip())
    except ArgumentError as exc:
        raise TeamStoreError(f"not a database URL: {exc}") from None
    if url.get_backend_name() != "postgresql":
        raise TeamStoreError(f"{text!r} is not a postgresql:// URL")
    if url.password is not None:
        raise TeamStoreError(
            "the database URL must not carry a password: put it in ~/.pgpass, or in the "
            "keyring (File > Open Team Store…)"
        )
    if not url.database:
        raise TeamStoreError(f"{url.render_as_string()!r} names no database (…/DBNAME)")
    return url.set(drivername="postgresql+psycopg")


def password_key(url: URL) -> str:
    """The keyring entry of a database: `user@host:port/db` (socket dirs as hosts)."""
    host = url.host or str(url.query.get("host", "")) or "localhost"
    port = url.port or str(url.query.get("port", "")) or "5432"
    return f"{url.username or ''}@{host}:{port}/{url.database}"


def stored_password(url: URL) -> str | None:
    """The password the keyring holds for this database, if any (None without a keyring)."""
    try:
        return keyring.get_password(KEYRING_SERVICE, password_key(url))
    except keyring.errors.KeyringError as exc:
        _log.debug("no keyring: %s", exc)
        return None


def store_password(url: URL, password: str) -> None:
    """Keep `password` for this database in the OS keyring (KeyringError without one)."""
    keyring.set_password(KEYRING_SERVICE, password_key(url), password)


def display_url(engine: Engine) -> str:
    """The engine's URL as the user gave it (no password: it never holds one)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=True)


def create_team_engine(
    text: str, *, on_wait: OnWait | None = None, password: str | None = None
) -> Engine:
    """An engine on the PostgreSQL database of `text` (see engine_url), with `password`,
    else the keyring's, else what libpq finds (~/.pgpass, PGPASSWORD)."""
    url = engine_url(text)
    connect_args: dict[str, Any] = {"connect_timeout": 10, "application_name": "healthdesk"}
    if password is None:
        password = stored_password(url)
    if password is not None:
        connect_args["password"] = password
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    dialect.install(engine)
    params: dict[str, Any] = dict(url.translate_connect_args(username="user", database="dbname"))
    params.update({key: str(value) for key, value in url.query.items()})
    params.update(connect_args)
    _connect_params[engine] = params
    if on_wait is not None:
        from healthdesk.store.db import _on_wait

        _on_wait[engine] = on_wait
    return engine


_connect_params: weakref.WeakKeyDictionary[Engine, dict[str, Any]] = weakref.WeakKeyDictionary()


def connect_params(engine: Engine) -> dict[str, Any]:
    """What psycopg.connect takes to open a connection of its own to the engine's
    database (the window's listener of CHANGES_CHANNEL)."""
    return dict(_connect_params[engine])


def open_team_store(text: str, *, password: str | None = None) -> Engine:
    """store.db.open_db for a team store, with a password given for this session."""
    from healthdesk.store.db import upgrade as upgrade_store

    engine = create_team_engine(text, password=password)
    try:
        upgrade_store(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def upgrade(engine: Engine, head: str | None) -> None:
    """store.db.upgrade on PostgreSQL: migrations and fingerprints under the write lock."""

    with engine.connect() as connection:
        if is_current(connection, head):
            connection.rollback()
            return
        connection.rollback()
        with connection.begin():
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
            if MigrationContext.configure(connection).get_current_revision() != head:
                command.upgrade(_migrations_config(connection), "head")
            refresh_fingerprints(connection)


def _lock(engine: Engine, dbapi: psycopg.Connection[Any]) -> None:
    """Take WRITE_LOCK (a session lock), waiting for another writer as the module says."""
    limit = write_wait()
    started = time.monotonic()
    told = False
    while True:
        left = limit - (time.monotonic() - started)
        # Silent at first; then a second per round, so that the limit is kept.
        wait = min(left, WAIT_NOTICE_AFTER if not told else 1.0)
        try:
            dbapi.execute(f"SET lock_timeout = {max(1, int(wait * 1000))}")
            dbapi.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
            dbapi.execute("SET lock_timeout = 0")
            dbapi.commit()
            return
        except psycopg.errors.LockNotAvailable:
            dbapi.rollback()
        if time.monotonic() - started >= limit:
            raise DatabaseBusy(
                f"another Health Desk process kept the database busy for {limit:g} s; "
                f"nothing was written: try again when it is done (or set "
                f"{WRITE_WAIT_ENV} to wait longer)"
            )
        if not told:
            told = True
            notify_wait(engine, WAIT_MESSAGE)


@contextmanager
def raw_transaction(engine: Engine) -> Iterator[dialect.PgCursor]:
    """store.db.raw_transaction on PostgreSQL: one transaction under WRITE_LOCK."""
    with engine.connect() as connection:
        dbapi = connection.connection.driver_connection
        assert isinstance(dbapi, psycopg.Connection)
        dbapi.rollback()
        _lock(engine, dbapi)
        try:
            cursor = dbapi.cursor()
            try:
                with dbapi.transaction():
                    yield dialect.PgCursor(cursor)
            except psycopg.Error as exc:
                # As SQLAlchemy raises a driver's errors: callers catch one kind for both
                # backends (DatabaseError and its kinds), the driver's error as `orig`.
                raise DBAPIError.instance(
                    None, None, exc, psycopg.Error, connection_invalidated=dbapi.closed
                ) from exc
            finally:
                cursor.close()
        finally:
            if not dbapi.closed:
                dbapi.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))
                dbapi.commit()
