"""The one owner of the window's background work: every database read or write that may
take longer than a frame runs through `Operations`.

On the model of Anki's `aqt/operations` (one runner, callbacks on the GUI thread, one
"something changed" hook), with the rules this application learned the hard way:

- **One pool.** Work runs on the threads of one `QThreadPool`, the newest request first
  (a list scrolled far asks for its visible rows last and gets them first).
- **A request is keyed by its owner and purpose.** A new request of the same key makes
  the older one stale: it is told to stop (`Work.cancelled()`), and its answer, if it
  comes, is dropped. `cancel(owner)` drops all of an owner's requests (a model reset).
- **Nothing reaches an owner that is gone.** An owner is a QObject; when it is destroyed
  its requests are forgotten, so a model deleted while its read runs is simply never
  called back. No wait, no lock: the worker holds no reference to the owner at all.
- **No Qt object on a worker.** The work is a plain function of plain data (an engine,
  ids, filters): `run` refuses work that carries a QObject (in its closure, its bound
  `self` or a partial's arguments), because a Qt object whose last Python reference is
  dropped on a worker is destroyed there ("Timers cannot be stopped from another
  thread", then a crash). Callbacks stay on the GUI thread, in this object's tables.
- **One message channel.** A failure without a `failed` callback is reported through
  `Messages` (the status bar), never swallowed and never a traceback.
- **One change hook.** After an import, a live page or a forget, `notify_changed(id)`
  emits `changed(id)` once (live pages coalesced to one per `CHANGE_COALESCE_MS`); the
  lists, the tree, the summary and the timeline each refresh themselves from it.
- **One shutdown.** `shutdown()` cancels every request, drops what is queued and waits
  for what runs (a query polls `cancelled()` and stops early). Only then may models and
  the engine go.

`SynchronousOperations` runs every request at once on the calling thread: tests inject it
(a fixture) and `healthdesk screenshot` uses it, so that product code never branches on a
"synchronous" flag.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import itertools
import logging
import threading
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal, Slot

from healthdesk.ui.messages import Messages, error_text

__all__ = [
    "CHANGE_COALESCE_MS",
    "Operations",
    "QtObjectInWork",
    "SynchronousOperations",
    "Work",
]

_log = logging.getLogger(__name__)

T = TypeVar("T")

#: Live pages arrive many times a second; the views refresh at most this often (ms).
CHANGE_COALESCE_MS: Final = 250
#: Threads of the pool: one more than the 2 cores of a small laptop, so that an import or an
#: export never holds every reader back. Each reading thread's SQLite connection keeps its
#: own page cache (store.db.READ_CACHE_KIB), so more threads cost memory.
THREADS: Final = 3


class QtObjectInWork(TypeError):
    """The work given to `Operations.run` carries a Qt object (see the module's doc)."""


class Work:
    """What a running request may ask: whether to stop, and how to report progress.

    Thread-safe; handed to the work function as its only argument.
    """

    __slots__ = ("_cancel", "_progress")

    def __init__(self, cancel: threading.Event, progress: Callable[[Any], None]) -> None:
        self._cancel = cancel
        self._progress = progress

    def cancelled(self) -> bool:
        """Whether the answer is no longer wanted (stale, cancelled, shutting down)."""
        return self._cancel.is_set()

    def progress(self, value: Any) -> None:
        """Report progress (any plain value) to the request's `progress` callback."""
        if not self._cancel.is_set():
            self._progress(value)


@dataclass(eq=False, slots=True)
class _Request(Generic[T]):
    key: tuple[int, Hashable]
    owner: weakref.ref[QObject]
    done: Callable[[T], None]
    failed: Callable[[BaseException], None] | None
    progress: Callable[[Any], None] | None
    what: str
    cancel: threading.Event = field(default_factory=threading.Event)


class _Bridge(QObject):
    """Lives on the GUI thread; workers emit on it, so answers arrive there (queued)."""

    delivered = Signal(int, bool, object)  # ticket, ok, value or exception
    progressed = Signal(int, object)  # ticket, value


class Operations(QObject):
    """Runs the window's background work; see the module's docstring for the rules.

    Signals:
        changed(str): the data of a connection changed (its id; "" for the list of
            connections itself): whoever shows it reads it again.

    Attributes:
        messages: the channel failures are reported to.
    """

    changed = Signal(str)

    def __init__(
        self,
        *,
        messages: Messages | None = None,
        threads: int = THREADS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.messages = messages if messages is not None else Messages(parent=self)
        self._bridge = _Bridge()
        self._bridge.delivered.connect(self._on_bridge_delivered)
        self._bridge.progressed.connect(self._on_bridge_progressed)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._pool.setExpiryTimeout(10_000)
        self._tickets = itertools.count(1)
        self._requests: dict[int, _Request[Any]] = {}
        self._current: dict[tuple[int, Hashable], int] = {}
        self._owners: set[int] = set()
        self._closed = False
        self._pending_changes: set[str] = set()
        self._change_timer = QTimer(self)
        self._change_timer.setSingleShot(True)
        self._change_timer.setInterval(CHANGE_COALESCE_MS)
        self._change_timer.timeout.connect(self._on_change_timer_timeout)

    # -- requests -------------------------------------------------------------------------

    def run(
        self,
        owner: QObject,
        purpose: Hashable,
        work: Callable[[Work], T],
        done: Callable[[T], None],
        *,
        failed: Callable[[BaseException], None] | None = None,
        progress: Callable[[Any], None] | None = None,
        what: str = "",
    ) -> bool:
        """Run `work(Work)` in the background, then `done(result)` on the GUI thread.

        A request of the same `owner` and `purpose` still running is made stale first.
        `failed(exc)` gets an exception of the work (default: a line in the status bar,
        "Could not <what>: <error>"); `progress(value)` gets what the work reports.
        Returns False when the service is shut down (nothing runs).
        """
        _refuse_qt_objects(work)
        if self._closed:
            return False
        key = (id(owner), purpose)
        self.cancel(owner, purpose)
        if id(owner) not in self._owners:
            self._owners.add(id(owner))
            owner.destroyed.connect(functools.partial(self._forget_owner, id(owner)))
        ticket = next(self._tickets)
        request: _Request[T] = _Request(
            key=key,
            owner=weakref.ref(owner),
            done=done,
            failed=failed,
            progress=progress,
            what=what or str(purpose),
        )
        self._requests[ticket] = request
        self._current[key] = ticket
        self._start(ticket, work, request.cancel)
        return True

    async def run_async(
        self, owner: QObject, purpose: Hashable, work: Callable[[Work], T], *, what: str = ""
    ) -> T:
        """`run` for a coroutine on the qasync loop: the work's result, or its exception."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def done(value: T) -> None:
            if not future.done():
                future.set_result(value)

        def failed(exc: BaseException) -> None:
            if not future.done():
                future.set_exception(exc)

        if not self.run(owner, purpose, work, done, failed=failed, what=what):
            raise RuntimeError("background work is shut down")
        return await future

    def cancel(self, owner: QObject, purpose: Hashable | None = None) -> None:
        """Drop the requests of `owner` (of one `purpose`, or all): their answers will
        not be delivered, and their work is told to stop."""
        owner_id = id(owner)
        if purpose is not None:
            ticket = self._current.pop((owner_id, purpose), None)
            if ticket is not None:
                self._drop(ticket)
            return
        for key in [k for k in self._current if k[0] == owner_id]:
            self._drop(self._current.pop(key))

    def busy(self, owner: QObject | None = None, purpose: Hashable | None = None) -> bool:
        """Whether requests (of `owner`, of `purpose`) are waiting for their answer."""
        if owner is None:
            return bool(self._requests)
        if purpose is not None:
            return (id(owner), purpose) in self._current
        return any(key[0] == id(owner) for key in self._current)

    @property
    def closed(self) -> bool:
        return self._closed

    def wait_done(self, timeout_ms: int = 30_000) -> bool:
        """Block until no work runs or waits, answered or not (a test that deleted an
        owner waits here for the work it no longer hears of). Returns whether it ended."""
        return bool(self._pool.waitForDone(timeout_ms))

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel every request, drop what is queued and wait for what runs (blocking:
        the end of the window or of a test). Returns whether everything ended."""
        self._closed = True
        self._change_timer.stop()
        self._pending_changes.clear()
        for ticket in list(self._requests):
            self._drop(ticket)
        self._current.clear()
        self._pool.clear()
        with contextlib.suppress(RuntimeError):  # at interpreter exit the pool may be gone
            return bool(self._pool.waitForDone(timeout_ms))
        return True

    # -- the change hook ------------------------------------------------------------------

    def notify_changed(self, connection_id: str, *, coalesce: bool = False) -> None:
        """Say that `connection_id`'s data changed ("" for the list of connections).

        `coalesce` (live pages): the signal comes at most once per CHANGE_COALESCE_MS,
        for every connection that changed meanwhile.
        """
        if self._closed:
            return
        if not coalesce:
            self._pending_changes.discard(connection_id)
            self.changed.emit(connection_id)
            return
        self._pending_changes.add(connection_id)
        if not self._change_timer.isActive():
            self._change_timer.start()

    @Slot()
    def _on_change_timer_timeout(self) -> None:
        pending, self._pending_changes = self._pending_changes, set()
        for connection_id in sorted(pending):
            self.changed.emit(connection_id)

    # -- internals ------------------------------------------------------------------------

    def _start(self, ticket: int, work: Callable[[Work], Any], cancel: threading.Event) -> None:
        bridge = self._bridge

        def report(value: Any) -> None:
            bridge.progressed.emit(ticket, value)

        def run() -> None:  # on a worker: touches only `bridge`, which outlives the pool
            if cancel.is_set():
                return
            try:
                value = work(Work(cancel, report))
            except BaseException as exc:
                if not cancel.is_set():
                    _log.debug("background work failed", exc_info=exc)
                bridge.delivered.emit(ticket, False, _plain(exc))
            else:
                bridge.delivered.emit(ticket, True, value)

        # Newest first: a higher priority is served earlier.
        self._pool.start(run, ticket % 2_000_000_000)

    def _drop(self, ticket: int) -> None:
        request = self._requests.pop(ticket, None)
        if request is not None:
            request.cancel.set()

    def _forget_owner(self, owner_id: int, *_args: Any) -> None:
        self._owners.discard(owner_id)
        for key in [k for k in self._current if k[0] == owner_id]:
            self._drop(self._current.pop(key))

    def _live(self, ticket: int) -> _Request[Any] | None:
        request = self._requests.get(ticket)
        if request is None:
            return None
        owner = request.owner()
        if owner is None or not shiboken6.isValid(owner):
            self._requests.pop(ticket, None)
            self._current.pop(request.key, None)
            return None
        return request

    @Slot(int, bool, object)
    def _on_bridge_delivered(self, ticket: int, ok: bool, value: Any) -> None:
        request = self._live(ticket)
        if request is None:
            return  # stale, cancelled, or its owner is gone
        del self._requests[ticket]
        if self._current.get(request.key) == ticket:
            del self._current[request.key]
        if ok:
            request.done(value)
        elif request.failed is not None:
            request.failed(value)
        else:
            self.messages.warning(f"Could not {request.what}: {error_text(value)}")

    @Slot(int, object)
    def _on_bridge_progressed(self, ticket: int, value: Any) -> None:
        request = self._live(ticket)
        if request is not None and request.progress is not None:
            request.progress(value)


class SynchronousOperations(Operations):
    """Runs each request at once, on the calling thread, and answers before `run`
    returns: for tests (injected by a fixture) and for offscreen screenshots, which must
    see every row before they render. The rules of `Operations` hold unchanged."""

    def _start(self, ticket: int, work: Callable[[Work], Any], cancel: threading.Event) -> None:
        def report(value: Any) -> None:
            self._on_bridge_progressed(ticket, value)

        try:
            value = work(Work(cancel, report))
        except Exception as exc:
            self._on_bridge_delivered(ticket, False, exc)
        else:
            self._on_bridge_delivered(ticket, True, value)


def _plain(exc: BaseException) -> BaseException:
    """`exc` without its traceback: its frames' locals must not travel to the GUI thread."""
    exc.__traceback__ = None
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None and linked is not exc:
            linked.__traceback__ = None
    return exc


def _refuse_qt_objects(work: Callable[..., Any]) -> None:
    """Raise QtObjectInWork when `work` carries a QObject to the worker thread."""
    seen: list[Any] = []
    target: Any = work
    while isinstance(target, functools.partial):
        seen.extend(target.args)
        seen.extend(target.keywords.values())
        target = target.func
    if inspect.ismethod(target):
        seen.append(target.__self__)
        target = target.__func__
    closure = getattr(target, "__closure__", None) or ()
    for cell in closure:
        with contextlib.suppress(ValueError):  # an empty cell
            seen.append(cell.cell_contents)
    seen.extend(getattr(target, "__defaults__", None) or ())
    for value in seen:
        if isinstance(value, QObject):
            name = getattr(target, "__qualname__", repr(target))
            raise QtObjectInWork(
                f"{name} would carry {type(value).__name__} to a worker thread: pass plain "
                "data to the work and keep Qt objects in the callbacks"
            )
