"""`healthdesk compare`: its counts, moves and failure groups equal what `export` and
`summary` say of each of the two states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healthdesk.feed.generate import generate
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from tests.cli.compare_helpers import (
    exported_statuses,
    joined_moves,
    printed_moves,
    summary_of,
)
from tests.cli.conftest import Run

CONNECTIONS = ["c-hs-mc", "c-sf-hs", "c-pd-mc"]


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two exports of the same connections: the second a later, different, day."""
    folder = tmp_path_factory.mktemp("compare")
    old = generate(folder / "old.jsonl", contacts=1500, seed=3, compress=False).path
    new = generate(folder / "new.jsonl.gz", contacts=1600, seed=4).path
    return old, new


@pytest.mark.parametrize("connection", CONNECTIONS)
def test_compare_json_equals_the_two_exports_joined_by_identity(
    run: Run, snapshots: tuple[Path, Path], connection: str
) -> None:
    old, new = snapshots
    result = run("compare", old, new, "--connection", connection, "--json")
    assert result.code == 0, result.err
    printed = json.loads(result.out)
    before = exported_statuses(run, [old], connection)
    after = exported_statuses(run, [new], connection)
    expected = joined_moves(before, after)
    assert expected, "the two snapshots should differ"
    assert any("absent" in key for key in expected)
    assert printed_moves(printed) == expected
    old_summary, new_summary = (
        summary_of(run, [old], connection),
        summary_of(run, [new], connection),
    )
    assert printed["before"] == old_summary["counts"]
    assert printed["after"] == new_summary["counts"]
    # Every failure group that changed, with its counts in each summary.
    groups_before = {(g["app"], g["fingerprint"]): g for g in old_summary["failures"]}
    groups_after = {(g["app"], g["fingerprint"]): g for g in new_summary["failures"]}
    expected_failures = {}
    for key in groups_before.keys() | groups_after.keys():
        count_before = groups_before[key]["count"] if key in groups_before else 0
        count_after = groups_after[key]["count"] if key in groups_after else 0
        if count_before != count_after:
            category = (groups_after.get(key) or groups_before[key])["category"]
            expected_failures[key] = (category, count_before, count_after)
    assert expected_failures
    assert {
        (f["app"], f["fingerprint"]): (f["category"], f["before"], f["after"])
        for f in printed["failures"]
    } == expected_failures


def test_compare_of_a_snapshot_with_itself_moves_nothing(
    run: Run, snapshots: tuple[Path, Path]
) -> None:
    old, _new = snapshots
    result = run("compare", old, old, "--connection", "c-hs-mc", "--json")
    printed = json.loads(result.out)
    assert printed["moves"] == []
    assert printed["failures"] == []
    assert printed["before"] == printed["after"] == summary_of(run, [old], "c-hs-mc")["counts"]


def test_compare_reads_databases_and_db(
    run: Run, snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    """A database (recognized by its bytes) compares like the snapshot it holds."""
    old, new = snapshots
    db = tmp_path / "new.sqlite3"
    engine = open_db(db)
    try:
        import_snapshots(engine, [new])
    finally:
        engine.dispose()
    from_files = run("compare", old, new, "--connection", "c-pd-mc", "--json").out
    assert run("compare", old, db, "--connection", "c-pd-mc", "--json").out == from_files
    assert run("compare", old, "--db", db, "--connection", "c-pd-mc", "--json").out == from_files


def test_compare_text_is_a_table_of_counts_moves_and_failures(
    run: Run, snapshots: tuple[Path, Path]
) -> None:
    old, new = snapshots
    result = run("compare", old, new, "--connection", "c-hs-mc")
    assert result.code == 0, result.err
    printed = json.loads(run("compare", old, new, "--connection", "c-hs-mc", "--json").out)
    lines = result.out.splitlines()
    assert lines[0] == "HubSpot ⇄ Mailchimp [c-hs-mc]"
    in_sync = next(line for line in lines if line.strip().startswith("In sync"))
    assert f"{printed['before']['in_sync']:,}" in in_sync
    assert f"{printed['after']['in_sync']:,}" in in_sync
    moved = sum(move["count"] for move in printed["moves"])
    assert f"Moves ({moved:,} contacts changed status)" in result.out
    assert "Failure groups that changed" in result.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "old"], "give the state to compare OLD with"),
        (["compare", "old", "new", "--db", "x"], "give NEW or --db, not both"),
        (["compare", "missing.jsonl", "missing2.jsonl"], "missing.jsonl: no such file"),
    ],
)
def test_compare_usage_errors_are_one_line(run: Run, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.code == 2
    assert message in result.err
    assert len(result.err.splitlines()) == 1


def test_compare_names_the_file_that_lacks_the_connection(
    run: Run, snapshots: tuple[Path, Path], snapshot: Path
) -> None:
    old, _new = snapshots
    result = run("compare", snapshot, old, "--connection", "c-hs-mc")
    assert result.code == 2
    assert str(snapshot) in result.err
    assert "no connection 'c-hs-mc'" in result.err


def test_compare_snapshot_is_compare_with_a_database(
    run: Run, snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    """store.statuses.compare_snapshot (for reports): a snapshot against a database."""
    from healthdesk.config import load_catalog
    from healthdesk.reports.compare import comparison_dict
    from healthdesk.store.queries import UnknownConnection, get_connection
    from healthdesk.store.statuses import compare_snapshot

    old, new = snapshots
    db = tmp_path / "now.sqlite3"
    engine = open_db(db)
    try:
        import_snapshots(engine, [new])
        connection = get_connection(engine, "c-sf-hs")
        result = compare_snapshot(old, engine, connection, load_catalog())
        printed = json.loads(
            run("compare", old, "--db", db, "--connection", "c-sf-hs", "--json").out
        )
        assert comparison_dict(result) == printed
        with pytest.raises(UnknownConnection):
            compare_snapshot(write_other(tmp_path), engine, connection, load_catalog())
    finally:
        engine.dispose()


def write_other(folder: Path) -> Path:
    from tests.helpers.feed import connection, write

    return write(folder / "other.jsonl", [connection("c-other")])


def test_the_keys_a_comparison_keeps_are_those_of_each_move(
    snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    """What a cell lists without reading again (`MovedKeys`) equals `moved_keys`; a
    contact past the limit drops every move kept, and a contact that stayed is not kept."""
    from healthdesk.config import load_catalog
    from healthdesk.store.queries import get_connection
    from healthdesk.store.statuses import MovedKeys, compare_databases, moved_keys

    engines = []
    for n, snapshot in enumerate(snapshots):
        engine = open_db(tmp_path / f"{n}.sqlite3")
        import_snapshots(engine, [snapshot])
        engines.append(engine)
    old, new = engines
    try:
        connection = get_connection(new, CONNECTIONS[0])
        kept = MovedKeys()
        result = compare_databases(old, new, connection, load_catalog(), moved=kept)
        changed = [(move.from_, move.to, move.count) for move in result.changed]
        assert changed
        for from_, to, count in changed:
            found = kept.get((from_, to))
            assert found is not None
            assert len(found) == count
            assert sorted(found, key=str) == sorted(
                moved_keys(old, new, connection.id, from_, to), key=str
            )
        stayed = next(move for move in result.moves if move.from_ == move.to)
        assert kept.get((stayed.from_, stayed.to)) is None
        total = sum(count for _from, _to, count in changed)
        small = MovedKeys(limit=total - 1)
        compare_databases(old, new, connection, load_catalog(), moved=small)
        assert all(small.get((from_, to)) is None for from_, to, _count in changed)
    finally:
        for engine in engines:
            engine.dispose()
