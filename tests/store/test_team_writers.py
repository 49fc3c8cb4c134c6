"""Several writers on one team store: they write one after the other (one advisory lock
per database), so none loses another's rows and none deadlocks; one that waits says so,
and one that waits too long gives up having written nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from healthdesk.store.cursors import apply_page, get_cursor
from healthdesk.store.db import DatabaseBusy, open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.team import WRITE_LOCK, connect_params
from tests.helpers import feed
from tests.helpers.db import db_target_of, dump, statuses


def connection_items(cid: str, count: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [feed.connection(cid, name=f"Connection {cid}")]
    for n in range(count):
        email = f"{cid}-{n}@example.com"
        items.append(feed.record("a", f"a{n}", cid=cid, name=f"Person {n}", email=email))
        items.append(feed.record("b", f"b{n}", cid=cid, name=f"Person {n}", email=email))
        items.append(feed.mapping(f"a{n}", f"b{n}", cid=cid))
        items.append(feed.event(n + 1, "a", f"a{n}", "created", cid=cid))
    return items


@pytest.fixture
def team(postgres_url: str) -> Iterator[Engine]:
    engine = open_db(postgres_url)
    yield engine
    engine.dispose()


class Holder:
    """A third session holding the write lock, as a writer in the middle of its work."""

    def __init__(self, engine: Engine) -> None:
        self._connection = psycopg.connect(**connect_params(engine), autocommit=True)
        self._connection.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))

    def release(self) -> None:
        self._connection.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))
        self._connection.close()


def test_two_imports_at_once_lose_nothing(team: Engine, postgres_url: str, tmp_path: Path):
    files = [
        feed.write(tmp_path / f"{cid}.jsonl", connection_items(cid, 300)) for cid in ("c-1", "c-2")
    ]
    engines = [open_db(postgres_url) for _ in files]
    errors: list[BaseException] = []

    def work(engine: Engine, path: Path) -> None:
        try:
            import_snapshots(engine, [path])
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(engine, path))
        for engine, path in zip(engines, files, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert errors == []
    one_by_one = open_db(tmp_path / "sequential.sqlite3")
    try:
        import_snapshots(one_by_one, files)
        for cid in ("c-1", "c-2"):
            assert statuses(team, cid) == statuses(one_by_one, cid)
        assert len(dump(team)["records"]) == len(dump(one_by_one)["records"]) == 1200
    finally:
        one_by_one.dispose()


def test_a_writer_waits_for_another_says_so_then_writes(
    team: Engine, postgres_url: str, tmp_path: Path
):
    said = threading.Event()
    waiting = open_db(postgres_url, on_wait=lambda message: said.set())
    holder = Holder(team)
    done: list[object] = []
    path = feed.write(tmp_path / "s.jsonl", connection_items("c-1", 10))
    thread = threading.Thread(target=lambda: done.append(import_snapshots(waiting, [path])))
    thread.start()
    try:
        assert said.wait(60), "the waiting writer never said it waits"
        assert dump(team)["records"] == []  # it waits: nothing written yet
    finally:
        holder.release()
    thread.join()
    waiting.dispose()
    assert len(done) == 1
    assert len(dump(team)["records"]) == 20


def test_a_writer_gives_up_after_the_write_wait_having_written_nothing(
    team: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HEALTHDESK_WRITE_WAIT", "1.5")
    waiting = open_db(db_target_of(team))
    holder = Holder(team)
    try:
        with pytest.raises(DatabaseBusy, match=r"kept the database busy for 1\.5 s"):
            apply_page(
                waiting,
                source="http://127.0.0.1:1",
                connection_id="c-1",
                items=connection_items("c-1", 3),
                next_cursor="p1",
            )
    finally:
        holder.release()
        waiting.dispose()
    assert get_cursor(team, "http://127.0.0.1:1", "c-1") is None
    assert dump(team)["records"] == []


def test_an_import_and_a_sync_at_once_lose_nothing(team: Engine, postgres_url: str, tmp_path: Path):
    path = feed.write(tmp_path / "c-1.jsonl", connection_items("c-1", 200))
    pages = [connection_items("c-2", 200)[start : start + 100] for start in range(0, 801, 100)]
    importer, syncer = open_db(postgres_url), open_db(postgres_url)
    errors: list[BaseException] = []

    def guarded(work: Any) -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    def sync() -> None:
        for number, page in enumerate(pages, 1):
            apply_page(
                syncer, source="http://127.0.0.1:1", connection_id="c-2", items=page,
                next_cursor=f"p{number}", decide=number == len(pages),
            )  # fmt: skip

    threads = [
        threading.Thread(target=guarded, args=(lambda: import_snapshots(importer, [path]),)),
        threading.Thread(target=guarded, args=(sync,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    importer.dispose()
    syncer.dispose()
    assert errors == []
    assert get_cursor(team, "http://127.0.0.1:1", "c-2") == f"p{len(pages)}"
    one_by_one = open_db(tmp_path / "sequential.sqlite3")
    try:
        import_snapshots(one_by_one, [path])
        for number, page in enumerate(pages, 1):
            apply_page(
                one_by_one, source="http://127.0.0.1:1", connection_id="c-2", items=page,
                next_cursor=f"p{number}", decide=number == len(pages),
            )  # fmt: skip
        for cid in ("c-1", "c-2"):
            assert statuses(team, cid) == statuses(one_by_one, cid)
    finally:
        one_by_one.dispose()
