"""A random kill point during an import leaves the database before or after, never between.

A real `python -m healthdesk import` is SIGKILLed once the database's WAL has grown past a
random fraction of what the whole import writes (measured by a reference run), or at
once; then the database, opened again, must equal the state before the import or the
state after it, table by table.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from healthdesk.store.db import open_db
from tests.helpers.db import dump
from tests.helpers.feed import connection, event, mapping, record, write

pytestmark = pytest.mark.slow
CONTACTS = 4000


def first_items() -> list[dict[str, Any]]:
    items = [connection()]
    items += [record("a", f"a{n}", email=f"p{n}@x.io") for n in range(CONTACTS)]
    return items


def second_items() -> list[dict[str, Any]]:
    """Updates every record of the first, adds as many, maps and logs events."""
    items = [connection(avoid_duplicates=False)]
    items += [
        record("a", f"a{n}", name=f"Renamed {n}", email=f"p{n}@x.io") for n in range(CONTACTS)
    ]
    items += [record("b", f"b{n}", email=f"p{n}@x.io") for n in range(CONTACTS)]
    items += [mapping(f"a{n}", f"b{n}") for n in range(0, CONTACTS, 2)]
    items += [event(n + 1, "a", f"a{n}", "failed") for n in range(0, CONTACTS, 3)]
    return items


def import_cmd(db: Path, snap: Path) -> list[str]:
    return [sys.executable, "-m", "healthdesk", "import", str(snap), "--db", str(db)]


def state_of(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, without when the import ran (the one column that moves)."""
    tables = dump(engine)
    with engine.connect() as db:
        columns = [row[1] for row in db.exec_driver_sql("PRAGMA table_info(connections)")]
    moving = columns.index("imported_at")
    tables["connections"] = [row[:moving] + row[moving + 1 :] for row in tables["connections"]]
    return tables


def wal_size(db: Path) -> int:
    try:
        return os.stat(f"{db}-wal").st_size
    except FileNotFoundError:
        return 0


class States(dict[str, Any]):
    """The fixture's values, with a short repr (hypothesis prints its arguments)."""

    def __repr__(self) -> str:
        return "States(...)"


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> States:
    """The database before the second import, the dumps before and after, its WAL growth."""
    root = tmp_path_factory.mktemp("kill")
    first = write(root / "first.jsonl", first_items())
    second = write(root / "second.jsonl", second_items())
    base = root / "base.sqlite3"
    subprocess.run(import_cmd(base, first), check=True, capture_output=True)
    engine = open_db(base)
    before = state_of(engine)
    engine.dispose()
    reference = root / "reference.sqlite3"
    shutil.copy(base, reference)
    # Keep the WAL after the import to measure how much the import writes: hold the file
    # open in this process, so the importer's close does not checkpoint it away.
    holder = open_db(reference)
    with holder.connect() as db:
        db.exec_driver_sql("SELECT 1").all()
        start = wal_size(reference)
        subprocess.run(import_cmd(reference, second), check=True, capture_output=True)
        written = wal_size(reference) - start
    after = state_of(holder)
    holder.dispose()
    assert before != after
    return States(base=base, second=second, before=before, after=after, written=written)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fraction=st.sampled_from([0.0]) | st.floats(0.05, 1.2))
def test_a_killed_import_leaves_before_or_after(
    states: States, tmp_path_factory: pytest.TempPathFactory, fraction: float
) -> None:
    db = tmp_path_factory.mktemp("victim") / "db.sqlite3"
    shutil.copy(states["base"], db)
    threshold = int(states["written"] * fraction)
    process = subprocess.Popen(
        import_cmd(db, states["second"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    stopped = threading.Event()
    try:
        # Wait for the condition: the WAL has grown past the threshold, or the import ended.
        while process.poll() is None and wal_size(db) < threshold:
            stopped.wait(0.001)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    engine = open_db(db)
    try:
        state = state_of(engine)
    finally:
        engine.dispose()
    assert state in (states["before"], states["after"])
