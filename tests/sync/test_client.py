"""The sync client against the real reference service on 127.0.0.1 (no mocked HTTP).

No pytest-asyncio here: each test runs its coroutine with asyncio.run.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from sqlalchemy import Engine

from healthdesk.store.cursors import get_cursor, list_cursors
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.sync.client import (
    AuthError,
    Backoff,
    InsecureURL,
    NetworkError,
    Page,
    ProtocolError,
    PullReport,
    Retrying,
    ServiceError,
    SyncClient,
    SyncError,
    parse_retry_after,
)
from healthdesk.sync.server import running_service
from tests.helpers.db import dump, statuses
from tests.helpers.feed import T0, connection, event, record, write

TOKEN = "test-token-7f3a9c1e5b"
DEMO = Path(str(files("healthdesk.data") / "demo.healthsnap"))
DEMO_IDS = ("c-hs-mc", "c-pd-mc", "c-sf-hs")
T = TypeVar("T")


def run(coro: Awaitable[T], timeout: float = 20) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


class Sleeps:
    """An injectable sleep: records each delay, waits a capped real time, may act first."""

    def __init__(self, *, real: bool = False, before: Callable[[int], None] | None = None) -> None:
        self.delays: list[float] = []
        self._real = real
        self._before = before

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self._before is not None:
            self._before(len(self.delays))
        await asyncio.sleep(min(seconds, 1.0) if self._real else 0)


def events_in(feed: Any, connection_id: str) -> int:
    """The event items of a connection's feed (each is new to an empty database)."""
    return sum(1 for item in feed.items(connection_id) if item["type"] == "event")


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait, on the loop, until `condition()` holds (a bounded check every few ms)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


def backoff(sleeps: Sleeps | None = None, *, max_attempts: int | None = 3) -> Backoff:
    return Backoff(rng=random.Random(7), sleep=sleeps or Sleeps(), max_attempts=max_attempts)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_db(tmp_path / "synced.sqlite3")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The demo imported from its snapshot file: what every sync must converge to."""
    engine = open_db(tmp_path_factory.mktemp("imported") / "imported.sqlite3")
    import_snapshots(engine, [DEMO])
    yield engine
    engine.dispose()


@pytest.fixture
def service() -> Iterator[Any]:
    with running_service(snapshots=[DEMO], token=TOKEN) as handle:
        yield handle


def client(
    service: Any,
    engine: Engine,
    *,
    token: str | None = TOKEN,
    sleeps: Sleeps | None = None,
    max_attempts: int | None = 3,
    retries: list[Retrying] | None = None,
) -> SyncClient:
    return SyncClient(
        base_url=service.url,
        token=token,
        engine=engine,
        backoff=backoff(sleeps, max_attempts=max_attempts),
        on_retry=None if retries is None else retries.append,
    )


async def pull_all(sync: SyncClient, *, page_size: int = 1000) -> dict[str, PullReport]:
    return {c.id: await sync.pull(c.id, page_size=page_size) for c in await sync.list_connections()}


def assert_converged(engine: Engine, imported: Engine) -> None:
    """Same statuses, events, records and mappings as the demo imported from its file."""
    for cid in DEMO_IDS:
        assert statuses(engine, cid) == statuses(imported, cid)
    ours, theirs = dump(engine), dump(imported)
    for table in ("events", "mappings"):
        assert ours[table] == theirs[table], table
    # Records: everything but the rid, which depends on the order of arrival (contacts,
    # keyed by rid, are compared through `statuses`).
    assert [r[1:] for r in ours["records"]] == [r[1:] for r in theirs["records"]]


def test_a_full_pull_gives_what_importing_the_snapshot_gives(
    service: Any, engine: Engine, imported: Engine
) -> None:
    async def main() -> tuple[list[str], dict[str, PullReport], dict[str, PullReport]]:
        async with client(service, engine) as sync:
            ids = [c.id for c in await sync.list_connections()]
            first = await pull_all(sync)
            again = await pull_all(sync)
        return ids, first, again

    ids, first, again = run(main())
    assert sorted(ids) == sorted(DEMO_IDS)
    assert_converged(engine, imported)
    feed = service.service
    assert sum(r.items for r in first.values()) == sum(feed.size(c) for c in DEMO_IDS)
    assert all(r.full for r in first.values())
    assert sum(r.events_new for r in first.values()) == sum(events_in(feed, c) for c in DEMO_IDS)
    # Pages of 1,000 items, one more for the empty end.
    assert first["c-hs-mc"].pages >= feed.size("c-hs-mc") // 1000
    # Pulling again asks from the stored cursors: one empty page each, nothing changes.
    assert all((r.pages, r.items, r.decided) == (1, 0, 0) for r in again.values())
    cursors = list_cursors(engine)
    assert [c.connection_id for c in cursors] == sorted(DEMO_IDS)
    assert {c.source for c in cursors} == {service.url.rstrip("/")}


def test_a_pull_asks_for_the_next_page_while_it_writes_one(
    service: Any, engine: Engine, imported: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[tuple[str, str | None]] = []
    feed = SyncClient._feed

    async def asking(self: SyncClient, connection_id: str, after: str | None, **kw: Any) -> Any:
        said.append(("asked after", after))
        return await feed(self, connection_id, after, **kw)

    monkeypatch.setattr(SyncClient, "_feed", asking)

    async def main() -> PullReport:
        async with client(service, engine) as sync:
            return await sync.pull(
                "c-hs-mc", page_size=700, on_page=lambda page: said.append(("stored", page.cursor))
            )

    report = run(main())

    stored = [cursor for what, cursor in said if what == "stored"]
    assert len(stored) == report.pages > 2
    for cursor in stored[:-1]:
        # The page after `cursor` was asked for before the page that ends there was stored.
        assert said.index(("asked after", cursor)) < said.index(("stored", cursor))
    assert ("asked after", stored[-1]) not in said  # the last page said there was no more
    assert statuses(engine, "c-hs-mc") == statuses(imported, "c-hs-mc")


def test_a_service_stopped_mid_pull_resumes_exactly(
    service: Any, engine: Engine, imported: Engine
) -> None:
    pages: list[Page] = []

    def on_page(page: Page) -> None:
        pages.append(page)
        if len(pages) == 2:
            service.stop()

    async def interrupted() -> None:
        async with client(service, engine, max_attempts=2) as sync:
            await sync.pull("c-hs-mc", page_size=700, on_page=on_page)

    with pytest.raises(NetworkError, match="cannot reach the service"):
        run(interrupted())
    # Exactly the pages applied are stored, with the cursor of the last: the second, or
    # the third when it was read ahead before the service stopped.
    assert len(pages) in (2, 3)
    assert get_cursor(engine, service.url.rstrip("/"), "c-hs-mc") == pages[-1].cursor
    stored = dump(engine)
    assert len(stored["events"]) == sum(p.report.events_new for p in pages)

    service.restart()

    async def resumed() -> dict[str, PullReport]:
        async with client(service, engine) as sync:
            return await pull_all(sync, page_size=700)

    reports = run(resumed())
    assert reports["c-hs-mc"].connections == 0  # resumed after the connection item
    assert_converged(engine, imported)


def test_a_pull_waits_out_a_restart_of_the_service(
    service: Any, engine: Engine, imported: Engine
) -> None:
    """Stopped after a page, back while the client backs off: one pull converges."""
    retries: list[Retrying] = []
    sleeps = Sleeps(before=lambda n: service.restart() if n == 2 else None)

    def on_page(page: Page) -> None:
        if page.cursor and not retries and page.more:
            service.stop()

    async def main() -> PullReport:
        async with client(service, engine, sleeps=sleeps, retries=retries) as sync:
            return await sync.pull("c-hs-mc", page_size=500, on_page=on_page)

    report = run(main())
    assert len(retries) >= 2
    assert all("cannot reach the service" in r.reason for r in retries)
    assert report.connections == 1
    assert statuses(engine, "c-hs-mc") == statuses(imported, "c-hs-mc")
    assert dump(engine)["events"] == [e for e in dump(imported)["events"] if e[0] == "c-hs-mc"]


def test_a_wrong_token_stops_at_once_and_writes_nothing(service: Any, engine: Engine) -> None:
    empty = dump(engine)
    retries: list[Retrying] = []
    wrong = "wrong-token-0123456789"

    async def main() -> None:
        async with client(service, engine, token=wrong, retries=retries) as sync:
            await sync.pull("c-hs-mc")

    with pytest.raises(AuthError) as caught:
        run(main())
    assert caught.value.status == 401
    assert "refused the token" in str(caught.value)
    assert "HEALTHDESK_TOKEN" in str(caught.value)
    assert wrong not in str(caught.value)
    assert retries == []
    assert dump(engine) == empty
    assert list_cursors(engine) == []


def test_no_token_says_how_to_give_one(service: Any, engine: Engine) -> None:
    async def main() -> None:
        async with client(service, engine, token=None) as sync:
            await sync.list_connections()

    with pytest.raises(AuthError, match=r"needs a token.*HEALTHDESK_TOKEN"):
        run(main())


def test_a_429_is_retried_after_its_retry_after(service: Any, engine: Engine) -> None:
    retries: list[Retrying] = []
    sleeps = Sleeps()
    service.fail_next(429, retry_after=0.2)

    async def main() -> PullReport:
        async with client(service, engine, sleeps=sleeps, retries=retries) as sync:
            return await sync.pull("c-pd-mc")

    report = run(main())
    assert sleeps.delays == [pytest.approx(0.2)]  # it waited what the service asked
    assert [r.attempt for r in retries] == [1]
    assert "429" in retries[0].reason
    assert report.items == service.service.size("c-pd-mc")


def test_a_503_is_retried_with_jittered_backoff(service: Any, engine: Engine) -> None:
    retries: list[Retrying] = []
    sleeps = Sleeps()
    service.fail_next(503, count=2)

    async def main() -> PullReport:
        async with client(service, engine, sleeps=sleeps, retries=retries) as sync:
            return await sync.pull("c-pd-mc")

    report = run(main())
    assert report.items == 1297
    assert [r.attempt for r in retries] == [1, 2]
    assert all("503" in r.reason for r in retries)
    assert 0 <= sleeps.delays[0] <= 0.5
    assert 0 <= sleeps.delays[1] <= 1.0


def test_a_service_busy_for_too_long_is_an_error(service: Any, engine: Engine) -> None:
    service.fail_next(503, count=10)

    async def main() -> None:
        async with client(service, engine, max_attempts=2) as sync:
            await sync.pull("c-pd-mc")

    with pytest.raises(ServiceError, match="busy or unavailable") as caught:
        run(main())
    assert caught.value.status == 503
    assert dump(engine)["connections"] == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>Bad gateway</html>", "the answer is not JSON"),
        (b"[1, 2]", "expected a JSON object with items, next and more, got a list"),
        (b'{"items": [], "more": false}', 'key "next": expected a non-empty string, got nothing'),
        (b'{"items": {}, "next": "x", "more": false}', 'key "items": expected a list, got an obj'),
        (b'{"items": [], "next": "x", "more": "no"}', 'key "more": expected true or false'),
        (
            orjson.dumps(
                {
                    "items": [
                        record("a", "new-1", cid="c-pd-mc"),
                        {**event(99999, "a", "new-1", "created", cid="c-pd-mc"), "seq": -1},
                    ],
                    "next": "zzz",
                    "more": False,
                }
            ),
            'item 2: key "seq": expected a whole number',
        ),
        (
            orjson.dumps({"items": [record("a", "x", cid="c-hs-mc")], "next": "z", "more": False}),
            "item 1: key \"connection\": belongs to connection 'c-hs-mc'",
        ),
    ],
)
def test_a_malformed_answer_is_a_protocol_error_and_changes_nothing(
    service: Any, engine: Engine, body: bytes, problem: str
) -> None:
    async def first() -> None:
        async with client(service, engine) as sync:
            await sync.pull("c-pd-mc")

    run(first())
    before = dump(engine)
    cursors = list_cursors(engine)
    service.fail_next(200, body=body)

    async def again() -> None:
        async with client(service, engine) as sync:
            await sync.pull("c-pd-mc")

    with pytest.raises(ProtocolError) as caught:
        run(again())
    message = str(caught.value)
    assert problem in message
    assert message.startswith(f"{service.url.rstrip('/')}/v1/connections/c-pd-mc/feed?")
    assert TOKEN not in message
    assert dump(engine) == before
    assert list_cursors(engine) == cursors


def test_an_unknown_connection_is_a_service_error(service: Any, engine: Engine) -> None:
    async def main() -> None:
        async with client(service, engine) as sync:
            await sync.pull("c-nope")

    with pytest.raises(ServiceError) as caught:
        run(main())
    assert caught.value.status == 404
    assert "c-nope" in str(caught.value)


def test_an_unreachable_service_is_a_network_error_after_the_retries(engine: Engine) -> None:
    with running_service(snapshots=[DEMO], token=TOKEN) as service:
        url = service.url
    retries: list[Retrying] = []

    async def main() -> None:
        sync = SyncClient(
            base_url=url,
            token=TOKEN,
            engine=engine,
            backoff=backoff(max_attempts=2),
            on_retry=retries.append,
        )
        async with sync:
            await sync.list_connections()

    with pytest.raises(NetworkError, match="cannot reach the service"):
        run(main())
    assert [r.attempt for r in retries] == [1, 2]


def test_follow_applies_items_appended_while_it_waits(service: Any, engine: Engine) -> None:
    stop = asyncio.Event()
    pages: list[Page] = []
    caught_up = asyncio.Event()

    def on_page(page: Page) -> None:
        pages.append(page)
        if caught_up.is_set() and page.items:
            stop.set()
        if not page.more:
            caught_up.set()

    live = [
        record("a", "live-1", cid="c-pd-mc", name="Live Person", email="live@example.com"),
        event(10_000_000, "a", "live-1", "created", cid="c-pd-mc", at="2027-01-01T00:00:00Z"),
    ]

    async def main() -> tuple[dict[str, PullReport], float]:
        async with client(service, engine) as sync:
            task = asyncio.create_task(sync.follow(["c-pd-mc"], wait=5, on_page=on_page, stop=stop))
            await asyncio.wait_for(caught_up.wait(), 10)
            await until(lambda: service.service.waiting("c-pd-mc") == 1)  # a long-poll holds
            service.service.append("c-pd-mc", live)
            # The long-poll answers the append at once: it holds for `wait` (30 s) otherwise.
            return await asyncio.wait_for(task, 10)

    reports = run(main())
    assert pages[-1].items == 2
    assert reports["c-pd-mc"].events_new == events_in(service.service, "c-pd-mc")  # and live
    with engine.connect() as db:
        row = db.exec_driver_sql(
            "SELECT name FROM records WHERE connection_id = 'c-pd-mc' AND ext_id = 'live-1'"
        ).one()
    assert row[0] == "Live Person"


def test_follow_stops_cleanly_when_told(service: Any, engine: Engine) -> None:
    async def main() -> dict[str, PullReport]:
        stop = asyncio.Event()
        async with client(service, engine) as sync:
            task = asyncio.create_task(sync.follow(list(DEMO_IDS), wait=30, stop=stop))
            # Caught up: every connection is long-polling.
            await until(lambda: service.service.waiting() == len(DEMO_IDS))
            stop.set()
            # It stops at once: the long-polls would hold for 30 s otherwise.
            return await asyncio.wait_for(task, 10)

    reports = run(main())
    assert set(reports) == set(DEMO_IDS)
    assert sum(r.items for r in reports.values()) == sum(service.service.size(c) for c in DEMO_IDS)


def test_a_cancelled_follow_ends_cleanly(service: Any, engine: Engine, imported: Engine) -> None:
    async def main() -> None:
        async with client(service, engine) as sync:
            task = asyncio.create_task(sync.follow(list(DEMO_IDS), wait=30))
            await until(lambda: service.service.waiting() == len(DEMO_IDS))
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(main())
    assert_converged(engine, imported)


def test_follow_ends_on_an_auth_error(service: Any, engine: Engine) -> None:
    async def main() -> None:
        async with client(service, engine, token="wrong-token-0123456789") as sync:
            await sync.follow(list(DEMO_IDS), wait=30)

    with pytest.raises(AuthError):
        run(main())


@pytest.mark.parametrize(
    "url",
    ["http://example.com", "http://10.0.0.5:8765", "http://[2001:db8::1]/", "http://127.example"],
)
def test_plain_http_to_another_machine_is_refused(engine: Engine, url: str) -> None:
    with pytest.raises(InsecureURL, match=r"refusing plain http://.*--allow-insecure"):
        SyncClient(base_url=url, token=TOKEN, engine=engine)
    assert SyncClient(base_url=url, token=TOKEN, engine=engine, allow_insecure=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://sync.example.com",
        "http://127.0.0.1:1",
        "http://127.8.9.10",
        "http://localhost:8765",
        "http://[::1]:8765",
    ],
)
def test_https_and_loopback_are_accepted(engine: Engine, url: str) -> None:
    assert SyncClient(base_url=url, token=TOKEN, engine=engine).base_url == url


def test_a_bad_url_is_a_sync_error(engine: Engine) -> None:
    with pytest.raises(SyncError, match="not an http:// or https:// URL"):
        SyncClient(base_url="ftp://example.com", token=TOKEN, engine=engine)


def test_the_token_stays_out_of_reprs_and_messages(engine: Engine) -> None:
    sync = SyncClient(base_url="https://sync.example.com", token=TOKEN, engine=engine)
    assert TOKEN not in repr(sync)
    assert repr(sync) == "SyncClient(base_url='https://sync.example.com', token=set)"
    with pytest.raises(AuthError, match="cannot carry") as caught:
        SyncClient(base_url="https://x.example.com", token="bad token\n", engine=engine)
    assert "bad token" not in str(caught.value)


def test_tls_certificates_are_verified(engine: Engine, tmp_path: Path) -> None:
    """A self-signed https service is refused, not retried and not bypassed."""
    pytest.importorskip("ssl")
    from healthdesk.sync.client import CertificateError

    cert, key = _self_signed(tmp_path)
    if cert is None:
        pytest.skip("openssl is not available to make a certificate")
    import ssl

    from aiohttp import web

    async def connections(_request: web.Request) -> web.Response:
        return web.json_response({"connections": []})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/v1/connections", connections)
        runner = web.AppRunner(app)
        await runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = runner.addresses[0][1]
        try:
            sync = SyncClient(
                base_url=f"https://127.0.0.1:{port}", token=TOKEN, engine=engine, backoff=backoff()
            )
            async with sync:
                await sync.list_connections()
        finally:
            await runner.cleanup()

    with pytest.raises(CertificateError, match="TLS certificate cannot be trusted"):
        run(main())


def _self_signed(tmp_path: Path) -> tuple[str | None, str | None]:
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        return None, None
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    policy = Backoff(rng=random.Random(1))
    for attempt in range(12):
        bound = min(30.0, 0.5 * 2**attempt)
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= bound for d in delays)
        assert max(delays) > bound * 0.8  # full jitter spans the whole range
    assert Backoff(rng=random.Random(3)).delay(4) == Backoff(rng=random.Random(3)).delay(4)
    assert policy.delay(5, retry_after=0.2) == 0.2
    assert policy.delay(5, retry_after=1e9) == 3600.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("0.2") == 0.2
    assert parse_retry_after(" 120 ") == 120.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0


def test_snapshot_helpers_still_make_a_syncable_file(tmp_path: Path, engine: Engine) -> None:
    """A hand-built snapshot served and pulled: the smallest end-to-end case."""
    path = write(
        tmp_path / "one.jsonl",
        [
            connection("c-9"),
            record("a", "a1", cid="c-9", email="a@example.com", created_at=T0),
            event(1, "a", "a1", "failed", cid="c-9"),
        ],
    )
    with running_service(snapshots=[path], token=TOKEN) as service:

        async def main() -> PullReport:
            async with client(service, engine) as sync:
                return await sync.pull("c-9")

        report = run(main())
    assert (report.connections, report.records, report.events_new) == (1, 1, 1)
    assert statuses(engine, "c-9")[("a:a1", "")][0] == "failing"
