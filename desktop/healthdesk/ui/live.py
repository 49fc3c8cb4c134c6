"""Live mode: keep the database in step with a sync service while the window is open.

`LiveSync` runs the sync client (`healthdesk.sync.client.SyncClient`) as one asyncio task
on the running loop: qasync's loop, so the task shares the GUI thread and talks to the
window by plain signals. It lists the service's connections, pulls each one from its
stored cursor to the end, then follows them all (long-polls) until `stop()`.

Each page is applied by the client itself (items and cursor in one transaction), so a
stop, a crash or a lost connection at any moment resumes exactly where the database
stands. Pages are kept small (`page_size`) because they are applied on the GUI thread.

Failures:
- network trouble and a busy service (429/503...) are retried by the client with backoff;
  meanwhile the status says "Connection lost, retrying…" (or "Service busy, retrying…")
  and the window goes on working from the local database. When the client gives up
  during a pull, LiveSync waits and starts over from the stored cursors.
- a refused token (401/403), an answer that breaks the API, a plain http:// URL to
  another machine, a TLS certificate that does not check out: `failed(message)` once and
  the task ends: no retry loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtCore import QObject, Signal
from sqlalchemy import Engine

from healthdesk.core.model import Side
from healthdesk.sync.client import (
    AuthError,
    Backoff,
    CertificateError,
    InsecureURL,
    NetworkError,
    Page,
    ProtocolError,
    RetryAnswer,
    Retrying,
    ServiceError,
    SyncClient,
    SyncError,
)

__all__ = ["LiveSync", "failure_text"]

_log = logging.getLogger(__name__)

#: Items per page: a page is applied on the GUI thread, so it stays short.
PAGE_SIZE = 1000
#: Seconds a long-poll holds when nothing happens.
FOLLOW_WAIT = 25.0
#: Seconds between two attempts to start over after the client gave up (network trouble).
RESTART_DELAYS = (2.0, 5.0, 10.0, 30.0)

#: Seconds between two checks that a lost service answers again.
PROBE_INTERVAL = 1.0

STATUS_IDLE = ""
STATUS_LOST = "Connection lost, retrying…"
STATUS_BUSY = "Service busy, retrying…"


def failure_text(exc: BaseException) -> str:
    """One line for the user on why live sync stopped."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, AuthError):
        return f"The service refused the token: {text}"
    if isinstance(exc, InsecureURL):
        return f"Not connected: {text}"
    if isinstance(exc, CertificateError):
        return f"Not connected: {text}"
    if isinstance(exc, ProtocolError):
        return f"The service sent an answer Health Desk cannot read: {text}"
    if isinstance(exc, ServiceError):
        return f"The service answered with an error: {text}"
    return f"Live sync stopped: {text}"


class LiveSync(QObject):
    """Pulls, then follows, every connection of one sync service into `engine`.

    Signals:
        page_applied(str, object): a page of a connection was applied (the client's `Page`:
            `.items`, `.report` (IngestReport), `.cursor`, `.more`).
        connections_changed(): the set of live connections changed, or a connection item
            was applied (new connection, new settings or state): read the list again.
        status_changed(str): a short line for the status bar ("" when not connected).
        failed(str): live sync stopped for good (refused token, unreadable answer...).
        stopped(): the task ended (after stop(), a failure, or its end).

    Attributes:
        live_ids: the connections that come from the service (empty when not running).
        url: the service's normalized URL ("" before `start`).
        status: the last status line.
        backoff: None, or a function making the client's `Backoff` for each start (tests
            shorten the pauses with it).
    """

    page_applied = Signal(str, object)
    connections_changed = Signal()
    status_changed = Signal(str)
    failed = Signal(str)
    stopped = Signal()

    def __init__(
        self,
        *,
        engine: Engine,
        parent: QObject | None = None,
        page_size: int = PAGE_SIZE,
        wait: float = FOLLOW_WAIT,
        backoff: Callable[[], Backoff] | None = None,
        restart_delays: tuple[float, ...] = RESTART_DELAYS,
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self._page_size = page_size
        self._wait = wait
        self.backoff = backoff
        self._restart_delays = restart_delays
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._live_ids: set[str] = set()
        self._names: dict[str, str] = {}
        self._pulled: dict[str, int] = {}
        self._following = False
        self._pulling = ""
        self._client: SyncClient | None = None
        self._probe: asyncio.Task[None] | None = None
        self._url = ""
        self.status = STATUS_IDLE
        self.last_sync: datetime | None = None

    # -- public -------------------------------------------------------------------------

    @property
    def live_ids(self) -> set[str]:
        return set(self._live_ids)

    @property
    def url(self) -> str:
        return self._url

    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    def is_stopping(self) -> bool:
        """Whether `stop()` was asked and the task has not ended yet."""
        return self.is_running() and self._stop is not None and self._stop.is_set()

    @property
    def following(self) -> bool:
        """Whether every connection was pulled and is now followed as it changes."""
        return self._following and self.is_running()

    def start(self, url: str, token: str | None, *, allow_insecure: bool = False) -> bool:
        """Connect to the service at `url` and keep syncing until `stop()`.

        Needs a running asyncio loop (qasync's). Returns False, after `failed`, when the
        URL is refused at once (not a URL, plain http to another machine, a bad token).
        Raises RuntimeError while a previous sync still runs: `await stop()` first.
        """
        if self.is_running():
            raise RuntimeError("live sync is already running; stop it first")
        try:
            client = SyncClient(
                base_url=url,
                token=token,
                engine=self._engine,
                allow_insecure=allow_insecure,
                backoff=self.backoff() if self.backoff is not None else None,
                on_retry=self._on_client_retry,
            )
        except SyncError as exc:
            self._fail(exc)
            return False
        self._url = client.base_url
        self._stop = asyncio.Event()
        self._following = False
        self._pulled = {}
        self._set_status(f"Connecting to {self._url}…")
        self._task = asyncio.get_running_loop().create_task(
            self._run(client, self._stop), name=f"live sync {self._url}"
        )
        return True

    async def stop(self) -> None:
        """Stop syncing and wait until the task has ended (the database holds whole pages)."""
        task, stop = self._task, self._stop
        if task is None:
            return
        if stop is not None:
            stop.set()
        if not self._following:
            task.cancel()  # a pull stops between two pages (a page is applied at once)
        await asyncio.wait([task])
        self._task = None

    async def retry(
        self, connection_id: str, records: Sequence[tuple[Side, str]], *, key: str
    ) -> RetryAnswer:
        """Ask the service followed to retry the failed writes of `records` (the client's
        `retry`, on the same session and token). SyncError when the connection is not a
        live one of this service now."""
        client = self._client
        if client is None or self.is_stopping() or connection_id not in self._live_ids:
            raise SyncError(f"{connection_id} is not followed live: connect to its service first")
        return await client.retry(connection_id, records, key=key)

    # -- the task -----------------------------------------------------------------------

    async def _run(self, client: SyncClient, stop: asyncio.Event) -> None:
        self._client = client
        try:
            async with client:
                attempt = 0
                while not stop.is_set():
                    try:
                        await self._session(client, stop)
                        return
                    except (NetworkError, ServiceError) as exc:
                        if isinstance(exc, ServiceError) and exc.status not in (429, 502, 503, 504):
                            raise
                        # The client gave up for now; the local work goes on, we try later.
                        _log.info("live sync: %s; starting over", exc)
                        self._set_status(STATUS_LOST)
                        delay = self._restart_delays[min(attempt, len(self._restart_delays) - 1)]
                        attempt += 1
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), delay)
        except asyncio.CancelledError:
            pass
        except SyncError as exc:
            self._fail(exc)
        except Exception as exc:  # a bug or a database error: say it, do not crash the loop
            _log.exception("live sync failed")
            self._fail(exc)
        finally:
            probe, self._probe = self._probe, None
            if probe is not None:
                probe.cancel()
                await asyncio.wait([probe])
            self._client = None
            self._following = False
            self._end()

    async def _session(self, client: SyncClient, stop: asyncio.Event) -> None:
        connections = await client.list_connections()
        self._names = {c.id: c.name for c in connections}
        ids = [c.id for c in connections]
        if set(ids) != self._live_ids:
            self._live_ids = set(ids)
            self.connections_changed.emit()
        for connection in connections:
            if stop.is_set():
                return
            self._show_pulling(connection.id)
            await client.pull(connection.id, page_size=self._page_size, on_page=self._on_page)
        if not ids:
            self._set_status("Live · the service has no connection yet")
            await stop.wait()
            return
        if stop.is_set():
            return
        self._following = True
        self._mark_synced()
        await client.follow(
            ids, wait=self._wait, on_page=self._on_page, stop=stop, page_size=self._page_size
        )

    def _on_page(self, page: Page) -> None:
        self._stop_probe()
        self._pulled[page.connection_id] = self._pulled.get(page.connection_id, 0) + page.items
        if page.report.connections:
            self.connections_changed.emit()
        if page.items:
            self.page_applied.emit(page.connection_id, page)
        if self._following:
            self._mark_synced()
        else:
            self._show_pulling(page.connection_id)

    def _on_client_retry(self, retrying: Retrying) -> None:
        busy = retrying.reason.startswith("service answered")
        self._set_status(STATUS_BUSY if busy else STATUS_LOST)
        if self._probe is None and self._client is not None:
            # A long-poll that got through says nothing until items come or its wait ends:
            # a quick request tells sooner that the service answers again.
            self._probe = asyncio.get_running_loop().create_task(
                self._probe_service(self._client), name="live sync probe"
            )

    async def _probe_service(self, client: SyncClient) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL)
            try:
                await client.list_connections()
            except SyncError:
                continue
            break
        self._probe = None
        if self._following:
            when = f"{self.last_sync:%H:%M:%S}" if self.last_sync else "not yet"
            self._set_status(f"Live · last sync {when}")
        elif self._pulling:
            self._show_pulling(self._pulling)

    def _stop_probe(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.cancel()

    # -- status -------------------------------------------------------------------------

    def _show_pulling(self, connection_id: str) -> None:
        self._pulling = connection_id
        name = self._names.get(connection_id, connection_id)
        count = self._pulled.get(connection_id, 0)
        unit = "item" if count == 1 else "items"
        self._set_status(f"Pulling {name}… {count:,} {unit}")

    def _mark_synced(self) -> None:
        self.last_sync = datetime.now()
        self._set_status(f"Live · last sync {self.last_sync:%H:%M:%S}")

    def _set_status(self, text: str) -> None:
        if text != self.status:
            self.status = text
            self.status_changed.emit(text)

    def _fail(self, exc: BaseException) -> None:
        message = failure_text(exc)
        self._set_status("Not connected")
        self.failed.emit(message)

    def _end(self) -> None:
        had_ids = bool(self._live_ids)
        self._live_ids = set()
        if self.status != "Not connected":
            self._set_status(STATUS_IDLE)
        if had_ids:
            self.connections_changed.emit()
        self.stopped.emit()
