"""Several Health Desk processes on one database file, with real subprocesses.

Imports started together on a new file, and on a full one, all land; a writer that meets
another one waits with a message, or fails with one line, and loses nothing.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from tests.helpers.feed import connection, event, record, write

pytestmark = pytest.mark.slow


def snapshot(path: Path, cid: str, contacts: int) -> Path:
    items = [connection(cid)]
    items += [
        record("a", f"r{n}", cid=cid, name=f"Person {cid} {n}", email=f"p{n}@{cid}.example")
        for n in range(contacts)
    ]
    items += [event(n + 1, "a", f"r{n}", "created", cid=cid) for n in range(0, contacts, 3)]
    return write(path, items)


def start(args: Sequence[str], **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "healthdesk", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate()
    return process.returncode, out, err


def run(args: Sequence[str], **env: str) -> tuple[int, str, str]:
    return finish(start(args, **env))


def connection_ids(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as raw:
        return [row[0] for row in raw.execute("SELECT id FROM connections ORDER BY id")]


def record_count(db: Path) -> int:
    with closing(sqlite3.connect(db)) as raw:
        return int(raw.execute("SELECT count(*) FROM records").fetchone()[0])


@contextmanager
def write_lock(db: Path) -> Iterator[sqlite3.Connection]:
    """Hold the database's write lock, as another process's long import would."""
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    try:
        yield raw
    finally:
        raw.execute("ROLLBACK")
        raw.close()


@pytest.mark.parametrize("round_", range(3))
def test_imports_started_together_on_a_new_database_all_land(tmp_path: Path, round_: int) -> None:
    db = tmp_path / f"new-{round_}.sqlite3"
    ids = [f"c-{n}" for n in range(3)]
    files = [snapshot(tmp_path / f"{cid}.jsonl", cid, 40) for cid in ids]
    processes = [start(["import", str(f), "--db", str(db)]) for f in files]
    for code, _out, err in [finish(p) for p in processes]:
        assert "Traceback" not in err
        assert code == 0, err
    assert connection_ids(db) == ids
    assert record_count(db) == 3 * 40


def test_imports_started_together_on_a_full_database_all_land(tmp_path: Path) -> None:
    db = tmp_path / "full.sqlite3"
    base = snapshot(tmp_path / "base.jsonl", "c-base", 3000)
    assert run(["import", str(base), "--db", str(db)])[0] == 0
    ids = [f"c-{n}" for n in range(3)]
    files = [snapshot(tmp_path / f"{cid}.jsonl", cid, 1500) for cid in ids]
    processes = [start(["import", str(f), "--db", str(db)]) for f in files]
    for code, _out, err in [finish(p) for p in processes]:
        assert "Traceback" not in err
        assert code == 0, err
    assert connection_ids(db) == sorted(["c-base", *ids])
    assert record_count(db) == 3000 + 3 * 1500


def test_a_writer_waits_for_another_with_a_message_then_lands(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    first = snapshot(tmp_path / "first.jsonl", "c-1", 5)
    assert run(["import", str(first), "--db", str(db)])[0] == 0
    second = snapshot(tmp_path / "second.jsonl", "c-2", 5)
    with write_lock(db):
        process = start(["import", str(second), "--db", str(db)], HEALTHDESK_WRITE_WAIT="600")
        assert process.stderr is not None
        line = process.stderr.readline()  # blocks until the importer says it waits
        assert line == "healthdesk: waiting for another Health Desk process to finish writing…\n"
        assert process.poll() is None
    code, _out, err = finish(process)
    assert (code, err) == (0, "")
    assert connection_ids(db) == ["c-1", "c-2"]


def test_a_writer_that_waited_too_long_fails_in_one_line_and_loses_nothing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "db.sqlite3"
    first = snapshot(tmp_path / "first.jsonl", "c-1", 5)
    assert run(["import", str(first), "--db", str(db)])[0] == 0
    before = record_count(db)
    second = snapshot(tmp_path / "second.jsonl", "c-2", 5)
    with write_lock(db):
        process = start(["import", str(second), "--db", str(db)], HEALTHDESK_WRITE_WAIT="1.5")
        code, out, err = finish(process)
    lines = err.splitlines()
    assert code == 2
    assert out == ""
    assert lines[0] == "healthdesk: waiting for another Health Desk process to finish writing…"
    assert len(lines) == 2
    assert lines[1].startswith("healthdesk: error: another Health Desk process kept the database")
    assert "nothing was written" in lines[1]
    assert record_count(db) == before
    # Once the other writer is done, the same command goes through.
    assert run(["import", str(second), "--db", str(db)])[0] == 0
    assert connection_ids(db) == ["c-1", "c-2"]
