"""`healthdesk forget`: a connection and its customers leave the database files for good."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from healthdesk.store.db import open_db
from healthdesk.store.forget import forget_connection
from healthdesk.store.imports import import_snapshots
from tests.cli.conftest import Run
from tests.helpers.db import dump
from tests.helpers.feed import connection, event, mapping, record, write

SECRET_PEOPLE = [(f"Zed Secretperson{n}", f"zed.secret{n}@forgotten.example") for n in range(300)]
KEPT = ("Kim Keeper", "kim.keeper@kept.example")


def items() -> list[dict[str, object]]:
    forgotten = [connection("c-gone", name="Gone ⇄ Away")]
    for n, (name, email) in enumerate(SECRET_PEOPLE):
        forgotten.append(record("a", f"a{n}", cid="c-gone", name=name, email=email))
        forgotten.append(record("b", f"b{n}", cid="c-gone", name=name, email=email))
        forgotten.append(mapping(f"a{n}", f"b{n}", cid="c-gone"))
        forgotten.append(
            event(n + 1, "a", f"a{n}", "failed", cid="c-gone", message=f"{email} is invalid")
        )
    kept = [connection("c-kept"), record("a", "k1", cid="c-kept", name=KEPT[0], email=KEPT[1])]
    return forgotten + kept


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "forget.sqlite3"
    snap = write(tmp_path / "s.jsonl", items())
    engine = open_db(path)
    try:
        import_snapshots(engine, [snap])
    finally:
        engine.dispose()
    return path


def file_bytes(db: Path) -> bytes:
    """The raw bytes of the database and its WAL, as a forensic reader would see them."""
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


def traces(data: bytes) -> list[str]:
    words = ["Secretperson", "forgotten.example", "zed.secret", "Gone ⇄ Away"]
    return [w for w in words if w.encode() in data]


def test_forget_with_yes_leaves_no_trace_in_the_files_and_keeps_the_rest(
    run: Run, db: Path
) -> None:
    assert traces(file_bytes(db))  # the test can see them before
    result = run("forget", "--db", db, "--connection", "c-gone", "--yes")
    assert result.code == 0, result.err
    assert result.out == (
        f"Forgot c-gone (Gone ⇄ Away): 600 records, 300 events, 300 mappings removed from {db}.\n"
    )
    assert traces(file_bytes(db)) == []
    # The other connection is whole, and still readable in the file.
    assert KEPT[1].encode() in file_bytes(db)
    engine = open_db(db)
    try:
        tables = dump(engine)
    finally:
        engine.dispose()
    assert [row[0] for row in tables["connections"]] == ["c-kept"]
    assert {row[1] for row in tables["records"]} == {"c-kept"}
    assert tables["events"] == []
    assert tables["mappings"] == []


def test_forget_while_the_store_is_open_wipes_the_wal_too(db: Path) -> None:
    engine = open_db(db)
    try:
        report = forget_connection(engine, "c-gone")
        assert report.wiped
        # The engine is still open (its WAL exists): neither file holds a trace.
        assert traces(file_bytes(db)) == []
    finally:
        engine.dispose()


def test_forget_without_a_terminal_and_without_yes_refuses(
    run: Run, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("c-gone\n"))
    result = run("forget", "--db", db, "--connection", "c-gone")
    assert result.code == 2
    assert result.err == (
        "healthdesk: error: refusing to forget c-gone (Gone ⇄ Away) without confirmation: "
        "not a terminal; add --yes\n"
    )
    assert traces(file_bytes(db))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("typed", "code"), [("c-gone\n", 0), ("y\n", 2), ("", 2)])
def test_forget_on_a_terminal_asks_for_the_id(
    run: Run, db: Path, monkeypatch: pytest.MonkeyPatch, typed: str, code: int
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal(typed))
    result = run("forget", "--db", db, "--connection", "c-gone")
    assert result.code == code
    assert "Type the connection's id to confirm: " in result.out
    if code == 0:
        assert traces(file_bytes(db)) == []
    else:
        assert result.err == "healthdesk: error: not confirmed; nothing was removed\n"
        assert traces(file_bytes(db))


def test_forget_an_unknown_connection_is_one_line(run: Run, db: Path) -> None:
    before = file_bytes(db)
    result = run("forget", "--db", db, "--connection", "c-nope", "--yes")
    assert result.code == 2
    assert result.err == (
        "healthdesk: error: no connection 'c-nope' (connections: c-gone, c-kept)\n"
    )
    assert traces(before) == traces(file_bytes(db))


def test_forget_a_missing_database_is_one_line(run: Run, tmp_path: Path) -> None:
    result = run("forget", "--db", tmp_path / "none.sqlite3", "--connection", "c", "--yes")
    assert result.code == 2
    assert result.err == f"healthdesk: error: {tmp_path / 'none.sqlite3'}: no such database\n"
    assert not (tmp_path / "none.sqlite3").exists()


def test_forget_on_a_team_store_removes_every_row_of_it(
    run: Run, tmp_path: Path, postgres_url: str
):
    snap = write(tmp_path / "s.jsonl", items())
    assert run("import", snap, "--db", postgres_url).code == 0

    result = run("forget", "--db", postgres_url, "--connection", "c-gone", "--yes")

    assert result.code == 0, result.err
    assert result.out.startswith("Forgot c-gone (Gone ⇄ Away): 600 records, 300 events, ")
    engine = open_db(postgres_url)
    try:
        tables = dump(engine)
        with engine.connect() as db:
            counted = db.exec_driver_sql(
                "SELECT COUNT(*) FROM contact_counts WHERE connection_id = 'c-gone'"
            ).scalar()
    finally:
        engine.dispose()
    assert counted == 0
    assert [row[0] for row in tables["connections"]] == ["c-kept"]
    assert {row[1] for row in tables["records"]} == {"c-kept"}
    assert tables["events"] == tables["mappings"] == []
    assert not traces(repr(tables).encode())
