"""A re-import skips the lines rows already hold, and ends exactly where applying every
line would have ended."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from healthdesk.store import imports
from healthdesk.store.dialect import is_postgres
from healthdesk.store.imports import import_snapshots
from tests.helpers import feed
from tests.helpers.db import NewEngine, dump, statuses
from tests.store.test_ingest import _random_items, base_items


def _records(engine: Engine) -> dict[str, str]:
    with engine.connect() as db:
        return dict(db.exec_driver_sql("SELECT ext_id, name FROM records").all())


def _mappings(engine: Engine) -> dict[str, str]:
    with engine.connect() as db:
        return dict(db.exec_driver_sql("SELECT a_id, b_id FROM mappings").all())


def test_an_unchanged_file_is_skipped_line_by_line(engine: Engine, tmp_path: Path) -> None:
    items = base_items()
    path = feed.write(tmp_path / "s.jsonl.gz", items, compress=True)
    first = import_snapshots(engine, [path])
    before = dump(engine)
    again = import_snapshots(engine, [path])
    connection_items = sum(1 for item in items if item["type"] == "connection")
    assert again.unchanged == len(items) - connection_items
    assert (again.records, again.mappings, again.events) == (
        first.records,
        first.mappings,
        first.events,
    )
    assert again.decided == {}
    assert dump(engine) == before


def test_an_older_version_of_a_record_is_applied_again(engine: Engine, tmp_path: Path) -> None:
    older = [feed.connection(), feed.record("a", "1", name="Old")]
    newer = [feed.connection(), feed.record("a", "1", name="New")]
    import_snapshots(engine, [feed.write(tmp_path / "old.jsonl", older)])
    import_snapshots(engine, [feed.write(tmp_path / "new.jsonl", newer)])
    import_snapshots(engine, [feed.write(tmp_path / "old.jsonl", older)])
    assert _records(engine) == {"1": "Old"}


def test_a_held_line_after_a_change_of_its_record_is_applied(
    engine: Engine, tmp_path: Path
) -> None:
    final = feed.record("a", "1", name="Final")
    import_snapshots(engine, [feed.write(tmp_path / "a.jsonl", [feed.connection(), final])])
    # The file first changes the record, then says what the database holds already.
    changed = [feed.connection(), feed.record("a", "1", name="Between"), final]
    report = import_snapshots(engine, [feed.write(tmp_path / "b.jsonl", changed)])
    assert _records(engine) == {"1": "Final"}
    assert report.unchanged == 0


def test_a_held_mapping_after_its_b_record_was_taken_is_applied(
    engine: Engine, tmp_path: Path
) -> None:
    records = [
        feed.connection(),
        feed.record("a", "1"),
        feed.record("a", "2"),
        feed.record("b", "m1"),
    ]
    held = feed.mapping("1", "m1")
    import_snapshots(engine, [feed.write(tmp_path / "a.jsonl", [*records, held])])
    moved = [*records, feed.mapping("2", "m1"), held]
    import_snapshots(engine, [feed.write(tmp_path / "b.jsonl", moved)])
    assert _mappings(engine) == {"1": "m1"}


def _data(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The dump, without the time each connection was imported at (the two databases
    are imported one after the other); on PostgreSQL with the record keys by their order
    (`dump`: applying every line takes more numbers of the keys' sequence than skipping)."""
    found = dump(engine, rids_by_order=is_postgres(engine))
    found["connections"] = [row[:-1] for row in found["connections"]]
    return found


def _steps(rng: random.Random) -> list[list[dict[str, Any]]]:
    files = [_random_items(rng, first=True, seq_start=0)]
    for step in range(1, 7):
        choice = rng.random()
        if choice < 0.3:
            # An earlier file again.
            files.append(rng.choice(files))
        elif choice < 0.55:
            # An earlier file with some of its lines in another order and a few new ones.
            earlier = list(rng.choice(files))
            head, rest = earlier[:1], earlier[1:]
            rng.shuffle(rest)
            files.append(head + rest + _random_items(rng, first=False, seq_start=step * 100)[1:])
        else:
            files.append(_random_items(rng, first=False, seq_start=step * 100))
    return files


@pytest.mark.parametrize("seed", range(40))
def test_skipping_held_lines_ends_where_applying_them_all_ends(
    new_engine: NewEngine, tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _steps(random.Random(seed))
    skipping = new_engine("skipping")
    applying = new_engine("applying")
    real = imports.UnchangedLines
    for i, items in enumerate(files):
        path = feed.write(tmp_path / f"step{i}.jsonl", items)
        monkeypatch.setattr(imports, "UnchangedLines", real)
        import_snapshots(skipping, [path])
        monkeypatch.setattr(imports, "UnchangedLines", lambda cursor: None)
        import_snapshots(applying, [path])
        assert _data(skipping) == _data(applying)
        assert statuses(skipping) == statuses(applying)
