"""Retries at the reference service: `POST /v1/connections/{id}/retry` (README, "Live
mode: the sync service").

A `RetryBook` watches every item a `FeedService` holds (`observe`, under the service's
lock) and keeps, per connection, what a retry needs: the records whose latest write
failed (with that error and the app it was written into), each record's mapping
partner, and the feed position of each record's latest version (to write its
counterpart when a retry creates one). `request` answers a retry request and says which
records to queue; the service appends a `queued` event for each, and later the outcome
that `Simulator.retry_outcome` invents (`FeedService.process_retries`).

Idempotency: a request carries a key (the `Idempotency-Key` header, chosen by the
client). The same key with the same connection and records is answered again as it was
the first time, and queues nothing; the same key with other records is refused
(`RetryConflict`). Independently of keys, a record already waiting for its retry is not
queued a second time (`already_queued`). The last `KEYS_KEPT` keys are remembered.

Memory: per connection, a dict entry per record (its latest line) and per mapped record
(its partner), besides the failing ones. Measured on a generated 100,000-contact
snapshot (183,359 records): 52 MiB, about 300 bytes a record; the service's peak
resident memory went from 181 to 239 MiB with it, its load from 5.3 to 6.1 s.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from healthdesk.core.model import Event, Item, MappingItem, Outcome, Record

__all__ = [
    "KEYS_KEPT",
    "MAX_KEY_LENGTH",
    "MAX_RETRY_RECORDS",
    "RetryBook",
    "RetryConflict",
    "RetryJob",
    "RetryRequestError",
    "check_key",
    "parse_retry_body",
]

#: Records one request may name.
MAX_RETRY_RECORDS = 10_000
#: Idempotency keys remembered (the oldest is forgotten first).
KEYS_KEPT = 10_000
MAX_KEY_LENGTH = 200
#: Printable ASCII, no spaces: what a header carries safely (a UUID, a ULID...).
_KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")


class RetryRequestError(ValueError):
    """A retry request the service cannot read (answered 400 `bad_retry`)."""


class RetryConflict(ValueError):
    """An idempotency key reused for another request (answered 422)."""


@dataclass(slots=True)
class RetryJob:
    """A record waiting for its retry: its app ("a"/"b"), id, the app written into, the
    error of its failed write, its mapping partner (None: unmapped) and the feed index
    of its latest version."""

    connection: str
    app: str
    id: str
    target: str
    error: dict[str, str]
    partner: str | None
    line: int | None


@dataclass(slots=True)
class _Connection:
    #: "a:<id>" -> (app written into, error) of records whose latest write failed.
    failing: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    #: "a:<id>" -> partner id, both ways.
    partners: dict[str, str] = field(default_factory=dict)
    #: "a:<id>" -> index in the feed of the record's latest version.
    lines: dict[str, int] = field(default_factory=dict)
    #: "a:<id>" of the records waiting for their retry, in the order queued.
    waiting: dict[str, RetryJob] = field(default_factory=dict)


def parse_retry_body(body: bytes) -> list[tuple[str, str]]:
    """The (app, id) pairs of a request body `{"records": [{"app", "id"}, ...]}`, in
    order, without repeats; RetryRequestError when it is not that."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RetryRequestError(f"the body is not JSON ({exc})") from None
    raw = data.get("records") if type(data) is dict else None
    if type(raw) is not list or not raw:
        raise RetryRequestError('the body must be {"records": [{"app": "a", "id": "..."}, ...]}')
    if len(raw) > MAX_RETRY_RECORDS:
        raise RetryRequestError(
            f"at most {MAX_RETRY_RECORDS:,} records per request, got {len(raw):,}"
        )
    records: dict[tuple[str, str], None] = {}
    for position, entry in enumerate(raw, 1):
        app = entry.get("app") if type(entry) is dict else None
        rid = entry.get("id") if type(entry) is dict else None
        if app not in ("a", "b") or type(rid) is not str or not rid:
            raise RetryRequestError(
                f'record {position}: expected {{"app": "a" or "b", "id": a non-empty string}}'
            )
        records[(app, rid)] = None
    return list(records)


def check_key(key: str | None) -> str:
    """The idempotency key of a request, or RetryRequestError."""
    if key is None:
        raise RetryRequestError("the Idempotency-Key header is missing")
    if _KEY.fullmatch(key) is None:
        raise RetryRequestError(
            f"the Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters "
            "without spaces"
        )
    return key


class RetryBook:
    """The service's retry bookkeeping; not thread-safe (the service holds its lock)."""

    def __init__(self) -> None:
        self._connections: dict[str, _Connection] = {}
        self._answers: OrderedDict[str, tuple[bytes, dict[str, Any]]] = OrderedDict()

    def observe(self, cid: str, item: Item, index: int) -> None:
        """Note one item of connection `cid`, at `index` in its feed."""
        book = self._connections.get(cid)
        if book is None:
            book = self._connections[cid] = _Connection()
        if isinstance(item, Record):
            book.lines[f"{item.app.value}:{item.id}"] = index
        elif isinstance(item, Event):
            key = f"{item.app.value}:{item.id}"
            if item.outcome is Outcome.FAILED:
                assert item.error is not None
                error = {"code": item.error.code, "message": item.error.message}
                book.failing[key] = (item.target.value, error)
            elif item.outcome in (Outcome.CREATED, Outcome.UPDATED):
                book.failing.pop(key, None)
        elif isinstance(item, MappingItem):
            self._link(book, item)

    @staticmethod
    def _link(book: _Connection, item: MappingItem) -> None:
        partners = book.partners
        a, b = f"a:{item.a}", f"b:{item.b}"
        if item.removed:
            if partners.get(a) == item.b:
                del partners[a]
            if partners.get(b) == item.a:
                del partners[b]
            return
        # A record is in at most one mapping: the new one ends what held either record.
        old_b = partners.pop(a, None)
        if old_b is not None and partners.get(f"b:{old_b}") == item.a:
            del partners[f"b:{old_b}"]
        old_a = partners.pop(b, None)
        if old_a is not None and partners.get(f"a:{old_a}") == item.b:
            del partners[f"a:{old_a}"]
        partners[a] = item.b
        partners[b] = item.a

    def request(
        self, cid: str, key: str, records: Sequence[tuple[str, str]]
    ) -> tuple[dict[str, Any], list[RetryJob]]:
        """Answer a retry request: (the answer, the jobs to queue now).

        A key answered before with the same connection and records gets that answer
        again (with `replayed: true`) and no job; with others, RetryConflict.
        """
        digest = hashlib.sha256(orjson.dumps([cid, sorted(records)])).digest()
        known = self._answers.get(key)
        if known is not None:
            if known[0] != digest:
                raise RetryConflict(
                    "this Idempotency-Key was used for another request (other connection or "
                    "records); use a new key for a new request"
                )
            self._answers.move_to_end(key)
            return {**known[1], "replayed": True}, []
        book = self._connections.get(cid) or _Connection()
        queued: list[dict[str, str]] = []
        already: list[dict[str, str]] = []
        unknown: list[dict[str, str]] = []
        jobs: list[RetryJob] = []
        for app, rid in records:
            ref = {"app": app, "id": rid}
            name = f"{app}:{rid}"
            if name in book.waiting:
                already.append(ref)
                continue
            failing = book.failing.get(name)
            if failing is None:
                unknown.append(ref)
                continue
            target, error = failing
            job = RetryJob(
                cid, app, rid, target, error, book.partners.get(name), book.lines.get(name)
            )
            book.waiting[name] = job
            jobs.append(job)
            queued.append(ref)
        answer = {
            "request": key,
            "queued": queued,
            "already_queued": already,
            "unknown": unknown,
            "replayed": False,
        }
        self._answers[key] = (digest, answer)
        while len(self._answers) > KEYS_KEPT:
            self._answers.popitem(last=False)
        return answer, jobs

    def take_waiting(self, cid: str | None = None) -> list[RetryJob]:
        """The jobs waiting for their retry (of one connection, or all), in the order
        queued; they wait no more."""
        taken: list[RetryJob] = []
        for connection_id, book in self._connections.items():
            if cid is None or connection_id == cid:
                taken.extend(book.waiting.values())
                book.waiting.clear()
        return taken

    def waiting(self, cid: str) -> int:
        book = self._connections.get(cid)
        return 0 if book is None else len(book.waiting)

    def failing(self, cid: str) -> Mapping[str, tuple[str, dict[str, str]]]:
        """The records whose latest write failed ("a:<id>" -> (target, error))."""
        book = self._connections.get(cid)
        return {} if book is None else dict(book.failing)
