"""`healthdesk whatif`: equal to importing the snapshot with its connection item changed,
and the database it reads stays exactly as it was."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from healthdesk.feed.generate import generate
from healthdesk.store import whatif as whatif_module
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import get_connection
from healthdesk.store.statuses import identity_statuses
from healthdesk.store.whatif import whatif_statuses, with_changes
from tests.cli.compare_helpers import exported_statuses, joined_moves, printed_moves, summary_of
from tests.cli.conftest import Run
from tests.helpers.db import dump


@pytest.fixture(scope="module")
def snapshot_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(
        tmp_path_factory.mktemp("whatif") / "demo.jsonl", contacts=2000, seed=5, compress=False
    ).path


@pytest.fixture(scope="module")
def database(snapshot_file: Path) -> Path:
    path = snapshot_file.with_suffix(".sqlite3")
    engine = open_db(path)
    try:
        import_snapshots(engine, [snapshot_file])
    finally:
        engine.dispose()
    return path


def connection_items(snapshot: Path) -> dict[str, dict[str, Any]]:
    lines = snapshot.read_text().splitlines()
    items = [json.loads(line) for line in lines[1:]]
    return {item["id"]: item for item in items if item["type"] == "connection"}


def modified(snapshot: Path, target: Path, connection: str, change: dict[str, Any]) -> Path:
    """The snapshot with its connection item changed: Avoid Duplicates, rules removed."""
    lines = snapshot.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        item = json.loads(line)
        if item["type"] == "connection" and item["id"] == connection:
            if "avoid_duplicates" in change:
                item["avoid_duplicates"] = change["avoid_duplicates"]
            gone = set(change.get("without", ()))
            item["rules"] = [rule for rule in item["rules"] if rule["id"] not in gone]
            line = json.dumps(item)
        out.append(line)
    target.write_text("\n".join(out) + "\n")
    return target


def variations(snapshot: Path) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(connection, change, whatif's arguments): Avoid Duplicates switched, each rule
    removed, and every rule of app a removed at once."""
    found = []
    for cid, item in connection_items(snapshot).items():
        avoid = not item["avoid_duplicates"]
        found.append(
            (cid, {"avoid_duplicates": avoid}, ["--avoid-duplicates", "on" if avoid else "off"])
        )
        for rule in item["rules"]:
            found.append((cid, {"without": [rule["id"]]}, ["--without-rule", rule["id"]]))
        side_a = [rule["id"] for rule in item["rules"] if rule["from"] == "a"]
        args = [word for rule in side_a for word in ("--without-rule", rule)]
        found.append(
            (
                cid,
                {"without": side_a, "avoid_duplicates": avoid},
                [*args, "--avoid-duplicates", "on" if avoid else "off"],
            )
        )
    return found


@pytest.fixture(scope="module")
def pending_database(database: Path) -> Path:
    """The database as if a pull had stopped before deciding (its statuses stale)."""
    path = database.with_name("pending.sqlite3")
    shutil.copyfile(database, path)
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO pending_decisions (connection_id, rematch) VALUES (?, 0)",
            [(cid,) for (cid,) in db.execute("SELECT id FROM connections")],
        )
    return path


SOURCES = [("as stored", 5000), ("as stored", 7), ("a decision pending", 5000)]


@pytest.fixture(params=SOURCES, ids=[f"{name}, batches of {size}" for name, size in SOURCES])
def source(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    database: Path,
    pending_database: Path,
) -> Iterator[Path]:
    """The database a what-if reads, and the way it must take: with the statuses as
    stored, only the contacts a change can affect are decided again, so many at a time
    (a connection in one batch, or many); with a decision pending, every contact."""
    name, size = request.param
    monkeypatch.setattr(whatif_module, "_BATCH", size)
    taken: list[str] = []
    for way in ("_scope_decided", "_all_decided"):
        decide = getattr(whatif_module, way)

        def counted(*args: Any, _decide: Any = decide, _way: str = way) -> Any:
            taken.append(_way)
            return _decide(*args)

        monkeypatch.setattr(whatif_module, way, counted)
    pending = name == "a decision pending"
    yield pending_database if pending else database
    assert set(taken) == {"_all_decided" if pending else "_scope_decided"}


def test_every_whatif_equals_importing_the_changed_snapshot(
    run: Run, snapshot_file: Path, source: Path, tmp_path: Path
) -> None:
    database = source
    cases = variations(snapshot_file)
    assert len(cases) >= 9
    moved = 0
    for n, (connection, change, args) in enumerate(cases):
        result = run("whatif", "--db", database, "--connection", connection, *args, "--json")
        assert result.code == 0, result.err
        printed = json.loads(result.out)
        changed = modified(snapshot_file, tmp_path / f"changed-{n}.jsonl", connection, change)
        now = exported_statuses(run, ["--db", database], connection)
        then = exported_statuses(run, [changed], connection)
        assert printed["before"] == summary_of(run, ["--db", database], connection)["counts"]
        assert printed["after"] == summary_of(run, [changed], connection)["counts"], change
        assert printed_moves(printed) == joined_moves(now, then), change
        moved += sum(printed_moves(printed).values())
    assert moved > 0, "the variations should move contacts"


def test_whatif_statuses_per_contact_equal_the_changed_import(
    run: Run, snapshot_file: Path, source: Path, tmp_path: Path
) -> None:
    """Contact by contact, not only in sum."""
    database = source
    for n, (connection, change, _args) in enumerate(variations(snapshot_file)[:4]):
        engine = open_db(database)
        try:
            settings = get_connection(engine, connection).settings
            decided = whatif_statuses(
                engine,
                connection,
                with_changes(
                    settings,
                    avoid_duplicates=change.get("avoid_duplicates"),
                    without_rules=frozenset(change.get("without", ())),
                ),
            )
            with engine.connect() as db:
                cursor = db.connection.driver_connection.cursor()  # type: ignore[union-attr]
                identity_of = {
                    key: f"{app}:{ext_id}"
                    for (app, ext_id), (_status, key) in identity_statuses(cursor, connection)
                }
        finally:
            engine.dispose()
        changed = modified(snapshot_file, tmp_path / f"per-contact-{n}.jsonl", connection, change)
        expected = exported_statuses(run, [changed], connection)
        assert {identity_of[key]: status.value for key, status in decided.items()} == expected


def test_whatif_never_writes_the_database(
    run: Run, snapshot_file: Path, database: Path, tmp_path: Path
) -> None:
    rule = connection_items(snapshot_file)["c-hs-mc"]["rules"][0]["id"]
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(database.read_bytes())
    engine = open_db(copy)
    try:
        rows = dump(engine)
    finally:
        engine.dispose()
    files = {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in tmp_path.glob("copy.sqlite3*")}
    result = run(
        "whatif", "--db", copy, "--connection", "c-hs-mc", "--avoid-duplicates", "off",
        "--without-rule", rule,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert f"What if: Avoid Duplicates off, without rule {rule}" in result.out
    assert {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in files} == files
    engine = open_db(copy)
    try:
        assert dump(engine) == rows
    finally:
        engine.dispose()


def test_whatif_of_nothing_moves_nothing(run: Run, database: Path) -> None:
    printed = json.loads(run("whatif", "--db", database, "--connection", "c-pd-mc", "--json").out)
    assert printed["moves"] == []
    assert printed["before"] == printed["after"]
    assert "failures" not in printed


def test_whatif_of_a_snapshot_file(run: Run, snapshot_file: Path, database: Path) -> None:
    args = ["--connection", "c-sf-hs", "--avoid-duplicates", "off", "--json"]
    assert run("whatif", snapshot_file, *args).out == run("whatif", "--db", database, *args).out


def test_whatif_names_the_rules_there_are(run: Run, snapshot_file: Path, database: Path) -> None:
    rules = sorted(rule["id"] for rule in connection_items(snapshot_file)["c-hs-mc"]["rules"])
    result = run("whatif", "--db", database, "--connection", "c-hs-mc", "--without-rule", "zz")
    assert result.code == 2
    assert f"no rule 'zz' in c-hs-mc; its rules: {', '.join(rules)}" in result.err
    bad = run("whatif", "--db", database, "--avoid-duplicates", "maybe")
    assert bad.code == 2
    assert "'maybe' is not on or off" in bad.err
