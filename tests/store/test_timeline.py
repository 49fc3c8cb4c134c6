"""store.timeline: the history most recent first by keyset pages, each event's contact,
and the contacts behind each number of the summary of performed actions."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Outcome, Side, Status
from healthdesk.store import pages, timeline
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import get_connection, summary
from tests.helpers import feed

HOSTILE = "<b>x</b><img src=x>"


def items() -> list[dict[str, Any]]:
    """c-1 (two-way): pairs written several times from both sides, singles, a failing
    pair, an event of a record the database does not hold. c-2 (one-way a -> b): a
    hidden b-record with events. c-3: events that no list of c-1 may show."""
    r, m, e = feed.record, feed.mapping, feed.event
    return [
        feed.connection(),
        r("a", "1", name="Zoe Pair", email="zoe@example.com"),
        r("b", "m1", name="Zoe Pair", email="zoe@example.com"),
        r("a", "2", name="Ann Pair", email="ann@example.com"),
        r("b", "m2", name="Ann Pair", email="ann@example.com"),
        r("a", "3", name=HOSTILE, email="hostile@example.com"),
        r("b", "m3", name=HOSTILE, email="hostile@example.com"),
        r("a", "4", name="Fail Pair", email="fail@example.com"),
        r("b", "m4", name="Fail Pair", email="fail@example.com"),
        r("a", "5", name="Sam Single", email="sam@example.com"),
        r("b", "m6", name="", email="nameless@example.com"),
        m("1", "m1"),
        m("2", "m2"),
        m("3", "m3"),
        m("4", "m4"),
        e(1, "a", "1", "created"),
        e(2, "a", "2", "created"),
        e(3, "a", "3", "created"),
        e(4, "a", "1", "updated"),
        e(5, "a", "1", "updated"),
        e(6, "b", "m2", "updated"),
        e(7, "a", "4", "created"),
        e(8, "b", "m4", "failed", code="CONFLICT", message=f"{HOSTILE}\nline two"),
        e(9, "a", "5", "unchanged"),
        e(10, "b", "m6", "excluded"),
        e(11, "a", "ghost", "created"),
        e(12, "b", "m1", "updated"),
        e(13, "a", "5", "duplicate"),
        feed.connection("c-2", direction="a_to_b"),
        r("a", "p1", cid="c-2", name="Paula", email="paula@example.com"),
        r("b", "q-only", cid="c-2", name="Only In B", email="only@example.com"),
        e(1, "a", "p1", "created", cid="c-2"),
        e(2, "b", "q-only", "created", cid="c-2"),
        e(3, "b", "q-only", "failed", cid="c-2"),
        feed.connection("c-3"),
        r("a", "x1", cid="c-3", name="Other Connection"),
        *(e(seq, "a", "x1", "updated", cid="c-3") for seq in range(1, 30)),
    ]


@pytest.fixture
def db(engine: Engine, tmp_path: Path) -> Engine:
    import_snapshots(engine, [feed.write(tmp_path / "timeline.jsonl", items())])
    return engine


def contact_of(engine: Engine, app: str, ext_id: str, cid: str = "c-1") -> int | None:
    """The visible contact holding a record, read the long way."""
    with engine.connect() as db:
        row = db.exec_driver_sql(
            "SELECT c.rid FROM records r JOIN contacts c ON c.rid = r.rid OR c.b_rid = r.rid "
            "WHERE r.connection_id = ? AND r.app = ? AND r.ext_id = ?",
            (cid, app, ext_id),
        ).first()
    return None if row is None else int(row[0])


def test_count_is_per_connection(db: Engine) -> None:
    assert timeline.count(db, "c-1") == 13
    assert timeline.count(db, "c-2") == 3
    assert timeline.count(db, "c-3") == 29
    assert timeline.count(db, "nope") == 0


def test_page_is_most_recent_first(db: Engine) -> None:
    entries = timeline.page(db, "c-1", before_seq=None, limit=100)
    assert [entry.seq for entry in entries] == list(range(13, 0, -1))


@pytest.mark.parametrize("limit", [1, 2, 5, 13, 14])
def test_keyset_pages_cover_the_history_once(db: Engine, limit: int) -> None:
    seen: list[int] = []
    before: int | None = None
    while True:
        entries = timeline.page(db, "c-3", before_seq=before, limit=limit)
        assert len(entries) <= limit
        seen.extend(entry.seq for entry in entries)
        if len(entries) < limit:
            break
        before = entries[-1].seq
    assert seen == list(range(29, 0, -1))


def test_page_before_seq_and_limits(db: Engine) -> None:
    assert [e.seq for e in timeline.page(db, "c-1", before_seq=5, limit=2)] == [4, 3]
    assert timeline.page(db, "c-1", before_seq=1, limit=10) == []
    assert timeline.page(db, "c-1", before_seq=None, limit=0) == []


def test_page_never_uses_offset(db: Engine) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db, "before_cursor_execute", record)
    try:
        timeline.page(db, "c-1", before_seq=7, limit=3)
    finally:
        event.remove(db, "before_cursor_execute", record)
    assert statements
    assert not any("OFFSET" in statement.upper() for statement in statements)


def test_entry_fields_and_customer_text_verbatim(db: Engine) -> None:
    by_seq = {e.seq: e for e in timeline.page(db, "c-1", before_seq=None, limit=100)}
    created = by_seq[3]
    assert (created.app, created.record_id, created.record_name) == (Side.A, "3", HOSTILE)
    assert (created.outcome, created.target) == (Outcome.CREATED, Side.B)
    assert created.at.startswith("2026-02-01T00:00:03")
    assert (created.error_code, created.error_message) == (None, None)
    failed = by_seq[8]
    assert (failed.app, failed.target, failed.outcome) == (Side.B, Side.A, Outcome.FAILED)
    assert (failed.error_code, failed.error_message) == ("CONFLICT", f"{HOSTILE}\nline two")
    assert by_seq[10].record_name == ""


def test_contact_key_is_the_visible_contact_of_the_record(db: Engine) -> None:
    entries = timeline.page(db, "c-1", before_seq=None, limit=100)
    for entry in entries:
        assert entry.contact_key == contact_of(db, entry.app, entry.record_id), entry
    by_seq = {e.seq: e for e in entries}
    # Both records of a pair lead to the pair (keyed by its a-record).
    assert by_seq[12].contact_key == by_seq[1].contact_key is not None
    # An event of a record the database does not hold has no contact.
    assert (by_seq[11].record_name, by_seq[11].contact_key) == ("", None)


def test_a_failing_event_leads_to_the_failing_contact(db: Engine) -> None:
    failed = next(e for e in timeline.page(db, "c-1", before_seq=None, limit=100) if e.seq == 8)
    assert failed.contact_key is not None
    row = pages.row_for(db, failed.contact_key)
    assert row is not None
    assert row.status is Status.FAILING
    assert row.failure is not None
    assert (row.failure.app, row.b_id, row.failure.message) == (Side.A, "m4", failed.error_message)


def test_hidden_records_have_no_contact(db: Engine) -> None:
    entries = {e.seq: e for e in timeline.page(db, "c-2", before_seq=None, limit=100)}
    assert entries[1].contact_key == contact_of(db, "a", "p1", "c-2") is not None
    assert entries[2].record_name == "Only In B"
    assert entries[2].contact_key is None
    assert entries[3].contact_key is None


def expected_actions(engine: Engine, cid: str, target: Side, outcome: Outcome) -> set[int]:
    """The contacts concerned, the long way: every such event, its record's contact."""
    with engine.connect() as db:
        rows = list(
            db.exec_driver_sql(
                "SELECT app, ext_id FROM events WHERE connection_id = ? AND target = ? "
                "AND outcome = ?",
                (cid, target.value, outcome.value),
            )
        )
    keys = {contact_of(engine, app, ext_id, cid) for app, ext_id in rows}
    return {key for key in keys if key is not None}


ACTIONS = [(side, outcome) for side in Side for outcome in (Outcome.CREATED, Outcome.UPDATED)]


@pytest.mark.parametrize(("target", "outcome"), ACTIONS)
def test_action_contacts_are_the_distinct_contacts_concerned(
    db: Engine, target: Side, outcome: Outcome
) -> None:
    found = timeline.action_contact_keys(db, "c-1", target, outcome)
    assert len(set(found.keys)) == len(found.keys) == found.contacts
    assert set(found.keys) == expected_actions(db, "c-1", target, outcome)
    assert timeline.count_action_contacts(db, "c-1", target, outcome) == found.contacts
    # The events are the summary's number.
    actions = summary(db, get_connection(db, "c-1"), Catalog.load()).actions
    assert found.events == actions[target][outcome]


def test_action_contacts_known_values(db: Engine) -> None:
    created_b = timeline.action_contact_keys(db, "c-1", Side.B, Outcome.CREATED)
    # Four pairs created from HubSpot, plus one event of a record that is not there.
    assert (created_b.events, created_b.contacts) == (5, 4)
    updated_b = timeline.action_contact_keys(db, "c-1", Side.B, Outcome.UPDATED)
    assert (updated_b.events, updated_b.contacts) == (2, 1)  # one pair, twice
    # Updates into HubSpot came from both pairs' Mailchimp records.
    updated_a = timeline.action_contact_keys(db, "c-1", Side.A, Outcome.UPDATED)
    assert set(updated_a.keys) == {contact_of(db, "b", "m2"), contact_of(db, "b", "m1")}


def test_action_contacts_are_ordered_by_name(db: Engine) -> None:
    found = timeline.action_contact_keys(db, "c-1", Side.B, Outcome.CREATED)
    rows = pages.rows_by_key(db, found.keys)
    names = [rows[key].name for key in found.keys]
    # By name, as SQLite orders the contacts' names ("<" comes before letters).
    assert names == [HOSTILE, "Ann Pair", "Fail Pair", "Zoe Pair"]


def test_hidden_records_count_as_events_only(db: Engine) -> None:
    found = timeline.action_contact_keys(db, "c-2", Side.A, Outcome.CREATED)
    assert (found.events, found.contacts) == (1, 0)
    assert timeline.count_action_contacts(db, "c-2", Side.A, Outcome.CREATED) == 0
    assert (
        timeline.page_action_contacts(db, "c-2", Side.A, Outcome.CREATED, offset=0, limit=9) == []
    )


@pytest.mark.parametrize("limit", [1, 2, 3, 10])
def test_page_action_contacts_windows(db: Engine, limit: int) -> None:
    found = timeline.action_contact_keys(db, "c-1", Side.B, Outcome.CREATED)
    rows: list[ContactView] = []
    offset = 0
    while window := timeline.page_action_contacts(
        db, "c-1", Side.B, Outcome.CREATED, offset=offset, limit=limit
    ):
        assert len(window) <= limit
        rows.extend(window)
        offset += limit
    assert [row.key for row in rows] == list(found.keys)
    assert rows == [pages.rows_by_key(db, found.keys)[key] for key in found.keys]


def test_only_actions_have_contact_lists(db: Engine) -> None:
    with pytest.raises(ValueError, match="not an action"):
        timeline.action_contact_keys(db, "c-1", Side.B, Outcome.FAILED)
    with pytest.raises(ValueError, match="not an action"):
        timeline.count_action_contacts(db, "c-1", Side.B, Outcome.UNCHANGED)


def test_action_contact_keys_can_be_cancelled(db: Engine) -> None:
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        timeline.action_contact_keys(db, "c-1", Side.B, Outcome.CREATED, cancelled=lambda: True)
