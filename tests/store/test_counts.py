"""Maintained counts: always what a count of the contacts and events would say; and the
streamed full decision gives the same contacts whatever its batch size."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine

from healthdesk.core.model import Outcome, Reason, Side, Status
from healthdesk.store import decisions
from healthdesk.store.counts import FailureCount, MaintainedCounts, read_counts
from healthdesk.store.db import _migrations_config
from healthdesk.store.imports import import_snapshots
from tests.helpers import feed
from tests.helpers.db import NewEngine, statuses
from tests.store.test_ingest import _random_items, base_items


def recounted(engine: Engine, connection_id: str = "c-1") -> MaintainedCounts:
    """The counts of the contacts and events as they are stored, counted row by row."""
    with engine.connect() as db:
        contacts = list(
            db.exec_driver_sql(
                "SELECT status, reason, failure_app, fingerprint FROM contacts "
                "WHERE connection_id = ?",
                (connection_id,),
            )
        )
        events = list(
            db.exec_driver_sql(
                "SELECT target, outcome FROM events WHERE connection_id = ?", (connection_id,)
            )
        )
    status_counts = Counter(Status(status) for status, *_ in contacts)
    reasons = Counter(Reason(reason) for _, reason, _, _ in contacts if reason)
    failures = Counter(
        (app, fp or "") for status, _, app, fp in contacts if status == Status.FAILING.value
    )
    actions = Counter((Side(t), Outcome(o)) for t, o in events)
    return MaintainedCounts(
        statuses={status: status_counts[status] for status in Status},
        excluded={reason: reasons[reason] for reason in Reason},
        failures=sorted(
            (FailureCount(Side(app), fp, n) for (app, fp), n in failures.items()),
            key=lambda f: (-f.count, f.app, f.fingerprint),
        ),
        actions={
            side: {
                outcome: actions[(side, outcome)] for outcome in (Outcome.CREATED, Outcome.UPDATED)
            }
            for side in Side
        },
    )


def _normalized(found: MaintainedCounts) -> MaintainedCounts:
    return MaintainedCounts(
        statuses={status: found.statuses[status] for status in Status},
        excluded=found.excluded,
        failures=found.failures,
        actions=found.actions,
    )


@pytest.mark.parametrize("seed", range(30))
def test_maintained_counts_equal_a_recount_after_each_import(
    engine: Engine, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    for step in range(5):
        items = _random_items(rng, first=step == 0, seq_start=step * 100)
        if step and rng.random() < 0.5:
            # A repeated seq is ignored: the counts must not count it twice.
            items.append(feed.event(step * 100 + 1, "a", "a1", "created"))
        import_snapshots(engine, [feed.write(tmp_path / f"s{step}.jsonl", items)])
        assert _normalized(read_counts(engine, "c-1")) == recounted(engine)


@pytest.mark.parametrize("seed", range(20))
def test_a_full_decision_in_small_batches_equals_one_in_a_single_batch(
    new_engine: NewEngine, tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    items = [
        item
        for step in range(4)
        for item in _random_items(rng, first=step == 0, seq_start=step * 100)
    ]
    whole = new_engine("whole")
    small = new_engine("small")
    import_snapshots(whole, [feed.write(tmp_path / "all.jsonl", items)])
    monkeypatch.setattr(decisions, "_BATCH", rng.randint(1, 4))
    import_snapshots(small, [feed.write(tmp_path / "all.jsonl", items)])
    assert statuses(small) == statuses(whole)
    assert read_counts(small, "c-1") == read_counts(whole, "c-1")


def test_the_migration_counts_what_an_older_database_holds(engine: Engine, tmp_path: Path) -> None:
    items: list[dict[str, Any]] = base_items()
    import_snapshots(engine, [feed.write(tmp_path / "s.jsonl", items)])
    expected = read_counts(engine, "c-1")
    assert expected.total == 4
    with engine.begin() as connection:
        config = _migrations_config(connection)
        command.downgrade(config, "0002")
        command.upgrade(config, "head")
    assert read_counts(engine, "c-1") == expected


def test_the_maintained_counts_give_the_summary_of_the_demo(engine: Engine) -> None:
    """What the read side's summary counts from the tables, the maintained counts say."""
    from importlib.resources import files

    from healthdesk.config import load_catalog
    from healthdesk.store.queries import list_connections, summary

    import_snapshots(engine, [Path(str(files("healthdesk.data") / "demo.healthsnap"))])
    catalog = load_catalog()
    for connection in list_connections(engine):
        counted = summary(engine, connection, catalog)
        kept = read_counts(engine, connection.id)
        assert kept.statuses == counted.counts
        assert kept.excluded == counted.excluded
        assert kept.actions == counted.actions
        assert sorted((f.app, f.fingerprint, f.count) for f in kept.failures) == sorted(
            (f.app, f.fingerprint, f.count) for f in counted.failures
        )
