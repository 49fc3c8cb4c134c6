"""One contact's own history, and the contact that holds a given record.

`contact_events` reads the events of a contact's records (either app), most recent first,
one index range of `ix_events_record` (connection_id, app, ext_id, seq) per record: about
a millisecond whatever the size of the database. `contact_by_record` resolves "APP:ID"
lookups and the link from a duplicate to its original; `contact_with_history` reads what
the Contact dock shows in one call. Nothing here decides a status; it reads what the
engine stored.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from sqlalchemy import Engine

from healthdesk.core.contacts import ContactView
from healthdesk.core.model import Outcome, Side
from healthdesk.store.queries import get_contacts

__all__ = [
    "ContactWithHistory",
    "EventView",
    "contact_by_record",
    "contact_events",
    "contact_with_history",
]


@dataclass(frozen=True, slots=True)
class EventView:
    """One event of a record: what the sync service did with it, and when.

    `app` and `record_id` name the record processed; `target` the app written into (or
    that refused the write). `error_code` and `error_message` are the target app's raw
    error, exactly as sent (None unless `outcome` is `failed`); `fingerprint` its
    grouping key.
    """

    seq: int
    at: str
    app: Side
    record_id: str
    outcome: Outcome
    target: Side
    error_code: str | None
    error_message: str | None
    fingerprint: str | None


_EVENTS_OF_RECORD = """
    SELECT seq, at, app, ext_id, outcome, target, error_code, error_message, fingerprint
    FROM events
    WHERE connection_id = ? AND app = ? AND ext_id = ?
    ORDER BY seq DESC
    LIMIT ?
"""


def contact_events(
    engine: Engine, connection_id: str, contact: ContactView, *, limit: int = 500
) -> list[EventView]:
    """The events of `contact`'s records (both of a pair), most recent (highest seq) first,
    at most `limit` of them."""
    if limit <= 0 or not contact.records:
        return []
    per_record: list[list[EventView]] = []
    with engine.connect() as db:
        for record in contact.records:
            rows = db.exec_driver_sql(
                _EVENTS_OF_RECORD, (connection_id, record.app.value, record.id, limit)
            )
            per_record.append(
                [
                    EventView(
                        seq=seq,
                        at=at,
                        app=Side(app),
                        record_id=ext_id,
                        outcome=Outcome(outcome),
                        target=Side(target),
                        error_code=error_code,
                        error_message=error_message,
                        fingerprint=fingerprint,
                    )
                    for (
                        seq,
                        at,
                        app,
                        ext_id,
                        outcome,
                        target,
                        error_code,
                        error_message,
                        fingerprint,
                    ) in rows
                ]
            )
    merged = heapq.merge(*per_record, key=lambda event: event.seq, reverse=True)
    return [event for _, event in zip(range(limit), merged, strict=False)]


def contact_by_record(
    engine: Engine, connection_id: str, app: Side, record_id: str
) -> ContactView | None:
    """The visible contact that holds record `record_id` of `app` (alone or in a pair).

    None when there is no such record, or when it is hidden (an unmapped record of the
    destination app of a one-way connection has no contact).
    """
    with engine.connect() as db:
        found = db.exec_driver_sql(
            "SELECT rid FROM records WHERE connection_id = ? AND app = ? AND ext_id = ?",
            (connection_id, Side(app).value, record_id),
        ).first()
        if found is None:
            return None
        rid = found[0]
        # The record anchors its contact (a single record, or the a-record of a pair), or
        # is the b-record of a pair: two index lookups.
        key = db.exec_driver_sql(
            "SELECT rid FROM contacts WHERE rid = ?1 AND connection_id = ?2 "
            "UNION ALL SELECT rid FROM contacts WHERE b_rid = ?1 AND connection_id = ?2",
            (rid, connection_id),
        ).first()
    if key is None:
        return None
    contacts = get_contacts(engine, [key[0]])
    return contacts[0] if contacts else None


@dataclass(frozen=True, slots=True)
class ContactWithHistory:
    """A contact and its own events, most recent first."""

    contact: ContactView
    events: list[EventView]


def contact_with_history(
    engine: Engine,
    connection_id: str,
    *,
    key: int | None = None,
    record: tuple[Side, str] | None = None,
    limit: int = 500,
) -> ContactWithHistory | None:
    """The contact `key` (or the one holding `record`: (app, record id)) of a connection
    and at most `limit` of its events; None when there is no such visible contact."""
    if (key is None) == (record is None):
        raise ValueError("give a contact key or a record, not both or neither")
    contact: ContactView | None
    if record is not None:
        contact = contact_by_record(engine, connection_id, record[0], record[1])
    else:
        assert key is not None
        with engine.connect() as db:
            ours = db.exec_driver_sql(
                "SELECT 1 FROM contacts WHERE rid = ? AND connection_id = ?", (key, connection_id)
            ).first()
        found = get_contacts(engine, [key]) if ours is not None else []
        contact = found[0] if found else None
    if contact is None:
        return None
    return ContactWithHistory(contact, contact_events(engine, connection_id, contact, limit=limit))
