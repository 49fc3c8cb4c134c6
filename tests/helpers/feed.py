"""Build feed items and snapshot files for tests, with sensible defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from healthdesk.feed.snapshot import write_snapshot

T0 = "2026-01-01T00:00:00Z"


def connection(
    cid: str = "c-1",
    *,
    name: str = "HubSpot ⇄ Mailchimp",
    direction: str = "two_way",
    avoid_duplicates: bool = True,
    rules: list[dict[str, Any]] | None = None,
    state: dict[str, Any] | None = None,
    kinds: tuple[str, str] = ("hubspot", "mailchimp"),
    names: tuple[str, str] = ("HubSpot", "Mailchimp"),
) -> dict[str, Any]:
    """A connection item; by default every record of both apps matches the rules."""
    return {
        "type": "connection",
        "id": cid,
        "name": name,
        "apps": {
            "a": {"name": names[0], "kind": kinds[0]},
            "b": {"name": names[1], "kind": kinds[1]},
        },
        "direction": direction,
        "avoid_duplicates": avoid_duplicates,
        "rules": (
            rules
            if rules is not None
            else [{"id": "ra", "from": "a", "all": []}, {"id": "rb", "from": "b", "all": []}]
        ),
        "state": state or {"phase": "active"},
    }


def record(
    app: str,
    rid: str,
    *,
    cid: str = "c-1",
    name: str | None = None,
    email: str | None = "",
    fields: dict[str, Any] | None = None,
    created_at: str = T0,
    deleted: bool = False,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "record",
        "connection": cid,
        "app": app,
        "id": rid,
        "name": name if name is not None else f"Person {rid}",
        "email": email,
        "fields": fields or {},
        "created_at": created_at,
        "updated_at": created_at,
    }
    if deleted:
        item["deleted"] = True
    return item


def mapping(a: str, b: str, *, cid: str = "c-1", removed: bool = False) -> dict[str, Any]:
    return {"type": "mapping", "connection": cid, "a": a, "b": b, "since": T0, "removed": removed}


def event(
    seq: int,
    app: str,
    rid: str,
    outcome: str,
    *,
    cid: str = "c-1",
    at: str | None = None,
    code: str = "Invalid Resource",
    message: str = "x@example.com looks fake or invalid, please enter a real email address.",
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "event",
        "connection": cid,
        "seq": seq,
        "at": at or f"2026-02-01T00:00:{seq % 60:02d}Z",
        "app": app,
        "id": rid,
        "outcome": outcome,
        "target": "b" if app == "a" else "a",
    }
    if outcome == "failed":
        item["error"] = {"code": code, "message": message}
    return item


def write(path: Path, items: list[dict[str, Any]], *, compress: bool = False) -> Path:
    write_snapshot(path, items, exported_at=T0, compress=compress)
    return path
