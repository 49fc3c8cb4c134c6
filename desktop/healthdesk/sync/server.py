"""The reference sync service: API version 1 (README, "Live mode") over
snapshot files.

`healthdesk serve SNAPSHOT...` runs it; the client's tests run it in a thread. Real HTTP
(aiohttp.web), the same items as the snapshot files, paged with a cursor, long-polled.

HTTP API (version 1)
--------------------
Every request needs `Authorization: Bearer <token>` unless the service runs without a
token (allowed on a loopback address only). Errors are JSON
`{"error": {"code": "...", "message": "..."}}`:

- 401 `unauthorized`: a missing or wrong token (checked first, for every path; the answer
  carries `WWW-Authenticate: Bearer`).
- 404 `unknown_connection` (no such connection id) or `not_found` (no such path);
  405 `method_not_allowed` (GET and HEAD; POST for a retry).
- 400 `bad_cursor` (not a cursor of this service, of another connection, or beyond the
  end of the feed: the service was restarted on other snapshots), `bad_limit` (not a
  whole number from 1 to 10000), `bad_wait` (not a number of seconds from 0 to 60).

`GET /v1/connections` -> `{"connections": [<latest connection item of each>, ...]}`, in
the order the connections were first declared.

`GET /v1/connections/{id}/feed?after=<cursor>&limit=<n>&wait=<seconds>` ->
`{"items": [...], "next": "<cursor>", "more": true|false}`. The feed of a connection is
its connection item, then every item of it in the snapshots in file order, then what was
appended live. `after` omitted = from the start; `limit` defaults to 1000 (at most
10000); `more` says whether items follow `next` already. With `wait` (seconds, fractions
allowed, at most 60) and no item after the cursor, the call holds until an item arrives
(answering as soon as one does) or the time passes (then `items` is empty and `next` is
the same cursor). A cursor is opaque (base64url of `v1:<index>:<connection id>`) and stays
valid for the life of the service: the feed is append-only.

`GET /v1/connections/{id}/snapshot` -> the connection's feed as it is now, as a snapshot
file (header line, then the items; gzip-compressed JSON Lines, streamed),
`Content-Type: application/gzip`, `Content-Disposition: attachment; filename="<id>.healthsnap"`.

`POST /v1/connections/{id}/retry` with `Idempotency-Key: <key>` and the JSON body
`{"records": [{"app": "a", "id": "101"}, ...]}` (at most 10,000 records) asks the service
to retry the failed writes of those records -> 202
`{"request": "<key>", "queued": [...], "already_queued": [...], "unknown": [...],
"replayed": false}`. For each queued record a `queued` event is appended to the feed at
once; `retry_delay` seconds later (`process_retries`) the outcome of each retry, as the
simulator invents it (sync.simulate: a `created` or `updated` event and what it wrote, or
a `failed` event). `already_queued` records wait for a retry already and are not queued
twice; `unknown` ones have no failed write to retry. The same key again with the same
records is answered as the first time (`replayed: true`) and queues nothing; with other
records it is refused, 422 `idempotency_key_reused`. 400 `bad_retry`: no or a malformed
key, a body that is not that object; 411 `length_required` (a chunked body), 413 (a body
over 1 MiB); 408 `body_timeout` when the body does not arrive within `IDLE_TIMEOUT`.

Python interface
----------------
- `FeedService(*, snapshots, simulate_rate=None, seed=0, retry_delay=RETRY_DELAY)`:
  loads and validates the snapshots (a broken one raises `FeedError` naming the file and
  line). Thread-safe:
  `connection_ids()`, `size(cid)`, `items(cid, start=0, stop=None) -> list[dict]`,
  `append(cid, items) -> int` (validates every item with `parse_item` first: all or none
  are appended; an unknown `cid` must start with its connection item; wakes long-polls;
  returns the new feed size), `cursor(cid, index) -> str`, `simulate(count) -> int`
  (appends at least `count` simulated items at once, deterministic for the seed),
  `retry(cid, key, records) -> dict` (what the API's retry does, without the outcome),
  `process_retries(cid=None) -> int` (appends the outcome of every retry waiting; with
  `retry_delay=None` nothing else does, so tests see the contacts pending first),
  `fail_next(status, count=1, retry_after=None, body=None)`, `requests` (the last
  10,000 requests as "METHOD /path?query", oldest first).
- `create_app(*, service, token) -> web.Application` (token None: no authentication).
- `async serve(*, snapshots, host="127.0.0.1", port=8765, token, simulate_rate=None,
  ready=None, no_auth=False, seed=0, ssl_context=None)`: runs until cancelled; `ready(url)`
  is called once it listens. Without a token it refuses to start (`ServiceError`) unless
  `no_auth=True` and `host` is a loopback address (127.0.0.0/8, ::1, localhost); with
  `no_auth=True` a token is ignored.
- `running_service(*, snapshots, token, host="127.0.0.1", port=0, simulate_rate=None,
  seed=0, retry_delay=RETRY_DELAY)`: a context manager that runs the service in a thread
  (its own asyncio loop) and yields a `RunningService`: `.url` ("http://127.0.0.1:PORT"),
  `.port`, `.service` (the FeedService), `.stop()`, `.start()`, `.restart()` (stop, then
  start again on the same port with the same feeds; a cursor stays valid),
  `.fail_next(...)`, `.requests`.

Test hooks: `fail_next(status, count=1, retry_after=None, body=None)` makes the next
`count` requests (any path, before authentication, as a proxy in front of the service
would) answer `status`; `retry_after` adds `Retry-After` (seconds, written as `%g`: "1",
"0.25"); `body` replaces the answer's bytes (sent as application/json, e.g. garbage with a
200); without `body` an error status gets `{"error": {"code": "injected", ...}}` and a
status below 400 an empty body.

Memory: each item is kept as its encoded JSON line (bytes), about its size in the file
plus 33 bytes, so a page is a join of lines, never a re-encoding. Measured: a
100,000-contact demo (450,000 items) loads in 2.3 s into about 190 MB of process; a
1,000,000-contact one needs about 1.5 GB (raw dicts would need several times that).
Items of the snapshots are served byte for byte as they are in the files.

Shutting down: long-polls answer at once (an empty page) and a request still running
after `SHUTDOWN_TIMEOUT` seconds is cut.

Bounds, against clients that misbehave:

- a connection that has not sent a whole request head within `IDLE_TIMEOUT` seconds of
  opening, or of its previous answer (an idle keep-alive, a trickled head), is closed
  (aiohttp's keep-alive timer, which also covers a head that never completes); a head
  is at most 8 KiB a line and 128 fields (aiohttp's limits, answered 400);
- no request but a retry takes a body: one (Content-Length or chunked) is answered 413
  at once, before authentication, and never read, so a slow body holds nothing; a
  retry's body is read only after its token is checked, must declare its length (at
  most 1 MiB) and arrive within `IDLE_TIMEOUT` seconds;
- at most `MAX_POLLS` long-polls (`wait` > 0) run at once per token (per client
  address without a token): one more is answered 429 with `Retry-After: 1`;
- nothing grows with requests before their token is checked: the `requests` record is a
  ring of the last 10,000 lines, each cut to 300 characters, and an unauthorized
  request is kept as its method and path only (100 characters, no query);
- a malformed request (bad request line, header, encoding) gets its status (400...) and
  one log line, never a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gc
import gzip
import hashlib
import hmac
import ipaddress
import logging
import math
import re
import ssl
import threading
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

from healthdesk.core.model import Connection, Item
from healthdesk.core.safe_text import mask_emails, one_line
from healthdesk.feed.items import FeedError, decode, parse_item
from healthdesk.feed.reader import SnapshotReader
from healthdesk.feed.snapshot import GZIP_MAGIC, header_item
from healthdesk.sync.retry import (
    RetryBook,
    RetryConflict,
    RetryRequestError,
    check_key,
    parse_retry_body,
)
from healthdesk.sync.simulate import Simulator

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_WAIT",
    "FeedService",
    "RunningService",
    "ServiceError",
    "create_app",
    "is_loopback",
    "running_service",
    "serve",
]

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
MAX_WAIT = 60.0
#: Seconds a request may still run once the service stops.
SHUTDOWN_TIMEOUT = 2.0
#: Seconds a connection may stay without a whole request head (new, or idle keep-alive).
IDLE_TIMEOUT = 15.0
#: Long-polls that may run at once per token.
MAX_POLLS = 8
#: Seconds between a retry request and the outcome of its retries in the feed.
RETRY_DELAY = 2.0
#: The largest body of a retry request.
MAX_RETRY_BODY = 1024 * 1024
_RETRY_PATH = re.compile(r"/v1/connections/[^/]+/retry")
#: Characters of a request line kept in `requests`.
_REQUEST_LINE = 300
_REQUEST_LOG = 10_000
_log = logging.getLogger(__name__)
_CURSOR = re.compile(r"v1:(0|[1-9][0-9]{0,17}):(.+)", re.DOTALL)
_WHOLE = re.compile(r"[0-9]{1,9}")
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ServiceError(ValueError):
    """The service cannot start as asked (no token off loopback, a bad rate...)."""


class _ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address: 127.0.0.0/8, ::1 or localhost."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- cursors


def _encode_cursor(cid: str, index: int) -> str:
    raw = f"v1:{index}:{cid}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_cursor(cid: str, cursor: str) -> int:
    bad = _ApiError(400, "bad_cursor", f"{cursor[:80]!r} is not a cursor of this feed")
    if not cursor or len(cursor) > 4096 or not cursor.isascii():
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        raise bad from None
    match = _CURSOR.fullmatch(raw)
    if match is None:
        raise bad
    if match.group(2) != cid:
        raise _ApiError(400, "bad_cursor", "the cursor is of another connection's feed")
    return int(match.group(1))


# --------------------------------------------------------------------------- the feeds


@dataclass(frozen=True, slots=True)
class _Fault:
    status: int
    retry_after: float | None
    body: bytes | None


class _Feed:
    __slots__ = ("connection", "lines")

    def __init__(self, connection: bytes) -> None:
        self.lines: list[bytes] = []
        self.connection = connection  # the latest connection item


def _raw_lines(path: Path) -> Generator[tuple[int, bytes], None, None]:
    """The lines of a snapshot file with their numbers (as SnapshotReader counts them)."""
    with open(path, "rb") as raw:
        stream: IO[bytes] = raw
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        else:
            raw.seek(0)
        with stream:
            yield from enumerate(stream, 1)


class FeedService:
    """The feeds of the service's connections, loaded from snapshot files; thread-safe.

    See the module's docstring for the interface.
    """

    def __init__(
        self,
        *,
        snapshots: Sequence[Path | str],
        simulate_rate: float | None = None,
        seed: int = 0,
        retry_delay: float | None = RETRY_DELAY,
    ) -> None:
        if simulate_rate is not None and not (
            math.isfinite(simulate_rate) and 0 < simulate_rate <= 100_000
        ):
            raise ServiceError(
                f"the simulation rate must be from 0 to 100000 items per second, "
                f"got {simulate_rate}"
            )
        self.simulate_rate = simulate_rate
        self._lock = threading.RLock()
        self._feeds: dict[str, _Feed] = {}
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]] = {}
        self._faults: deque[_Fault] = deque()
        self._requests: deque[str] = deque(maxlen=_REQUEST_LOG)
        self._simulator = Simulator(seed=seed)
        self.retry_delay = retry_delay
        self._retries = RetryBook()
        for path in snapshots:
            self._load(Path(path))
        self._simulator.loaded()

    # ------------------------------------------------------------------ loading

    def _load(self, path: Path) -> None:
        """Validate with SnapshotReader; keep each item's line as it is in the file."""
        reader = SnapshotReader(path=path)
        lines = _raw_lines(path)
        number = 0
        line = b""
        try:
            for located in reader.items():
                while number < located.line:
                    number, line = next(lines)
                self._add(
                    located.item, line.strip(), source=reader.source, line_number=located.line
                )
        finally:
            lines.close()

    def _add(self, item: Item, line: bytes, *, source: str = "", line_number: int = 0) -> None:
        """Append one valid item (its encoded line) to its connection's feed. Lock held."""
        if isinstance(item, Connection):
            cid = item.id
            feed = self._feeds.get(cid)
            if feed is None:
                feed = self._feeds[cid] = _Feed(line)
            feed.connection = line
            feed.lines.append(line)
            self._simulator.observe(cid, item, decode(line))
            self._retries.observe(cid, item, len(feed.lines) - 1)
            return
        cid = item.connection
        feed = self._feeds.get(cid)
        if feed is None:
            raise FeedError(
                f"connection {cid!r} is not declared before this item (no connection item)",
                source=source,
                line=line_number,
                key="connection",
            )
        feed.lines.append(line)
        self._simulator.observe(cid, item)
        self._retries.observe(cid, item, len(feed.lines) - 1)

    # ------------------------------------------------------------------ reading

    def connection_ids(self) -> list[str]:
        with self._lock:
            return list(self._feeds)

    def size(self, connection_id: str) -> int:
        """The number of items in the connection's feed (KeyError if unknown)."""
        with self._lock:
            return len(self._feeds[connection_id].lines)

    def items(self, connection_id: str, start: int = 0, stop: int | None = None) -> list[Any]:
        """The connection's items [start:stop], decoded (fresh dicts)."""
        with self._lock:
            lines = self._feeds[connection_id].lines[start:stop]
        return [orjson.loads(line) for line in lines]

    def cursor(self, connection_id: str, index: int) -> str:
        """The cursor after the first `index` items of the connection's feed."""
        return _encode_cursor(connection_id, index)

    def waiting(self, connection_id: str | None = None) -> int:
        """How many long-polls (of one connection, or of all) are held now."""
        with self._lock:
            if connection_id is not None:
                return len(self._waiters.get(connection_id, []))
            return sum(len(entries) for entries in self._waiters.values())

    @property
    def requests(self) -> list[str]:
        """The last requests received, as "METHOD /path?query", oldest first."""
        with self._lock:
            return list(self._requests)

    # ------------------------------------------------------------------ writing

    def append(self, connection_id: str, items: Sequence[Mapping[str, Any]]) -> int:
        """Validate and append `items` to the connection's feed; return its new size.

        Every item must pass `parse_item` and belong to `connection_id` (a connection
        item with that id, or an item naming it); nothing is appended if one fails. A
        new connection's first item must be its connection item. Wakes the long-polls.
        """
        parsed: list[tuple[Item, bytes]] = []
        for number, obj in enumerate(items, 1):
            try:
                item = parse_item(obj)
            except FeedError as exc:
                raise exc.located(source=f"append to {connection_id}", line=number) from None
            owner = item.id if isinstance(item, Connection) else item.connection
            if owner != connection_id:
                raise FeedError(
                    f"the item is of connection {owner!r}, not {connection_id!r}",
                    source=f"append to {connection_id}",
                    line=number,
                    key="id" if isinstance(item, Connection) else "connection",
                )
            parsed.append((item, orjson.dumps(obj)))
        with self._lock:
            if (
                connection_id not in self._feeds
                and parsed
                and not isinstance(parsed[0][0], Connection)
            ):
                raise FeedError(
                    f"connection {connection_id!r} is unknown: append its connection item first",
                    source=f"append to {connection_id}",
                    line=1,
                )
            for item, line in parsed:
                self._add(item, line)
            size = len(self._feeds[connection_id].lines) if parsed else self.size(connection_id)
            waiters = self._waiters.pop(connection_id, []) if parsed else []
        _wake(waiters)
        return size

    def simulate(self, count: int) -> int:
        """Append at least `count` simulated items now; return how many were appended."""
        done = 0
        while done < count:
            with self._lock:  # re-entered by append: no item comes between step and append
                step = self._simulator.step()
                if step is None:
                    break
                cid, items = step
                self.append(cid, items)
            done += len(items)
        return done

    # ------------------------------------------------------------------ retries

    def retry(self, cid: str, key: str, records: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """Answer a retry request of (app, id) pairs (see the module's docstring) and
        append a `queued` event for each record queued. KeyError: unknown connection;
        RetryConflict: the key was used for another request."""
        with self._lock:
            if cid not in self._feeds:
                raise KeyError(cid)
            answer, jobs = self._retries.request(cid, key, records)
            if jobs:
                self.append(cid, [self._simulator.queued_event(job) for job in jobs])
        return answer

    def retries_waiting(self, cid: str) -> int:
        """How many records of a connection wait for their retry."""
        with self._lock:
            return self._retries.waiting(cid)

    def process_retries(self, cid: str | None = None) -> int:
        """Append the outcome of every retry waiting (of one connection, or all), as the
        simulator decides it; return how many items were appended."""
        appended = 0
        with self._lock:
            for job in self._retries.take_waiting(cid):
                feed = self._feeds[job.connection]
                record = None if job.line is None else orjson.loads(feed.lines[job.line])
                items = self._simulator.retry_outcome(job, record)
                self.append(job.connection, items)
                appended += len(items)
        return appended

    # ------------------------------------------------------------------ test hooks

    def fail_next(
        self,
        status: int,
        count: int = 1,
        retry_after: float | None = None,
        body: bytes | None = None,
    ) -> None:
        """Answer the next `count` requests with `status` (see the module's docstring)."""
        if not 100 <= status <= 599:
            raise ValueError(f"not an HTTP status: {status}")
        with self._lock:
            self._faults.extend(_Fault(status, retry_after, body) for _ in range(count))

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _record(self, request_line: str) -> None:
        with self._lock:
            self._requests.append(request_line[:_REQUEST_LINE])

    # ------------------------------------------------------------------ serving

    def _connections_body(self) -> bytes:
        with self._lock:
            lines = [feed.connection for feed in self._feeds.values()]
        return b'{"connections":[' + b",".join(lines) + b"]}"

    def _page(self, cid: str, index: int, limit: int) -> bytes:
        with self._lock:
            feed = self._feeds.get(cid)
            if feed is None:
                raise _unknown(cid)
            size = len(feed.lines)
            if index > size:
                raise _ApiError(
                    400,
                    "bad_cursor",
                    f"the cursor is beyond the end of the feed ({index} > {size} items): "
                    "the service was restarted on other snapshots; pull from the start",
                )
            stop = min(size, index + limit)
            lines = feed.lines[index:stop]
        return b"".join(
            (
                b'{"items":[',
                b",".join(lines),
                b'],"next":',
                orjson.dumps(_encode_cursor(cid, stop)),
                b',"more":',
                b"true" if stop < size else b"false",
                b"}",
            )
        )

    def _snapshot_lines(self, cid: str) -> list[bytes]:
        with self._lock:
            feed = self._feeds.get(cid)
            if feed is None:
                raise _unknown(cid)
            return feed.lines[:]

    async def _wait(self, cid: str, index: int, timeout: float) -> None:
        """Return when the feed has more than `index` items, or after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._lock:
            feed = self._feeds.get(cid)
            if feed is None or len(feed.lines) > index:
                return
            self._waiters.setdefault(cid, []).append(entry)
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                waiting = self._waiters.get(cid)
                if waiting is not None and entry in waiting:
                    waiting.remove(entry)

    def _wake_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Answer every long-poll of `loop` now (the service stops)."""
        with self._lock:
            woken = [
                entry for entries in self._waiters.values() for entry in entries if entry[0] is loop
            ]
        _wake(woken)

    async def _simulate_forever(self) -> None:
        """Append simulated items at about `simulate_rate` per second, until cancelled."""
        rate = self.simulate_rate
        assert rate is not None
        tick = min(0.25, max(0.02, 1 / rate))
        start = time.monotonic()
        produced = 0
        while True:
            await asyncio.sleep(tick)
            due = int(rate * (time.monotonic() - start))
            if due - produced > rate:  # fell behind (a paused process): do not burst
                produced = due - int(rate)
            while produced < due:
                try:
                    appended = self.simulate(1)
                except Exception:  # a bug of the simulation: say so, keep serving
                    _log.exception("the simulation stopped")
                    return
                if not appended:
                    break
                produced += appended


def _wake(waiters: Sequence[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]) -> None:
    for loop, future in waiters:
        with suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _unknown(cid: str) -> _ApiError:
    return _ApiError(404, "unknown_connection", f"no connection {cid[:200]!r} on this service")


# --------------------------------------------------------------------------- the app


class _Polls:
    """Long-polls running per key (the token, or the client address without one)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running: dict[str, int] = {}

    def key(self, request: web.Request) -> str:
        header = request.headers.get("Authorization")
        if header:
            return "token:" + hashlib.sha256(header.encode("utf-8", "surrogateescape")).hexdigest()
        return f"address:{request.remote}"


_SERVICE = web.AppKey("service", FeedService)
_POLLS = web.AppKey("polls", _Polls)
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "too_many_requests",
    503: "unavailable",
}


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def _json(body: bytes) -> web.Response:
    return web.Response(
        body=body, content_type="application/json", headers={"Cache-Control": "no-store"}
    )


def _fault_response(fault: _Fault) -> web.Response:
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = f"{fault.retry_after:g}"
    if fault.body is not None:
        return web.Response(
            status=fault.status, body=fault.body, content_type="application/json", headers=headers
        )
    if fault.status >= 400:
        code = _STATUS_CODES.get(fault.status, "injected")
        return _error(fault.status, code, f"injected failure ({fault.status})", headers)
    return web.Response(status=fault.status, body=b"", headers=headers)


def _authorized(request: web.Request, token: bytes) -> str | None:
    """None when the request carries the token, else why not."""
    header = request.headers.get("Authorization")
    if header is None:
        return "missing Authorization: Bearer <token> header"
    scheme, _, value = header.strip().partition(" ")
    given = value.strip().encode("utf-8", "surrogateescape")
    # compare_digest in every case, so that the time does not tell what was wrong.
    same = hmac.compare_digest(given, token)
    if scheme.lower() != "bearer" or not same:
        return "wrong token"
    return None


def create_app(
    *, service: FeedService, token: str | None, max_polls: int = MAX_POLLS
) -> web.Application:
    """The aiohttp application of API version 1 over `service` (token None: no auth)."""
    secret = None if token is None else token.encode()

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        fault = service._take_fault()
        if fault is not None:
            service._record(f"{request.method} {request.path_qs}")
            return _fault_response(fault)
        retrying = request.method == "POST" and _RETRY_PATH.fullmatch(request.path) is not None
        if request.body_exists and not retrying:
            # No other route takes a body: refuse it unread, so a slow one holds nothing.
            response = _error(413, "body_not_allowed", "this service takes no request body")
            response.force_close()
            return response
        if retrying and request.body_exists:
            length = request.content_length
            if length is None or length > MAX_RETRY_BODY:
                status, code = (411, "length_required") if length is None else (413, "too_large")
                response = _error(
                    status,
                    code,
                    f"a retry's body must declare its length, at most {MAX_RETRY_BODY:,} bytes",
                )
                response.force_close()
                return response
        if secret is not None:
            problem = _authorized(request, secret)
            if problem is not None:
                # Only a short fixed-size line (no query) in the bounded record.
                service._record(f"{request.method} {request.path[:100]} [unauthorized]")
                return _error(401, "unauthorized", problem, {"WWW-Authenticate": "Bearer"})
        service._record(f"{request.method} {request.path_qs}")
        try:
            return await handler(request)
        except _ApiError as exc:
            return _error(exc.status, exc.code, exc.message, exc.headers)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            code = _STATUS_CODES.get(exc.status, "error")
            if exc.status == 404:
                message = f"no such path: {request.path[:200]}"
            elif exc.status == 405:
                allowed = exc.headers.get("Allow", "GET")
                message = f"method {request.method} is not allowed here (only {allowed})"
            else:
                message = exc.reason
            return _error(exc.status, code, message, headers)

    app = web.Application(middlewares=[guard], client_max_size=MAX_RETRY_BODY)
    app[_SERVICE] = service
    app[_POLLS] = _Polls(max_polls)
    app.router.add_get("/v1/connections", _list_connections)
    app.router.add_get("/v1/connections/{id}/feed", _feed)
    app.router.add_get("/v1/connections/{id}/snapshot", _snapshot)
    app.router.add_post("/v1/connections/{id}/retry", _retry)
    app.on_shutdown.append(_on_shutdown)
    if service.simulate_rate is not None:
        app.cleanup_ctx.append(_simulation)
    return app


async def _simulation(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[_SERVICE]._simulate_forever())
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def _on_shutdown(app: web.Application) -> None:
    app[_SERVICE]._wake_loop(asyncio.get_running_loop())


async def _list_connections(request: web.Request) -> web.Response:
    return _json(request.app[_SERVICE]._connections_body())


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if _WHOLE.fullmatch(text) is None or not 1 <= int(text) <= MAX_LIMIT:
        raise _ApiError(
            400, "bad_limit", f"limit must be a whole number from 1 to {MAX_LIMIT}, got {text!r}"
        )
    return int(text)


def _wait_seconds(text: str | None) -> float:
    if text is None or text == "":
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= MAX_WAIT):
        raise _ApiError(
            400,
            "bad_wait",
            f"wait must be a number of seconds from 0 to {MAX_WAIT:g}, got {text!r}",
        )
    return value


async def _feed(request: web.Request) -> web.Response:
    service = request.app[_SERVICE]
    cid = request.match_info["id"]
    query = request.query
    limit = _limit(query.get("limit"))
    wait = _wait_seconds(query.get("wait"))
    after = query.get("after")
    index = 0 if after is None or after == "" else _decode_cursor(cid, after)
    if wait > 0:
        size = _size_or_404(service, cid)
        if index == size:
            polls = request.app[_POLLS]
            key = polls.key(request)
            if polls.running.get(key, 0) >= polls.limit:
                raise _ApiError(
                    429,
                    "too_many_polls",
                    f"at most {polls.limit} long-polls at once per token; retry in a second",
                    {"Retry-After": "1"},
                )
            polls.running[key] = polls.running.get(key, 0) + 1
            try:
                await service._wait(cid, index, wait)
            finally:
                polls.running[key] -= 1
                if not polls.running[key]:
                    del polls.running[key]
    return _json(service._page(cid, index, limit))


async def _retry(request: web.Request) -> web.Response:
    service = request.app[_SERVICE]
    cid = request.match_info["id"]
    _size_or_404(service, cid)
    try:
        key = check_key(request.headers.get("Idempotency-Key"))
        try:
            body = await asyncio.wait_for(request.read(), IDLE_TIMEOUT)
        except TimeoutError:
            raise _ApiError(
                408, "body_timeout", f"the body did not arrive within {IDLE_TIMEOUT:g} s"
            ) from None
        records = parse_retry_body(body)
        answer = service.retry(cid, key, records)
    except RetryRequestError as exc:
        raise _ApiError(400, "bad_retry", str(exc)) from None
    except RetryConflict as exc:
        raise _ApiError(422, "idempotency_key_reused", str(exc)) from None
    except KeyError:
        raise _unknown(cid) from None
    if answer["queued"] and service.retry_delay is not None:
        asyncio.get_running_loop().call_later(service.retry_delay, service.process_retries, cid)
    headers = {"Cache-Control": "no-store"}
    if answer["replayed"]:
        headers["Idempotent-Replayed"] = "true"
    return web.Response(
        status=202, body=orjson.dumps(answer), content_type="application/json", headers=headers
    )


def _size_or_404(service: FeedService, cid: str) -> int:
    try:
        return service.size(cid)
    except KeyError:
        raise _unknown(cid) from None


async def _snapshot(request: web.Request) -> web.StreamResponse:
    service = request.app[_SERVICE]
    cid = request.match_info["id"]
    lines = service._snapshot_lines(cid)
    filename = _FILENAME_UNSAFE.sub("_", cid).strip("._") or "connection"
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/gzip",
            "Content-Disposition": f'attachment; filename="{filename}.healthsnap"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    exported_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    gzip = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    await response.write(gzip.compress(orjson.dumps(header_item(exported_at)) + b"\n"))
    batch = 2000
    for start in range(0, len(lines), batch):
        data = gzip.compress(b"\n".join(lines[start : start + batch]) + b"\n")
        if data:
            await response.write(data)
    await response.write(gzip.flush())
    await response.write_eof()
    return response


# --------------------------------------------------------------------------- running


def _check_start(host: str, token: str | None, no_auth: bool) -> str | None:
    """The token to use (None: no auth), or ServiceError when it may not start so."""
    if no_auth:
        if not is_loopback(host):
            raise ServiceError(
                f"refusing to serve without authentication on {host}: --no-auth is only "
                "allowed on a loopback address (127.0.0.1, ::1, localhost)"
            )
        return None
    if not token:
        raise ServiceError(
            "no token: set HEALTHDESK_TOKEN to the token clients must send, or serve "
            "with --no-auth on a loopback address"
        )
    if token != token.strip() or any(c in token for c in "\r\n"):
        raise ServiceError("the token must not have surrounding white space or line breaks")
    return token


def _url(host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> str:
    scheme = "https" if ssl_context is not None else "http"
    name = host.strip("[]")
    if ":" in name:
        name = f"[{name}]"
    return f"{scheme}://{name}:{port}"


class _OneLineLogger(logging.LoggerAdapter):
    """aiohttp's server log, with a malformed request as one line instead of a traceback."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError):
            remote = args[0] if args else "?"
            text = str(getattr(exc, "message", "") or type(exc).__name__)
            problem = mask_emails(one_line(text, 300))
            super().log(
                max(level, logging.INFO),
                "malformed request from %s: %s %s",
                remote,
                exc.code,
                problem,
            )
            return
        super().log(level, msg, *args, **kwargs)


async def _start(
    service: FeedService,
    token: str | None,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    *,
    idle_timeout: float = IDLE_TIMEOUT,
    max_polls: int = MAX_POLLS,
) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(
        create_app(service=service, token=token, max_polls=max_polls),
        access_log=None,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        # The keep-alive timer runs from the connection's start and from each answer, and
        # closes a connection still waiting for a whole request head: idle and header
        # timeout in one.
        keepalive_timeout=idle_timeout,
        lingering_time=1.0,
        logger=_OneLineLogger(logging.getLogger(__name__), {}),
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    address = runner.addresses[0]
    return runner, int(address[1])


async def _cleanup(runner: web.AppRunner) -> None:
    """Stop serving and close every connection, at once. aiohttp closes the connections it
    knows; one accepted while the site stopped, or closed with a response still unsent to
    a client that is gone, keeps its socket open past the end of the loop (a leak, and a
    ResourceWarning later). So every transport of this loop still open is aborted."""
    await runner.cleanup()
    loop = asyncio.get_running_loop()
    left = [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, asyncio.Transport) and getattr(obj, "_loop", None) is loop
    ]
    for transport in left:
        transport.abort()
    if left:
        await asyncio.sleep(0.01)  # aborted transports close their sockets on the next turns


async def serve(
    *,
    snapshots: Sequence[Path | str],
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None,
    simulate_rate: float | None = None,
    ready: Callable[[str], None] | None = None,
    no_auth: bool = False,
    seed: int = 0,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Serve `snapshots` until cancelled (Ctrl+C under asyncio.run ends cleanly).

    Raises ServiceError (no token and not `no_auth` on loopback, a bad rate), FeedError
    (a broken snapshot) or OSError (the port is taken) before it listens.
    """
    effective = _check_start(host, token, no_auth)
    service = FeedService(snapshots=snapshots, simulate_rate=simulate_rate, seed=seed)
    runner, bound = await _start(service, effective, host, port, ssl_context)
    try:
        if ready is not None:
            ready(_url(host, bound, ssl_context))
        await asyncio.Event().wait()
    finally:
        await _cleanup(runner)


class RunningService:
    """A service running in a background thread, for tests (see running_service)."""

    def __init__(
        self,
        *,
        service: FeedService,
        token: str | None,
        host: str,
        port: int,
        idle_timeout: float = IDLE_TIMEOUT,
        max_polls: int = MAX_POLLS,
    ) -> None:
        self.service = service
        self._idle_timeout = idle_timeout
        self._max_polls = max_polls
        self._token = token
        self._host = host
        self.port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return _url(self._host, self.port)

    @property
    def requests(self) -> list[str]:
        return self.service.requests

    def fail_next(
        self,
        status: int,
        count: int = 1,
        retry_after: float | None = None,
        body: bytes | None = None,
    ) -> None:
        self.service.fail_next(status, count, retry_after, body)

    def start(self) -> None:
        """Start serving (on the same port as before, after the first start)."""
        if self._thread is not None:
            return
        started = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                runner, self.port = await _start(
                    self.service,
                    self._token,
                    self._host,
                    self.port,
                    idle_timeout=self._idle_timeout,
                    max_polls=self._max_polls,
                )
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            try:
                await self._stop.wait()
            finally:
                await _cleanup(runner)

        thread = threading.Thread(target=asyncio.run, args=(main(),), name="healthdesk-serve")
        thread.daemon = True
        thread.start()
        started.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._thread = thread

    def stop(self) -> None:
        """Stop serving: long-polls answer at once, connections close; idempotent."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None or loop is None or stop is None:
            return
        with suppress(RuntimeError):  # the loop has ended already
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=SHUTDOWN_TIMEOUT + 10)
        self._thread = self._loop = self._stop = None

    def restart(self) -> None:
        """Stop, then start again on the same port with the same feeds."""
        self.stop()
        self.start()


@contextmanager
def running_service(
    *,
    snapshots: Sequence[Path | str],
    token: str | None,
    host: str = "127.0.0.1",
    port: int = 0,
    simulate_rate: float | None = None,
    seed: int = 0,
    idle_timeout: float = IDLE_TIMEOUT,
    max_polls: int = MAX_POLLS,
    retry_delay: float | None = RETRY_DELAY,
) -> Iterator[RunningService]:
    """Run the service in a background thread on an ephemeral port; stop it on exit."""
    if token is None:
        _check_start(host, None, no_auth=True)
    else:
        _check_start(host, token, no_auth=False)
    service = FeedService(
        snapshots=snapshots, simulate_rate=simulate_rate, seed=seed, retry_delay=retry_delay
    )
    running = RunningService(
        service=service,
        token=token,
        host=host,
        port=port,
        idle_timeout=idle_timeout,
        max_polls=max_polls,
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()
