"""Contacts written out: CSV safe for spreadsheets, JSON Lines, and the CLI's find table."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

import orjson

from healthdesk.core.contacts import ContactView, explain, failure_reason
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection, Side
from healthdesk.reports.summary import STATUS_LABELS

CSV_COLUMNS = (
    "status",
    "reason",
    "a_id",
    "a_name",
    "a_email",
    "b_id",
    "b_name",
    "b_email",
    "duplicate_of_app",
    "duplicate_of_id",
    "error_code",
    "error_message",
    "error_at",
    "category",
    "owner",
    "explanation",
)
#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def contact_json(contact: ContactView, connection: Connection, catalog: Catalog) -> dict[str, Any]:
    """The export's shape of one contact."""
    failure = contact.failure
    reason = failure_reason(contact, connection, catalog)
    original = contact.duplicate_of
    return {
        "status": contact.status.value,
        "reason": contact.reason.value if contact.reason else None,
        "records": [
            {"app": r.app.value, "id": r.id, "name": r.name, "email": r.email}
            for r in contact.records
        ],
        "duplicate_of": {"app": original.app.value, "id": original.id} if original else None,
        "error": (
            {"code": failure.code, "message": failure.message, "at": failure.at}
            if failure
            else None
        ),
        "category": reason.category if reason else None,
        "owner": reason.owner.value if reason else None,
        "explanation": explain(contact, connection, catalog),
    }


def write_jsonl(
    out: TextIO, contacts: Iterable[ContactView], connection: Connection, catalog: Catalog
) -> int:
    count = 0
    for contact in contacts:
        out.write(orjson.dumps(contact_json(contact, connection, catalog)).decode() + "\n")
        count += 1
    return count


def neutralize(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def csv_row(data: dict[str, Any]) -> list[str]:
    records = {r["app"]: r for r in data["records"]}
    original = data["duplicate_of"] or {}
    error = data["error"] or {}
    values = [data["status"], data["reason"]]
    for side in Side:
        record = records.get(side.value, {})
        values += [record.get("id"), record.get("name"), record.get("email")]
    values += [
        original.get("app"),
        original.get("id"),
        error.get("code"),
        error.get("message"),
        error.get("at"),
        data["category"],
        data["owner"],
        data["explanation"],
    ]
    return [neutralize("" if value is None else str(value)) for value in values]


def write_csv(
    out: TextIO, contacts: Iterable[ContactView], connection: Connection, catalog: Catalog
) -> int:
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for contact in contacts:
        writer.writerow(csv_row(contact_json(contact, connection, catalog)))
        count += 1
    return count


def find_text(
    contacts: list[ContactView], connection: Connection, query: str, *, total: int
) -> str:
    if not contacts:
        return f"No contact matches “{query}”.\n"
    if total > len(contacts):
        lines = [f"{total:,} contacts match “{query}”; the first {len(contacts):,} by name:"]
    else:
        lines = [f"{total:,} contact(s) match “{query}”:"]
    for contact in contacts:
        ids = " + ".join(f"{connection.app(r.app).name} {r.id}" for r in contact.records)
        label = STATUS_LABELS[contact.status]
        if contact.reason:
            label += f" ({contact.reason.value.replace('_', ' ')})"
        lines.append(f"  {label:<28} {contact.name or '(no name)'} <{contact.email}>  [{ids}]")
    return "\n".join(lines) + "\n"
