"""Contacts written out: CSV safe for spreadsheets, JSON Lines, and the CLI's find table."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

import orjson

from healthdesk.core.contacts import ContactView, explain, failure_reason
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection, Side
from healthdesk.core.safe_text import json_safe, neutralize_cell, terminal_text
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
#: Mode of an export file unless the user chooses another (`healthdesk export --mode`):
#: it holds customers' names and emails, so only its owner reads it.
EXPORT_MODE = 0o600


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
        line = orjson.dumps(contact_json(contact, connection, catalog)).decode()
        out.write(json_safe(line) + "\n")
        count += 1
    return count


def neutralize(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (core.safe_text)."""
    return neutralize_cell(cell)


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
    contacts: list[ContactView],
    connection: Connection,
    query: str,
    *,
    total: int,
    more: bool = False,
) -> str:
    """The CLI's table of found contacts, best first (word starts, then by name); every
    value from the data is terminal-safe. `more`: more than `total` contacts match."""
    safe = terminal_text
    query = safe(query)
    if not contacts:
        return f"No contact matches “{query}”.\n"
    if more:
        lines = [f"More than {total:,} contacts match “{query}”; the first {len(contacts):,}:"]
    elif total > len(contacts):
        lines = [f"{total:,} contacts match “{query}”; the first {len(contacts):,}:"]
    else:
        lines = [f"{total:,} contact(s) match “{query}”:"]
    for contact in contacts:
        ids = " + ".join(
            f"{safe(connection.app(r.app).name)} {safe(r.id)}" for r in contact.records
        )
        label = STATUS_LABELS[contact.status]
        if contact.reason:
            label += f" ({contact.reason.value.replace('_', ' ')})"
        name = safe(contact.name) if contact.name else "(no name)"
        lines.append(f"  {label:<28} {name} <{safe(contact.email)}>  [{ids}]")
    return "\n".join(lines) + "\n"


def parse_mode(text: str) -> int:
    """A file mode written in octal ("600", "0640", "0o644"); ValueError if it is not one."""
    digits = text.strip().lower().removeprefix("0o")
    if not digits or len(digits) > 4 or any(c not in "01234567" for c in digits):
        raise ValueError(f"{text!r} is not an octal file mode such as 600 or 640")
    mode = int(digits, 8)
    if mode > 0o777:
        raise ValueError(f"{text!r}: only permission bits (at most 777) may be given")
    return mode


def write_file(target: Path, write: Callable[[TextIO], int], *, mode: int = EXPORT_MODE) -> int:
    """Write an export to `target` through `write(handle)`, whole or not at all.

    The file gets exactly `mode` whatever the umask (it is written beside `target` as
    `.partial`, made `mode`, then renamed over it). Returns what `write` returns.
    """
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, mode)
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            count = write(handle)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count
