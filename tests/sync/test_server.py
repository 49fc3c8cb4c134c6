"""The reference sync service over real HTTP on 127.0.0.1 (API v1, README "Live mode")."""

from __future__ import annotations

import asyncio
import gzip
import importlib.resources
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from healthdesk.feed.items import FeedError, parse_item
from healthdesk.feed.reader import read_items
from healthdesk.sync import server as server_module
from healthdesk.sync.server import (
    FeedService,
    RunningService,
    ServiceError,
    is_loopback,
    running_service,
    serve,
)
from tests.helpers import feed

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def demo_path() -> Iterator[Path]:
    resource = importlib.resources.files("healthdesk.data") / "demo.healthsnap"
    with importlib.resources.as_file(resource) as path:
        yield path


def _raw_items(path: Path) -> list[dict[str, Any]]:
    """The items of a snapshot file as the file holds them (header dropped)."""
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rb") as stream:
        lines = [line for line in stream.read().split(b"\n") if line.strip()]
    return [orjson.loads(line) for line in lines[1:]]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return feed.write(
        tmp_path / "small.jsonl",
        [
            feed.connection("c-1"),
            feed.record("a", "1", email="ada@example.com"),
            feed.record("b", "m1", email="ada@example.com"),
            feed.mapping("1", "m1"),
            feed.event(1, "a", "1", "created"),
            feed.connection("c-2", name="Pipedrive ⇄ Mailchimp", kinds=("pipedrive", "mailchimp")),
            feed.record("a", "7", cid="c-2"),
            feed.event(1, "a", "7", "failed", cid="c-2"),
        ],
    )


@pytest.fixture
def service(small: Path) -> Iterator[RunningService]:
    with running_service(snapshots=[small], token=TOKEN) as running:
        yield running


async def _get(
    url: str, *, headers: dict[str, str] | None = None, **params: Any
) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=AUTH if headers is None else headers, params=params) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


def get(url: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    status, headers, body = asyncio.run(_get(url, **kwargs))
    try:
        return status, headers, orjson.loads(body)
    except orjson.JSONDecodeError:
        return status, headers, body


def pull(url: str, cid: str, *, limit: int) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": limit}
        async with aiohttp.ClientSession(headers=AUTH) as session:
            while True:
                async with session.get(f"{url}/v1/connections/{cid}/feed", params=params) as r:
                    assert r.status == 200
                    page = await r.json()
                assert len(page["items"]) <= limit
                items += page["items"]
                params["after"] = page["next"]
                if not page["more"]:
                    return items

    return asyncio.run(run())


# --------------------------------------------------------------------------- reading


def test_lists_the_latest_connection_item_of_each(service: RunningService) -> None:
    status, headers, body = get(f"{service.url}/v1/connections")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert [c["id"] for c in body["connections"]] == ["c-1", "c-2"]
    locked = feed.connection("c-1", state={"phase": "locked", "locked_by": {"id": "c-2"}})
    service.service.append("c-1", [locked])
    _, _, body = get(f"{service.url}/v1/connections")
    assert body["connections"][0] == locked


def test_paging_the_demo_gives_its_items_in_order(demo_path: Path) -> None:
    expected = _raw_items(demo_path)
    with running_service(snapshots=[demo_path], token=TOKEN) as running:
        got: list[dict[str, Any]] = []
        for cid in running.service.connection_ids():
            got += pull(running.url, cid, limit=777)
    assert got == expected


def test_a_cursor_resumes_exactly(service: RunningService) -> None:
    url = f"{service.url}/v1/connections/c-1/feed"
    _, _, first = get(url, limit=2)
    assert len(first["items"]) == 2
    assert first["more"] is True
    _, _, rest = get(url, after=first["next"])
    assert rest["more"] is False
    assert first["items"] + rest["items"] == service.service.items("c-1")
    # The same cursor again gives the same page; the end cursor gives nothing.
    _, _, again = get(url, after=first["next"])
    assert again == rest
    _, _, end = get(url, after=rest["next"])
    assert end == {"items": [], "next": rest["next"], "more": False}


def test_snapshot_endpoint_gives_a_file_the_reader_reads_back(
    service: RunningService, tmp_path: Path
) -> None:
    service.service.append("c-1", [feed.event(2, "a", "1", "updated")])
    status, headers, body = get(f"{service.url}/v1/connections/c-1/snapshot")
    assert status == 200
    assert headers["Content-Type"] == "application/gzip"
    assert 'filename="c-1.healthsnap"' in headers["Content-Disposition"]
    assert body[:2] == b"\x1f\x8b"
    path = tmp_path / "got.healthsnap"
    path.write_bytes(body)
    items = [located.item for located in read_items(path)]
    assert items == [parse_item(item) for item in service.service.items("c-1")]
    assert len(items) == 6


# --------------------------------------------------------------------------- long-poll


def test_long_poll_returns_as_soon_as_an_item_is_appended(service: RunningService) -> None:
    end = service.service.cursor("c-1", service.service.size("c-1"))
    new = feed.event(2, "a", "1", "updated")
    timer = threading.Timer(0.3, service.service.append, args=("c-1", [new]))
    started = time.monotonic()
    timer.start()
    try:
        status, _, page = get(f"{service.url}/v1/connections/c-1/feed", after=end, wait=10)
    finally:
        timer.cancel()
    elapsed = time.monotonic() - started
    assert status == 200
    assert page["items"] == [new]
    assert 0.25 < elapsed < 1.0


def test_long_poll_times_out_empty_with_the_same_cursor(service: RunningService) -> None:
    end = service.service.cursor("c-2", service.service.size("c-2"))
    started = time.monotonic()
    _, _, page = get(f"{service.url}/v1/connections/c-2/feed", after=end, wait=0.4)
    assert 0.35 < time.monotonic() - started < 2
    assert page == {"items": [], "next": end, "more": False}


def test_long_poll_with_items_waiting_answers_at_once(service: RunningService) -> None:
    started = time.monotonic()
    _, _, page = get(f"{service.url}/v1/connections/c-2/feed", wait=30)
    assert time.monotonic() - started < 1
    assert len(page["items"]) == 3


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing"),
        ({"Authorization": "Bearer wrong"}, "wrong token"),
        ({"Authorization": f"Basic {TOKEN}"}, "wrong token"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "wrong token"),
    ],
)
def test_401_without_the_right_token(
    service: RunningService, headers: dict[str, str], message: str
) -> None:
    for path in ("/v1/connections", "/v1/connections/c-1/feed", "/nowhere"):
        status, got, body = get(service.url + path, headers=headers)
        assert status == 401
        assert got["WWW-Authenticate"] == "Bearer"
        assert body["error"]["code"] == "unauthorized"
        assert message in body["error"]["message"]
        assert TOKEN not in body["error"]["message"]
    status, _, _ = get(f"{service.url}/v1/connections")
    assert status == 200


def test_no_token_means_no_auth_on_loopback(small: Path) -> None:
    with running_service(snapshots=[small], token=None) as running:
        status, _, body = get(f"{running.url}/v1/connections", headers={})
    assert status == 200
    assert len(body["connections"]) == 2


@pytest.mark.parametrize(
    "path",
    [
        "/v1/connections/nope/feed",
        "/v1/connections/nope/snapshot",
        "/v1/nothing",
        "/",
        "/v1/connections/c-1",
    ],
)
def test_404(service: RunningService, path: str) -> None:
    status, _, body = get(service.url + path)
    assert status == 404
    assert body["error"]["code"] in ("unknown_connection", "not_found")
    assert body["error"]["message"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"after": "garbage!"}, "bad_cursor"),
        ({"after": "djE6OTk5"}, "bad_cursor"),  # base64 of "v1:999": no connection
        ({"limit": "0"}, "bad_limit"),
        ({"limit": "10001"}, "bad_limit"),
        ({"limit": "ten"}, "bad_limit"),
        ({"limit": "-5"}, "bad_limit"),
        ({"wait": "61"}, "bad_wait"),
        ({"wait": "soon"}, "bad_wait"),
        ({"wait": "nan"}, "bad_wait"),
        ({"wait": "-1"}, "bad_wait"),
    ],
)
def test_400(service: RunningService, params: dict[str, str], code: str) -> None:
    status, _, body = get(f"{service.url}/v1/connections/c-1/feed", **params)
    assert status == 400
    assert body["error"]["code"] == code


def test_400_for_a_cursor_of_another_connection_or_beyond_the_end(
    service: RunningService,
) -> None:
    other = service.service.cursor("c-2", 1)
    status, _, body = get(f"{service.url}/v1/connections/c-1/feed", after=other)
    assert (status, body["error"]["code"]) == (400, "bad_cursor")
    beyond = service.service.cursor("c-1", 99)
    status, _, body = get(f"{service.url}/v1/connections/c-1/feed", after=beyond)
    assert (status, body["error"]["code"]) == (400, "bad_cursor")
    assert "beyond the end" in body["error"]["message"]


def test_limit_10000_is_allowed(service: RunningService) -> None:
    status, _, body = get(f"{service.url}/v1/connections/c-1/feed", limit="10000")
    assert status == 200
    assert len(body["items"]) == 5


def test_a_broken_snapshot_fails_at_start(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    feed.write(path, [feed.connection("c-1"), {"type": "record", "connection": "c-1"}])
    with pytest.raises(FeedError, match=r"broken.jsonl:3"):
        FeedService(snapshots=[path])
    orphan = feed.write(tmp_path / "orphan.jsonl", [feed.event(1, "a", "1", "created")])
    with pytest.raises(FeedError, match="not declared"):
        FeedService(snapshots=[orphan])


def test_append_validates_every_item_first(service: RunningService) -> None:
    size = service.service.size("c-1")
    with pytest.raises(FeedError, match=r"c-1:2: .*connection"):
        service.service.append("c-1", [feed.event(5, "a", "1", "created"), {"type": "event"}])
    with pytest.raises(FeedError, match="not 'c-1'"):
        service.service.append("c-1", [feed.event(5, "a", "1", "created", cid="c-2")])
    with pytest.raises(FeedError, match="unknown"):
        service.service.append("c-9", [feed.record("a", "1", cid="c-9")])
    assert service.service.size("c-1") == size
    assert service.service.append("c-9", [feed.connection("c-9")]) == 1
    _, _, body = get(f"{service.url}/v1/connections")
    assert [c["id"] for c in body["connections"]] == ["c-1", "c-2", "c-9"]


# --------------------------------------------------------------------------- simulation


def test_simulation_appends_valid_live_activity(demo_path: Path) -> None:
    with running_service(snapshots=[demo_path], token=TOKEN, simulate_rate=200, seed=7) as running:
        sizes = {cid: running.service.size(cid) for cid in running.service.connection_ids()}
        end = running.service.cursor("c-hs-mc", sizes["c-hs-mc"])
        # A long-poll at the end of the feed is woken by the simulation.
        _, _, page = get(f"{running.url}/v1/connections/c-hs-mc/feed", after=end, wait=5)
        assert page["items"]

        def appended() -> int:
            return sum(running.service.size(cid) - size for cid, size in sizes.items())

        # Wait on the condition (bounded), not on the clock: 100 items at 200 a second.
        deadline = time.monotonic() + 30
        while appended() < 100 and time.monotonic() < deadline:
            time.sleep(0.01)
        new = {cid: running.service.items(cid, size) for cid, size in sizes.items()}
    count = sum(len(items) for items in new.values())
    assert count >= 100
    outcomes: set[str] = set()
    phases: set[str] = set()
    for cid, items in new.items():
        seqs = [item["seq"] for item in items if item["type"] == "event"]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        for item in items:
            parse_item(item)
            assert item.get("connection", item.get("id")) == cid
            if item["type"] == "event":
                outcomes.add(item["outcome"])
            if item["type"] == "connection":
                phases.add(item["state"]["phase"])
    assert {"created", "failed", "excluded"} <= outcomes
    assert phases


def test_simulated_events_continue_each_connections_seq(demo_path: Path) -> None:
    service = FeedService(snapshots=[demo_path], seed=3)
    last: dict[str, int] = {}
    for item in _raw_items(demo_path):
        if item["type"] == "event":
            last[item["connection"]] = max(last.get(item["connection"], 0), item["seq"])
    sizes = {cid: service.size(cid) for cid in service.connection_ids()}
    assert service.simulate(1500) >= 1500
    kinds: dict[str, set[str]] = {"outcome": set(), "phase": set(), "type": set()}
    failures = []
    for cid, size in sizes.items():
        items = service.items(cid, size)
        seqs = [item["seq"] for item in items if item["type"] == "event"]
        assert seqs == list(range(last[cid] + 1, last[cid] + 1 + len(seqs)))
        for item in items:
            parse_item(item)
            kinds["type"].add(item["type"])
            if item["type"] == "event":
                kinds["outcome"].add(item["outcome"])
                if item["outcome"] == "failed":
                    failures.append(item["error"])
            elif item["type"] == "connection":
                kinds["phase"].add(item["state"]["phase"])
                if item["state"]["phase"] == "locked":
                    locked_by = item["state"]["locked_by"]
                    assert locked_by["id"] in sizes
                    assert locked_by["id"] != cid
                    assert locked_by["name"]
    assert kinds["type"] == {"record", "mapping", "event", "connection"}
    assert kinds["outcome"] >= {"created", "updated", "failed", "excluded", "duplicate"}
    assert kinds["phase"] >= {"scanning", "syncing", "active", "locked"}
    messages = {error["message"] for error in failures}
    assert len(messages) > 10  # realistic, varied app messages
    assert any("@" in message for message in messages)


def test_simulation_is_deterministic_for_a_seed(small: Path) -> None:
    def run(seed: int) -> list[Any]:
        service = FeedService(snapshots=[small], seed=seed)
        service.simulate(200)
        return [
            {k: v for k, v in item.items() if k not in ("at", "created_at", "updated_at", "since")}
            for cid in service.connection_ids()
            for item in service.items(cid)
        ]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_a_bad_rate_is_refused(small: Path) -> None:
    for rate in (0, -1, float("nan")):
        with pytest.raises(ServiceError, match="rate"):
            FeedService(snapshots=[small], simulate_rate=rate)


# --------------------------------------------------------------------------- starting


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_refuses_to_serve_without_a_token_off_loopback(small: Path, host: str) -> None:
    async def start(**kwargs: Any) -> None:
        await serve(snapshots=[small], host=host, port=0, **kwargs)

    with pytest.raises(ServiceError, match="loopback"):
        asyncio.run(start(token=None, no_auth=True))
    with pytest.raises(ServiceError, match="HEALTHDESK_TOKEN"):
        asyncio.run(start(token=None))
    with pytest.raises(ServiceError, match="loopback"):
        running_service(snapshots=[small], token=None, host=host).__enter__()


def test_refuses_to_serve_without_a_token_unless_told(small: Path) -> None:
    with pytest.raises(ServiceError, match="no token"):
        asyncio.run(serve(snapshots=[small], token=None, port=0))
    with pytest.raises(ServiceError, match="no token"):
        asyncio.run(serve(snapshots=[small], token="", port=0))


def test_loopback_addresses() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host)
    for host in ("0.0.0.0", "::", "10.0.0.1", "localhost.example.com", ""):
        assert not is_loopback(host)


def test_serve_runs_until_cancelled(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    end = FeedService(snapshots=[small]).cursor("c-1", 5)
    made: list[FeedService] = []

    class Seen(FeedService):
        """The service `serve` makes, seen by the test (to wait on its long-polls)."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            made.append(self)

    monkeypatch.setattr(server_module, "FeedService", Seen)

    async def main() -> int:
        urls: list[str] = []
        task = asyncio.create_task(
            serve(snapshots=[small], port=0, token=None, no_auth=True, ready=urls.append)
        )
        while not urls:
            await asyncio.sleep(0.01)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{urls[0]}/v1/connections") as response:
                status = response.status

            async def long_poll() -> Any:
                url = f"{urls[0]}/v1/connections/c-1/feed"
                async with session.get(url, params={"after": end, "wait": 30}) as response:
                    return await response.json()

            poll = asyncio.create_task(long_poll())
            while not made[0].waiting("c-1"):  # the long-poll is held by the service
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The long-poll was answered (empty) when the service stopped.
            assert (await poll)["items"] == []
        return status

    started = time.monotonic()
    assert asyncio.run(main()) == 200
    assert time.monotonic() - started < 5


def test_restart_keeps_the_port_and_the_feeds(service: RunningService) -> None:
    url, port = service.url, service.port
    service.service.append("c-1", [feed.event(2, "a", "1", "updated")])
    _, _, first = get(f"{url}/v1/connections/c-1/feed", limit=3)
    service.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        asyncio.run(_get(f"{url}/v1/connections"))
    service.restart()
    assert (service.url, service.port) == (url, port)
    _, _, rest = get(f"{url}/v1/connections/c-1/feed", after=first["next"])
    assert first["items"] + rest["items"] == service.service.items("c-1")
    assert len(rest["items"]) == 3


# --------------------------------------------------------------------------- test hooks


def test_fail_next_injects_a_status_once(service: RunningService) -> None:
    url = f"{service.url}/v1/connections/c-1/feed"
    service.fail_next(429, retry_after=2)
    status, headers, body = get(url)
    assert (status, headers["Retry-After"]) == (429, "2")
    assert body["error"]["code"] == "too_many_requests"
    assert get(url)[0] == 200

    service.fail_next(503, count=2, retry_after=0.25)
    assert [get(url)[:2][0] for _ in range(3)] == [503, 503, 200]

    service.fail_next(200, body=b'{"items": [garbage')
    status, headers, body = get(url)
    assert (status, body) == (200, b'{"items": [garbage')
    assert "Retry-After" not in headers
    assert get(url)[0] == 200
    assert service.requests[-1].startswith("GET /v1/connections/c-1/feed")


def test_fail_next_applies_before_authentication(service: RunningService) -> None:
    service.fail_next(503)
    assert get(f"{service.url}/v1/connections", headers={})[0] == 503
    assert get(f"{service.url}/v1/connections", headers={})[0] == 401
