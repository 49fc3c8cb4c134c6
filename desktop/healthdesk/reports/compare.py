"""A comparison (`core.compare.Comparison`) as the CLI prints it: JSON, or a readable
table. `compare` and `whatif` both print one; the keys of the counts are those of
`healthdesk summary --json`."""

from __future__ import annotations

from typing import Any

import orjson

from healthdesk.core.compare import ABSENT, PLACE_ORDER, Comparison, Place
from healthdesk.core.model import STATUS_ORDER, Connection
from healthdesk.core.safe_text import json_safe, terminal_text
from healthdesk.core.words import STATUS_LABELS

#: A place in words: a status's list title, or "(absent)".
PLACE_LABELS: dict[Place, str] = {
    **{status.value: STATUS_LABELS[status] for status in STATUS_ORDER},
    ABSENT: "(absent)",
}


def comparison_dict(comparison: Comparison, *, failures: bool = True) -> dict[str, Any]:
    """`before`, `after`, `moves` (contacts whose place changed) and, with `failures`,
    the failure groups that changed."""
    data: dict[str, Any] = {
        "connection": comparison.connection_id,
        "before": {status.value: comparison.before[status] for status in STATUS_ORDER},
        "after": {status.value: comparison.after[status] for status in STATUS_ORDER},
        "moves": [
            {"from": move.from_, "to": move.to, "count": move.count} for move in comparison.changed
        ],
    }
    if failures:
        data["failures"] = [
            {
                "app": change.app.value,
                "category": change.category,
                "fingerprint": change.fingerprint,
                "before": change.before,
                "after": change.after,
            }
            for change in comparison.failures
        ]
    return data


def comparison_json(comparison: Comparison, *, failures: bool = True) -> str:
    return json_safe(
        orjson.dumps(
            comparison_dict(comparison, failures=failures), option=orjson.OPT_INDENT_2
        ).decode()
    )


def comparison_text(
    comparison: Comparison,
    connection: Connection,
    *,
    before: str,
    after: str,
    failures: bool = True,
) -> str:
    """The counts side by side, the moves as a from/to matrix, the failure groups that
    changed. `before` and `after` name the two states (a file, "now", "what if")."""
    safe = terminal_text
    lines = [f"{safe(connection.name)} [{safe(connection.id)}]", ""]
    width = max(len(before), len(after), 8)
    lines.append(f"  {'':<12} {before:>{width}} {after:>{width}} {'change':>9}")
    for status in STATUS_ORDER:
        old, new = comparison.before[status], comparison.after[status]
        lines.append(
            f"  {STATUS_LABELS[status]:<12} {old:>{width},} {new:>{width},} {_signed(new - old):>9}"
        )
    total_old, total_new = sum(comparison.before.values()), sum(comparison.after.values())
    lines.append(
        f"  {'Contacts':<12} {total_old:>{width},} {total_new:>{width},} "
        f"{_signed(total_new - total_old):>9}"
    )
    lines.append("")
    moved = comparison.changed
    if not moved:
        lines.append("  No contact changed status.")
    else:
        lines.append(f"  Moves ({sum(m.count for m in moved):,} contacts changed status)")
        places = [p for p in PLACE_ORDER if any(p in (m.from_, m.to) for m in moved)]
        cell = max(10, *(len(PLACE_LABELS[p]) for p in places))
        corner = "from \\ to"
        header = " ".join(f"{PLACE_LABELS[p]:>{cell}}" for p in places)
        lines.append(f"    {corner:<{cell}} {header}")
        for source in places:
            counts = [
                comparison.count(source, target) if source != target else 0 for target in places
            ]
            if not any(counts):
                continue
            shown = " ".join(f"{(f'{n:,}' if n else '·'):>{cell}}" for n in counts)
            lines.append(f"    {PLACE_LABELS[source]:<{cell}} {shown}")
    if failures:
        lines.append("")
        if not comparison.failures:
            lines.append("  No failure group changed.")
        else:
            lines.append("  Failure groups that changed")
            for change in comparison.failures:
                lines.append(
                    f"    {change.before:>7,} → {change.after:<7,} {_signed(change.delta):>8}  "
                    f"{safe(connection.app(change.app).name)} · {safe(change.category)} · "
                    f"{safe(change.fingerprint)}"
                )
    return "\n".join(lines)


def _signed(value: int) -> str:
    return f"{value:+,}" if value else "0"


__all__ = ["PLACE_LABELS", "comparison_dict", "comparison_json", "comparison_text"]
