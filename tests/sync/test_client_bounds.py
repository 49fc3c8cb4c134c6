"""The sync client against services that misbehave (loopback fixtures, bounded).

Each case of the hostile-network report: an endless body, a huge page, a dripping body,
a cursor that goes back, empty pages that say more, a long Retry-After, an error text
holding terminal controls.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from healthdesk.cli import main
from healthdesk.store.db import open_db
from healthdesk.sync.client import (
    MAX_EMPTY_PAGES,
    Backoff,
    NetworkError,
    ProtocolError,
    Retrying,
    ServiceError,
    SyncClient,
)
from healthdesk.sync.server import running_service
from tests.helpers.feed import connection, record
from tests.helpers.hostile import Hostile, head, hostile_service, json_answer, send

CAP = 1024 * 1024
DEMO = Path(str(files("healthdesk.data") / "demo.healthsnap"))
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_db(tmp_path / "bounds.sqlite3")
    yield engine
    engine.dispose()


def client(url: str, engine: Engine, **kwargs: Any) -> SyncClient:
    async def no_sleep(_seconds: float) -> None:
        return None

    kwargs.setdefault("backoff", Backoff(max_attempts=0, rng=random.Random(1), sleep=no_sleep))
    return SyncClient(base_url=url, token="t", engine=engine, max_page_bytes=CAP, **kwargs)


def pull(sync: SyncClient, connection_id: str = "c-1") -> Any:
    async def main() -> Any:
        async with sync:
            return await sync.pull(connection_id)

    return asyncio.run(main())


def pending(engine: Engine) -> int:
    with engine.connect() as db:
        return int(db.exec_driver_sql("SELECT count(*) FROM pending_decisions").scalar_one())


def test_an_endless_body_is_cut_at_the_cap(engine: Engine) -> None:
    async def endless(_n: int, _target: str, writer: asyncio.StreamWriter, h: Hostile) -> None:
        await send(writer, head(Content_Type="application/json"), h)
        chunk = b" " * 65536
        while h.sent < 512 * CAP:
            await send(writer, chunk, h)

    with hostile_service(endless) as service:
        with pytest.raises(ProtocolError, match="larger than the 1,048,576 bytes a page may"):
            pull(client(service.url, engine))
        assert service.peer_closed.wait(30)
    # The client hung up: the service could not push more than the cap and the socket
    # buffers, far from the 512 MiB it would have sent.
    assert service.sent < 64 * CAP


def test_a_declared_huge_page_is_refused_unread(engine: Engine) -> None:
    async def huge(_n: int, _target: str, writer: asyncio.StreamWriter, h: Hostile) -> None:
        await send(writer, head(Content_Type="application/json", Content_Length=100_000_000), h)
        while h.sent < 100_000_000:
            await send(writer, b"[" * 65536, h)

    with hostile_service(huge) as service:
        with pytest.raises(ProtocolError, match="is 100,000,000 bytes, more than the 1,048,576"):
            pull(client(service.url, engine))
        assert service.peer_closed.wait(30)
    assert service.sent < 64 * CAP


def test_a_dripping_body_meets_the_request_deadline(engine: Engine) -> None:
    async def drip(_n: int, _target: str, writer: asyncio.StreamWriter, h: Hostile) -> None:
        await send(writer, head(Content_Type="application/json", Content_Length=10_000), h)
        for _ in range(10_000):
            await send(writer, b" ", h)
            await asyncio.sleep(0.05)

    with hostile_service(drip) as service:
        with pytest.raises(NetworkError, match=r"no complete answer within 0\.5 s"):
            pull(client(service.url, engine, request_deadline=0.5))
        assert service.targets  # it did ask


def feed_answer(items: list[Any], next_: str, more: bool) -> bytes:
    return json_answer({"items": items, "next": next_, "more": more})


def test_a_cursor_that_goes_back_stops_the_pull_and_leaves_nothing_pending(
    engine: Engine,
) -> None:
    pages = [
        ([connection()], "A"),
        ([record("a", "1", email="one@example.com")], "B"),
        ([record("a", "2", email="two@example.com")], "A"),  # back to A: a loop
    ]

    async def loop(n: int, _target: str, writer: asyncio.StreamWriter, h: Hostile) -> None:
        items, cursor = pages[min(n, len(pages)) - 1]
        await send(writer, feed_answer(items, cursor, True), h)

    with (
        hostile_service(loop) as service,
        pytest.raises(ProtocolError, match="the cursor went back to one it gave before"),
    ):
        pull(client(service.url, engine))
    assert len(service.targets) == len(pages)
    # The two pages applied are kept, and decided: none is left pending.
    assert pending(engine) == 0
    with engine.connect() as db:
        assert db.exec_driver_sql("SELECT count(*) FROM contacts").scalar_one() == 1


def test_pages_that_say_more_but_bring_nothing_are_bounded(engine: Engine) -> None:
    async def empty(n: int, _target: str, writer: asyncio.StreamWriter, h: Hostile) -> None:
        items = [connection()] if n == 1 else []
        await send(writer, feed_answer(items, f"cursor-{n}", True), h)

    with (
        hostile_service(empty) as service,
        pytest.raises(ProtocolError, match="pages in a row said more items were ready"),
    ):
        pull(client(service.url, engine))
    # The first page brought the connection; then MAX_EMPTY_PAGES empty ones are allowed.
    assert len(service.targets) == 1 + MAX_EMPTY_PAGES + 1
    assert pending(engine) == 0


def test_items_with_an_unmoved_cursor_are_refused(engine: Engine) -> None:
    async def stuck(n: int, _target: str, writer: asyncio.StreamWriter, h: Hostile) -> None:
        items = [connection()] if n == 1 else [record("a", "1")]
        await send(writer, feed_answer(items, "same", True), h)

    with (
        hostile_service(stuck) as service,
        pytest.raises(ProtocolError, match="sends items but the same cursor"),
    ):
        pull(client(service.url, engine))
    assert len(service.targets) == 2


def test_a_one_shot_sync_refuses_a_retry_after_of_an_hour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHDESK_TOKEN", "t0ken")
    with running_service(snapshots=[DEMO], token="t0ken") as service:
        service.fail_next(503, retry_after=3600)
        before = datetime.now().astimezone()
        code = main(["sync", service.url, "--db", str(tmp_path / "s.sqlite3")])
        after = datetime.now().astimezone()
        assert len(service.requests) == 1  # no retry at all
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "asks to wait 3,600 s, until " in err
    assert "longer than the 60 s a one-shot sync waits" in err
    until = re.search(r"until (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", err)
    assert until is not None
    when = datetime.strptime(until.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=before.tzinfo)
    assert before.replace(microsecond=0) + timedelta(seconds=3600) <= when
    assert when <= after + timedelta(seconds=3600)


def test_follow_waits_out_a_long_retry_after_and_says_until_when(engine: Engine) -> None:
    retries: list[Retrying] = []
    delays: list[float] = []
    stop = asyncio.Event()

    async def record_sleep(seconds: float) -> None:
        delays.append(seconds)
        stop.set()

    with running_service(snapshots=[DEMO], token="t") as service:
        service.fail_next(503, retry_after=3600)
        sync = SyncClient(
            base_url=service.url,
            token="t",
            engine=engine,
            backoff=Backoff(sleep=record_sleep),
            on_retry=retries.append,
        )

        async def main() -> None:
            async with sync:
                await sync.follow("c-pd-mc", stop=stop, wait=0)

        before = datetime.now().astimezone()
        asyncio.run(main())
    assert delays == [3600]
    assert retries[0].asked
    assert retries[0].until is not None
    assert retries[0].until - before >= timedelta(seconds=3600)
    assert re.fullmatch(r"\d\d:\d\d:\d\d|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", retries[0].until_text())


def test_an_error_text_with_terminal_controls_is_one_clean_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (
        b'{"error": {"code": "x\\u001b[2J", "message": "\\u001b[31mred\\r\\nforged line\\u0007"}}'
    )
    monkeypatch.setenv("HEALTHDESK_TOKEN", "t0ken")
    with running_service(snapshots=[DEMO], token="t0ken") as service:
        service.fail_next(500, body=body)
        code = main(["sync", service.url, "--db", str(tmp_path / "s.sqlite3")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert CONTROLS.search(err.rstrip("\n")) is None
    assert "\\x1b[31mred\\r\\nforged line\\x07" in err


def test_a_retry_reason_is_sanitized_too(engine: Engine) -> None:
    retries: list[Retrying] = []

    async def busy(_n: int, _target: str, writer: asyncio.StreamWriter, h: Hostile) -> None:
        error = {"error": {"code": "busy", "message": "\x1b]0;title\x07\r\nspoof"}}
        await send(writer, json_answer(error, "503 Service Unavailable"), h)

    async def no_sleep(_seconds: float) -> None:
        return None

    backoff = Backoff(max_attempts=1, sleep=no_sleep)
    with hostile_service(busy) as service, pytest.raises(ServiceError) as caught:
        pull(client(service.url, engine, backoff=backoff, on_retry=retries.append))
    assert CONTROLS.search(str(caught.value)) is None
    assert CONTROLS.search(retries[0].reason) is None


def test_logs_hold_no_full_email_and_no_token(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    error = {"error": {"code": "busy", "message": "ada.lovelace@example.com is rate limited"}}

    async def busy(_n: int, _target: str, writer: asyncio.StreamWriter, h: Hostile) -> None:
        await send(writer, json_answer(error, "503 Service Unavailable"), h)

    async def no_sleep(_seconds: float) -> None:
        return None

    with hostile_service(busy) as service:
        sync = SyncClient(
            base_url=service.url,
            token="tok-123456789",
            engine=engine,
            backoff=Backoff(max_attempts=2, sleep=no_sleep),
        )
        with pytest.raises(ServiceError):
            pull(sync)
    assert "a…@example.com" in caplog.text
    assert "ada.lovelace@example.com" not in caplog.text
    assert "tok-123456789" not in caplog.text
