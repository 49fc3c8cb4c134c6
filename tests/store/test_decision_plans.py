"""How SQLite reads what the decision paths need (its query plans): the plan decides
the speed at a million contacts, and SQLite changes it on its own when a query changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from healthdesk.store import decisions
from healthdesk.store.db import open_db, raw_transaction
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


def _subplans(node: dict[str, Any], inside: bool = False) -> Iterator[tuple[bool, dict[str, Any]]]:
    """Each node of a PostgreSQL JSON plan, with whether it runs inside a subplan (run
    per row; an InitPlan, such as a CTE, runs once)."""
    inside = inside or node.get("Parent Relationship") == "SubPlan"
    yield inside, node
    for child in node.get("Plans", []):
        yield from _subplans(child, inside)


@pytest.mark.parametrize("avoid_duplicates", [True, False])
@pytest.mark.parametrize("write_paired", [True, False])
def test_postgresql_joins_the_pairs_set_rather_than_asking_it_per_record(
    engine: Engine, tmp_path: Path, avoid_duplicates: bool, write_paired: bool
) -> None:
    """A subquery per record over the pairs' set scans the set for each record once it
    outgrows PostgreSQL's hash memory (a million contacts): the groups' pass must join
    it. Only the latest write of a record is a subquery per record."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's query plan: PostgreSQL only")
    items = [connection(), record("a", "1", email="one@example.com"), record("b", "2")]
    import_snapshots(engine, [write(tmp_path / "s.jsonl", items)])
    with raw_transaction(engine) as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS paired (rid INTEGER PRIMARY KEY)")
        query = decisions._groups_query_pg(write_paired, avoid_duplicates)
        ((plan,),) = cursor.execute("EXPLAIN (FORMAT JSON) " + query, ("c-1",)).fetchall()
    nodes = list(_subplans(plan[0]["Plan"]))
    read_in_subplans = {
        node.get("Relation Name") or node.get("CTE Name") for inside, node in nodes if inside
    } - {None}
    assert read_in_subplans == {"events"}
    joined = {node.get("Relation Name") or node.get("CTE Name") for _inside, node in nodes}
    assert ("paired" if write_paired else "paired_rids") in joined
