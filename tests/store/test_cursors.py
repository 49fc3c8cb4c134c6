"""Feed cursors: a page and its cursor are stored together, or neither is."""

from __future__ import annotations

import gzip
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from healthdesk.feed.items import FeedError
from healthdesk.feed.snapshot import GZIP_MAGIC
from healthdesk.store.cursors import FeedCursor, apply_page, get_cursor, list_cursors
from healthdesk.store.db import _migrations_config, create_db_engine, open_db
from healthdesk.store.imports import import_snapshots
from tests.helpers.db import NewEngine, dump, statuses
from tests.helpers.feed import connection, event, mapping, record, write

SOURCE = "http://127.0.0.1:8765"
PAGE_URL = f"{SOURCE}/v1/connections/c-1/feed?after=p1"


def _items() -> list[dict[str, Any]]:
    return [
        connection(),
        record("a", "a1", email="ada@example.com"),
        record("b", "b1", email="ada@example.com"),
        mapping("a1", "b1"),
        event(1, "a", "a1", "created"),
        record("a", "a2", email="bob@example.com"),
        event(2, "a", "a2", "failed"),
    ]


def _cursor_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as db:
        return [tuple(r) for r in db.exec_driver_sql("SELECT * FROM feed_cursors ORDER BY 1, 2")]


def test_a_page_and_its_cursor_are_stored(engine: Engine) -> None:
    assert get_cursor(engine, SOURCE, "c-1") is None
    report = apply_page(
        engine, source=SOURCE, connection_id="c-1", items=_items(), next_cursor="p1"
    )
    assert (report.connections, report.records, report.mappings, report.events) == (1, 3, 1, 2)
    assert report.events_new == 2
    assert get_cursor(engine, SOURCE, "c-1") == "p1"
    assert get_cursor(engine, "http://elsewhere", "c-1") is None
    [stored] = list_cursors(engine)
    assert isinstance(stored, FeedCursor)
    assert (stored.source, stored.connection_id, stored.cursor) == (SOURCE, "c-1", "p1")
    assert len(stored.synced_at) == 24
    assert stored.synced_at.endswith("Z")
    assert list_cursors(engine, source="http://elsewhere") == []
    with engine.connect() as db:
        source = db.exec_driver_sql("SELECT source FROM connections").scalar()
    assert source == SOURCE


def test_pages_give_what_one_import_gives(engine: Engine, new_engine: NewEngine) -> None:
    """The demo's feed applied page by page equals the demo imported in one go."""
    demo = Path(str(files("healthdesk.data") / "demo.healthsnap"))
    imported = new_engine("imported")
    import_snapshots(imported, [demo])
    raw = demo.read_bytes()
    assert raw[:2] == GZIP_MAGIC
    lines = gzip.decompress(raw).splitlines()[1:]
    by_connection: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        item = orjson.loads(line)
        owner = item["id"] if item["type"] == "connection" else item["connection"]
        by_connection.setdefault(owner, []).append(item)
    for cid, items in by_connection.items():
        for n, start in enumerate(range(0, len(items), 700)):
            apply_page(
                engine,
                source=SOURCE,
                connection_id=cid,
                items=items[start : start + 700],
                next_cursor=f"{cid}-{n}",
            )
    for cid in by_connection:
        assert statuses(engine, cid) == statuses(imported, cid)
    assert dump(engine)["events"] == dump(imported)["events"]
    assert dump(engine)["mappings"] == dump(imported)["mappings"]
    assert len(list_cursors(engine)) == len(by_connection)


def test_a_bad_item_in_the_middle_applies_nothing(engine: Engine) -> None:
    apply_page(engine, source=SOURCE, connection_id="c-1", items=_items(), next_cursor="p1")
    before = dump(engine)
    cursors = _cursor_rows(engine)
    bad = event(4, "a", "a1", "created")
    bad["seq"] = "four"
    page = [record("a", "a3"), event(3, "a", "a3", "created"), bad, record("a", "a4")]
    with pytest.raises(FeedError) as caught:
        apply_page(
            engine,
            source=SOURCE,
            connection_id="c-1",
            items=page,
            next_cursor="p2",
            page_url=PAGE_URL,
        )
    assert str(caught.value).startswith(f'{PAGE_URL}: item 3: key "seq": ')
    assert dump(engine) == before
    assert _cursor_rows(engine) == cursors


def test_a_failure_after_the_items_rolls_them_back(engine: Engine) -> None:
    """Items written, then the cursor cannot be: the transaction undoes the items too."""
    apply_page(engine, source=SOURCE, connection_id="c-1", items=_items(), next_cursor="p1")
    before = dump(engine)
    page = [record("a", "a3"), event(3, "a", "a3", "created")]
    with pytest.raises(Exception, match=r"(?i)not.null"):
        apply_page(engine, source=SOURCE, connection_id="c-1", items=page, next_cursor=None)  # type: ignore[arg-type]
    assert dump(engine) == before
    assert get_cursor(engine, SOURCE, "c-1") == "p1"


def test_an_item_of_another_connection_is_refused(engine: Engine) -> None:
    items = [*_items(), connection("c-2"), record("a", "x", cid="c-2")]
    with pytest.raises(FeedError, match=r'item 8: key "id": belongs to connection \'c-2\''):
        apply_page(engine, source=SOURCE, connection_id="c-1", items=items, next_cursor="p1")
    with pytest.raises(FeedError, match=r'item 2: key "connection": .*\'c-2\''):
        apply_page(
            engine,
            source=SOURCE,
            connection_id="c-1",
            items=[connection(), record("a", "x", cid="c-2")],
            next_cursor="p1",
        )
    assert dump(engine)["connections"] == []
    assert list_cursors(engine) == []


def test_an_undeclared_connection_is_named_by_position(engine: Engine) -> None:
    with pytest.raises(FeedError) as caught:
        apply_page(
            engine,
            source=SOURCE,
            connection_id="c-1",
            items=[record("a", "a1")],
            next_cursor="p1",
            page_url=PAGE_URL,
        )
    assert str(caught.value) == (
        f"{PAGE_URL}: item 1: key \"connection\": connection 'c-1' was never declared by a "
        "connection item"
    )


def test_an_empty_page_only_moves_the_cursor(engine: Engine) -> None:
    apply_page(engine, source=SOURCE, connection_id="c-1", items=_items(), next_cursor="p1")
    before = dump(engine)
    report = apply_page(engine, source=SOURCE, connection_id="c-1", items=[], next_cursor="p2")
    assert report.items == 0
    assert dump(engine) == before
    assert get_cursor(engine, SOURCE, "c-1") == "p2"


def test_an_empty_page_into_an_empty_database(engine: Engine) -> None:
    apply_page(engine, source=SOURCE, connection_id="c-1", items=[], next_cursor="p0")
    assert get_cursor(engine, SOURCE, "c-1") == "p0"
    assert dump(engine)["connections"] == []


def test_a_page_applied_twice_changes_nothing(engine: Engine) -> None:
    """A page re-sent (its cursor was lost with a crash) adds no event twice."""
    apply_page(engine, source=SOURCE, connection_id="c-1", items=_items(), next_cursor="p1")
    before = dump(engine)
    report = apply_page(
        engine, source=SOURCE, connection_id="c-1", items=_items(), next_cursor="p1"
    )
    assert report.events_new == 0
    assert dump(engine)["events"] == before["events"]
    assert dump(engine)["contacts"] == before["contacts"]


def test_same_result_as_a_snapshot_file(
    engine: Engine, new_engine: NewEngine, tmp_path: Path
) -> None:
    imported = new_engine("imported")
    import_snapshots(imported, [write(tmp_path / "s.jsonl", _items())])
    items = _items()
    apply_page(engine, source=SOURCE, connection_id="c-1", items=items[:3], next_cursor="p1")
    apply_page(engine, source=SOURCE, connection_id="c-1", items=items[3:], next_cursor="p2")
    assert statuses(engine) == statuses(imported)


def test_a_database_of_revision_0001_is_upgraded_in_place(tmp_path: Path) -> None:
    """SQLite only: an older SQLite file is what a revision-0001 database can be (the team
    store on PostgreSQL begins at revision 0008)."""
    path = tmp_path / "old.sqlite3"
    old = create_db_engine(path)
    with old.begin() as db:
        command.upgrade(_migrations_config(db), "0001")
        # Data of that version, written as it stored it (today's import needs 0002).
        db.exec_driver_sql(
            "INSERT INTO connections (id, name, app_a_name, app_a_kind, app_b_name, "
            "app_b_kind, direction, avoid_duplicates, rules_json, state_phase) "
            "VALUES ('c-1', 'Old', 'A', 'hubspot', 'B', 'mailchimp', 'two_way', 1, '[]', "
            "'active')"
        )
    before = dump(old)
    assert "feed_cursors" not in inspect(old).get_table_names()
    old.dispose()

    engine = open_db(path)
    assert "feed_cursors" in inspect(engine).get_table_names()
    assert dump(engine) == before
    apply_page(engine, source=SOURCE, connection_id="c-1", items=[], next_cursor="p1")
    assert get_cursor(engine, SOURCE, "c-1") == "p1"
    with engine.begin() as db:
        command.downgrade(_migrations_config(db), "0001")
        assert MigrationContext.configure(db).get_current_revision() == "0001"
    assert "feed_cursors" not in inspect(engine).get_table_names()
    engine.dispose()


def _demo_items() -> list[dict[str, Any]]:
    raw = (files("healthdesk.data") / "demo.healthsnap").read_bytes()
    lines = gzip.decompress(raw).splitlines()[1:]
    return [
        item
        for item in map(orjson.loads, lines)
        if item.get("connection", item.get("id")) == "c-hs-mc"
    ]


@pytest.mark.parametrize("interrupted", [False, True])
def test_pages_of_a_long_pull_are_decided_once_at_its_end(
    engine: Engine, new_engine: NewEngine, tmp_path: Path, interrupted: bool
) -> None:
    items = _demo_items()
    pages = [items[start : start + 700] for start in range(0, len(items), 700)]
    for number, page in enumerate(pages[:-1], 1):
        report = apply_page(
            engine,
            source=SOURCE,
            connection_id="c-hs-mc",
            items=page,
            next_cursor=f"p{number}",
            decide=False,
        )
        assert report.deferred == ["c-hs-mc"]
        assert statuses(engine, "c-hs-mc") == {}  # nothing decided yet
        # The records' email index waits for the deciding page; the lists' and search's
        # indexes are there for the window meanwhile.
        assert "ix_records_email" not in _index_names(engine)
        assert {"ix_contacts_list", "ix_search_docs_order"} <= _index_names(engine)
        if interrupted and number == 3:
            break  # the pull stops here; it resumes with the pages after p3
    start = 3 if interrupted else len(pages) - 1
    for number, page in enumerate(pages[start:-1], start + 1):
        apply_page(
            engine,
            source=SOURCE,
            connection_id="c-hs-mc",
            items=page,
            next_cursor=f"p{number}",
            decide=False,
        )
    report = apply_page(
        engine, source=SOURCE, connection_id="c-hs-mc", items=pages[-1], next_cursor="end"
    )
    assert report.full == ["c-hs-mc"]
    imported = new_engine("imported")
    import_snapshots(imported, [write(tmp_path / "c.jsonl", items)])
    assert statuses(engine, "c-hs-mc") == statuses(imported, "c-hs-mc")
    with engine.connect() as db:
        assert db.exec_driver_sql("SELECT COUNT(*) FROM pending_decisions").scalar() == 0
    assert _index_names(engine) == _index_names(imported)
    assert "ix_records_email" in _index_names(engine)


def _index_names(engine: Engine) -> set[str]:
    inspector = inspect(engine)
    tables = ("records", "mappings", "events", "contacts", "search_docs")
    return {str(index["name"]) for table in tables for index in inspector.get_indexes(table)}


def test_an_empty_last_page_decides_what_was_left_pending(engine: Engine) -> None:
    apply_page(
        engine, source=SOURCE, connection_id="c-1", items=_items(), next_cursor="p1", decide=False
    )
    assert statuses(engine) == {}
    report = apply_page(engine, source=SOURCE, connection_id="c-1", items=[], next_cursor="p1")
    assert report.full == ["c-1"]
    assert statuses(engine) != {}


def test_rules_that_change_during_a_pull_are_applied_when_it_decides(engine: Engine) -> None:
    customers = [
        {"id": "r1", "from": "a", "all": [{"field": "stage", "op": "equals", "value": "customer"}]}
    ]
    first = [connection(), record("a", "1", email="p@x.com", fields={"stage": "lead"})]
    apply_page(
        engine, source=SOURCE, connection_id="c-1", items=first, next_cursor="p1", decide=False
    )
    apply_page(
        engine,
        source=SOURCE,
        connection_id="c-1",
        items=[connection(rules=customers)],
        next_cursor="p2",
        decide=False,
    )
    apply_page(engine, source=SOURCE, connection_id="c-1", items=[], next_cursor="p2")
    assert [value[0] for value in statuses(engine).values()] == ["excluded"]
