"""Retries asked of the sync service: which records a retry names, and its audit log.

A failing contact's write is retried through the record of its failure shown (the failed
event's app and id: the record the service failed to write from). `retry_targets` reads
them for a failure group (a `ContactFilter` of the Failing list) or for contacts chosen
by key; only failing contacts have one. Nothing here decides a status: the service
answers a retry with `queued` events, which the engine reads as pending (README, "What
each status means").

The audit log (`retry_audit`, one row per retry asked) says who asked, when, for which
group, how many contacts, of which connection, and what the service answered. A row is
written before the request goes (`record_retry`, outcome "sent") and completed with the
answer (`finish_retry`: "answered" and the counts, or "refused: <why>"), so a retry whose
answer never came (the window closed, the network went) stays in the log as sent.
`audit_entries` reads the rows the timeline shows between two events.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Engine

from healthdesk.core.model import Side, Status
from healthdesk.store import dialect
from healthdesk.store.db import raw_transaction
from healthdesk.store.pages import ContactFilter, filter_sql

__all__ = [
    "ANSWERED",
    "REFUSED",
    "SENT",
    "RetryAudit",
    "audit_entries",
    "finish_retry",
    "latest_seq",
    "os_user",
    "record_retry",
    "retry_targets",
]


SENT = "sent"
ANSWERED = "answered"
REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class RetryAudit:
    """One retry asked of the service (a row of `retry_audit`; `id` 0 before it is
    written). `scope` names the failure group, or the selection. `outcome` is SENT (no
    answer recorded), ANSWERED (the counts say what the service did) or "refused: <why>".
    """

    connection_id: str
    at: str
    agent: str
    scope: str
    requested: int
    queued: int
    already_queued: int
    unknown: int
    service_url: str
    request_key: str
    after_seq: int
    outcome: str = SENT
    id: int = 0

    @property
    def refused(self) -> str | None:
        """Why the retry was not done, when it was refused (else None)."""
        prefix = f"{REFUSED}: "
        return self.outcome[len(prefix) :] if self.outcome.startswith(prefix) else None


def os_user() -> str:
    """The OS user's login name: who asked a retry, unless the agent gave a name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the passwd file
        return "unknown user"


def retry_targets(
    engine: Engine,
    connection_id: str,
    *,
    contact_filter: ContactFilter | None = None,
    keys: Sequence[int] | None = None,
) -> list[tuple[Side, str]]:
    """The (app, record id) whose write each failing contact's retry names: of the
    contacts of a failure group (`contact_filter`, a Failing list's) or of the contacts
    `keys` (those not failing are left out), in the lists' key order."""
    if (contact_filter is None) == (keys is None):
        raise ValueError("give a contact_filter or keys, one of them")
    if contact_filter is not None and contact_filter.status is not Status.FAILING:
        raise ValueError("only failing contacts can be retried")
    with engine.connect() as db:
        if contact_filter is not None:
            where, params = filter_sql(connection_id, contact_filter, db)
        else:
            assert keys is not None
            within, values = dialect.in_values("c.rid", list(keys), dialect.dialect_of(db))
            where = f"c.connection_id = ? AND c.status = ? AND {within}"
            params = [connection_id, Status.FAILING.value, values]
        sql = f"""
            SELECT e.app, e.ext_id FROM contacts c
            JOIN events e ON e.connection_id = c.connection_id AND e.seq = c.failure_seq
            WHERE {where} ORDER BY c.rid
        """
        return [(Side(app), ext_id) for app, ext_id in db.exec_driver_sql(sql, tuple(params))]


def latest_seq(engine: Engine, connection_id: str) -> int:
    """The connection's latest event seq (0 without events): where an audit entry goes."""
    with engine.connect() as db:
        value = db.exec_driver_sql(
            "SELECT MAX(seq) FROM events WHERE connection_id = ?", (connection_id,)
        ).scalar_one()
    return int(value or 0)


def record_retry(engine: Engine, audit: RetryAudit) -> RetryAudit:
    """Write one retry to the audit log; return it with its id."""
    with raw_transaction(engine) as cursor:
        # PostgreSQL's cursors have no lastrowid: the insert returns the id there.
        returning = " RETURNING id" if dialect.of_cursor(cursor) == dialect.POSTGRES else ""
        cursor.execute(
            """
            INSERT INTO retry_audit (connection_id, at, agent, scope, requested, queued,
                already_queued, unknown, service_url, request_key, after_seq, outcome)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
            + returning,
            (
                audit.connection_id,
                audit.at,
                audit.agent,
                audit.scope,
                audit.requested,
                audit.queued,
                audit.already_queued,
                audit.unknown,
                audit.service_url,
                audit.request_key,
                audit.after_seq,
                audit.outcome,
            ),
        )
        new_id = cursor.fetchone()[0] if returning else cursor.lastrowid
    assert new_id is not None
    return replace(audit, id=new_id)


def finish_retry(
    engine: Engine,
    audit: RetryAudit,
    *,
    queued: int = 0,
    already_queued: int = 0,
    unknown: int = 0,
    refused: str | None = None,
) -> RetryAudit:
    """Complete a retry's row with the service's answer (the counts), or with why it was
    refused; return it as stored."""
    done = replace(
        audit,
        queued=queued,
        already_queued=already_queued,
        unknown=unknown,
        outcome=ANSWERED if refused is None else f"{REFUSED}: {refused}",
    )
    with raw_transaction(engine) as cursor:
        cursor.execute(
            "UPDATE retry_audit SET queued = ?, already_queued = ?, unknown = ?, outcome = ? "
            "WHERE id = ?",
            (done.queued, done.already_queued, done.unknown, done.outcome, audit.id),
        )
    return done


def audit_entries(
    engine: Engine, connection_id: str, *, low_seq: int | None, before_seq: int | None
) -> list[RetryAudit]:
    """The retries whose `after_seq` is in [low_seq, before_seq) (None: unbounded), the
    most recent first: those the timeline shows among the events of that range."""
    low = low_seq if low_seq is not None else -1
    high = before_seq if before_seq is not None else 2**63 - 1
    sql = """
        SELECT id, connection_id, at, agent, scope, requested, queued, already_queued,
            unknown, service_url, request_key, after_seq, outcome
        FROM retry_audit
        WHERE connection_id = ? AND after_seq >= ? AND after_seq < ?
        ORDER BY after_seq DESC, id DESC
    """
    with engine.connect() as db:
        return [
            RetryAudit(
                id=row[0],
                connection_id=row[1],
                at=row[2],
                agent=row[3],
                scope=row[4],
                requested=row[5],
                queued=row[6],
                already_queued=row[7],
                unknown=row[8],
                service_url=row[9],
                request_key=row[10],
                after_seq=row[11],
                outcome=row[12],
            )
            for row in db.exec_driver_sql(sql, (connection_id, low, high))
        ]
