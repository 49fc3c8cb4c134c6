"""Activity per day: the maintained rows always equal a count of the stored events, and
a day's seq range holds every event of that day."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine

from healthdesk.core.model import Outcome
from healthdesk.store import activity
from healthdesk.store.db import _migrations_config
from healthdesk.store.forget import forget_connection
from healthdesk.store.imports import import_snapshots
from tests.helpers import feed

OUTCOMES = [o.value for o in Outcome]


def _events(rng: random.Random, seqs: range, *, cid: str = "c-1") -> list[dict[str, Any]]:
    items = []
    for seq in seqs:
        outcome = rng.choice(OUTCOMES)
        day = rng.randint(1, 9)
        at = f"2026-03-0{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
        items.append(
            feed.event(seq, rng.choice("ab"), str(rng.randint(1, 5)), outcome, at=at, cid=cid)
        )
    return items


def recounted(engine: Engine, connection_id: str = "c-1") -> dict[str, dict[Outcome, int]]:
    with engine.connect() as db:
        rows = db.exec_driver_sql(
            "SELECT substr(at, 1, 10), outcome FROM events WHERE connection_id = ?",
            (connection_id,),
        ).all()
    found: dict[str, Counter[Outcome]] = {}
    for day, outcome in rows:
        found.setdefault(day, Counter())[Outcome(outcome)] += 1
    return {day: {o: found[day][o] for o in Outcome} for day in sorted(found)}


def maintained(engine: Engine, connection_id: str = "c-1") -> dict[str, dict[Outcome, int]]:
    return {d.day: d.counts for d in activity.per_day(engine, connection_id)}


@pytest.mark.parametrize("seed", range(12))
def test_days_equal_a_recount_after_each_import(engine: Engine, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    for step in range(4):
        items: list[dict[str, Any]] = [feed.connection()] if step == 0 else []
        items += _events(rng, range(step * 50, step * 50 + rng.randint(1, 60)))
        if step and rng.random() < 0.6:
            # Repeated seqs are ignored: the days must not count them twice.
            items += _events(rng, range(rng.randint(0, step * 50), step * 50 + 5))
        import_snapshots(engine, [feed.write(tmp_path / f"s{step}.jsonl", items)])
        assert maintained(engine) == recounted(engine)
        for day in maintained(engine):
            low, high = activity.day_range(engine, "c-1", day) or (0, -1)
            with engine.connect() as db:
                outside = db.exec_driver_sql(
                    "SELECT COUNT(*) FROM events WHERE connection_id = 'c-1' "
                    "AND substr(at, 1, 10) = ? AND seq NOT BETWEEN ? AND ?",
                    (day, low, high),
                ).scalar_one()
            assert outside == 0
    assert activity.day_range(engine, "c-1", "1999-01-01") is None


def test_the_migration_counts_the_days_an_older_database_holds(
    engine: Engine, tmp_path: Path
) -> None:
    items = [feed.connection(), *_events(random.Random(3), range(40))]
    import_snapshots(engine, [feed.write(tmp_path / "s.jsonl", items)])
    expected = maintained(engine)
    assert sum(sum(c.values()) for c in expected.values()) == 40
    with engine.begin() as connection:
        config = _migrations_config(connection)
        command.downgrade(config, "0004")
        command.upgrade(config, "head")
    assert maintained(engine) == expected


def test_forgetting_a_connection_forgets_its_days(engine: Engine, tmp_path: Path) -> None:
    rng = random.Random(5)
    items = [feed.connection("c-1"), feed.connection("c-2")]
    items += _events(rng, range(10)) + _events(rng, range(10), cid="c-2")
    import_snapshots(engine, [feed.write(tmp_path / "s.jsonl", items)])
    kept = maintained(engine, "c-2")
    forget_connection(engine, "c-1")
    assert activity.per_day(engine, "c-1") == []
    assert maintained(engine, "c-2") == kept


def test_the_timeline_of_one_day_holds_exactly_its_events(engine: Engine, tmp_path: Path) -> None:
    from healthdesk.store import timeline

    items = [feed.connection(), *_events(random.Random(11), range(300))]
    import_snapshots(engine, [feed.write(tmp_path / "s.jsonl", items)])
    for day in maintained(engine):
        with engine.connect() as db:
            expected = [
                seq
                for (seq,) in db.exec_driver_sql(
                    "SELECT seq FROM events WHERE connection_id = 'c-1' "
                    "AND substr(at, 1, 10) = ? ORDER BY seq DESC",
                    (day,),
                )
            ]
        seen: list[int] = []
        before = None
        while True:
            entries = timeline.page(engine, "c-1", before_seq=before, limit=7, day=day)
            seen += [entry.seq for entry in entries]
            assert all(entry.at.startswith(day) for entry in entries)
            if len(entries) < 7:
                break
            before = entries[-1].seq
        assert seen == expected
    assert timeline.page(engine, "c-1", before_seq=None, limit=5, day="1999-01-01") == []
