"""Where the local database lives, how it is opened, and how it is brought up to date.

One SQLite file holds every connection. Opening it runs the Alembic migrations up to the
newest schema, so an older file is upgraded in place and a new one is created whole.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator
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

APP_NAME = "healthdesk"
DB_FILE_NAME = "healthdesk.sqlite3"


def default_db_path() -> Path:
    """The database in the user's data directory (e.g. ~/.local/share/healthdesk)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / DB_FILE_NAME


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (the window) never wait for the importer, and vice versa.
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL under WAL: a power cut may lose the last commit, never corrupt the file.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _migrations_config(connection: SAConnection | None = None) -> Config:
    config = Config()
    location = importlib.resources.files("healthdesk.store") / "migrations"
    config.set_main_option("script_location", str(location))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def create_db_engine(path: Path | str) -> Engine:
    """An engine on the SQLite file at `path`, its folder created when missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        # The DBAPI's own transaction handling gets in the way of explicit BEGIN/COMMIT on
        # the bulk path; SQLAlchemy drives transactions instead.
        connect_args={"check_same_thread": False},
    )
    event.listen(engine, "connect", _on_connect)
    return engine


def head_revision() -> str | None:
    """The newest schema revision this version of Health Desk knows."""
    return ScriptDirectory.from_config(_migrations_config()).get_current_head()


def upgrade(engine: Engine) -> None:
    """Bring the database's schema to the newest version (a no-op when it is there)."""
    with engine.begin() as connection:
        config = _migrations_config(connection)
        head = ScriptDirectory.from_config(config).get_current_head()
        current = MigrationContext.configure(connection).get_current_revision()
        if current != head:
            command.upgrade(config, "head")


def open_db(path: Path | str | None = None) -> Engine:
    """The engine of an up-to-date database at `path` (default: `default_db_path()`)."""
    engine = create_db_engine(default_db_path() if path is None else path)
    upgrade(engine)
    return engine


@contextmanager
def raw_transaction(engine: Engine, *, bulk: bool = False) -> Iterator[Any]:
    """A DBAPI cursor inside one IMMEDIATE transaction: committed whole, or rolled back.

    The bulk paths use the DBAPI's executemany directly (platform-notes.md: SQLAlchemy's
    insert() with dicts is ~4x slower, the ORM ~30x). `bulk`: temporary data (the sorts
    that build indexes, temporary tables) goes to a file rather than memory, so that the
    memory of an import of millions stays flat.
    """
    with engine.connect() as connection:
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        previous = dbapi.isolation_level
        dbapi.isolation_level = None  # autocommit mode: we issue BEGIN/COMMIT ourselves
        cursor = dbapi.cursor()
        if bulk:
            cursor.execute("PRAGMA temp_store=FILE")
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        finally:
            if bulk:
                cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()
            dbapi.isolation_level = previous
