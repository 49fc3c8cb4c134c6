"""Shared fixtures. Qt runs offscreen: CI and the test machines have no display.

Cyclic garbage is collected on the main thread only, as the application does
(`healthdesk.ui.gc_guard`): with the automatic collector on, a worker thread of one test
(the operations pool, a sync writer, a reference service) could collect a cycle holding a
Qt object of an earlier test, and destroy it in the wrong thread.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from healthdesk.store.db import open_db
from healthdesk.ui.gc_guard import collect_due
from tests.helpers.postgres import TEMPLATE_DB, Cluster, PostgresMissing, start_cluster


@pytest.fixture(autouse=True, scope="session")
def _collect_on_the_main_thread_only() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


@pytest.fixture(autouse=True)
def _collect_after_each_test() -> Iterator[None]:
    yield
    collect_due()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A throw-away PostgreSQL server for the session (tests/helpers/postgres.py), with a
    migrated template database; started on first use only.

    Without PostgreSQL's binaries the tests that need it are skipped, except in CI (CI
    set), where that is a failure: the suite must run on both backends there.
    """
    given = os.environ.get("HEALTHDESK_TEST_POSTGRES")
    if given:  # a server started by packaging/test-postgres.sh (.ci/run): its owner stops it
        cluster = Cluster.load(given)
        owned = False
    else:
        try:
            cluster = start_cluster()
        except PostgresMissing as exc:
            if os.environ.get("CI"):
                pytest.fail(f"CI runs every store test on PostgreSQL too: {exc}")
            pytest.skip(str(exc))
        owned = True
    try:
        with cluster.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        engine = open_db(cluster.url(TEMPLATE_DB))
        engine.dispose()
        yield cluster
    finally:
        if owned:
            cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """The URL of a new, migrated, empty PostgreSQL database, dropped after the test."""
    name = postgres_cluster.create_database()
    yield postgres_cluster.url(name)
    postgres_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """What `--db` takes, on each backend in turn: a new SQLite file, or a new PostgreSQL
    database. Tests that take it run on both and must give the same answers."""
    if request.param == "sqlite":
        return str(tmp_path / "test.sqlite3")
    return str(request.getfixturevalue("postgres_url"))
