from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from healthdesk.store.db import is_team_store, open_db
from tests.helpers.db import NewEngine


@pytest.fixture
def engine(db_target: str) -> Iterator[Engine]:
    """A new database on each backend in turn (SQLite, PostgreSQL)."""
    engine = open_db(db_target)
    yield engine
    engine.dispose()


@pytest.fixture
def new_engine(
    db_target: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[NewEngine]:
    """More new databases on the backend of this run (as `engine`), for a test that
    compares two: `new_engine("whole")` is a file of that name on SQLite, a new database
    on PostgreSQL; each is disposed (and dropped) after the test."""
    from tests.helpers.postgres import Cluster

    opened: list[Engine] = []
    dropped: list[str] = []
    cluster: Cluster | None = None
    if is_team_store(db_target):
        cluster = request.getfixturevalue("postgres_cluster")

    def open_new(name: str) -> Engine:
        if cluster is None:
            target = str(tmp_path / f"{name}.sqlite3")
        else:
            database = cluster.create_database()
            dropped.append(database)
            target = cluster.url(database)
        opened.append(open_db(target))
        return opened[-1]

    yield open_new
    for engine in opened:
        engine.dispose()
    if cluster is not None:
        for database in dropped:
            cluster.drop_database(database)
