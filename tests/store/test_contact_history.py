"""contact_events (a contact's own history) and contact_by_record ("APP:ID" lookups)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from healthdesk.core.model import Outcome, Side, Status
from healthdesk.store import contact_history
from healthdesk.store.contact_history import EventView, contact_by_record, contact_events
from healthdesk.store.imports import import_snapshots
from tests.helpers import feed
from tests.helpers.db import sqlite_only

HOSTILE = "<b>x</b><img src=x>"


def items() -> list[dict[str, Any]]:
    r, m, e = feed.record, feed.mapping, feed.event
    return [
        feed.connection(),
        r("a", "a1", name="Ada Pair", email="ada@example.com"),
        r("b", "b1", name="Ada Pair", email="ada@example.com"),
        m("a1", "b1"),
        r("a", "a2", name="Solo", email="solo@example.com"),
        r("a", "a3", name="Quiet", email="quiet@example.com"),
        e(1, "a", "a1", "created"),
        e(2, "b", "b1", "updated"),
        e(3, "a", "a2", "created"),
        e(4, "a", "a1", "failed", code="Member Exists", message=HOSTILE),
        e(5, "b", "b1", "unchanged"),
        e(6, "a", "a2", "failed", code="", message="  spaces kept  "),
        # Another connection with records of the same ids: never mixed in.
        feed.connection("c-2", direction="a_to_b"),
        r("a", "a1", cid="c-2", name="Other Ada", email="ada@example.com"),
        r("b", "hidden", cid="c-2", name="Only In B", email="b@example.com"),
        e(1, "a", "a1", "created", cid="c-2"),
        e(7, "a", "a1", "updated", cid="c-2"),
    ]


@pytest.fixture
def db(engine: Engine, tmp_path: Path) -> Engine:
    import_snapshots(engine, [feed.write(tmp_path / "history.jsonl", items())])
    return engine


def test_events_of_a_pair_are_both_records_most_recent_first(db: Engine) -> None:
    pair = contact_by_record(db, "c-1", Side.A, "a1")
    assert pair is not None
    assert pair.is_pair
    events = contact_events(db, "c-1", pair)
    assert [e.seq for e in events] == [5, 4, 2, 1]
    assert [(e.app, e.record_id, e.outcome, e.target) for e in events] == [
        (Side.B, "b1", Outcome.UNCHANGED, Side.A),
        (Side.A, "a1", Outcome.FAILED, Side.B),
        (Side.B, "b1", Outcome.UPDATED, Side.A),
        (Side.A, "a1", Outcome.CREATED, Side.B),
    ]
    failed = events[1]
    assert isinstance(failed, EventView)
    assert failed.error_code == "Member Exists"
    assert failed.error_message == HOSTILE  # the raw error, exactly as sent
    assert failed.fingerprint
    assert failed.at.startswith("2026-02-01T00:00:04")
    assert events[0].error_code is None
    assert events[0].error_message is None


def test_events_of_a_single_record_are_its_own(db: Engine) -> None:
    solo = contact_by_record(db, "c-1", Side.A, "a2")
    assert solo is not None
    assert not solo.is_pair
    events = contact_events(db, "c-1", solo)
    assert [e.seq for e in events] == [6, 3]
    assert events[0].error_message == "  spaces kept  "
    quiet = contact_by_record(db, "c-1", Side.A, "a3")
    assert quiet is not None
    assert contact_events(db, "c-1", quiet) == []


def test_events_limit_keeps_the_most_recent(db: Engine) -> None:
    pair = contact_by_record(db, "c-1", Side.B, "b1")
    assert pair is not None
    assert [e.seq for e in contact_events(db, "c-1", pair, limit=2)] == [5, 4]
    assert [e.seq for e in contact_events(db, "c-1", pair, limit=3)] == [5, 4, 2]
    assert contact_events(db, "c-1", pair, limit=0) == []


def test_events_stay_in_their_connection(db: Engine) -> None:
    other = contact_by_record(db, "c-2", Side.A, "a1")
    assert other is not None
    assert other.name == "Other Ada"
    assert [e.seq for e in contact_events(db, "c-2", other)] == [7, 1]
    pair = contact_by_record(db, "c-1", Side.A, "a1")
    assert pair is not None
    assert 7 not in [e.seq for e in contact_events(db, "c-1", pair)]


def test_events_query_reads_the_record_index(db: Engine) -> None:
    sqlite_only(db, "SQLite's query plan")
    with db.connect() as connection:
        plan = " ".join(
            str(row[-1])
            for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + contact_history._EVENTS_OF_RECORD, ("c-1", "a", "a1", 10)
            )
        )
    assert "ix_events_record" in plan
    assert "TEMP B-TREE" not in plan  # ordered by the index, not sorted


def test_contact_by_record_finds_the_pair_from_either_record(db: Engine) -> None:
    by_a = contact_by_record(db, "c-1", Side.A, "a1")
    by_b = contact_by_record(db, "c-1", Side.B, "b1")
    assert by_a is not None
    assert by_b is not None
    assert by_a == by_b
    assert [(r.app, r.id) for r in by_a.records] == [(Side.A, "a1"), (Side.B, "b1")]
    assert by_a.status is Status.FAILING


def test_contact_by_record_accepts_plain_text_sides(db: Engine) -> None:
    found = contact_by_record(db, "c-1", "b", "b1")  # type: ignore[arg-type]
    assert found is not None
    assert found.record(Side.B) is not None


def test_contact_by_record_none_when_unknown_or_hidden(db: Engine) -> None:
    assert contact_by_record(db, "c-1", Side.A, "nope") is None
    assert contact_by_record(db, "c-1", Side.B, "a1") is None
    assert contact_by_record(db, "c-9", Side.A, "a1") is None
    # c-2 is one-way (a -> b): an unmapped record of b is hidden, it has no contact.
    assert contact_by_record(db, "c-2", Side.B, "hidden") is None
