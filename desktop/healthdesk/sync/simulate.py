"""Simulated live activity for the reference service (`healthdesk serve --simulate RATE`).

A `Simulator` watches every item a `FeedService` holds (loaded or appended, through
`observe`) and, asked for a `step`, invents what a sync service would do next on one of
its connections, as feed items:

- a new contact appears in a source app (a `record`), and is processed a few steps later:
  `created` (with the counterpart record in the other app and a `mapping`), `failed`
  (the target app's raw error, as `feed.generate` writes them per app kind), `excluded`
  (the record does not match its side's rules, or has no email while duplicates are
  avoided) or `duplicate` (the same email, in another case or with spaces, as a recent one);
- a known record changes (a new version of the record, its `updated_at` now), and is
  processed: `updated` (the counterpart gets a new version too), `unchanged` or `failed`;
- a failing record is retried, and now and then goes through;
- a retry asked through the API (`queued_event`, then `retry_outcome`): the write goes
  through (`RETRY_SUCCESS` of the time), or fails again with the same error or, now and
  then, a new one; drawn from a generator of its own, so retries do not change what the
  live activity does, and are the same for the same seed and the same requests;
- the connection's sync state moves: scanning -> syncing (per app) -> active, and now and
  then locked by another connection of the service (named with its id and name).

Names, emails, fields and error messages come from `healthdesk.feed.generate` (its
people, field builders and error mixes), so live items look like the demo's. Events
continue each connection's largest seq; times are the wall clock in UTC, but never before
the latest time already in the feed (a demo dated in the future still moves forward).

Deterministic for a seed given the same items observed: all randomness comes from
`random.Random(seed)`. Memory is bounded per connection (a pool of a few thousand known
records, the ids of mapped pairs it knows, a queue of records waiting to be processed).
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from healthdesk.core.model import Connection, Event, Item, MappingItem, Outcome, Record, Side
from healthdesk.core.rules import compile_side
from healthdesk.feed.generate import (
    _BUILDERS,
    _COMPANIES,
    _ERROR_CHOICES,
    _GENERIC_ERRORS,
    _SPECS,
    _changed_fields,
    _ConnectionFeed,
    _Person,
    _phone,
    _pick,
    _salesforce_id,
)
from healthdesk.sync.retry import RetryJob

__all__ = ["RETRY_SAME_ERROR", "RETRY_SUCCESS", "Simulator"]

#: Share of retried writes that go through, then that fail again with the same error
#: (the rest fail with a new one).
RETRY_SUCCESS = 0.6
RETRY_SAME_ERROR = 0.25

_A = 0
_B = 1
_SIDE_NAMES = ("a", "b")
_SIDE_INDEX = {Side.A: _A, Side.B: _B}
#: Known records per side a step may change (a reservoir sample of the loaded ones, then
#: the most recent live ones).
_POOL = 2000
_FAILED_POOL = 500
_PARTNERS = 200_000
_PENDING = 5000

_Fields = Callable[[Callable[[], float], _Person, bool | None, str | None], dict[str, Any]]


def _generic_fields(
    rnd: Callable[[], float], p: _Person, match: bool | None, bad_employees: str | None
) -> dict[str, Any]:
    """Fields of an app kind that feed.generate does not know."""
    fields: dict[str, Any] = {"company": _COMPANIES[p.company][0]}
    if bad_employees is not None:
        fields["employees"] = bad_employees
    return fields


def _utc_text(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(seconds)))


def _epoch(canonical: str) -> float:
    return datetime.fromisoformat(canonical.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def _record_dict(record: Record) -> dict[str, Any]:
    return {
        "type": "record",
        "connection": record.connection,
        "app": record.app.value,
        "id": record.id,
        "name": record.name,
        "email": record.email,
        "fields": dict(record.fields),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "deleted": record.deleted,
    }


@dataclasses.dataclass(slots=True)
class _Pending:
    """A record waiting for the service to process it, with its planned fate."""

    side: int
    record: dict[str, Any]
    update: bool
    error: dict[str, str] | None = None
    duplicate: bool = False


class _Live:
    """What the simulator knows of one connection."""

    def __init__(self, cid: str, rng: random.Random) -> None:
        self.cid = cid
        self.raw: dict[str, Any] = {}
        self.connection: Connection | None = None
        self.max_seq = 0
        self.max_time = ""
        self.numeric = [0, 0]  # the largest all-digits record id per side
        self.records = [0, 0]  # record items seen per side
        self.pool: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
        self.pool_ids: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self.partners: tuple[dict[str, str], dict[str, str]] = ({}, {})
        self.failed: deque[_Pending] = deque(maxlen=_FAILED_POOL)
        self.pending: deque[_Pending] = deque(maxlen=_PENDING)
        self.recent_emails: tuple[deque[tuple[str, str, str]], ...] = (
            deque(maxlen=64),
            deque(maxlen=64),
        )
        self.rng = rng
        self.feed: _ConnectionFeed | None = None
        self.matchers: tuple[Callable[..., bool], Callable[..., bool]] | None = None
        self.units = 0

    def set_connection(self, connection: Connection, raw: dict[str, Any]) -> None:
        self.raw = raw
        first = self.connection is None
        self.connection = connection
        rules = connection.settings.rules_of
        self.matchers = (compile_side(rules(Side.A)), compile_side(rules(Side.B)))
        if first:
            kinds = (connection.app_a.kind, connection.app_b.kind)
            # The generator's helpers are built for a demo connection spec; the kinds it
            # does not know take HubSpot's id format (the fields and errors used below
            # look the real kind up themselves).
            spec = dataclasses.replace(
                _SPECS[0],
                id=self.cid,
                name=connection.name,
                kinds=tuple(k if k in _BUILDERS else "hubspot" for k in kinds),  # type: ignore[arg-type]
                names=(connection.app_a.name, connection.app_b.name),
                direction=connection.settings.direction.value,
            )
            self.feed = _ConnectionFeed(spec, 0, self.rng, _utc_text_int)

    @property
    def kinds(self) -> tuple[str, str]:
        assert self.connection is not None
        return (self.connection.app_a.kind, self.connection.app_b.kind)

    def sources(self) -> tuple[int, ...]:
        assert self.connection is not None
        source = self.connection.settings.direction.source
        return (_A, _B) if source is None else (_SIDE_INDEX[source],)

    def remember(self, side: int, record: dict[str, Any], *, live: bool) -> None:
        """Keep a record (its latest version) in the pool that changes pick from."""
        pool = self.pool[side]
        ids = self.pool_ids[side]
        rid = record["id"]
        at = ids.get(rid)
        if at is not None:
            pool[at] = record
            return
        if len(pool) < _POOL:
            ids[rid] = len(pool)
            pool.append(record)
            return
        slot = self.rng.randrange(self.records[side] if not live else _POOL)
        if slot < _POOL:
            old = pool[slot]["id"]
            del ids[old]
            self.partners[side].pop(old, None)
            ids[rid] = slot
            pool[slot] = record

    def link(self, a: str, b: str, *, removed: bool) -> None:
        partners_a, partners_b = self.partners
        if removed:
            if partners_a.get(a) == b:
                del partners_a[a]
            if partners_b.get(b) == a:
                del partners_b[b]
            return
        if a not in self.pool_ids[_A] and b not in self.pool_ids[_B]:
            return  # a pair no change will pick: not worth remembering
        if len(partners_a) >= _PARTNERS:
            partners_a.pop(next(iter(partners_a)))
        if len(partners_b) >= _PARTNERS:
            partners_b.pop(next(iter(partners_b)))
        partners_a[a] = b
        partners_b[b] = a


def _utc_text_int(seconds: int) -> str:
    return _utc_text(seconds)


class Simulator:
    """Invents live activity; not thread-safe (the FeedService calls it under its lock)."""

    def __init__(self, *, seed: int = 0, clock: Callable[[], float] = time.time) -> None:
        self._rng = random.Random(seed)
        self._rnd = self._rng.random
        self._retry_rng = random.Random(f"retry {seed}")
        self._clock = clock
        self._live: dict[str, _Live] = {}
        self._loading = True
        self._steps_to_state = 10 + self._rng.randrange(20)

    # ------------------------------------------------------------------ observing

    def loaded(self) -> None:
        """The snapshots are loaded: from now on, records observed are live ones."""
        self._loading = False

    def observe(self, cid: str, item: Item, raw: Mapping[str, Any] | None = None) -> None:
        """Note one valid item of connection `cid` (`raw`: its dict, for a connection)."""
        live = self._live.get(cid)
        if live is None:
            live = self._live[cid] = _Live(cid, random.Random(self._rng.getrandbits(64)))
        if isinstance(item, Record):
            side = _SIDE_INDEX[item.app]
            live.records[side] += 1
            rid = item.id
            if rid.isascii() and rid.isdigit() and len(rid) < 19:
                live.numeric[side] = max(live.numeric[side], int(rid))
            if item.updated_at > live.max_time:
                live.max_time = item.updated_at
            if item.deleted:
                return
            live.remember(side, _record_dict(item), live=not self._loading)
        elif isinstance(item, Event):
            live.max_seq = max(live.max_seq, item.seq)
            if item.at > live.max_time:
                live.max_time = item.at
        elif isinstance(item, MappingItem):
            live.link(item.a, item.b, removed=item.removed)
        elif isinstance(item, Connection):
            live.set_connection(item, dict(raw) if raw is not None else {})

    # ------------------------------------------------------------------ stepping

    def step(self) -> tuple[str, list[dict[str, Any]]] | None:
        """One thing the service does: (connection id, its new items), or None."""
        lives = [live for live in self._live.values() if live.connection is not None]
        if not lives:
            return None
        self._steps_to_state -= 1
        if self._steps_to_state <= 0:
            self._steps_to_state = 20 + self._rng.randrange(100)
            live = _pick(self._rnd, lives)
            return live.cid, [self._state_change(live, lives)]
        live = _pick(self._rnd, lives)
        now = self._now(live)
        r = self._rnd()
        if live.pending and r < 0.45:
            return live.cid, self._process(live, live.pending.popleft(), now)
        if live.failed and r < 0.5:
            return live.cid, self._process(live, live.failed.popleft(), now, retry=True)
        if r < 0.65:
            changed = self._change(live, now)
            if changed is not None:
                return live.cid, changed
        return live.cid, self._new(live, now)

    def queued_event(self, job: RetryJob) -> dict[str, Any]:
        """The `queued` event that tells the feed a retry of `job`'s write is waiting."""
        live = self._live[job.connection]
        side = _SIDE_NAMES.index(job.app)
        event = self._event(live, self._now(live), {"id": job.id}, side, Outcome.QUEUED.value)
        event["target"] = job.target
        return event

    def retry_outcome(
        self, job: RetryJob, record: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        """What the retry of `job`'s write did: a write event and what it wrote.

        `record` is the latest version of the record (None when the service does not
        hold it: then the retry can only fail again).
        """
        live = self._live[job.connection]
        now = self._now(live)
        side = _SIDE_NAMES.index(job.app)
        target = _SIDE_NAMES.index(job.target)
        ref = dict(record) if record is not None else {"id": job.id}
        r = self._retry_rng.random()
        if r < RETRY_SUCCESS and (job.partner is not None or record is not None):
            if job.partner is not None:
                event = self._event(live, now, ref, side, Outcome.UPDATED.value)
                event["target"] = job.target
                return [event]
            return self._create_counterpart(live, ref, side, now)
        error = job.error
        if r >= RETRY_SUCCESS + RETRY_SAME_ERROR:
            name = str(ref.get("name") or "")
            email = str(ref.get("email") or "").strip()
            p = _Person(name, "", name, email, 0)
            purpose = "update" if job.partner is not None else "create"
            error, _bad = self._error(live, target, purpose, p)
        event = self._event(live, now, ref, side, Outcome.FAILED.value, error)
        event["target"] = job.target
        return [event]

    def _now(self, live: _Live) -> str:
        now = self._clock()
        if live.max_time:
            now = max(now, _epoch(live.max_time))
        return _utc_text(now)

    def _new_id(self, live: _Live, side: int) -> str:
        kind = live.kinds[side]
        if kind in ("hubspot", "pipedrive"):
            live.numeric[side] += 1 + self._rng.randrange(3)
            return str(live.numeric[side])
        live.records[side] += 1
        if kind == "salesforce":
            return _salesforce_id(live.records[side] + 10_000_000)
        return f"{self._rng.getrandbits(128):032x}"

    def _fields(self, live: _Live, side: int) -> _Fields:
        return _BUILDERS.get(live.kinds[side], _generic_fields)

    def _error(
        self, live: _Live, target: int, purpose: str, p: _Person
    ) -> tuple[dict[str, str], str | None]:
        """The target app's raw error, as feed.generate writes them for its kind.

        With the bad value (an employee count) the record must hold for the message to be
        true, or None.
        """
        feed = live.feed
        assert feed is not None
        if (live.kinds[target], purpose) not in _ERROR_CHOICES:
            code, message = _pick(self._rnd, _GENERIC_ERRORS)
            return {"code": code, "message": message}, None
        error, bad = feed._error(0, 0, target, purpose, p)
        feed._errors.clear()
        return dict(error), bad

    def _new(self, live: _Live, now: str) -> list[dict[str, Any]]:
        """A contact appears in a source app; processed by a later step."""
        feed = live.feed
        assert feed is not None
        assert live.connection is not None
        rnd = self._rnd
        sources = live.sources()
        side = sources[0] if len(sources) == 1 or rnd() < 0.6 else sources[1]
        target = 1 - side
        live.units += 1
        p = feed._person(live.units)
        duplicate = False
        recent = live.recent_emails[side]
        if recent and live.connection.settings.avoid_duplicates and rnd() < 0.06:
            email, p.first, p.last = _pick(rnd, recent)
            p.name = f"{p.first} {p.last}".strip()
            p.email = email
            duplicate = True
        # The error is decided first: a "looks fake" one changes the person's email.
        error, bad = self._error(live, target, "create", p) if rnd() < 0.2 else (None, None)
        fields = self._fields(live, side)(rnd, p, None, bad)
        name = feed._display_name(side, p, fields)
        if duplicate:
            typed = feed._duplicate_email(p.email)
        elif rnd() < 0.03:
            typed = ""  # no email
        else:
            typed = feed._messy(p.email)
            if p.email:
                recent.append((p.email, p.first, p.last))
        record = {
            "type": "record",
            "connection": live.cid,
            "app": _SIDE_NAMES[side],
            "id": self._new_id(live, side),
            "name": name,
            "email": typed,
            "fields": fields,
            "created_at": now,
            "updated_at": now,
            "deleted": False,
        }
        live.pending.append(_Pending(side, record, False, error, duplicate))
        return [record]

    def _change(self, live: _Live, now: str) -> list[dict[str, Any]] | None:
        """A record of a mapped pair changes in its source app (a detail rules do not read).

        Only pairs whose mapping the simulator knows: a change of a record whose mapping
        it does not know could give a second mapping to one record.
        """
        rnd = self._rnd
        sides = [s for s in live.sources() if live.partners[s]]
        if not sides:
            return None
        side = _pick(rnd, sides)
        pool = live.pool[side]
        partners = live.partners[side]
        for _ in range(8):
            old = _pick(rnd, pool)
            if old["id"] in partners:
                break
        else:
            return None
        fields = dict(old["fields"]) if isinstance(old["fields"], dict) else {}
        try:
            fields = _changed_fields(rnd, fields)
        except (KeyError, TypeError):  # fields of another shape than the demo's
            fields["phone"] = _phone(rnd)
        record = dict(old, fields=fields)
        record["updated_at"] = now
        live.pending.append(_Pending(side, record, True))
        return [record]

    def _matches(self, live: _Live, side: int, record: Mapping[str, Any]) -> bool:
        assert live.matchers is not None
        fields = record.get("fields") or {}
        return live.matchers[side](record.get("name") or "", record.get("email") or "", fields)

    def _process(
        self, live: _Live, job: _Pending, now: str, *, retry: bool = False
    ) -> list[dict[str, Any]]:
        """The service processes a record: one event, and what it wrote."""
        assert live.connection is not None
        rnd = self._rnd
        side, record = job.side, job.record
        target = 1 - side
        partner = live.partners[side].get(record["id"])
        email = (record.get("email") or "").strip()
        if not self._matches(live, side, record) or (
            live.connection.settings.avoid_duplicates and not email
        ):
            return [self._event(live, now, record, side, "excluded")]
        if job.duplicate and partner is None and live.connection.settings.avoid_duplicates:
            return [self._event(live, now, record, side, "duplicate")]
        error = job.error
        if retry:
            error = None if rnd() < 0.6 else job.error
        elif job.update and partner is not None:
            r = rnd()
            if r < 0.08:
                return [self._event(live, now, record, side, "unchanged")]
            if r < 0.2:
                p = _Person(record.get("name") or "", "", record.get("name") or "", email, 0)
                error, _ = self._error(live, target, "update", p)
        if error is not None:
            job.error = error
            live.failed.append(job)
            return [self._event(live, now, record, side, "failed", error)]
        if partner is not None:
            items = [self._event(live, now, record, side, "updated")]
            at = live.pool_ids[target].get(partner)
            if at is not None:
                counterpart = dict(live.pool[target][at], updated_at=now)
                items.append(counterpart)
            return items
        return self._create_counterpart(live, record, side, now)

    def _create_counterpart(
        self, live: _Live, record: dict[str, Any], side: int, now: str
    ) -> list[dict[str, Any]]:
        feed = live.feed
        assert feed is not None
        target = 1 - side
        name = record.get("name") or ""
        first, _, last = name.partition(" ")
        email = (record.get("email") or "").strip().lower()
        p = _Person(first, last, name, email, self._rng.randrange(len(_COMPANIES)))
        fields = self._fields(live, target)(self._rnd, p, None, None)
        counterpart = {
            "type": "record",
            "connection": live.cid,
            "app": _SIDE_NAMES[target],
            "id": self._new_id(live, target),
            "name": feed._display_name(target, p, fields),
            "email": email,
            "fields": fields,
            "created_at": now,
            "updated_at": now,
            "deleted": False,
        }
        ids = (record["id"], counterpart["id"]) if side == _A else (counterpart["id"], record["id"])
        mapping = {
            "type": "mapping",
            "connection": live.cid,
            "a": ids[0],
            "b": ids[1],
            "since": now,
            "removed": False,
        }
        event = self._event(live, now, record, side, "created")
        return [event, counterpart, mapping]

    def _event(
        self,
        live: _Live,
        now: str,
        record: Mapping[str, Any],
        side: int,
        outcome: str,
        error: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        live.max_seq += 1
        event: dict[str, Any] = {
            "type": "event",
            "connection": live.cid,
            "seq": live.max_seq,
            "at": now,
            "app": _SIDE_NAMES[side],
            "id": record["id"],
            "outcome": outcome,
            "target": _SIDE_NAMES[1 - side],
        }
        if error is not None:
            event["error"] = dict(error)
        return event

    def _state_change(self, live: _Live, lives: list[_Live]) -> dict[str, Any]:
        """The connection's sync state moves on: scanning -> syncing -> active (or locked)."""
        assert live.connection is not None
        state = live.connection.state
        sources = live.sources()
        phase, app = state.phase.value, state.app
        locked_by = None
        if phase == "scanning" and app is not None:
            new_phase, new_app = "syncing", _SIDE_INDEX[app]
        elif phase == "syncing" and app is not None and _SIDE_INDEX[app] < sources[-1]:
            new_phase, new_app = "scanning", sources[-1]
        elif phase in ("scanning", "syncing"):
            new_phase, new_app = "active", None
        elif phase == "active" and len(lives) > 1 and self._rnd() < 0.3:
            other = _pick(self._rnd, [x for x in lives if x is not live])
            assert other.connection is not None
            new_phase, new_app = "locked", None
            locked_by = {"id": other.cid, "name": other.connection.name}
        else:
            new_phase, new_app = "scanning", sources[0]
        item = dict(live.raw)
        item["state"] = {
            "phase": new_phase,
            "app": None if new_app is None else _SIDE_NAMES[new_app],
            "locked_by": locked_by,
            "message": None,
        }
        return item
