from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from healthdesk.store.db import open_db


@pytest.fixture
def engine(db_target: str) -> Iterator[Engine]:
    """A new database on each backend in turn (SQLite, PostgreSQL)."""
    engine = open_db(db_target)
    yield engine
    engine.dispose()
