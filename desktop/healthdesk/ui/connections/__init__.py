"""The connections of the database: the sidebar list, the sync-state banner, the configuration.

Shared words and colours of a connection's state live here, so that the list's badge and
the banner always agree. Customer text (connection and app names, rule values, error
messages) is shown as plain text everywhere; `ui.text.plain_tooltip` makes a tool tip that Qt
cannot mistake for rich text.
"""

from __future__ import annotations

from dataclasses import dataclass

from healthdesk.core.model import Connection, Direction, Phase
from healthdesk.reports.summary import DIRECTION_ARROWS
from healthdesk.ui.style import ToneName

__all__ = ["PHASE_BADGES", "Badge", "apps_text", "direction_text"]


@dataclass(frozen=True, slots=True)
class Badge:
    """How a sync phase looks: a short word and its tone (`ui.style.tone` gives its
    colours in the scheme shown)."""

    text: str
    tone: ToneName


PHASE_BADGES: dict[Phase, Badge] = {
    Phase.ACTIVE: Badge("Active", "success"),
    Phase.SCANNING: Badge("Scanning", "info"),
    Phase.SYNCING: Badge("Syncing", "info"),
    Phase.PAUSED: Badge("Paused", "neutral"),
    Phase.LOCKED: Badge("Waiting", "warning"),
    Phase.ERROR: Badge("Error", "error"),
}


def apps_text(connection: Connection) -> str:
    """ "HubSpot ⇄ Mailchimp", "Salesforce → HubSpot": the two apps and the direction."""
    arrow = DIRECTION_ARROWS[connection.settings.direction.value]
    return f"{connection.app_a.name} {arrow} {connection.app_b.name}"


def direction_text(connection: Connection) -> str:
    """The direction in words: "Two-way" or "One-way, from HubSpot to Mailchimp"."""
    direction = connection.settings.direction
    if direction is Direction.TWO_WAY:
        return "Two-way"
    source = direction.source
    assert source is not None
    return f"One-way, from {connection.app(source).name} to {connection.app(source.other).name}"
