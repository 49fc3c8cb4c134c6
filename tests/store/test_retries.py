"""Retries in the store: queued events decided as pending (full and incremental
decisions alike), the records a retry names, and the audit log in the timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from healthdesk.core.model import Side, Status
from healthdesk.store import decisions
from healthdesk.store.forget import forget_connection
from healthdesk.store.imports import import_snapshots
from healthdesk.store.pages import ContactFilter
from healthdesk.store.retries import (
    ANSWERED,
    SENT,
    RetryAudit,
    audit_entries,
    finish_retry,
    latest_seq,
    record_retry,
    retry_targets,
)
from healthdesk.store.timeline import TimelineEntry, page_with_retries
from tests.helpers.db import NewEngine, sqlite_only, status_of
from tests.helpers.feed import connection, event, mapping, record, write


def base_items() -> list[dict[str, Any]]:
    return [
        connection(),
        record("a", "1", email="one@example.com"),
        record("b", "m1", email="one@example.com"),
        mapping("1", "m1"),
        record("a", "2", email="two@example.com"),
        record("a", "3", email="three@example.com"),
        event(1, "a", "1", "failed"),
        event(2, "a", "2", "failed", code="400", message="Name must be given."),
        event(3, "a", "3", "created"),
    ]


def imported(
    engine: Engine, tmp_path: Path, items: list[dict[str, Any]], name: str = "db"
) -> Engine:
    import_snapshots(engine, [write(tmp_path / f"{name}.jsonl", items)])
    return engine


def test_queued_events_make_pending_then_the_next_write_decides(
    engine: Engine, new_engine: NewEngine, tmp_path: Path
) -> None:
    imported(engine, tmp_path, base_items())
    assert status_of(engine, "a", "1") == Status.FAILING
    assert status_of(engine, "a", "2") == Status.FAILING
    # Applied on top (incremental decision) and imported whole (full decision) alike.
    queued = [event(4, "a", "1", "queued"), event(5, "a", "2", "queued")]
    import_snapshots(engine, [write(tmp_path / "queued.jsonl", [connection(), *queued])])
    whole = imported(new_engine("whole"), tmp_path, [*base_items(), *queued], name="whole")
    for db in (engine, whole):
        assert status_of(db, "a", "1") == Status.PENDING  # a pair
        assert status_of(db, "a", "2") == Status.PENDING  # a single record
    outcome = [event(6, "a", "1", "updated"), event(7, "a", "2", "failed")]
    import_snapshots(engine, [write(tmp_path / "outcome.jsonl", [connection(), *outcome])])
    assert status_of(engine, "a", "1") == Status.IN_SYNC
    assert status_of(engine, "a", "2") == Status.FAILING


def test_queued_writes_are_looked_up_by_their_seqs(engine: Engine, tmp_path: Path) -> None:
    """Not by a scan of all the connection's events (what SQLite chose when the query
    asked only for columns of the events' record index)."""
    sqlite_only(engine, "SQLite's query plan (EXPLAIN QUERY PLAN)")
    imported(engine, tmp_path, base_items())
    with engine.connect() as connection:
        plan = " ".join(
            str(row[-1])
            for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + decisions.QUEUED_AMONG.format(marks="?, ?"),
                ("c-1", "queued", 1, 2),
            )
        )
    assert "seq=?" in plan
    assert "ix_events_record" not in plan


def test_retry_targets_name_the_record_of_each_failure(engine: Engine, tmp_path: Path) -> None:
    items = [*base_items(), event(4, "b", "m1", "failed", code="500", message="Oops")]
    imported(engine, tmp_path, items)
    everything = retry_targets(engine, "c-1", contact_filter=ContactFilter(Status.FAILING))
    # The pair's latest failure is the b-record's write into a.
    assert sorted(everything) == [(Side.A, "2"), (Side.B, "m1")]
    only_a = ContactFilter(Status.FAILING, failure_app=Side.B)
    assert retry_targets(engine, "c-1", contact_filter=only_a) == [(Side.A, "2")]
    with engine.connect() as db:
        keys = [row[0] for row in db.exec_driver_sql("SELECT rid FROM contacts ORDER BY rid")]
    # Keys of contacts that are not failing name nothing.
    assert sorted(retry_targets(engine, "c-1", keys=keys)) == sorted(everything)


def audit(after_seq: int, scope: str = "Mailchimp > Other") -> RetryAudit:
    return RetryAudit(
        connection_id="c-1",
        at="2026-02-02T10:00:00.000Z",
        agent="alice",
        scope=scope,
        requested=2,
        queued=1,
        already_queued=0,
        unknown=1,
        service_url="http://127.0.0.1:8765",
        request_key="k-1",
        after_seq=after_seq,
    )


def test_audit_entries_sit_in_the_timeline_after_their_event(
    engine: Engine, tmp_path: Path
) -> None:
    imported(engine, tmp_path, base_items())
    assert latest_seq(engine, "c-1") == 3
    first = record_retry(engine, audit(3, "first"))
    second = record_retry(engine, audit(1, "second"))
    assert first.id > 0
    assert second.id > first.id
    assert (first.outcome, first.refused) == (SENT, None)
    assert audit_entries(engine, "c-1", low_seq=None, before_seq=None) == [first, second]
    first = finish_retry(engine, first, queued=1, unknown=1)
    second = finish_retry(engine, second, refused="401 wrong token")
    assert (first.outcome, first.queued, first.unknown) == (ANSWERED, 1, 1)
    assert second.refused == "401 wrong token"
    assert audit_entries(engine, "c-1", low_seq=None, before_seq=None) == [first, second]

    def shape(entries: list[Any]) -> list[str]:
        return [
            f"event {e.seq}" if isinstance(e, TimelineEntry) else f"retry {e.scope}"
            for e in entries
        ]

    whole = page_with_retries(engine, "c-1", before_seq=None, limit=10)
    assert shape(whole.entries) == ["retry first", "event 3", "event 2", "retry second", "event 1"]
    assert (whole.events, whole.next_seq) == (3, None)
    # Paged two events at a time: every entry once, in the same order.
    top = page_with_retries(engine, "c-1", before_seq=None, limit=2)
    assert shape(top.entries) == ["retry first", "event 3", "event 2"]
    rest = page_with_retries(engine, "c-1", before_seq=top.next_seq, limit=2)
    assert shape(rest.entries) == ["retry second", "event 1"]
    assert rest.next_seq is None
    forget_connection(engine, "c-1")
    assert audit_entries(engine, "c-1", low_seq=None, before_seq=None) == []


def test_a_days_timeline_has_the_retries_asked_that_day(engine: Engine, tmp_path: Path) -> None:
    imported(engine, tmp_path, base_items())
    record_retry(engine, audit(3, "that day"))  # asked 2026-02-02, after the events
    events_day = page_with_retries(engine, "c-1", before_seq=None, limit=10, day="2026-02-01")
    assert [type(e) for e in events_day.entries] == [TimelineEntry] * 3
    retry_day = page_with_retries(engine, "c-1", before_seq=None, limit=10, day="2026-02-02")
    assert [e.scope for e in retry_day.entries] == ["that day"]  # type: ignore[union-attr]
