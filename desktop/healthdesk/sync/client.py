"""Keep the local database in step with a sync service: pull pages, apply them, follow live.

The client speaks API version 1 (README, "Live mode: the sync service") over aiohttp on whatever
asyncio loop runs it: `asyncio.run` in the command line, qasync's loop in the window. It
starts no thread and no loop of its own. Every page is applied with
store.cursors.apply_page, which writes the items and the cursor that follows them in one
transaction, so a sync stopped at any moment resumes exactly where the database stands.

Failures, all `SyncError`s:

- network errors, timeouts, 429, 502, 503 and 504 are retried with exponential backoff and
  full jitter (`Backoff`), honouring `Retry-After`; `pull` gives up after
  `Backoff.max_attempts` retries, `follow` retries for as long as it runs;
- 401 and 403 raise `AuthError` at once; any other error status raises `ServiceError`;
- an answer that breaks the API (not JSON, missing keys, an invalid item) raises
  `ProtocolError` naming the URL and what is wrong; the database is left as it was;
- plain http:// to a host other than this machine raises `InsecureURL` unless allowed;
  TLS certificates are always verified (`CertificateError` when they do not check out).

Bounds, against a service that misbehaves (each a `ProtocolError` unless said):

- a body larger than `max_page_bytes` (default `MAX_PAGE_BYTES`, 64 MiB) is refused: a
  `Content-Length` above it before reading anything, else as soon as the bytes read pass
  it (the body is read in chunks and never buffered past the cap);
- each request has a total deadline (`request_deadline` s beyond a long-poll's `wait`,
  default `REQUEST_DEADLINE`), however slowly the bytes drip: past it, the attempt counts
  as a network failure (retried like one);
- the cursor must advance: a page that carries items with the same cursor, or a `next`
  cursor already seen in this pull (a loop), is refused; at most `MAX_EMPTY_PAGES` pages
  in a row may bring nothing while saying `more: true`. A pull stopped by one of these
  still decides the pages it applied, so no decision is left pending;
- `Retry-After` is honoured up to `Backoff.max_retry_after` (1 h); a `pull` (one-shot)
  refuses to wait longer than `max_pull_wait` (60 s) and fails with a `ServiceError`
  saying until when the service asked to wait. `Retrying.until` (wall-clock) tells an
  `on_retry` callback until when the client waits;
- every text from the service (error messages, reasons, headers) reaches messages as one
  sanitized line (core.safe_text.one_line): no control characters, no ESC, no CR/LF.

The token travels only in the `Authorization: Bearer` header: it is never logged and
never part of a message or a repr.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import ipaddress
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import orjson
from sqlalchemy import Engine
from yarl import URL

from healthdesk import __version__
from healthdesk.core.model import Connection, Side
from healthdesk.core.safe_text import mask_emails, one_line
from healthdesk.feed.items import FeedError, parse_item, type_name
from healthdesk.store.cursors import apply_page, get_cursor
from healthdesk.store.db import DatabaseBusy
from healthdesk.store.ingest import IngestReport
from healthdesk.sync.credentials import TOKEN_ENV, normalize_url

_log = logging.getLogger(__name__)

#: Statuses that say "not now": retried after a pause.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: How long a long-poll may stay silent beyond its `wait` before it counts as lost.
READ_GRACE = 30.0
CONNECT_TIMEOUT = 15.0
#: The largest body the client reads (bytes); a 5,000-item page is a few MB.
MAX_PAGE_BYTES = 64 * 1024 * 1024
#: Seconds a whole request may take beyond a long-poll's wait (body included).
REQUEST_DEADLINE = 120.0
#: Pages in a row that may bring no item while saying more are ready.
MAX_EMPTY_PAGES = 20
#: Longest Retry-After a one-shot pull waits out (seconds); longer is an error.
MAX_PULL_WAIT = 60.0
#: Read chunk size of bodies.
_CHUNK = 64 * 1024
#: Cursors remembered per followed connection, to notice a loop.
_SEEN_CURSORS = 10_000


# -- errors ------------------------------------------------------------------------------


class SyncError(Exception):
    """Base of every failure of a sync; its text is meant for the user."""


class InsecureURL(SyncError):
    """A plain http:// URL to another machine, without allow_insecure."""


class AuthError(SyncError):
    """The service refused the token (401) or the access (403). Never retried."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class ServiceError(SyncError):
    """The service answered with an error status (or kept answering 429/503)."""

    def __init__(self, message: str, *, status: int, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ProtocolError(SyncError):
    """The service's answer breaks the API: not JSON, missing keys, invalid items."""


class NetworkError(SyncError):
    """The service could not be reached (after the retries `pull` allows)."""


class CertificateError(SyncError):
    """The service's TLS certificate did not verify. Never retried, never bypassed."""


# -- backoff -----------------------------------------------------------------------------


class Backoff:
    """When to try again: exponential backoff with full jitter, or what `Retry-After` says.

    The n-th retry (from 0) waits a uniformly random time in [0, min(cap, base * 2**n)];
    a `Retry-After` from the service replaces that (up to `max_retry_after`).
    `max_attempts` is how many retries `pull` makes before giving up (None: no limit).
    Tests inject a seeded `rng` and a `sleep` that records instead of waiting.
    """

    def __init__(
        self,
        *,
        base: float = 0.5,
        cap: float = 30.0,
        max_attempts: int | None = 8,
        max_retry_after: float = 3600.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
    ) -> None:
        self.base = base
        self.cap = cap
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after
        self._rng = rng or random.Random()
        self._sleep = sleep or asyncio.sleep

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (0 for the first retry)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self._rng.uniform(0.0, min(self.cap, self.base * 2.0 ** min(attempt, 60)))

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """A `Retry-After` header as seconds from now: delta-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN: ignore
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


# -- reports -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a connection's feed, as applied (what `on_page` receives)."""

    connection_id: str
    #: Items in the page (0: nothing new; the cursor and the sync time were still stored).
    items: int
    report: IngestReport
    #: The cursor now stored: the page's `next`.
    cursor: str
    #: Whether the service said more items are ready now.
    more: bool


@dataclass(slots=True)
class PullReport:
    """What a pull (or a follow) applied to one connection."""

    connection_id: str
    pages: int = 0
    items: int = 0
    connections: int = 0
    records: int = 0
    mappings: int = 0
    events: int = 0
    events_new: int = 0
    #: Contacts decided again: all of them for a page that needed it, else the changed ones.
    decided: int = 0
    #: Some page re-decided the whole connection (new connection or new settings).
    full: bool = False
    #: The cursor stored at the end (None: nothing pulled yet).
    cursor: str | None = None
    seconds: float = 0.0

    def add(self, page: Page) -> None:
        report = page.report
        self.pages += 1
        self.items += page.items
        self.connections += report.connections
        self.records += report.records
        self.mappings += report.mappings
        self.events += report.events
        self.events_new += report.events_new
        self.decided += sum(report.decided.values())
        self.full = self.full or bool(report.full)
        self.cursor = page.cursor


@dataclass(frozen=True, slots=True)
class Retrying:
    """A request failed in a way worth retrying; the client waits `delay` s (for on_retry)."""

    url: str
    #: 1 for the first retry.
    attempt: int
    delay: float
    #: One sanitized line (what the service or the network said).
    reason: str
    #: When the client tries again (wall-clock, local time zone); set by the client.
    until: datetime | None = None
    #: Whether the wait is what the service asked (Retry-After) rather than backoff.
    asked: bool = False

    def until_text(self) -> str:
        """ "HH:MM:SS" (local) of the next try, with the date when it is not today."""
        when = self.until or datetime.now().astimezone() + timedelta(seconds=self.delay)
        now = datetime.now(when.tzinfo)
        return when.strftime("%H:%M:%S" if when.date() == now.date() else "%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class RetryAnswer:
    """What the service did with a retry request (`SyncClient.retry`).

    Each list holds (app, record id) pairs of the request: `queued` will be retried (a
    `queued` event for each is in the feed), `already_queued` were waiting for a retry
    already (not queued twice), `unknown` have no failed write the service could retry.
    `replayed`: the service had answered this idempotency key before, and says it again.
    """

    key: str
    queued: tuple[tuple[Side, str], ...]
    already_queued: tuple[tuple[Side, str], ...]
    unknown: tuple[tuple[Side, str], ...]
    replayed: bool


OnPage = Callable[[Page], Awaitable[Any] | None]
OnRetry = Callable[[Retrying], Any]


@dataclass(slots=True)
class _Answer:
    items: list[Any]
    next: str
    more: bool
    url: str


class _Retryable(Exception):
    """A failed attempt that may succeed later; `error` is raised when retries run out."""

    def __init__(self, error: SyncError, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.retry_after = retry_after


# -- the client --------------------------------------------------------------------------


class SyncClient:
    """Pulls and follows connections' feeds from one sync service into one database.

    Use it as `async with SyncClient(...) as client:` (or call `close()`) so that the HTTP
    session it opens is closed; a `session` passed in is the caller's to close. Calls may
    run concurrently (`follow` does, one task per connection).

    Attributes: `base_url` (normalized; the key of the stored cursors), `engine`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None,
        engine: Engine,
        allow_insecure: bool = False,
        session: aiohttp.ClientSession | None = None,
        backoff: Backoff | None = None,
        on_retry: OnRetry | None = None,
        max_page_bytes: int = MAX_PAGE_BYTES,
        request_deadline: float = REQUEST_DEADLINE,
        max_pull_wait: float = MAX_PULL_WAIT,
    ) -> None:
        try:
            self.base_url = normalize_url(base_url)
        except ValueError as exc:
            raise SyncError(str(exc)) from None
        _check_secure(self.base_url, allow_insecure=allow_insecure)
        if token is not None and not _header_safe(token):
            raise AuthError(
                "the token has characters an HTTP header cannot carry (spaces, line breaks "
                "or non-ASCII); check how it was copied",
                status=0,
            )
        self.engine = engine
        self._token = token or None
        self._session = session
        self._own_session = session is None
        self._closed = False
        self._backoff = backoff or Backoff()
        self._on_retry = on_retry
        self._max_page_bytes = max_page_bytes
        self._request_deadline = request_deadline
        self._max_pull_wait = max_pull_wait
        # Pages are written on one thread of their own, one at a time: the loop (the GUI
        # thread, in the window) never waits on SQLite, and two connections followed at
        # once never contend for the write lock.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthdesk-sync")
        self._headers = {
            "Accept": "application/json",
            "User-Agent": f"healthdesk/{__version__}",
        }
        if self._token:
            self._headers["Authorization"] = f"Bearer {self._token}"

    def __repr__(self) -> str:
        token = "set" if self._token else "none"
        return f"SyncClient(base_url={self.base_url!r}, token={token})"

    async def __aenter__(self) -> SyncClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session the client opened (not one it was given), and wait for
        the page being written, if any."""
        # A request still running (a retry asked meanwhile) fails instead of opening a
        # new session that nobody would close.
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(None, self._writer.shutdown, True)
        if self._own_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()
            # The sockets close on the loop's next turn (aiohttp's documented caveat): let
            # it come, so that none is left for the garbage collector to find open.
            await asyncio.sleep(0)

    # -- API ---------------------------------------------------------------------------

    async def list_connections(self) -> list[Connection]:
        """The service's connections (`GET /v1/connections`), validated."""
        url = self._url("v1", "connections")
        data = await self._get_json(url, wait=0, retries=self._retries())
        where = str(url)
        if type(data) is not dict:
            raise ProtocolError(
                f"{where}: expected a JSON object with connections, got {type_name(data)}"
            )
        raw = data.get("connections")
        if type(raw) is not list:
            raise ProtocolError(
                f'{where}: key "connections": expected a list, got {type_name(raw)}'
            )
        connections = []
        for position, entry in enumerate(raw, 1):
            try:
                item = parse_item(entry)
            except FeedError as exc:
                located = FeedError(
                    exc.problem, source=f"{where}: connection {position}", key=exc.key
                )
                raise ProtocolError(str(located)) from None
            if not isinstance(item, Connection):
                raise ProtocolError(
                    f'{where}: connection {position}: key "type": expected a connection item'
                )
            connections.append(item)
        return connections

    async def retry(
        self, connection_id: str, records: Sequence[tuple[Side, str]], *, key: str
    ) -> RetryAnswer:
        """Ask the service to retry the failed writes of `records` ((app, id) pairs):
        `POST /v1/connections/{id}/retry` with the idempotency key `key`.

        Retried like any request (the key makes a repeat harmless: the service answers it
        again without queuing twice). Raises `SyncError`s as pull does.
        """
        if not records:
            raise ValueError("no record to retry")
        url = self._url("v1", "connections", connection_id, "retry")
        body = orjson.dumps({"records": [{"app": app.value, "id": rid} for app, rid in records]})
        data = await self._get_json(
            url,
            wait=0,
            retries=self._retries(),
            body=body,
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )
        return _retry_answer(str(url), data, key)

    async def pull(
        self, connection_id: str, *, page_size: int = 5000, on_page: OnPage | None = None
    ) -> PullReport:
        """Apply `connection_id`'s feed from the stored cursor until the service has no more.

        Each page is applied (with its cursor) before the next is asked for, and passed to
        `on_page` (a function or a coroutine function) once stored.
        """
        _check_page_size(page_size)
        started = time.perf_counter()
        report = PullReport(
            connection_id, cursor=get_cursor(self.engine, self.base_url, connection_id)
        )
        progress = _Progress(report.cursor)
        undecided = False
        ask = partial(
            self._feed, connection_id, limit=page_size, wait=None, retries=self._retries()
        )
        ahead: asyncio.Task[_Answer] | None = None
        try:
            answer = await ask(report.cursor)
            while True:
                progress.check(answer, report.cursor)
                if answer.more:
                    # The next page is asked for while this one is written: the service
                    # prepares and sends it meanwhile, on its side of the socket.
                    ahead = asyncio.create_task(
                        ask(answer.next), name=f"pull {connection_id}: next page"
                    )
                page = await self._apply(connection_id, answer)
                undecided = answer.more
                report.add(page)
                report.seconds = time.perf_counter() - started
                await _notify(on_page, page)
                if ahead is None:
                    return report
                answer = await ahead
                ahead = None
        except SyncError:
            if undecided and report.cursor is not None:
                # Pages were applied undecided (more were to come): decide them now, so
                # that what was pulled shows as it is and nothing stays pending.
                await self._apply(
                    connection_id, _Answer([], report.cursor, False, f"{self.base_url} (settle)")
                )
            raise
        finally:
            if ahead is not None:
                # The pull ends early (an error, or cancelled): the page asked ahead is
                # not wanted.
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)

    async def follow(
        self,
        connection_ids: str | Sequence[str],
        *,
        wait: float = 30,
        on_page: OnPage | None = None,
        stop: asyncio.Event | None = None,
        page_size: int = 5000,
    ) -> dict[str, PullReport]:
        """Keep applying new items of the connections (long-polling) until `stop` is set.

        Catches up from the stored cursors first. Network trouble and a busy service are
        retried for as long as it runs (see `on_retry`); any other SyncError ends it.
        Returns what was applied, by connection, once `stop` is set; cancelling the task
        ends it as cleanly, between two pages (the database always holds whole pages).
        """
        _check_page_size(page_size)
        if wait < 0:
            raise ValueError("wait must be 0 or more seconds")
        ids = [connection_ids] if isinstance(connection_ids, str) else list(connection_ids)
        reports = {cid: PullReport(cid) for cid in ids}
        stop = stop or asyncio.Event()
        workers = [
            asyncio.create_task(
                self._follow_one(reports[cid], wait, page_size, on_page), name=f"follow {cid}"
            )
            for cid in ids
        ]
        stopper = asyncio.create_task(stop.wait(), name="follow stop")
        try:
            done, _pending = await asyncio.wait(
                [*workers, stopper], return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (*workers, stopper):
                task.cancel()
            await asyncio.gather(*workers, stopper, return_exceptions=True)
        for task in workers:
            if task in done and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        return reports

    # -- internals ---------------------------------------------------------------------

    async def _follow_one(
        self, report: PullReport, wait: float, page_size: int, on_page: OnPage | None
    ) -> None:
        started = time.perf_counter()
        cid = report.connection_id
        report.cursor = get_cursor(self.engine, self.base_url, cid)
        progress = _Progress(report.cursor)
        while True:
            answer = await self._feed(cid, report.cursor, limit=page_size, wait=wait, retries=None)
            progress.check(answer, report.cursor)
            page = await self._apply(cid, answer)
            report.add(page)
            report.seconds = time.perf_counter() - started
            await _notify(on_page, page)

    async def _apply(self, connection_id: str, answer: _Answer) -> Page:
        write = partial(
            apply_page,
            self.engine,
            source=self.base_url,
            connection_id=connection_id,
            items=answer.items,
            next_cursor=answer.next,
            page_url=answer.url,
            # More pages follow: decide once, with the last page (store.cursors).
            decide=not answer.more,
        )
        try:
            # Shielded: a cancelled pull still lets the page being written finish (whole
            # pages only), then stops.
            ingest = await asyncio.shield(
                asyncio.get_running_loop().run_in_executor(self._writer, write)
            )
        except FeedError as exc:
            raise ProtocolError(str(exc)) from None
        except DatabaseBusy as exc:
            # Another process kept the database busy: a SyncError like the others, so
            # that the window and the command line report it the same way.
            raise SyncError(str(exc)) from None
        _log.debug("applied %d items of %s", len(answer.items), answer.url)
        return Page(connection_id, len(answer.items), ingest, answer.next, answer.more)

    def _retries(self) -> int | None:
        return self._backoff.max_attempts

    def _url(self, *segments: str) -> URL:
        encoded = [quote(segment, safe="") for segment in segments]
        return URL(self.base_url).joinpath(*encoded, encoded=True)

    async def _feed(
        self,
        connection_id: str,
        after: str | None,
        *,
        limit: int,
        wait: float | None,
        retries: int | None,
    ) -> _Answer:
        query: dict[str, str] = {"limit": str(limit)}
        if after is not None:
            query["after"] = after
        if wait:
            query["wait"] = f"{wait:g}"
        url = self._url("v1", "connections", connection_id, "feed").with_query(query)
        data = await self._get_json(url, wait=wait or 0, retries=retries)
        where = str(url)
        if type(data) is not dict:
            raise ProtocolError(
                f"{where}: expected a JSON object with items, next and more, got {type_name(data)}"
            )
        items = data.get("items")
        cursor = data.get("next")
        more = data.get("more")
        if type(items) is not list:
            raise _bad_key(where, data, "items", "a list")
        if type(cursor) is not str or not cursor:
            raise _bad_key(where, data, "next", "a non-empty string")
        if type(more) is not bool:
            raise _bad_key(where, data, "more", "true or false")
        if more and not items and cursor == after:
            raise ProtocolError(
                f"{where}: says more items are ready but sends none and the same cursor"
            )
        return _Answer(items, cursor, more, where)

    async def _get_json(
        self,
        url: URL,
        *,
        wait: float,
        retries: int | None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """GET `url` (POST `body`, JSON, when given) and decode the answer, retrying."""
        attempt = 0
        while True:
            try:
                return await self._get_once(url, wait, body=body, headers=headers)
            except _Retryable as failure:
                if retries is not None and attempt >= retries:
                    raise failure.error from None
                asked = failure.retry_after
                delay = self._backoff.delay(attempt, asked)
                until = datetime.now().astimezone() + timedelta(seconds=delay)
                if retries is not None and asked is not None and asked > self._max_pull_wait:
                    # A one-shot pull does not sit for minutes: say when to come back.
                    when = datetime.now().astimezone() + timedelta(seconds=asked)
                    raise ServiceError(
                        f"{self.base_url}: {failure.reason} and asks to wait {asked:,.0f} s, "
                        f"until {when:%Y-%m-%d %H:%M:%S} (longer than the {self._max_pull_wait:g} "
                        "s a one-shot sync waits): try again then, or follow (--follow), which "
                        "waits",
                        status=getattr(failure.error, "status", 0),
                        code=getattr(failure.error, "code", ""),
                    ) from None
                attempt += 1
                # Logs never hold a full e-mail address (a service's error may quote one).
                reason = mask_emails(failure.reason)
                _log.info("%s: %s; retry %d in %.1f s", url, reason, attempt, delay)
                if self._on_retry is not None:
                    self._on_retry(
                        Retrying(str(url), attempt, delay, failure.reason, until, asked is not None)
                    )
                await self._backoff.sleep(delay)

    def _session_now(self) -> aiohttp.ClientSession:
        if self._closed:
            raise SyncError(f"{self.base_url}: the sync client was closed")
        if self._session is None or self._session.closed:
            if not self._own_session:
                raise SyncError("the HTTP session given to the sync client is closed")
            # Certificates are verified: aiohttp's default, never turned off here.
            self._session = aiohttp.ClientSession()
        return self._session

    async def _get_once(
        self,
        url: URL,
        wait: float,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        where = str(url)
        sent = self._headers if headers is None else {**self._headers, **headers}
        deadline = wait + self._request_deadline
        timeout = aiohttp.ClientTimeout(
            total=deadline, sock_connect=CONNECT_TIMEOUT, sock_read=wait + READ_GRACE
        )
        try:
            # One deadline for the whole request, body included: a body that drips a byte
            # at a time cannot keep it alive (sock_read restarts on each byte).
            async with asyncio.timeout(deadline):
                # No redirects: the token must go to this service only, and never over http.
                async with self._session_now().request(
                    "GET" if body is None else "POST",
                    url,
                    data=body,
                    headers=sent,
                    allow_redirects=False,
                    timeout=timeout,
                ) as response:
                    status = response.status
                    answer_headers = response.headers
                    answer = await self._read_capped(response, where)
        except TimeoutError as exc:
            if isinstance(exc, aiohttp.ClientError):  # the socket stayed silent too long
                reason = self._network_reason(exc)
            else:
                reason = f"no complete answer within {deadline:g} s"
            raise _Retryable(NetworkError(f"{where}: {reason}"), reason) from None
        except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError) as exc:
            raise CertificateError(
                f"{where}: the service's TLS certificate cannot be trusted "
                f"({self._scrub(str(exc))}); the connection was refused"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            reason = self._network_reason(exc)
            raise _Retryable(NetworkError(f"{where}: {reason}"), reason) from None
        if status in (200, 202):
            try:
                return orjson.loads(answer)
            except orjson.JSONDecodeError as exc:
                kind = answer_headers.get("Content-Type", "no content type")
                raise ProtocolError(
                    f"{where}: the answer is not JSON ({kind}, {len(answer):,} bytes, "
                    f"starting {self._scrub(repr(answer[:40]))}): {exc}"
                ) from None
        code, message = self._error_of(answer, answer_headers)
        said = f"{status} {message}" if message else str(status)
        if status in (401, 403):
            raise AuthError(self._auth_message(status, said), status=status)
        if status in RETRY_STATUSES:
            error = ServiceError(
                f"{where}: the service is busy or unavailable ({said}) and stayed so",
                status=status,
                code=code,
            )
            raise _Retryable(
                error,
                f"service answered {said}",
                parse_retry_after(answer_headers.get("Retry-After")),
            )
        if 300 <= status < 400:
            target = self._scrub(answer_headers.get("Location", "elsewhere"))
            raise ServiceError(
                f"{where}: the service redirects ({status}) to {target}; give that URL "
                "instead (redirects are not followed, so the token goes nowhere else)",
                status=status,
            )
        raise ServiceError(f"{where}: the service answered {said}", status=status, code=code)

    async def _read_capped(self, response: aiohttp.ClientResponse, where: str) -> bytearray:
        """The body, read in chunks; ProtocolError as soon as it would pass the cap."""
        cap = self._max_page_bytes
        declared = response.content_length
        if declared is not None and declared > cap:
            raise ProtocolError(
                f"{where}: the answer is {declared:,} bytes, more than the {cap:,} bytes a "
                "page may have; refused without reading it"
            )
        # One growing buffer (orjson reads it as it is): at most the cap, never twice it.
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            if len(body) + len(chunk) > cap:
                raise ProtocolError(
                    f"{where}: the answer is larger than the {cap:,} bytes a page may have; "
                    "refused (reading stopped there)"
                )
            body += chunk
        return body

    def _auth_message(self, status: int, said: str) -> str:
        if status == 403:
            return (
                f"{self.base_url}: the service refused access ({said}): the token is not allowed "
                "to read this"
            )
        if self._token is None:
            return (
                f"{self.base_url}: the service needs a token ({said}); set {TOKEN_ENV} or store "
                "the token for this URL in the keyring"
            )
        return (
            f"{self.base_url}: the service refused the token ({said}); check {TOKEN_ENV} or "
            "the token stored for this URL"
        )

    def _error_of(self, body: bytes | bytearray, headers: Any) -> tuple[str, str]:
        """The (code, message) of an error answer: the API's error object, else the reason."""
        code = message = ""
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        error = data.get("error") if type(data) is dict else None
        if type(error) is dict:
            code = str(error.get("code") or "")
            message = str(error.get("message") or "")
        if not message and code:
            message = code
        return self._scrub(one_line(code, 100)), self._scrub(one_line(message, 500))

    def _network_reason(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError) and not str(exc):
            return "no answer in time"
        text = self._scrub(str(exc)) or type(exc).__name__
        return f"cannot reach the service ({text})"

    def _scrub(self, text: str) -> str:
        """`text` as one safe line, without the token should a service or library echo it."""
        text = text.replace(self._token, "[token]") if self._token else text
        return one_line(text, 1000)


# -- helpers -----------------------------------------------------------------------------


async def _notify(on_page: OnPage | None, page: Page) -> None:
    if on_page is None:
        return
    result = on_page(page)
    if inspect.isawaitable(result):
        await result


def _check_secure(base_url: str, *, allow_insecure: bool) -> None:
    parts = urlsplit(base_url)
    if parts.scheme == "https" or allow_insecure or _is_loopback(parts.hostname or ""):
        return
    raise InsecureURL(
        f"{base_url}: refusing plain http:// to another machine: the token and the data "
        "would cross the network unencrypted. Use https://, or allow it explicitly "
        "(--allow-insecure) on a network you trust"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _header_safe(token: str) -> bool:
    return bool(token) and token.isascii() and token.isprintable() and " " not in token


def _check_page_size(page_size: int) -> None:
    if page_size < 1:
        raise ValueError("page_size must be at least 1")


class _Progress:
    """Checks that a feed's cursor advances: no loop, no endless empty pages."""

    def __init__(self, start: str | None) -> None:
        self._seen: dict[str, None] = {} if start is None else {start: None}
        self._empty = 0

    def check(self, answer: _Answer, after: str | None) -> None:
        where = answer.url
        if answer.next == after:
            if answer.items:
                raise ProtocolError(
                    f"{where}: sends items but the same cursor: it does not advance"
                )
            return  # a long-poll that timed out: nothing new, same place
        if answer.next in self._seen:
            raise ProtocolError(
                f"{where}: the cursor went back to one it gave before: the feed loops; "
                "stopped (the pages applied are kept)"
            )
        self._seen[answer.next] = None
        if len(self._seen) > _SEEN_CURSORS:
            del self._seen[next(iter(self._seen))]
        if answer.more and not answer.items:
            self._empty += 1
            if self._empty > MAX_EMPTY_PAGES:
                raise ProtocolError(
                    f"{where}: {self._empty} pages in a row said more items were ready and "
                    "brought none; stopped"
                )
        else:
            self._empty = 0


def _retry_answer(where: str, data: Any, key: str) -> RetryAnswer:
    if type(data) is not dict:
        raise ProtocolError(f"{where}: expected a JSON object, got {type_name(data)}")
    lists: dict[str, tuple[tuple[Side, str], ...]] = {}
    for name in ("queued", "already_queued", "unknown"):
        raw = data.get(name)
        if type(raw) is not list:
            raise _bad_key(where, data, name, "a list")
        found = []
        for entry in raw:
            app = entry.get("app") if type(entry) is dict else None
            rid = entry.get("id") if type(entry) is dict else None
            if app not in ("a", "b") or type(rid) is not str or not rid:
                raise ProtocolError(f'{where}: key "{name}": expected {{"app", "id"}} objects')
            found.append((Side(app), rid))
        lists[name] = tuple(found)
    return RetryAnswer(
        key=key,
        queued=lists["queued"],
        already_queued=lists["already_queued"],
        unknown=lists["unknown"],
        replayed=data.get("replayed") is True,
    )


def _bad_key(where: str, data: dict[str, Any], key: str, wanted: str) -> ProtocolError:
    got = type_name(data[key]) if key in data else "nothing (the key is missing)"
    return ProtocolError(f'{where}: key "{key}": expected {wanted}, got {got}')
