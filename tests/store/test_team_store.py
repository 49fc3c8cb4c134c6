"""The team store's own schema (migration 0008, PostgreSQL only) and the plans it serves:
the tables and columns of store/schema.py, text compared by bytes, 64-bit integers, the
trigram and folded-name indexes under the search and the folded-name index under the
lists by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from healthdesk.core.model import Status
from healthdesk.feed.generate import generate
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.schema import Base


@pytest.fixture
def team(postgres_url: str) -> Iterator[Engine]:
    engine = open_db(postgres_url)
    yield engine
    engine.dispose()


def test_the_declared_tables_and_columns(team: Engine) -> None:
    found = inspect(team)
    for name, table in Base.metadata.tables.items():
        columns = {column["name"]: column for column in found.get_columns(name)}
        assert set(columns) == {column.name for column in table.columns}, name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (name, column.name)
        assert found.get_pk_constraint(name)["constrained_columns"] == [
            column.name for column in table.primary_key.columns
        ]
        declared = {index.name for index in table.indexes}
        assert declared <= {index["name"] for index in found.get_indexes(name)}, name


def test_text_is_compared_by_bytes_and_integers_have_64_bits(team: Engine) -> None:
    with team.connect() as db:
        rows = db.exec_driver_sql(
            "SELECT table_name, column_name, data_type, collation_name "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name <> 'alembic_version'"
        ).all()
    kinds = {data_type for _table, _column, data_type, _collation in rows}
    assert kinds <= {"text", "bigint", "boolean"}, kinds
    assert all(collation == "C" for _t, _c, kind, collation in rows if kind == "text")


def _plan(engine: Engine, sql: str, params: tuple[object, ...]) -> str:
    """The plan of `sql` when scanning whole tables and sorting are made as dear as they
    are on a large store (a test's tables are tiny: every plan would do)."""
    with engine.begin() as db:
        db.exec_driver_sql("SET LOCAL enable_seqscan = off")
        db.exec_driver_sql("SET LOCAL enable_sort = off")
        return "\n".join(row[0] for row in db.exec_driver_sql("EXPLAIN " + sql, params))


@pytest.fixture
def filled(team: Engine, tmp_path: Path) -> Engine:
    import_snapshots(team, [generate(tmp_path / "s.jsonl.gz", contacts=300, seed=2).path])
    return team


def test_the_search_reads_the_trigram_index(filled: Engine) -> None:
    # The candidates' condition of a three-letter query, as store.team_search asks it.
    plan = _plan(filled, "SELECT rid FROM search_docs d WHERE d.text LIKE ?", ("%mar%",))
    assert "ix_search_docs_text" in plan


def test_the_search_walks_the_folded_name_index(filled: Engine) -> None:
    # A query with too many matches to rank: the texts in name order, as ranked.
    plan = _plan(
        filled,
        "SELECT rid FROM search_docs WHERE connection_id = ? AND strpos(text, ?) > 0 "
        'ORDER BY unnamed, lower(name COLLATE "C"), rid LIMIT 200',
        ("c-hs-mc", "a"),
    )
    assert "ix_search_docs_folded" in plan
    assert "Sort" not in plan


@pytest.mark.parametrize(
    "order",
    # As store.pages orders a list by name, ascending and descending.
    ["ASC NULLS FIRST, c.rid ASC", "DESC NULLS LAST, c.rid DESC"],
)
def test_lists_by_name_read_the_folded_name_index(filled: Engine, order: str) -> None:
    plan = _plan(
        filled,
        "SELECT rid FROM contacts c WHERE c.connection_id = ? AND c.status = ? "
        f'ORDER BY lower(c.name COLLATE "C") {order} LIMIT 50 OFFSET 100',
        ("c-hs-mc", Status.IN_SYNC.value),
    )
    assert "ix_contacts_name" in plan
    assert "Sort" not in plan
