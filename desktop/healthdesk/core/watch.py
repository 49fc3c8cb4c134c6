"""Watch: which failure groups of a followed connection deserve a notification.

Pure: given two snapshots of a connection's failure groups (the failing contacts by app
that refused the write and error fingerprint, as the maintained counts hold them), say
which groups are **new** (no failing contact before, some now) and which **grew past the
threshold** (at most `threshold` contacts before, more now). A group that falls back to
the threshold or below and grows past it again is announced again; a group that only
grows further past it, or shrinks, is not. The first snapshot is the baseline: nothing
is announced for what was there when the watch began.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from healthdesk.core.model import Side

__all__ = ["DEFAULT_THRESHOLD", "AlertKind", "GroupKey", "WatchAlert", "alerts"]

#: A failure group: the app that refused the write, and the error's fingerprint.
GroupKey = tuple[Side, str]
DEFAULT_THRESHOLD = 10


class AlertKind(Enum):
    NEW = "new"
    GREW = "grew"


@dataclass(frozen=True, slots=True)
class WatchAlert:
    """One group worth a notification: its connection, app, fingerprint, the kind, and
    its failing contacts before and now."""

    connection_id: str
    app: Side
    fingerprint: str
    kind: AlertKind
    before: int
    after: int
    threshold: int


def alerts(
    connection_id: str,
    before: Mapping[GroupKey, int] | None,
    after: Mapping[GroupKey, int],
    threshold: int,
) -> list[WatchAlert]:
    """The groups of `after` that are new since `before`, or grew past `threshold`,
    largest first (then by app and fingerprint). `before` None: the baseline, no alert.
    ValueError when the threshold is below 1."""
    if threshold < 1:
        raise ValueError(f"the threshold must be 1 or more contacts, got {threshold}")
    if before is None:
        return []
    found = []
    for (app, fingerprint), count in after.items():
        was = before.get((app, fingerprint), 0)
        if count <= 0:
            continue
        if was <= 0:
            kind = AlertKind.NEW
        elif was <= threshold < count:
            kind = AlertKind.GREW
        else:
            continue
        found.append(
            WatchAlert(connection_id, app, fingerprint, kind, max(was, 0), count, threshold)
        )
    found.sort(key=lambda alert: (-alert.after, alert.app.value, alert.fingerprint))
    return found
