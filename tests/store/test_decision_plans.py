"""How SQLite reads what the decision paths need (its query plans): the plan decides
the speed at a million contacts, and SQLite changes it on its own when a query changes."""

from __future__ import annotations

from pathlib import Path

from healthdesk.store import decisions
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from tests.helpers.feed import connection, record, write


def test_the_records_of_a_side_are_read_in_table_order(tmp_path: Path) -> None:
    """Rules are evaluated on every record of a side: read by rid, not through the
    email index (which reads the table at random places)."""
    engine = open_db(tmp_path / "db.sqlite3")
    items = [connection(), record("a", "1", email="one@example.com"), record("b", "2")]
    import_snapshots(engine, [write(tmp_path / "s.jsonl", items)])
    with engine.connect() as db:
        plan = " ".join(
            str(row[-1])
            for row in db.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + decisions.SIDE_IN_TABLE_ORDER.format(plus="+"),
                ("c-1", "a"),
            )
        )
    engine.dispose()
    assert plan.startswith("SEARCH records USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)")
