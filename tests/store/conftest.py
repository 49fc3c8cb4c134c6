from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from healthdesk.store.db import open_db


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_db(tmp_path / "test.sqlite3")
    yield engine
    engine.dispose()
