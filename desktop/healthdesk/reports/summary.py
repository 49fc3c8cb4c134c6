"""A connection's summary as the CLI prints it: one JSON object, or a readable table."""

from __future__ import annotations

from typing import Any

import orjson

from healthdesk.core.failures import Catalog
from healthdesk.core.model import STATUS_ORDER, Connection, Outcome, Phase, Reason, Side, Status
from healthdesk.core.safe_text import json_safe, terminal_text
from healthdesk.core.words import REASON_LABELS, STATUS_LABELS
from healthdesk.store.queries import Summary

DIRECTION_ARROWS = {"two_way": "⇄", "a_to_b": "→", "b_to_a": "←"}


def connection_json(connection: Connection) -> dict[str, Any]:
    state = connection.state
    return {
        "id": connection.id,
        "name": connection.name,
        "direction": connection.settings.direction.value,
        "avoid_duplicates": connection.settings.avoid_duplicates,
        "apps": {
            side.value: {"name": connection.app(side).name, "kind": connection.app(side).kind}
            for side in Side
        },
        "state": {
            "phase": state.phase.value,
            "app": state.app.value if state.app else None,
            "locked_by": (
                {"id": state.locked_by.id, "name": state.locked_by.name}
                if state.locked_by
                else None
            ),
            "message": state.message,
        },
    }


def summary_dict(summary: Summary, *, catalog: Catalog) -> dict[str, Any]:
    """The summary as JSON data; each failure group says who acts (its category's owner)."""
    return {
        "connection": connection_json(summary.connection),
        "counts": {status.value: summary.counts[status] for status in STATUS_ORDER},
        "total": summary.total,
        "excluded": {reason.value: summary.excluded[reason] for reason in Reason},
        "actions": {
            side.value: {
                "created": summary.actions[side][Outcome.CREATED],
                "updated": summary.actions[side][Outcome.UPDATED],
            }
            for side in Side
        },
        "failures": [
            {
                "app": group.app.value,
                "category": group.category,
                "owner": catalog.owner(group.category).value,
                "fingerprint": group.fingerprint,
                "count": group.count,
            }
            for group in summary.failures
        ],
    }


def summary_json(summary: Summary, *, catalog: Catalog) -> str:
    return json_safe(
        orjson.dumps(summary_dict(summary, catalog=catalog), option=orjson.OPT_INDENT_2).decode()
    )


def state_text(connection: Connection) -> str:
    """The sync state in words, as the window's banner says it."""
    state = connection.state
    app = connection.app(state.app).name if state.app else None
    match state.phase:
        case Phase.SCANNING:
            return f"Scanning {app}" if app else "Scanning"
        case Phase.SYNCING:
            return f"Syncing {app}" if app else "Syncing"
        case Phase.ACTIVE:
            return "Active and listening for changes"
        case Phase.PAUSED:
            return "Paused"
        case Phase.LOCKED:
            other = state.locked_by
            if other is None:
                return "Waiting for another connection to finish"
            if not other.name:
                return f"Waiting for connection {other.id} to finish"
            return f"Waiting for {other.name} ({other.id}) to finish"
        case Phase.ERROR:
            return f"Error: {state.message}" if state.message else "Error"


def summary_text(summary: Summary) -> str:
    """The summary for a terminal: every value from the data is terminal-safe."""
    safe = terminal_text
    connection = summary.connection
    settings = connection.settings
    arrow = DIRECTION_ARROWS[settings.direction.value]
    a, b = safe(connection.app_a.name), safe(connection.app_b.name)
    avoid = "on" if settings.avoid_duplicates else "off"
    lines = [
        f"{safe(connection.name)} [{safe(connection.id)}]",
        f"  {a} {arrow} {b}, Avoid Duplicates {avoid}",
        f"  State: {safe(state_text(connection))}",
        "",
        f"  Contacts     {summary.total:>10,}",
    ]
    for status in STATUS_ORDER:
        line = f"  {STATUS_LABELS[status]:<12} {summary.counts[status]:>10,}"
        if status is Status.EXCLUDED:
            parts = ", ".join(
                f"{REASON_LABELS[reason]} {summary.excluded[reason]:,}" for reason in Reason
            )
            line += f"   ({parts})"
        lines.append(line)
    lines.append("")
    lines.append("  Actions (writes into each app)")
    for side in Side:
        done = summary.actions[side]
        lines.append(
            f"    {safe(connection.app(side).name):<20} {done[Outcome.CREATED]:>8,} created "
            f"{done[Outcome.UPDATED]:>8,} updated"
        )
    if summary.failures:
        lines.append("")
        lines.append("  Failure reasons")
        for group in summary.failures:
            lines.append(
                f"    {group.count:>7,}  {safe(connection.app(group.app).name)} · "
                f"{safe(group.category)} · {safe(group.fingerprint)}"
            )
    return "\n".join(lines)
