"""Where the local database lives, how it is opened, and how it is brought up to date.

One SQLite file holds every connection. Opening it runs the Alembic migrations up to the
newest schema, so an older file is upgraded in place and a new one is created whole.

Several processes on one file (the window, a `healthdesk import`, a `healthdesk sync`):

- the schema is created or migrated inside one `BEGIN EXCLUSIVE` transaction, and the
  revision is read again inside it, so two processes opening a new file at once create it
  once (the second waits, then finds it done);
- a writer (`raw_transaction`) that finds another one writing waits for it: after
  `WAIT_NOTICE_AFTER` seconds it says so through the engine's `on_wait` callback
  ("waiting for another Health Desk process to finish writing…"), and after
  `write_wait()` seconds in all (`HEALTHDESK_WRITE_WAIT`, default 600) it raises
  `DatabaseBusy`, a one-line error, having written nothing.

The team store: `open_db("postgresql://USER@HOST/DB")` opens a PostgreSQL database
instead (store.dialect says what differs): the same schema and migrations, one writer
at a time there too (`raw_transaction` takes a lock of the database, PostgreSQL's
advisory lock `WRITE_LOCK`, and waits for it as above), while readers never wait. Its
password never travels in the URL: libpq reads it from ~/.pgpass (or PGPASSFILE), or it is
kept in the OS keyring (`store_password`).

Privacy: the database, its `-wal` and `-shm` are `0600` and a folder created for it is
`0700` (the default data folder is made `0700` even when it exists), whatever the umask:
the file is created by us with mode 0600 before SQLite opens it, and SQLite gives its
`-wal` and `-shm` the mode of the database file.
"""

from __future__ import annotations

import importlib.resources
import os
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.exc import OperationalError

from healthdesk.core.fingerprint import FINGERPRINT_VERSION
from healthdesk.store import search_index
from healthdesk.store.fingerprints import refresh_fingerprints, stored_version

APP_NAME = "healthdesk"
DB_FILE_NAME = "healthdesk.sqlite3"
#: Seconds a writer waits silently for another one before it says it is waiting.
WAIT_NOTICE_AFTER = 1.0
#: Seconds a writer waits for another one in all (unless HEALTHDESK_WRITE_WAIT says).
DEFAULT_WRITE_WAIT = 600.0
WRITE_WAIT_ENV = "HEALTHDESK_WRITE_WAIT"
WAIT_MESSAGE = "waiting for another Health Desk process to finish writing…"
#: busy_timeout of every connection (ms): readers and short writes wait this long.
_BUSY_TIMEOUT_MS = 10_000

OnWait = Callable[[str], object]
_on_wait: weakref.WeakKeyDictionary[Engine, OnWait] = weakref.WeakKeyDictionary()
_default_on_wait: list[OnWait] = []


def set_default_on_wait(on_wait: OnWait | None) -> None:
    """Where engines opened without `on_wait` say they wait (the command line: stderr)."""
    _default_on_wait[:] = [] if on_wait is None else [on_wait]


def notify_wait(engine: Engine, message: str) -> None:
    """Say through the engine's `on_wait` (or the default one) that a write waits."""
    notify = _on_wait.get(engine) or next(iter(_default_on_wait), None)
    if notify is not None:
        notify(message)


class TeamStoreError(ValueError):
    """A team store's URL Health Desk cannot use as it is; the text says why, in one line."""


class DatabaseBusy(Exception):
    """Another process kept the database locked for longer than this one may wait.

    Nothing was written. The text is one line, meant for the user.
    """


def write_wait() -> float:
    """Seconds a writer waits for another process in all (HEALTHDESK_WRITE_WAIT)."""
    text = os.environ.get(WRITE_WAIT_ENV, "").strip()
    try:
        value = float(text) if text else DEFAULT_WRITE_WAIT
    except ValueError:
        return DEFAULT_WRITE_WAIT
    return value if value >= 0 and value == value else DEFAULT_WRITE_WAIT


def default_db_path() -> Path:
    """The database in the user's data directory (e.g. ~/.local/share/healthdesk)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / DB_FILE_NAME


def _private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if missing; tighten our own file to 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            info = name.stat()
        except FileNotFoundError:
            continue
        # Another user's file (a shared --db) is theirs to set; ours is private.
        if info.st_mode & 0o077 and info.st_uid == os.getuid():
            os.chmod(name, info.st_mode & 0o700)


def _private_folder(folder: Path, *, enforce: bool) -> None:
    """Create `folder` (and missing parents) 0700; with `enforce`, make an existing one so."""
    missing = []
    walk = folder
    while not walk.exists():
        missing.append(walk)
        walk = walk.parent
    for made in reversed(missing):
        made.mkdir(mode=0o700, exist_ok=True)
        os.chmod(made, 0o700)  # mkdir's mode passes through the umask
    if enforce and folder.stat().st_mode & 0o077:
        os.chmod(folder, 0o700)


#: SQLite page cache of a connection (KiB): reading, and inside a write transaction.
READ_CACHE_KIB = 16_384
WRITE_CACHE_KIB = 65_536
#: The WAL's pages after which a commit copies it into the database (SQLite's default).
CHECKPOINT_PAGES = 1_000
#: The WAL's pages (4 KiB each, so about 200 MiB) after which the commit of a bulk
#: transaction copies it into the database (SQLite's default: 1,000). A pull commits a
#: page of items at a time; with the default, nearly every commit copied the pages it
#: wrote (an index's hot pages again and again) and synced both files. Pulling a million
#: contacts took 130-138 s so, 114-119 s with this.
BULK_CHECKPOINT_PAGES = 50_000
WAL_KEPT_BYTES = 64 * 1024 * 1024


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # First: a new file's switch to WAL needs a lock another process may hold.
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    # WAL: readers (the window) never wait for the importer, and vice versa.
    switch_to_wal(cursor)
    # NORMAL under WAL: a power cut may lose the last commit, never corrupt the file.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
    # A bulk transaction's WAL grows to BULK_CHECKPOINT_PAGES; once copied, the file is
    # cut back to this size (bytes) rather than kept that large.
    cursor.execute(f"PRAGMA journal_size_limit={WAL_KEPT_BYTES}")
    # Every pooled connection keeps its own page cache, filled by what it read: a small
    # one for reads (the window reads with a few threads at once: 64 MiB each cost it
    # 320 MiB at 200,000 contacts, 16 MiB about 130 MiB, and no speed), the large one only
    # while writing (raw_transaction).
    cursor.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
    cursor.close()
    # The search text of a contact, in SQL (store.search_index writes it).
    search_index.install(dbapi_connection)


def switch_to_wal(
    cursor: Any,
    *,
    within_s: float = _BUSY_TIMEOUT_MS / 1000,
    pause: Callable[[float], None] = time.sleep,
) -> None:
    """PRAGMA journal_mode=WAL, tried again while SQLite says the file is busy.

    A new file's switch needs an exclusive lock. When several processes open it at once,
    SQLite may answer "database is locked" at once instead of waiting out the busy
    timeout: it does so when waiting could deadlock. Once one of them has switched, the
    others find WAL and go on.
    """
    deadline = time.monotonic() + within_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
        pause(0.02)


def _migrations_config(connection: SAConnection | None = None) -> Config:
    config = Config()
    location = importlib.resources.files("healthdesk.store") / "migrations"
    config.set_main_option("script_location", str(location))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def create_db_engine(path: Path | str, *, on_wait: OnWait | None = None) -> Engine:
    """An engine on the SQLite file at `path` (created 0600, its folder 0700 when missing).

    `on_wait(message)` is called when a write of this engine has to wait for another
    process (see the module's docstring).
    """
    path = Path(path)
    default = default_db_path()
    _private_folder(path.parent, enforce=path.parent == default.parent)
    _private_file(path)
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        # The DBAPI's own transaction handling gets in the way of explicit BEGIN/COMMIT on
        # the bulk path; SQLAlchemy drives transactions instead.
        connect_args={"check_same_thread": False},
    )
    event.listen(engine, "connect", _on_connect)
    if on_wait is not None:
        _on_wait[engine] = on_wait
    return engine


def head_revision() -> str | None:
    """The newest schema revision this version of Health Desk knows."""
    return ScriptDirectory.from_config(_migrations_config()).get_current_head()


def is_team_store(target: object) -> bool:
    """Whether `target` (a --db value) names a PostgreSQL database rather than a file."""
    return isinstance(target, str) and target.startswith(("postgresql:", "postgresql+psycopg:"))


def is_current(connection: SAConnection, head: str | None) -> bool:
    """Whether the database of `connection` is at the migration `head` and its stored
    fingerprints follow this version's rules (nothing for `upgrade` to do)."""
    return MigrationContext.configure(connection).get_current_revision() == head and stored_version(
        connection
    ) == str(FINGERPRINT_VERSION)


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest version (a no-op when it is there): the schema by
    its migrations, then the stored fingerprints by their rules' version
    (store.fingerprints: an older Health Desk's fingerprints are recomputed).

    The versions are read, and the work done, inside one exclusive transaction: a second
    process doing the same at the same moment waits, then finds the work done.
    """
    head = head_revision()
    if engine.dialect.name == "postgresql":
        from healthdesk.store import team

        team.upgrade(engine, head)
        return

    with engine.connect() as connection:
        try:
            if is_current(connection, head):
                connection.rollback()
                return  # the common case: no lock taken at all
        except OperationalError as exc:
            # Busy at once (another process creating the file): the locked path below
            # waits for it, then reads again.
            if not (isinstance(exc.orig, sqlite3.OperationalError) and _is_busy(exc.orig)):
                raise
        connection.rollback()
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        previous = dbapi.isolation_level
        dbapi.isolation_level = None  # we issue BEGIN EXCLUSIVE / COMMIT ourselves
        try:
            _begin(engine, dbapi, "BEGIN EXCLUSIVE")
            try:
                # Read again under the lock: another process may have done it meanwhile.
                if MigrationContext.configure(connection).get_current_revision() != head:
                    command.upgrade(_migrations_config(connection), "head")
                refresh_fingerprints(connection)
                connection.commit()
                if dbapi.in_transaction:
                    dbapi.execute("COMMIT")
            except BaseException:
                connection.rollback()
                if dbapi.in_transaction:
                    dbapi.execute("ROLLBACK")
                raise
        finally:
            dbapi.isolation_level = previous


def open_db(path: Path | str | None = None, *, on_wait: OnWait | None = None) -> Engine:
    """The engine of an up-to-date database at `path` (default: `default_db_path()`), or
    of the PostgreSQL database of a `postgresql://USER@HOST/DB` URL (store.team).

    Raises DatabaseBusy when another process holds the file locked for too long.
    """
    if is_team_store(path):
        from healthdesk.store import team

        engine = team.create_team_engine(str(path), on_wait=on_wait)
    else:
        engine = create_db_engine(default_db_path() if path is None else path, on_wait=on_wait)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _begin(engine: Engine, dbapi: Any, statement: str) -> None:
    """Run `statement` (BEGIN IMMEDIATE or EXCLUSIVE), waiting for other writers.

    Waits silently for `WAIT_NOTICE_AFTER` s, then tells the engine's `on_wait`, then
    waits up to `write_wait()` s in all before it raises DatabaseBusy.
    """
    limit = write_wait()
    started = time.monotonic()
    first = min(WAIT_NOTICE_AFTER, limit)
    told = False
    dbapi.execute(f"PRAGMA busy_timeout={int(first * 1000)}")
    try:
        while True:
            try:
                dbapi.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
            left = limit - (time.monotonic() - started)
            if left <= 0:
                raise DatabaseBusy(
                    f"another Health Desk process kept the database busy for {limit:g} s; "
                    f"nothing was written: try again when it is done (or set "
                    f"{WRITE_WAIT_ENV} to wait longer)"
                )
            if not told:
                told = True
                notify_wait(engine, WAIT_MESSAGE)
            # The busy handler polls the lock; at most a second per round so that the
            # limit is kept even when the lock is never released.
            dbapi.execute(f"PRAGMA busy_timeout={max(1, int(min(left, 1.0) * 1000))}")
    finally:
        dbapi.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")


@contextmanager
def raw_transaction(engine: Engine, *, bulk: bool = False) -> Iterator[Any]:
    """A DBAPI cursor inside one IMMEDIATE transaction: committed whole, or rolled back.

    Waits for another process's write as the module's docstring says (DatabaseBusy).

    The bulk paths use the DBAPI's executemany directly (measured here: SQLAlchemy's
    insert() with dicts is ~4x slower, the ORM ~30x). `bulk`: temporary data (the sorts
    that build indexes, temporary tables) goes to a file rather than memory, so that the
    memory of an import of millions stays flat.
    """
    if engine.dialect.name == "postgresql":
        from healthdesk.store import team

        with team.raw_transaction(engine) as pg_cursor:
            yield pg_cursor
        return
    with engine.connect() as connection:
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        previous = dbapi.isolation_level
        dbapi.isolation_level = None  # autocommit mode: we issue BEGIN/COMMIT ourselves
        cursor = dbapi.cursor()
        cursor.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KIB}")
        if bulk:
            cursor.execute("PRAGMA temp_store=FILE")
            cursor.execute(f"PRAGMA wal_autocheckpoint={BULK_CHECKPOINT_PAGES}")
        try:
            _begin(engine, dbapi, "BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        finally:
            try:
                if bulk:
                    cursor.execute("PRAGMA temp_store=MEMORY")
                    cursor.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
                cursor.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
                cursor.close()
                dbapi.isolation_level = previous
            except sqlite3.Error:
                # Still in the transaction (a COMMIT that failed and did not roll back):
                # the pool must not hand this connection out again as it is. The error
                # that brought us here is the one that goes on.
                connection.invalidate()
