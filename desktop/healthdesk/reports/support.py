"""The support report of one connection: what a customer or an engineer needs to know,
gathered from the store (never decided again), ready to be written as HTML or PDF.

`build_report` reads the connection's summary (the maintained counts, as `healthdesk
summary` does), its largest failure groups with the catalog's meaning, fix and owner, and
a few contacts of each group. A `Comparison` (the moves since a compared snapshot, as
`healthdesk compare` computes them) may be given; the report shows it only then.

`redact=True` makes a report that may leave the company: every contact's name, email and
record ids are replaced by pseudonyms from a counter map (`Pseudonyms`: the same contact
always gets the same number within a report, the numbers say nothing of the data), raw
error messages are left out (the group's fingerprint, which masks customer values, stands
for them) and the sync state's message is masked the same way.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog, Owner
from healthdesk.core.fingerprint import fingerprint
from healthdesk.core.model import STATUS_ORDER, Connection, Side, Status
from healthdesk.core.rules import describe_rule
from healthdesk.reports.summary import state_text
from healthdesk.store import pages
from healthdesk.store.queries import Summary, summary

__all__ = [
    "ABSENT",
    "Comparison",
    "GroupSection",
    "Move",
    "Pseudonyms",
    "ReportCancelled",
    "RulesOfApp",
    "SampleContact",
    "SupportReport",
    "build_report",
]

#: The `from`/`to` of a move for a contact present in only one of the two snapshots.
ABSENT = "absent"
#: Failure groups shown in detail (the rest are counted in one line).
TOP_GROUPS = 10
#: Contacts shown per failure group.
SAMPLES_PER_GROUP = 3

_PLACES = frozenset({ABSENT, *(status.value for status in Status)})
_EMAIL = re.compile(r"[^\s@<>\"'(),;:“”]{1,64}@[\w.-]+")


class ReportCancelled(Exception):
    """The report was cancelled before it was complete; nothing was written."""


@dataclass(frozen=True, slots=True)
class Move:
    """`count` contacts whose status was `source` before and is `target` now (either may
    be `ABSENT`)."""

    source: str
    target: str
    count: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """The moves since a compared snapshot and the counts before and after it.

    `label` says what was compared ("export of 2026-11-20", a file name); may be "".
    """

    moves: tuple[Move, ...]
    before: Mapping[str, int]
    after: Mapping[str, int]
    label: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, label: str = "") -> Comparison:
        """From `healthdesk compare --json`'s answer: `before`, `after` (the five counts)
        and `moves` (`{from, to, count}`); other keys are ignored. ValueError when it is
        not such an answer."""
        try:
            before = _counts(data["before"], "before")
            after = _counts(data["after"], "after")
            moves = []
            for number, move in enumerate(data["moves"], 1):
                source, target, count = move["from"], move["to"], move["count"]
                if source not in _PLACES or target not in _PLACES:
                    raise ValueError(f"move #{number}: {source!r} -> {target!r} is not a move")
                if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                    raise ValueError(f"move #{number}: count {count!r} is not a whole number")
                moves.append(Move(source, target, count))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a comparison: {exc}") from None
        return cls(tuple(moves), before, after, label)


def _counts(value: Any, name: str) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{name}: expected the counts per status")
    counts = {}
    for status in STATUS_ORDER:
        count = value.get(status.value, 0)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"{name}.{status.value}: {count!r} is not a whole number")
        counts[status.value] = count
    return counts


@dataclass(frozen=True, slots=True)
class SampleContact:
    """One contact shown under its failure group (pseudonyms when redacted).

    `records`: (app name, record id) of each of its records. `error`: the raw error as
    the app sent it ("" when redacted).
    """

    name: str
    email: str
    records: tuple[tuple[str, str], ...]
    failed_at: str
    error: str


@dataclass(frozen=True, slots=True)
class GroupSection:
    """A failure group with the catalog's words for it and a few of its contacts."""

    app: Side
    app_name: str
    category: str
    owner: Owner
    fingerprint: str
    count: int
    explanation: str
    fix: str
    samples: tuple[SampleContact, ...]


@dataclass(frozen=True, slots=True)
class RulesOfApp:
    """Which contacts of one app the connection syncs, in words; `syncs` is False when
    none do (one-way from the other app, or no rule)."""

    app_name: str
    lines: tuple[str, ...]
    syncs: bool


@dataclass(frozen=True, slots=True)
class SupportReport:
    """Everything a support report shows; `other_groups` failure groups with
    `other_contacts` contacts in all are beyond the ones in `groups`."""

    connection: Connection
    state: str
    rules: tuple[RulesOfApp, ...]
    summary: Summary
    groups: tuple[GroupSection, ...]
    other_groups: int
    other_contacts: int
    comparison: Comparison | None
    redacted: bool
    generated_at: str

    @property
    def counts(self) -> dict[Status, int]:
        return self.summary.counts


class Pseudonyms:
    """Stable stand-ins for contacts: the first contact seen is "Contact 1", its records
    "A-1"/"B-1" and its email "contact-1@redacted.invalid"; the same contact (any of its
    records) always gets the same number. A counter map, so the numbers carry nothing of
    the data; kept for one report only."""

    def __init__(self) -> None:
        self._numbers: dict[tuple[Side, str], int] = {}
        self._next = 1

    def number(self, records: Sequence[tuple[Side, str]]) -> int:
        """The number of the contact holding `records` (app, id): known or new."""
        for record in records:
            found = self._numbers.get(record)
            if found is not None:
                break
        else:
            found = self._next
            self._next += 1
        for record in records:
            self._numbers.setdefault(record, found)
        return found

    def name(self, number: int) -> str:
        return f"Contact {number}"

    def email(self, number: int) -> str:
        return f"contact-{number}@redacted.invalid"

    def record_id(self, side: Side, number: int) -> str:
        return f"{side.value.upper()}-{number}"


def build_report(
    engine: Engine,
    connection: Connection,
    catalog: Catalog,
    *,
    comparison: Comparison | None = None,
    redact: bool = False,
    top: int = TOP_GROUPS,
    samples: int = SAMPLES_PER_GROUP,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> SupportReport:
    """The report of `connection`, from what the store holds.

    `progress(done, total)` is told of each step (the counts, then each group's
    contacts); `cancelled()` is asked between steps and raises ReportCancelled when true.
    """
    stop = cancelled or (lambda: False)
    found = summary(engine, connection, catalog)
    shown = found.failures[: max(top, 0)]
    total_steps = 1 + len(shown)
    if progress is not None:
        progress(1, total_steps)
    pseudonyms = Pseudonyms() if redact else None
    groups = []
    for number, group in enumerate(shown, 2):
        if stop():
            raise ReportCancelled
        reason = catalog.classify(connection.app(group.app).kind, group.fingerprint)
        contacts = pages.page(
            engine,
            connection.id,
            pages.ContactFilter(
                Status.FAILING, failure_app=group.app, category_fingerprints=(group.fingerprint,)
            ),
            sort=pages.SortKey.NAME,
            descending=False,
            offset=0,
            limit=max(samples, 0),
        )
        groups.append(
            GroupSection(
                app=group.app,
                app_name=connection.app(group.app).name,
                category=reason.category,
                owner=reason.owner,
                fingerprint=group.fingerprint,
                count=group.count,
                explanation=reason.explanation,
                fix=reason.fix,
                samples=tuple(_sample(c, connection, pseudonyms) for c in contacts),
            )
        )
        if progress is not None:
            progress(number, total_steps)
    rest = found.failures[len(shown) :]
    shown_connection = _masked(connection) if redact else connection
    return SupportReport(
        connection=shown_connection,
        state=state_text(shown_connection),
        rules=tuple(_rules(shown_connection, side, redact=redact) for side in Side),
        summary=dataclasses.replace(found, connection=shown_connection),
        groups=tuple(groups),
        other_groups=len(rest),
        other_contacts=sum(group.count for group in rest),
        comparison=comparison,
        redacted=redact,
        generated_at=(now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _sample(
    contact: ContactView, connection: Connection, pseudonyms: Pseudonyms | None
) -> SampleContact:
    failure = contact.failure
    failed_at = failure.at if failure is not None else ""
    when = f"{failed_at[:10]} {failed_at[11:16]}" if len(failed_at) >= 16 else failed_at
    if pseudonyms is None:
        error = ""
        if failure is not None:
            error = ": ".join(part for part in (failure.code, failure.message) if part)
        return SampleContact(
            name=contact.name,
            email=contact.email,
            records=tuple((connection.app(r.app).name, r.id) for r in contact.records),
            failed_at=when,
            error=error,
        )
    number = pseudonyms.number([(r.app, r.id) for r in contact.records])
    return SampleContact(
        name=pseudonyms.name(number),
        email=pseudonyms.email(number) if contact.email else "",
        records=tuple(
            (connection.app(r.app).name, pseudonyms.record_id(r.app, number))
            for r in contact.records
        ),
        failed_at=when,
        error="",
    )


def _rules(connection: Connection, side: Side, *, redact: bool) -> RulesOfApp:
    settings = connection.settings
    app = connection.app(side).name
    rules = settings.rules_of(side)
    if not settings.direction.syncs_from(side):
        other = connection.app(side.other).name
        return RulesOfApp(app, (f"Nothing: the connection is one-way, from {other}",), False)
    if not rules:
        return RulesOfApp(app, (f"Nothing: no rule syncs {app} contacts",), False)
    lines = []
    for number, rule in enumerate(rules):
        line = f"{'or ' if number else ''}{describe_rule(rule, app)} (rule {rule.id})"
        # A rule may name a person's address ("email equals ..."): not in a redacted report.
        lines.append(_EMAIL.sub("<email>", line) if redact else line)
    return RulesOfApp(app, tuple(lines), True)


def _masked(connection: Connection) -> Connection:
    """The connection with its state's message masked as fingerprints mask errors (an
    error message may quote a customer's address or values)."""
    message = connection.state.message
    if not message:
        return connection
    state = dataclasses.replace(connection.state, message=fingerprint("", message))
    return dataclasses.replace(connection, state=state)
