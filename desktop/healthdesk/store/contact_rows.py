"""The one way a stored contact is read: its columns, its joins, and the `ContactView`
made of a row. The status lists (`store.pages`), the search, the exports and the Contact
dock (`store.queries`) all read contacts through it, so they show the same thing.

A contact row is the decided contact (`contacts`) with its records (a and b), a
duplicate's original and the failed write shown (its raw error); nothing here decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import orjson

from healthdesk.core.contacts import ContactView, FailureView, RecordRef, RecordView
from healthdesk.core.model import Reason, Side, Status

__all__ = ["CONTACT_COLUMNS", "CONTACT_JOINS", "contact_from_row"]

#: The columns of a contact row; `contacts` is `c`, joined by CONTACT_JOINS.
CONTACT_COLUMNS: Final = """
    c.rid, c.status, c.reason, c.since, c.opposite_deleted,
    c.failure_app, c.failure_at, c.fingerprint,
    ra.ext_id, ra.name, ra.email, ra.fields, ra.deleted, ra.created_at, ra.updated_at,
    rb.ext_id, rb.name, rb.email, rb.fields, rb.deleted, rb.created_at, rb.updated_at,
    rd.app, rd.ext_id, rd.name,
    e.error_code, e.error_message
"""
CONTACT_JOINS: Final = """
    LEFT JOIN records ra ON ra.rid = c.a_rid
    LEFT JOIN records rb ON rb.rid = c.b_rid
    LEFT JOIN records rd ON rd.rid = c.duplicate_of
    LEFT JOIN events e ON e.connection_id = c.connection_id AND e.seq = c.failure_seq
"""


def _record(side: Side, values: Sequence[Any]) -> RecordView | None:
    ext_id, name, email, fields, deleted, created_at, updated_at = values
    if ext_id is None:
        return None
    return RecordView(
        app=side,
        id=ext_id,
        name=name,
        email=email,
        fields=orjson.loads(fields),
        deleted=bool(deleted),
        created_at=created_at,
        updated_at=updated_at,
    )


def contact_from_row(row: Sequence[Any]) -> ContactView:
    """The contact of a row of CONTACT_COLUMNS."""
    (rid, status, reason, since, opposite_deleted, failure_app, failure_at, fp) = row[:8]
    records = tuple(
        record
        for record in (_record(Side.A, row[8:15]), _record(Side.B, row[15:22]))
        if record is not None
    )
    dup_app, dup_id, dup_name = row[22:25]
    code, message = row[25:27]
    return ContactView(
        key=rid,
        status=Status(status),
        reason=Reason(reason) if reason else None,
        records=records,
        since=since,
        duplicate_of=RecordRef(Side(dup_app), dup_id, dup_name) if dup_app else None,
        failure=FailureView(
            app=Side(failure_app),
            code=code or "",
            message=message or "",
            at=failure_at or "",
            fingerprint=fp or "",
        )
        if failure_app
        else None,
        opposite_deleted=bool(opposite_deleted),
    )
