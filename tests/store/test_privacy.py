"""Private data on disk: modes of the database files whatever the umask (SQLite's own
files: a team store's are the PostgreSQL server's); and forgetting leaves no count."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from healthdesk.store.db import default_db_path, open_db
from healthdesk.store.imports import import_snapshots
from tests.helpers.feed import connection, record, write


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_default_database_folder_0700_and_files_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    snap = write(tmp_path / "s.jsonl", [connection(), record("a", "1", email="ada@example.com")])
    engine = open_db()
    try:
        import_snapshots(engine, [snap])
        path = default_db_path()
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert wal.exists()
        assert shm.exists()
        assert mode(path.parent) == 0o700
        assert {p.name: mode(p) for p in (path, wal, shm)} == {
            path.name: 0o600,
            wal.name: 0o600,
            shm.name: 0o600,
        }
    finally:
        engine.dispose()


@pytest.mark.usefixtures("umask_022")
def test_an_existing_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    open_db(path).dispose()
    path.chmod(0o644)
    open_db(path).dispose()
    assert mode(path) == 0o600


@pytest.mark.usefixtures("umask_022")
def test_an_existing_default_folder_is_made_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    folder = default_db_path().parent
    folder.mkdir(parents=True, mode=0o755)
    open_db().dispose()
    assert mode(folder) == 0o700


def test_forgetting_a_connection_leaves_no_count_of_it(engine: Engine, tmp_path: Path) -> None:
    from healthdesk.store.counts import read_counts
    from healthdesk.store.forget import forget_connection

    items = [connection("c-1"), record("a", "1", name="Ann", email="ann@x.io")]
    items += [connection("c-2"), record("a", "2", cid="c-2", name="Bo", email="bo@x.io")]
    import_snapshots(engine, [write(tmp_path / "two.jsonl", items)])
    assert read_counts(engine, "c-1").total == read_counts(engine, "c-2").total == 1
    forget_connection(engine, "c-1")
    with engine.connect() as db:
        for table in ("contact_counts", "event_counts"):
            left = db.exec_driver_sql(
                f"SELECT COUNT(*) FROM {table} WHERE connection_id = 'c-1'"
            ).scalar_one()
            assert left == 0, table
    assert read_counts(engine, "c-2").total == 1
