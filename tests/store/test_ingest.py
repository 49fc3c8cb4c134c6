"""Importing snapshots: atomic, idempotent, incremental, and deciding what changed."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from healthdesk.feed.items import FeedError
from healthdesk.store.imports import import_snapshots
from healthdesk.store.ingest import ImportCancelled
from healthdesk.store.queries import counts
from tests.helpers import feed
from tests.helpers.db import NewEngine, dump, status_of, statuses

CUSTOMERS = [
    {"id": "r1", "from": "a", "all": [{"field": "stage", "op": "equals", "value": "customer"}]},
    {"id": "r2", "from": "b", "all": [{"field": "status", "op": "equals", "value": "subscribed"}]},
]


def base_items() -> list[dict[str, Any]]:
    return [
        feed.connection(),
        feed.record("a", "1", email="ada@example.com"),
        feed.record("b", "m1", email="ada@example.com"),
        feed.mapping("1", "m1"),
        feed.record("a", "2", email="Ada@Example.com ", created_at="2026-02-01T00:00:00Z"),
        feed.record("a", "3", email=""),
        feed.record("b", "m3", email="bob@example.com"),
        feed.event(1, "a", "1", "created"),
        feed.event(2, "b", "m3", "failed"),
    ]


def import_items(engine: Engine, path: Path, items: list[dict[str, Any]]) -> Any:
    return import_snapshots(engine, [feed.write(path, items)])


def test_import_decides_every_status(engine: Engine, tmp_path: Path) -> None:
    import_items(engine, tmp_path / "s.jsonl", base_items())
    assert status_of(engine, "a", "1") == "in_sync"
    assert status_of(engine, "a", "2") == "duplicate"
    assert status_of(engine, "a", "3") == "excluded"
    assert status_of(engine, "b", "m3") == "failing"
    found = counts(engine, "c-1")
    assert sum(found.values()) == 4


def test_importing_the_same_file_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = feed.write(tmp_path / "s.jsonl.gz", base_items(), compress=True)
    import_snapshots(engine, [path])
    before = dump(engine)
    report = import_snapshots(engine, [path])
    assert report.decided == {}
    assert report.events_new == 0
    # connections.imported_at moves on; nothing else may.
    after = dump(engine)
    strip = lambda rows: [row[:-1] for row in rows]  # noqa: E731
    assert strip(after.pop("connections")) == strip(before.pop("connections"))
    assert after == before


@pytest.mark.parametrize("fresh", [True, False])
def test_a_broken_file_leaves_the_database_as_it_was(
    engine: Engine, tmp_path: Path, fresh: bool
) -> None:
    if not fresh:
        import_items(engine, tmp_path / "ok.jsonl", base_items())
    before = dump(engine)
    items = [*base_items(), feed.record("a", "9", email="late@example.com")]
    items.append({"type": "record", "connection": "c-1", "app": "a", "id": 5})
    path = feed.write(tmp_path / "bad.jsonl", items)
    with pytest.raises(FeedError) as caught:
        import_snapshots(engine, [path])
    # Line 1 is the header, so the 11th item is on line 12.
    assert str(caught.value).startswith(f"{path}:12: ")
    assert caught.value.key == "id"
    assert dump(engine) == before


def test_an_undeclared_connection_is_an_error_naming_the_line(
    engine: Engine, tmp_path: Path
) -> None:
    path = feed.write(tmp_path / "s.jsonl", [feed.connection(), feed.mapping("1", "2", cid="c-9")])
    with pytest.raises(FeedError, match=r":3: key \"connection\": connection 'c-9' was never"):
        import_snapshots(engine, [path])
    assert dump(engine)["connections"] == []


def test_several_files_are_one_transaction(engine: Engine, tmp_path: Path) -> None:
    good = feed.write(tmp_path / "good.jsonl", base_items())
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "header", "format": "healthdesk-snapshot", "version": 9}\n')
    with pytest.raises(FeedError, match="newer"):
        import_snapshots(engine, [good, bad])
    assert dump(engine)["records"] == []


def test_cancel_leaves_the_database_as_it_was(engine: Engine, tmp_path: Path) -> None:
    import_items(engine, tmp_path / "ok.jsonl", base_items())
    before = dump(engine)
    many = [feed.connection()] + [
        feed.record("a", f"n{i}", email=f"n{i}@example.com") for i in range(12_000)
    ]
    path = feed.write(tmp_path / "many.jsonl", many)
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(ImportCancelled):
        import_snapshots(engine, [path], should_cancel=cancel)
    assert dump(engine) == before


def test_progress_is_reported_up_to_the_total(engine: Engine, tmp_path: Path) -> None:
    many = [feed.connection()] + [feed.record("a", f"n{i}") for i in range(11_000)]
    path = feed.write(tmp_path / "many.jsonl", many)
    seen: list[tuple[int, int, str]] = []
    import_snapshots(engine, [path], on_progress=lambda d, t, p: seen.append((d, t, p)))
    size = path.stat().st_size
    assert seen[-1] == (size, size, "deciding")
    assert all(total == size for _, total, _ in seen)
    done = [d for d, _, _ in seen]
    assert done == sorted(done)
    assert any(0 < d < size for d in done)


def test_a_later_snapshot_updates_records_and_statuses(engine: Engine, tmp_path: Path) -> None:
    import_items(engine, tmp_path / "one.jsonl", base_items())
    later = [
        feed.record("a", "2", email="someone.else@example.com", created_at="2026-02-01T00:00:00Z"),
        feed.record("a", "3", email="carol@example.com"),
        feed.event(3, "b", "m3", "created"),
    ]
    report = import_items(engine, tmp_path / "two.jsonl", later)
    assert report.full == []
    assert status_of(engine, "a", "2") == "pending"
    assert status_of(engine, "a", "3") == "pending"
    assert status_of(engine, "b", "m3") == "pending"


def test_new_rules_re_decide_the_whole_connection(engine: Engine, tmp_path: Path) -> None:
    items = base_items()
    items[1]["fields"] = {"stage": "customer"}
    import_items(engine, tmp_path / "one.jsonl", items)
    assert status_of(engine, "a", "3") == "excluded"
    report = import_items(engine, tmp_path / "two.jsonl", [feed.connection(rules=CUSTOMERS)])
    assert report.full == ["c-1"]
    assert status_of(engine, "a", "1") == "in_sync"  # a-record 1 is a customer
    assert status_of(engine, "a", "2") == "excluded"
    assert status_of(engine, "b", "m3") == "excluded"


def test_removing_and_moving_mappings(engine: Engine, tmp_path: Path) -> None:
    items = [
        feed.connection(),
        feed.record("a", "1", email="p@x.com"),
        feed.record("b", "m1", email="p@x.com"),
        feed.record("a", "2", email="q@x.com"),
        feed.record("b", "m2", email="q@x.com"),
        feed.mapping("1", "m1"),
        feed.mapping("2", "m2"),
    ]
    import_items(engine, tmp_path / "one.jsonl", items)
    assert set(statuses(engine)) == {("a:1", "b:m1"), ("a:2", "b:m2")}
    # 2 takes m1 (ending 1 -> m1); 1 -> m1 is removed explicitly too; m2 is left alone.
    import_items(engine, tmp_path / "two.jsonl", [feed.mapping("2", "m1")])
    assert set(statuses(engine)) == {("a:2", "b:m1"), ("a:1", ""), ("", "b:m2")}
    import_items(engine, tmp_path / "three.jsonl", [feed.mapping("2", "m1", removed=True)])
    assert set(statuses(engine)) == {("a:1", ""), ("a:2", ""), ("", "b:m1"), ("", "b:m2")}


def test_a_mapping_to_a_record_not_yet_received_leaves_the_other_unmapped(
    engine: Engine, tmp_path: Path
) -> None:
    items = [feed.connection(), feed.record("a", "1", email="p@x.com"), feed.mapping("1", "m9")]
    import_items(engine, tmp_path / "one.jsonl", items)
    assert set(statuses(engine)) == {("a:1", "")}
    import_items(engine, tmp_path / "two.jsonl", [feed.record("b", "m9", email="p@x.com")])
    assert set(statuses(engine)) == {("a:1", "b:m9")}


def test_a_repeated_event_seq_is_ignored(engine: Engine, tmp_path: Path) -> None:
    items = [
        feed.connection(),
        feed.record("a", "1", email="p@x.com"),
        feed.event(1, "a", "1", "failed"),
        feed.event(1, "a", "1", "created"),
    ]
    report = import_items(engine, tmp_path / "one.jsonl", items)
    assert report.events == 2
    assert status_of(engine, "a", "1") == "failing"
    assert len(dump(engine)["events"]) == 1


# -- partial re-decision equals a full one ---------------------------------------------------


def _random_items(rng: random.Random, *, first: bool, seq_start: int) -> list[dict[str, Any]]:
    emails = ["p@x.com", "P@x.com ", "q@x.com", "", "r@x.com", "s@x.com"]
    stages = ["customer", "lead"]
    items: list[dict[str, Any]] = []
    if first or rng.random() < 0.15:
        rules = CUSTOMERS if rng.random() < 0.5 else None
        direction = rng.choice(["two_way", "two_way", "a_to_b", "b_to_a"])
        items.append(
            feed.connection(rules=rules, direction=direction, avoid_duplicates=rng.random() < 0.8)
        )
    seq = seq_start
    for _ in range(rng.randint(3, 25)):
        kind = rng.random()
        app = rng.choice("ab")
        rid = f"{app}{rng.randint(1, 9)}"
        if kind < 0.5:
            items.append(
                feed.record(
                    app,
                    rid,
                    email=rng.choice(emails),
                    fields={"stage": rng.choice(stages), "status": "subscribed"},
                    created_at=f"2026-01-0{rng.randint(1, 3)}T00:00:00Z",
                    deleted=rng.random() < 0.1,
                )
            )
        elif kind < 0.7:
            items.append(
                feed.mapping(
                    f"a{rng.randint(1, 9)}", f"b{rng.randint(1, 9)}", removed=rng.random() < 0.25
                )
            )
        else:
            seq += 1
            outcome = rng.choice(
                ["created", "updated", "failed", "failed", "unchanged", "excluded"]
            )
            items.append(feed.event(seq, app, rid, outcome))
    return items


@pytest.mark.parametrize("seed", range(40))
def test_partial_re_decision_equals_a_full_one(
    new_engine: NewEngine, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    steps = [_random_items(rng, first=True, seq_start=0)]
    for step in range(1, 4):
        steps.append(_random_items(rng, first=False, seq_start=step * 100))
    incremental = new_engine("inc")
    whole = new_engine("whole")
    for i, items in enumerate(steps):
        import_items(incremental, tmp_path / f"step{i}.jsonl", items)
    import_items(whole, tmp_path / "all.jsonl", [item for items in steps for item in items])
    assert statuses(incremental) == statuses(whole)


def test_a_numeric_rule_value_matches_the_same_number_in_a_field(
    engine: Engine, tmp_path: Path
) -> None:
    rules = [
        {"id": "r1", "from": "a", "all": [{"field": "score", "op": "equals", "value": 5.0}]},
        {"id": "r2", "from": "a", "all": [{"field": "size", "op": "in", "value": [10, 20.0]}]},
    ]
    items = [
        feed.connection(rules=rules),
        feed.record("a", "1", email="p@x.com", fields={"score": 5}),
        feed.record("a", "2", email="q@x.com", fields={"score": 5.0}),
        feed.record("a", "3", email="r@x.com", fields={"size": 20}),
        feed.record("a", "4", email="s@x.com", fields={"score": 6, "size": 30}),
    ]
    import_items(engine, tmp_path / "s.jsonl", items)
    assert [status_of(engine, "a", i) for i in "1234"] == [
        "pending",
        "pending",
        "pending",
        "excluded",
    ]


def test_the_largest_event_seq_is_refused_with_its_line(engine: Engine, tmp_path: Path) -> None:
    items = [
        feed.connection(),
        feed.record("a", "1", email="p@x.com"),
        feed.event(2**62, "a", "1", "failed"),
    ]
    path = feed.write(tmp_path / "s.jsonl", items)
    with pytest.raises(FeedError, match=r":4: key \"seq\": expected a whole number from 0"):
        import_snapshots(engine, [path])
    items[2] = feed.event(2**62 - 1, "a", "1", "failed")
    import_items(engine, tmp_path / "ok.jsonl", items)
    assert status_of(engine, "a", "1") == "failing"


def test_a_record_sent_twice_in_a_file_is_no_change_on_re_import(
    engine: Engine, tmp_path: Path
) -> None:
    items = [*base_items(), feed.record("a", "3", email="carol@example.com")]
    # The later version of a:3 lands in another batch than the first.
    items[6:6] = [feed.record("a", f"x{i}", email=f"x{i}@example.com") for i in range(5100)]
    path = feed.write(tmp_path / "s.jsonl", items)
    import_snapshots(engine, [path])
    assert status_of(engine, "a", "3") == "pending"
    before = statuses(engine)
    report = import_snapshots(engine, [path])
    assert report.decided == {}
    assert statuses(engine) == before


def test_lists_are_in_the_order_people_read_names(engine: Engine, tmp_path: Path) -> None:
    from healthdesk.store.queries import iter_contacts

    names = ["bob", "Ada", "carl", "ALF"]
    items = [feed.connection()] + [
        feed.record("a", str(i), name=name, email=f"{i}@x.com") for i, name in enumerate(names)
    ]
    import_items(engine, tmp_path / "s.jsonl", items)
    assert [c.name for c in iter_contacts(engine, "c-1")] == ["Ada", "ALF", "bob", "carl"]
