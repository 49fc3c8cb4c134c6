"""A decided contact as lists, exports and the detail view read it, and why it is so.

`explain` turns what the engine decided (stored by the store) into the one sentence a
support agent reads; it does not decide anything again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from healthdesk.core.failures import Catalog
from healthdesk.core.failures import Reason as FailureReason
from healthdesk.core.model import Connection, Reason, Side, Status
from healthdesk.core.rules import explain as explain_rules


@dataclass(frozen=True, slots=True)
class RecordView:
    app: Side
    id: str
    name: str
    email: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    deleted: bool = False
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Another record named by a contact (a duplicate's original)."""

    app: Side
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class FailureView:
    """The failed write shown for a failing contact; `app` is the app that refused it."""

    app: Side
    code: str
    message: str
    at: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class ContactView:
    """One visible contact: its records (two for a mapped pair) and its decided status."""

    key: int
    status: Status
    reason: Reason | None
    records: tuple[RecordView, ...]
    since: str | None = None
    duplicate_of: RecordRef | None = None
    failure: FailureView | None = None
    opposite_deleted: bool = False

    @property
    def is_pair(self) -> bool:
        return len(self.records) == 2

    def record(self, side: Side) -> RecordView | None:
        return next((r for r in self.records if r.app is side), None)

    @property
    def name(self) -> str:
        return next((r.name.strip() for r in self.records if r.name.strip()), "")

    @property
    def email(self) -> str:
        return next((r.email.strip() for r in self.records if r.email.strip()), "")

    # A contact as one flat row, for the list columns and copies: None where the contact
    # has no such record (a single record has one side) or no failure.

    @property
    def side(self) -> Side | None:
        """The app of a single record; None for a mapped pair."""
        return None if self.is_pair or not self.records else self.records[0].app

    @property
    def record_id(self) -> str:
        """The app id of a single record; of the a-record for a pair."""
        return self.records[0].id if self.records else ""

    @property
    def a_id(self) -> str | None:
        found = self.record(Side.A)
        return found.id if found is not None else None

    @property
    def b_id(self) -> str | None:
        found = self.record(Side.B)
        return found.id if found is not None else None

    @property
    def a_deleted(self) -> bool:
        found = self.record(Side.A)
        return found is not None and found.deleted

    @property
    def b_deleted(self) -> bool:
        found = self.record(Side.B)
        return found is not None and found.deleted


def failure_reason(
    contact: ContactView, connection: Connection, catalog: Catalog
) -> FailureReason | None:
    """The catalog's category, explanation and fix for a failing contact's error."""
    if contact.failure is None:
        return None
    kind = connection.app(contact.failure.app).kind
    return catalog.classify(kind, contact.failure.fingerprint)


def explain(contact: ContactView, connection: Connection, catalog: Catalog) -> str:
    """The one-sentence why of a contact's status."""
    text = _explain_status(contact, connection, catalog)
    if contact.opposite_deleted:
        deleted = [connection.app(r.app).name for r in contact.records if r.deleted]
        text += f" The record in {' and '.join(deleted)} was deleted."
    return text


def _explain_status(contact: ContactView, connection: Connection, catalog: Catalog) -> str:
    settings = connection.settings
    status = contact.status
    if status is Status.EXCLUDED and contact.reason is Reason.NO_EMAIL:
        app = connection.app(contact.records[0].app).name
        return (
            f"The {app} record has no email and Avoid Duplicates is on, so it cannot be "
            "checked for duplicates and is not synced."
        )
    if status is Status.EXCLUDED:
        source = settings.direction.source
        parts = []
        for record in contact.records:
            if source is not None and record.app is not source:
                continue
            explanation = explain_rules(
                settings.rules_of(record.app), record.name, record.email, record.fields
            )
            parts.append(explanation.sentence(connection.app(record.app).name))
        return " ".join(parts)
    if status is Status.DUPLICATE:
        original = contact.duplicate_of
        app = connection.app(contact.records[0].app).name
        if original is None:
            return f"Another {app} record has the same email; only the original syncs."
        who = f"“{original.name}” ({original.id})" if original.name else original.id
        return (
            f"Same email as {app} record {who}, the original: with Avoid Duplicates on, "
            "only the original syncs."
        )
    if status is Status.FAILING and contact.failure is not None:
        reason = failure_reason(contact, connection, catalog)
        target = connection.app(contact.failure.app).name
        category = reason.category if reason else "Other"
        detail = f" {reason.explanation}" if reason else ""
        return f"{target} refused the last write ({category}).{detail}"
    if status is Status.PENDING and contact.is_pair:
        # A pair is pending only while a retry of its write is queued (README, semantics).
        return "Linked in both apps and matching the rules; a retry of its write is queued."
    if status is Status.PENDING:
        return "Matches the rules and waits for its first sync."
    # In sync: matching the rules, and no write into either app failed since the last
    # success (there may have been no write at all yet).
    since = f" since {contact.since[:10]}" if contact.since else ""
    return f"Linked in both apps{since} and matching the rules, with no failed write."
