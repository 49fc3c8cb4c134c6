"""The database file: created by migrations equal to the schema, upgraded in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from healthdesk.store.db import (
    BULK_CHECKPOINT_PAGES,
    READ_CACHE_KIB,
    default_db_path,
    head_revision,
    open_db,
    raw_transaction,
    switch_to_wal,
)
from healthdesk.store.schema import Base, is_declared
from tests.helpers.db import sqlite_only


def test_migrations_build_exactly_the_declared_schema(engine: Engine) -> None:
    sqlite_only(engine, "PostgreSQL has its own types: test_team_store.py checks its schema")
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": is_declared})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_tables_exist_and_reopening_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    first = open_db(path)
    names = set(inspect(first).get_table_names())
    first.dispose()
    again = open_db(path)
    assert names >= {"connections", "records", "mappings", "events", "contacts", "alembic_version"}
    with again.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    again.dispose()
    assert revision == head_revision()


def test_wal_mode_is_on(engine: Engine) -> None:
    sqlite_only(engine, "SQLite's journal")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_default_path_is_in_the_user_data_dir(monkeypatch: object, tmp_path: Path) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "healthdesk" / "healthdesk.sqlite3"


def _locked_file(path: Path) -> sqlite3.Connection:
    """A rollback-journal database file held under an exclusive lock by its connection."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_switching_to_wal_tries_again_while_the_file_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    holder = _locked_file(path)
    opener = sqlite3.connect(path, isolation_level=None)
    opener.execute("PRAGMA busy_timeout=0")  # SQLite answers busy at once, as on a deadlock
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        holder.execute("COMMIT")  # the other process is done with the file

    switch_to_wal(opener.cursor(), pause=pause)

    assert len(pauses) == 1
    assert opener.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    holder.close()
    opener.close()


def test_switching_to_wal_gives_up_after_its_time(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    holder = _locked_file(path)
    opener = sqlite3.connect(path, isolation_level=None)
    opener.execute("PRAGMA busy_timeout=0")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        switch_to_wal(opener.cursor(), within_s=0, pause=lambda _seconds: None)

    holder.close()
    opener.close()


def test_a_bulk_commit_leaves_the_wal_to_be_copied_later_and_restores_the_setting(
    tmp_path: Path,
) -> None:
    page = 4096
    rows = 2_500  # a page each and more: some thousands of WAL pages, under the bulk limit
    grown: dict[bool, int] = {}
    for bulk in (False, True):
        path = tmp_path / f"bulk-{bulk}.sqlite3"
        engine = open_db(path)
        before = path.stat().st_size
        with raw_transaction(engine, bulk=bulk) as cursor:
            cursor.execute("CREATE TABLE filler (data BLOB)")
            cursor.executemany("INSERT INTO filler VALUES (?)", [(bytes(page),)] * rows)
            during = cursor.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        wal = path.with_name(path.name + "-wal").stat().st_size
        grown[bulk] = path.stat().st_size - before
        with engine.connect() as connection:
            after = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        engine.dispose()
        assert wal >= rows * page  # the commit wrote every page to the WAL
        assert during == (BULK_CHECKPOINT_PAGES if bulk else 1000)
        assert after == 1000  # SQLite's default again
    assert rows * page < BULK_CHECKPOINT_PAGES * page
    assert grown[False] >= rows * page  # copied into the file at its commit
    assert grown[True] < page * 10  # still in the WAL only


def test_a_commit_that_fails_in_a_bulk_transaction_leaves_the_connection_as_it_was(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite3"
    engine = open_db(path)
    with engine.connect() as connection:  # the pooled connection raw_transaction takes
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")

    def write_an_orphan() -> None:
        with raw_transaction(engine, bulk=True) as cursor:
            cursor.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            cursor.execute(
                "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
            cursor.execute("INSERT INTO child VALUES (7)")  # fails at COMMIT, which stays open

    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        write_an_orphan()
    # The settings were put back; the pool rolled the transaction back when it took the
    # connection again.
    with engine.connect() as connection:
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        assert not dbapi.in_transaction
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        assert connection.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -READ_CACHE_KIB
    engine.dispose()
