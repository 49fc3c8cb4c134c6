"""The health engine: the one place that decides each contact's status.

The README's "What each status means" is the contract; every list, count and export reads
what `decide` returned (as stored by the store), never re-deriving a status. Pure Python: the store
gathers the facts and persists the decisions.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from healthdesk.core.model import Reason, Settings, Side, Status


def normalize_email(email: str | None) -> str:
    """The form in which emails compare: trimmed and lower-cased ("" when empty)."""
    return email.strip().lower() if email else ""


@dataclass(slots=True)  # not frozen: made once per record, millions at a time
class RecordFacts:
    """What the engine needs to know of one record.

    `key` is the store's handle for the record (opaque here). `email` is normalized.
    `last_write_seq` / `last_write_failed` / `last_write_queued` describe the record's
    latest write event (created, updated, failed or queued, in either direction), None
    when it has none.
    """

    key: int
    app: Side
    id: str
    email: str
    created_at: str
    matches: bool
    deleted: bool = False
    last_write_seq: int | None = None
    last_write_failed: bool = False
    last_write_queued: bool = False


@dataclass(slots=True)  # not frozen: made once per record, millions at a time
class Decision:
    """The status of one visible contact: a mapped pair (`a` and `b`) or a single record.

    `duplicate_of` is the key of the original record; `failure_seq` the seq of the failed
    event shown; `opposite_deleted` flags a pair one of whose records was deleted.
    """

    status: Status
    reason: Reason | None
    a: int | None
    b: int | None
    duplicate_of: int | None = None
    failure_seq: int | None = None
    opposite_deleted: bool = False

    @property
    def anchor(self) -> int:
        """The key the contact is stored under: its a-record, else its single record."""
        key = self.a if self.a is not None else self.b
        assert key is not None
        return key


def is_visible_unmapped(settings: Settings, record: RecordFacts) -> bool:
    """Whether an unmapped record is a contact at all.

    Hidden: in a one-way connection, the target app's unmapped records (the seed: "contacts
    that only exist in App B will not be exposed"); and records deleted in their app before
    they were ever mapped (nothing is left to sync; our choice, see README "Semantics").
    """
    return settings.direction.syncs_from(record.app) and not record.deleted


def _order(record: RecordFacts) -> tuple[str, str]:
    return (record.created_at, record.id)


def decide(
    settings: Settings,
    records: Iterable[RecordFacts],
    pairs: Iterable[tuple[int, int]],
    *,
    mapped_elsewhere: Collection[int] = (),
) -> Iterator[Decision]:
    """Decide every contact formed by `records`.

    `pairs` are the active mappings as (a key, b key), both among `records`; every other
    record is unmapped, except those in `mapped_elsewhere`: records mapped to a record not
    passed, whose pair is decided by another call (a caller that streams a connection by
    email group). They count as mapped in their duplicate group and are not decided here.
    The caller passes, for each unmapped record with an email, every record of the same
    app with the same normalized email (its duplicate group), so that the original can be
    found; a pair needs only its two records.
    """
    by_key = {record.key: record for record in records}
    mapped: set[int] = set(mapped_elsewhere)
    source = settings.direction.source
    for a_key, b_key in pairs:
        mapped.add(a_key)
        mapped.add(b_key)
        yield _decide_pair(source, by_key[a_key], by_key[b_key])

    avoid = settings.avoid_duplicates
    # The records of each (app, email) group that compete to be the original.
    mapped_in_group: dict[tuple[Side, str], list[RecordFacts]] = {}
    candidates: dict[tuple[Side, str], list[RecordFacts]] = {}
    singles: list[RecordFacts] = []
    for record in by_key.values():
        if record.key in mapped:
            if avoid and record.email:
                mapped_in_group.setdefault((record.app, record.email), []).append(record)
            continue
        if not is_visible_unmapped(settings, record):
            continue
        singles.append(record)
        if avoid and record.matches and record.email:
            candidates.setdefault((record.app, record.email), []).append(record)

    originals: dict[tuple[Side, str], RecordFacts] = {}
    for group, members in candidates.items():
        pool = mapped_in_group.get(group, members)
        originals[group] = min(pool, key=_order)

    for record in singles:
        yield _decide_single(record, avoid, originals)


def _decide_single(
    record: RecordFacts, avoid: bool, originals: dict[tuple[Side, str], RecordFacts]
) -> Decision:
    a, b = (record.key, None) if record.app is Side.A else (None, record.key)
    if not record.matches:
        return Decision(Status.EXCLUDED, Reason.NO_RULE_MATCH, a, b)
    if avoid:
        if not record.email:
            return Decision(Status.EXCLUDED, Reason.NO_EMAIL, a, b)
        original = originals[(record.app, record.email)]
        if original is not record:
            return Decision(Status.DUPLICATE, None, a, b, duplicate_of=original.key)
    if record.last_write_failed:
        return Decision(Status.FAILING, None, a, b, failure_seq=record.last_write_seq)
    return Decision(Status.PENDING, None, a, b)


def pair_matches(source: Side | None, a_matches: bool, b_matches: bool) -> bool:
    """Whether a mapped pair passes the rules, from whether its records match their
    sides' rules; `source` is the one side a one-way connection syncs from. A pair's
    decision reads the matching of its records through this alone: a change of rules
    that leaves this answer as it was leaves the pair's status as it was."""
    if source is None:
        return a_matches or b_matches
    return a_matches if source is Side.A else b_matches


def _decide_pair(source: Side | None, a: RecordFacts, b: RecordFacts) -> Decision:
    """A mapped pair; `source` is the one side a one-way connection syncs from."""
    matches = pair_matches(source, a.matches, b.matches)
    deleted = a.deleted or b.deleted
    if not matches:
        return Decision(
            Status.EXCLUDED, Reason.NO_RULE_MATCH, a.key, b.key, opposite_deleted=deleted
        )
    latest = _latest_write(a, b)
    if latest is not None and latest.last_write_queued:
        # A retry the service queued and has not done yet: the same "should sync and has
        # not yet" as an unmapped record that was never written.
        return Decision(Status.PENDING, None, a.key, b.key, opposite_deleted=deleted)
    if latest is not None and latest.last_write_failed:
        return Decision(
            Status.FAILING,
            None,
            a.key,
            b.key,
            failure_seq=latest.last_write_seq,
            opposite_deleted=deleted,
        )
    return Decision(Status.IN_SYNC, None, a.key, b.key, opposite_deleted=deleted)


def _latest_write(a: RecordFacts, b: RecordFacts) -> RecordFacts | None:
    if a.last_write_seq is None:
        return b if b.last_write_seq is not None else None
    if b.last_write_seq is None or a.last_write_seq > b.last_write_seq:
        return a
    return b
