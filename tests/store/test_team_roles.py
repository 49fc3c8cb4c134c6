"""The team store's two roles, made by exactly the SQL the README shows: the syncing role
owns the database (it migrates and writes), an agent's role reads everything and can
change nothing, and is told so in one sentence."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from healthdesk.core.failures import Catalog
from healthdesk.core.model import Side, Status
from healthdesk.store import pages, queries
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.team import READ_ONLY_MESSAGE, describe_error
from healthdesk.ui.messages import error_text
from tests.cli import conftest as cli_fixtures
from tests.cli.conftest import Run, snapshot_items
from tests.helpers import feed
from tests.helpers.db import dump
from tests.helpers.postgres import Cluster

README = Path(__file__).parents[2] / "README.md"
ROLES = ("alice", "healthdesk_agents", "healthdesk_sync")
run = cli_fixtures.run


def readme_sql(marker: str) -> list[str]:
    """The statements of the README's SQL block after `<!-- team-store-roles:MARKER -->`."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"<!-- team-store-roles:{marker} -->\n```sql\n(.*?)```", text, re.S)
    assert found, f"README.md has no {marker} block of the team store's roles"
    return [part.strip() for part in found.group(1).split(";") if part.strip()]


def _drop(cluster: Cluster) -> None:
    with cluster.connect() as admin:
        admin.execute('DROP DATABASE IF EXISTS "healthdesk" WITH (FORCE)')
        for role in ROLES:
            admin.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture
def store(postgres_cluster: Cluster, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The README's roles on the throw-away server, the database filled by the syncing role:
    the URL of each login."""
    _drop(postgres_cluster)
    with postgres_cluster.connect() as admin:
        for statement in readme_sql("server"):
            admin.execute(statement)
    urls = {role: postgres_cluster.url("healthdesk", user=role) for role in ROLES}
    sync = open_db(urls["healthdesk_sync"])  # the owner migrates it
    import_snapshots(sync, [feed.write(tmp_path / "s.jsonl", snapshot_items())])
    sync.dispose()
    with postgres_cluster.connect("healthdesk") as admin:
        for statement in readme_sql("database"):
            admin.execute(statement)
    yield urls
    _drop(postgres_cluster)


@pytest.fixture
def agent(store: dict[str, str]) -> Iterator[Engine]:
    engine = open_db(store["alice"])
    yield engine
    engine.dispose()


def test_an_agent_reads_everything(store: dict[str, str], agent: Engine) -> None:
    owner = open_db(store["healthdesk_sync"])
    try:
        catalog = Catalog.load()
        connection = queries.get_connection(owner, None)
        assert queries.summary(agent, connection, catalog) == queries.summary(
            owner, connection, catalog
        )
        assert dump(agent) == dump(owner)
        assert queries.find(agent, "c-1", "acme").total == queries.find(owner, "c-1", "acme").total
        kinds = {side: connection.app(side).kind for side in Side}
        by_category = {
            "sort": pages.SortKey.CATEGORY,
            "descending": False,
            "category_of": lambda side, fp: catalog.classify(kinds[side], fp).category,
        }
        failing = pages.ContactFilter(Status.FAILING)
        assert list(pages.keys(agent, "c-1", failing, **by_category))
    finally:
        owner.dispose()


def test_an_agent_can_change_nothing_and_is_told_so(
    agent: Engine, tmp_path: Path, run: Run, store: dict[str, str]
) -> None:
    before = dump(agent)
    more = [*snapshot_items(), feed.record("a", "new-1", name="Newcomer", email="n@x.io")]
    snapshot = feed.write(tmp_path / "more.jsonl", more)

    with pytest.raises(DatabaseError) as caught:
        import_snapshots(agent, [snapshot])

    assert describe_error(caught.value) == READ_ONLY_MESSAGE
    assert error_text(caught.value).startswith("Your database role may only read")
    result = run("import", snapshot, "--db", store["alice"])
    assert result.code != 0
    assert READ_ONLY_MESSAGE in result.err
    assert dump(agent) == before


def test_tables_the_syncing_role_adds_later_are_readable_too(
    store: dict[str, str], agent: Engine
) -> None:
    owner = open_db(store["healthdesk_sync"])
    try:
        with owner.begin() as db:
            db.exec_driver_sql("CREATE TABLE later_table (x INTEGER)")
            db.exec_driver_sql("INSERT INTO later_table VALUES (1)")
    finally:
        owner.dispose()
    with agent.connect() as db:
        assert db.exec_driver_sql("SELECT x FROM later_table").scalar() == 1
