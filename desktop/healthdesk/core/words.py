"""The words every view uses for the same things: statuses, exclusion reasons, actions and
counts. One place, so that a tab, a search result, a CSV and the CLI never disagree.
Pure Python."""

from __future__ import annotations

from typing import Final

from healthdesk.core.model import Outcome, Reason, Status

__all__ = [
    "ACTION_OUTCOMES",
    "ACTION_VERBS",
    "REASON_LABELS",
    "STATUS_LABELS",
    "STATUS_WORDS",
    "action_title",
    "plural",
]

#: A status list's title ("Duplicates": the list of them).
STATUS_LABELS: Final = {
    Status.IN_SYNC: "In sync",
    Status.EXCLUDED: "Excluded",
    Status.DUPLICATE: "Duplicates",
    Status.FAILING: "Failing",
    Status.PENDING: "Pending",
}
#: One contact's status ("Duplicate": this contact is one).
STATUS_WORDS: Final = {
    Status.IN_SYNC: "In sync",
    Status.EXCLUDED: "Excluded",
    Status.DUPLICATE: "Duplicate",
    Status.FAILING: "Failing",
    Status.PENDING: "Pending",
}
REASON_LABELS: Final = {Reason.NO_RULE_MATCH: "no rule match", Reason.NO_EMAIL: "no email"}

#: An action of the summary is a write into an app: a `created` or `updated` event whose
#: target is that app (the events' other outcomes wrote nothing).
ACTION_OUTCOMES: Final = frozenset({Outcome.CREATED, Outcome.UPDATED})
ACTION_VERBS: Final = {Outcome.CREATED: "Created", Outcome.UPDATED: "Updated"}


def action_title(outcome: Outcome, app_name: str) -> str:
    """ "Created in Mailchimp"."""
    return f"{ACTION_VERBS[outcome]} in {app_name}"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """ "1 contact", "1,234 contacts" ("1 entry", "3 entries" with `nouns`)."""
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {nouns or noun + 's'}"
