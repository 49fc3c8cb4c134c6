"""store.pages: exact counts, total and stable SQL orders, windows, positions."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import STATUS_ORDER, Reason, Side, Status
from healthdesk.store import pages
from healthdesk.store.imports import import_snapshots
from healthdesk.store.pages import ContactFilter, SortKey
from healthdesk.store.queries import counts, get_connection, summary
from tests.helpers import feed
from tests.helpers.db import sqlite_only

LATER = "2026-01-03T00:00:00Z"
FAKE = "{} looks fake or invalid, please enter a real email address."


def failed(seq: int, app: str, rid: str, code: str, message: str) -> dict[str, Any]:
    return feed.event(seq, app, rid, "failed", code=code, message=message)


def items() -> list[dict[str, Any]]:
    """Ties everywhere (names, emails, apps), empty and NULL values, every status."""
    r, m, e = feed.record, feed.mapping, feed.event
    return [
        feed.connection(),
        r("a", "1", name="Same Name", email="one@example.com"),
        r("b", "b1", name="Same Name", email="one@example.com"),
        r("a", "2", name="Same Name", email="two@example.com"),
        r("b", "b2", name="Other", email="two@example.com", deleted=True),
        r("a", "3", name="Zed", email="zed@example.com"),
        r("b", "b3", name="Zed", email="zed@example.com"),
        r("a", "4", name="Same Name", email="four@example.com"),
        r("b", "b5", name="Alpha", email="alpha@example.com"),
        r("a", "6", name="", email="empty@example.com"),
        r("a", "7", name="Same Name", email=""),
        r("b", "b7", name="Beta", email=" "),
        r("a", "8", name="Orig", email="dup@example.com"),
        r("a", "9", name="Copy", email="dup@example.com", created_at=LATER),
        r("a", "10", name="Copy", email="Dup@example.com", created_at=LATER),
        r("a", "11", name="Same Name", email="fail1@example.com"),
        r("a", "12", name="Same Name", email="fail2@example.com"),
        r("b", "b13", name="Mia", email="mia@example.com"),
        r("b", "b14", name="Same Name", email="nia@example.com"),
        m("1", "b1"),
        m("2", "b2"),
        m("3", "b3"),
        e(1, "a", "1", "created"),
        e(2, "a", "3", "created"),
        failed(3, "a", "3", "Member Exists", "zed@example.com is already a list member."),
        failed(4, "a", "11", "Invalid Resource", FAKE.format("fail1@example.com")),
        failed(5, "a", "12", "Invalid Resource", FAKE.format("fail2@example.com")),
        failed(6, "b", "b13", "CONFLICT", "Contact already exists. Existing ID: 1"),
        failed(7, "b", "b14", "429", "Too Many Requests"),
    ]


@pytest.fixture
def db(engine: Engine, tmp_path: Path) -> Engine:
    import_snapshots(engine, [feed.write(tmp_path / "s.jsonl", items())])
    return engine


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def category_of(catalog: Catalog) -> pages.CategoryOf:
    kinds = {Side.A: "hubspot", Side.B: "mailchimp"}
    return lambda side, fp: catalog.classify(kinds[side], fp).category


def everything(
    db: Engine, contact_filter: ContactFilter, sort: SortKey, **kw: Any
) -> list[ContactView]:
    return pages.page(db, "c-1", contact_filter, sort=sort, offset=0, limit=10_000, **kw)


#: SQLite's NOCASE collation (contacts.name and .email): ASCII letters fold, nothing else.
NOCASE = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def sort_value(row: ContactView, sort: SortKey, catalog: Catalog) -> Any:
    """What the SQL sorts `row` by, computed from the row itself."""
    failure = row.failure
    values: dict[SortKey, Any] = {
        SortKey.NAME: row.name.translate(NOCASE),
        SortKey.EMAIL: row.email.translate(NOCASE),
        SortKey.APP: row.side.value if row.side else None,
        SortKey.ID: row.a_id if row.side is not Side.B else row.b_id,
        SortKey.A_ID: row.a_id,
        SortKey.B_ID: row.b_id,
        SortKey.SINCE: row.since,
        SortKey.REASON: row.reason.value if row.reason else None,
        SortKey.ORIGINAL: row.duplicate_of.name if row.duplicate_of else None,
        SortKey.FAILURE_APP: failure.app.value if failure else None,
        SortKey.CATEGORY: (
            category_of(catalog)(failure.app, failure.fingerprint) if failure else ""
        ),
        SortKey.ERROR_MESSAGE: failure.message if failure else None,
        SortKey.FAILURE_AT: failure.at if failure else None,
        SortKey.FINGERPRINT: failure.fingerprint if failure else None,
        SortKey.OPPOSITE_DELETED: int(row.opposite_deleted),
    }
    return values[sort]


def test_counts_are_the_stored_counts(db: Engine) -> None:
    stored = counts(db, "c-1")
    assert stored == {
        Status.IN_SYNC: 2,
        Status.EXCLUDED: 2,
        Status.DUPLICATE: 2,
        Status.FAILING: 5,
        Status.PENDING: 4,
    }
    for status in STATUS_ORDER:
        assert pages.count(db, "c-1", ContactFilter(status)) == stored[status]
    assert pages.count(db, "nobody", ContactFilter(Status.IN_SYNC)) == 0


def test_failure_filters_count_like_the_summary(db: Engine, catalog: Catalog) -> None:
    groups = summary(db, get_connection(db, "c-1"), catalog).failures
    assert sum(group.count for group in groups) == 5
    for group in groups:
        one = ContactFilter(Status.FAILING, group.app, (group.fingerprint,))
        assert pages.count(db, "c-1", one) == group.count
    by_app = ContactFilter(Status.FAILING, failure_app=Side.B)
    assert pages.count(db, "c-1", by_app) == 3
    both = tuple(group.fingerprint for group in groups if group.app is Side.B)
    assert pages.count(db, "c-1", ContactFilter(Status.FAILING, Side.B, both)) == 3
    assert pages.count(db, "c-1", ContactFilter(Status.FAILING, Side.B, ())) == 0
    assert (
        pages.page(
            db,
            "c-1",
            ContactFilter(Status.FAILING, Side.B, ()),
            sort=SortKey.NAME,
            descending=False,
            offset=0,
            limit=10,
        )
        == []
    )


@pytest.mark.parametrize("sort", list(SortKey))
@pytest.mark.parametrize("status", STATUS_ORDER)
def test_every_order_is_total_stable_and_reversible(
    db: Engine, catalog: Catalog, status: Status, sort: SortKey
) -> None:
    contact_filter = ContactFilter(status)
    kw: dict[str, Any] = {"category_of": category_of(catalog)}
    up = everything(db, contact_filter, sort, descending=False, **kw)
    down = everything(db, contact_filter, sort, descending=True, **kw)
    assert len(up) == pages.count(db, "c-1", contact_filter)
    assert [row.key for row in down] == [row.key for row in reversed(up)]
    assert len({row.key for row in up}) == len(up)
    # NULL first, then the value, then the rid: what SQLite does.
    expected = sorted(
        up,
        key=lambda row: (
            sort_value(row, sort, catalog) is not None,
            sort_value(row, sort, catalog),
            row.key,
        ),
    )
    assert up == expected
    # Windows of the order, in any size, add up to the whole order.
    for size in (1, 2, 3):
        windows: list[ContactView] = []
        for offset in range(0, len(up) + size, size):
            windows += pages.page(
                db,
                "c-1",
                contact_filter,
                sort=sort,
                descending=False,
                offset=offset,
                limit=size,
                **kw,
            )
        assert windows == up
    assert list(pages.keys(db, "c-1", contact_filter, sort=sort, descending=True, **kw)) == [
        row.key for row in down
    ]
    for descending, rows in ((False, up), (True, down)):
        for i, row in enumerate(rows):
            position = pages.position_of(db, "c-1", contact_filter, row.key, sort, descending, **kw)
            assert position == i, (row.name, descending)


def test_the_same_call_gives_the_same_page(db: Engine) -> None:
    failing = ContactFilter(Status.FAILING)
    first = pages.page(db, "c-1", failing, sort=SortKey.NAME, descending=False, offset=1, limit=2)
    for _ in range(3):
        assert first == pages.page(
            db, "c-1", failing, sort=SortKey.NAME, descending=False, offset=1, limit=2
        )
    # Three failing contacts are named "Same Name": the rid decides among them.
    rows = everything(db, failing, SortKey.NAME, descending=False)
    assert [row.name for row in rows] == ["Mia", "Same Name", "Same Name", "Same Name", "Zed"]
    tied = [row.key for row in rows[1:4]]
    assert tied == sorted(tied)
    assert first == rows[1:3]


def test_rows_carry_what_lists_show(db: Engine) -> None:
    by_name = {
        (row.status, row.name, row.record_id): row
        for status in STATUS_ORDER
        for row in everything(db, ContactFilter(status), SortKey.NAME, descending=False)
    }
    pair = by_name[(Status.IN_SYNC, "Same Name", "2")]
    b_record = pair.record(Side.B)
    assert b_record is not None
    assert (pair.side, pair.a_id, pair.b_id, b_record.name) == (None, "2", "b2", "Other")
    assert pair.is_pair
    assert (pair.opposite_deleted, pair.a_deleted, pair.b_deleted) == (True, False, True)
    assert pair.since is not None
    copy = next(row for key, row in by_name.items() if key[:2] == (Status.DUPLICATE, "Copy"))
    assert copy.duplicate_of is not None
    assert (copy.duplicate_of.app, copy.duplicate_of.id, copy.duplicate_of.name) == (
        Side.A,
        "8",
        "Orig",
    )
    failing = by_name[(Status.FAILING, "Mia", "b13")]
    assert failing.failure is not None
    assert (failing.side, failing.failure.app, failing.failure.code) == (
        Side.B,
        Side.A,
        "CONFLICT",
    )
    assert failing.failure.message == "Contact already exists. Existing ID: 1"
    assert failing.failure.fingerprint == "CONFLICT: Contact already exists. Existing ID: <n>"
    assert failing.failure.at
    excluded = by_name[(Status.EXCLUDED, "Same Name", "7")]
    assert excluded.reason is Reason.NO_EMAIL
    zed = by_name[(Status.FAILING, "Zed", "3")]
    assert zed.failure is not None
    assert (zed.is_pair, zed.failure.app, zed.failure.code) == (True, Side.B, "Member Exists")


def test_row_for_and_rows_by_key(db: Engine) -> None:
    rows = everything(db, ContactFilter(Status.FAILING), SortKey.NAME, descending=False)
    assert pages.row_for(db, rows[0].key) == rows[0]
    assert pages.row_for(db, 987_654) is None
    found = pages.rows_by_key(db, [row.key for row in rows] + [987_654])
    assert found == {row.key: row for row in rows}
    assert pages.rows_by_key(db, []) == {}


def test_position_of_a_contact_not_in_the_list(db: Engine) -> None:
    pending = everything(db, ContactFilter(Status.PENDING), SortKey.NAME, descending=False)
    failing = ContactFilter(Status.FAILING)
    assert pages.position_of(db, "c-1", failing, pending[0].key, SortKey.NAME, False) is None
    assert pages.position_of(db, "c-1", failing, 987_654, SortKey.EMAIL, True) is None


def test_sorting_by_category_needs_the_catalog(db: Engine) -> None:
    with pytest.raises(ValueError, match="category_of"):
        everything(db, ContactFilter(Status.FAILING), SortKey.CATEGORY, descending=False)


def test_keys_can_be_cancelled(db: Engine) -> None:
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        pages.keys(
            db,
            "c-1",
            ContactFilter(Status.PENDING),
            sort=SortKey.EMAIL,
            descending=False,
            cancelled=lambda: True,
        )
    # The connection is usable afterwards: the handler is removed.
    assert (
        len(
            pages.keys(
                db, "c-1", ContactFilter(Status.PENDING), sort=SortKey.EMAIL, descending=False
            )
        )
        == 4
    )


def _plans(db: Engine, run: Any) -> list[list[str]]:
    """The query plans of the statements `run()` executes."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    event.listen(db, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(db, "before_cursor_execute", record)
    with db.connect() as connection:
        return [
            [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
            for sql, params in statements
        ]


def test_name_order_and_counts_use_the_indexes(db: Engine) -> None:
    sqlite_only(db, "SQLite's query plan")
    in_sync = ContactFilter(Status.IN_SYNC)
    (plan,) = _plans(db, lambda: pages.count(db, "c-1", in_sync))
    assert any("contact_counts" in line for line in plan)  # the maintained counts
    assert not any(" contacts" in line for line in plan)

    def page_by(sort: SortKey) -> list[str]:
        (found,) = _plans(
            db,
            lambda: pages.page(db, "c-1", in_sync, sort=sort, descending=True, offset=1, limit=1),
        )
        return found

    by_name = page_by(SortKey.NAME)
    assert any("ix_contacts_list" in line for line in by_name)
    # Only the window (outside) is sorted, not the list.
    assert sum("TEMP B-TREE FOR ORDER BY" in line for line in by_name) == 1
    by_email = page_by(SortKey.EMAIL)
    assert sum("TEMP B-TREE FOR ORDER BY" in line for line in by_email) == 2
    failing = ContactFilter(Status.FAILING, Side.A, ("x", "y"))
    (plan,) = _plans(db, lambda: pages.count(db, "c-1", failing))
    assert any("contact_counts" in line for line in plan)


def test_a_list_count_equals_its_rows(db: Engine, catalog: Catalog) -> None:
    # pages.count reads the maintained counts; the rows are what the list shows.
    groups = summary(db, get_connection(db, "c-1"), catalog).failures
    filters = [ContactFilter(status) for status in STATUS_ORDER]
    filters += [ContactFilter(Status.FAILING, failure_app=side) for side in Side]
    filters += [ContactFilter(Status.FAILING, g.app, (g.fingerprint,)) for g in groups]
    for contact_filter in filters:
        with db.connect() as connection:
            where, params = pages.filter_sql("c-1", contact_filter, connection)
            rows = connection.exec_driver_sql(
                f"SELECT COUNT(*) FROM contacts c WHERE {where}", tuple(params)
            ).scalar_one()
        assert pages.count(db, "c-1", contact_filter) == rows, contact_filter
