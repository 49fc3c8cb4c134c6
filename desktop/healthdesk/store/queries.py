"""Read what the engine decided: connections, counts, summaries, contact lists, search.

Every figure here is a count or a page of the `contacts` table (the engine's stored
decisions) or of the event history; nothing here decides a status.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection as SAConnection

from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import STATUS_ORDER, Connection, Outcome, Reason, Side, Status
from healthdesk.core.search_text import Pattern
from healthdesk.store import dialect
from healthdesk.store.codec import CONNECTION_COLUMNS, connection_from_row
from healthdesk.store.contact_rows import CONTACT_COLUMNS, CONTACT_JOINS, contact_from_row
from healthdesk.store.counts import read_counts
from healthdesk.store.search_index import search


class UnknownConnection(LookupError):
    """No such connection, or several and none chosen; the message lists the choices."""


class UnknownContact(LookupError):
    """No visible contact holds the record asked for (unknown, hidden or deleted)."""


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """Failing contacts that share an app, a category and a fingerprint."""

    app: Side
    category: str
    fingerprint: str
    count: int


@dataclass(slots=True)
class Summary:
    connection: Connection
    counts: dict[Status, int]
    excluded: dict[Reason, int]
    #: Writes into each app: {"a": {"created": n, "updated": n}, "b": {...}}
    actions: dict[Side, dict[Outcome, int]]
    failures: list[FailureGroup] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _raw(connection: SAConnection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    return list(connection.exec_driver_sql(sql, tuple(params)))


@contextmanager
def _snapshot(engine: Engine) -> Iterator[SAConnection]:
    """A connection whose reads all see one state of the database, even while an import
    commits beside them (WAL: a read transaction keeps its snapshot; PostgreSQL: a
    REPEATABLE READ transaction)."""
    if dialect.is_postgres(engine):
        with engine.connect() as connection:
            connection.execution_options(isolation_level="REPEATABLE READ")
            try:
                yield connection
            finally:
                connection.rollback()
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("BEGIN")
        try:
            yield connection
        finally:
            connection.exec_driver_sql("ROLLBACK")


def list_connections(engine: Engine) -> list[Connection]:
    with engine.connect() as connection:
        rows = _raw(connection, f"SELECT {CONNECTION_COLUMNS} FROM connections ORDER BY name, id")
    return [connection_from_row(row) for row in rows]


def get_connection(engine: Engine, connection_id: str | None) -> Connection:
    """The connection `connection_id`, or the only one when None.

    Raises UnknownConnection naming the connections there are.
    """
    connections = list_connections(engine)
    if not connections:
        raise UnknownConnection("the database holds no connection (import a snapshot first)")
    choices = ", ".join(f"{c.id} ({c.name})" for c in connections)
    if connection_id is None:
        if len(connections) == 1:
            return connections[0]
        raise UnknownConnection(f"several connections, choose one with --connection: {choices}")
    for candidate in connections:
        if candidate.id == connection_id:
            return candidate
    raise UnknownConnection(f"no connection {connection_id!r}; there are: {choices}")


def counts(engine: Engine, connection_id: str) -> dict[Status, int]:
    with engine.connect() as connection:
        return _counts(connection, connection_id)


def _counts(connection: SAConnection, connection_id: str) -> dict[Status, int]:
    return read_counts(connection, connection_id).statuses


def summary(engine: Engine, connection: Connection, catalog: Catalog) -> Summary:
    """The counts, exclusion reasons, actions and failure groups of a connection, from the
    counts the ingest maintains (a few rows, whatever the size of the connection)."""
    with _snapshot(engine) as db:
        found = read_counts(db, connection.id)
    failures = [
        FailureGroup(
            app=group.app,
            category=catalog.classify(connection.app(group.app).kind, group.fingerprint).category,
            fingerprint=group.fingerprint,
            count=group.count,
        )
        for group in found.failures
    ]
    failures.sort(key=lambda group: (-group.count, group.app, group.category, group.fingerprint))
    return Summary(
        connection=connection,
        counts=found.statuses,
        excluded=found.excluded,
        actions=found.actions,
        failures=failures,
    )


_CONTACT_SELECT = f"SELECT {CONTACT_COLUMNS} FROM contacts c {CONTACT_JOINS}"


def iter_contacts(
    engine: Engine, connection_id: str, statuses: Sequence[Status] = STATUS_ORDER
) -> Iterator[ContactView]:
    """Every visible contact of the given statuses, status by status, by name; streamed."""
    with engine.connect() as db:
        name = dialect.nocase("c.name", dialect.POSTGRES) if dialect.is_postgres(db) else "c.name"
        for status in statuses:
            result = db.exec_driver_sql(
                _CONTACT_SELECT + " WHERE c.connection_id = ? AND c.status = ? "
                f"ORDER BY {name}, c.rid",
                (connection_id, status.value),
            )
            for row in result:
                yield contact_from_row(row)


def get_contacts(engine: Engine, keys: Sequence[int]) -> list[ContactView]:
    """The contacts stored under `keys`, in that order (missing ones left out)."""
    found: dict[int, ContactView] = {}
    with engine.connect() as db:
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for row in db.exec_driver_sql(
                _CONTACT_SELECT + f" WHERE c.rid IN ({marks})", tuple(chunk)
            ):
                found[row[0]] = contact_from_row(row)
    return [found[key] for key in keys if key in found]


@dataclass(frozen=True, slots=True)
class Found:
    """The first contacts that match a search, best first, and how many match."""

    contacts: list[ContactView]
    total: int
    #: More than `total` contacts match (a short query matching very many).
    more: bool = False


def find(engine: Engine, connection_id: str, query: str, *, limit: int = 200) -> Found:
    """Contacts one of whose records' name, email or app id contains `query`.

    Compared folded (core.search_text: case, accents and control characters ignored).
    Ranked: contacts where the query starts a word (of a name, an email, an app id)
    first, then the others; each group by name (unnamed last). `Found.total` is exact up
    to store.search_index.EXACT_LIMIT matches; beyond, `Found.more` says there are more.
    """
    pattern = Pattern.of(query)
    if pattern is None:
        return Found([], 0)
    if dialect.is_postgres(engine):
        from healthdesk.store import team_search

        with _snapshot(engine) as db:
            hits = team_search.search(db, connection_id, pattern, limit)
        return Found(get_contacts(engine, hits.rids), hits.total, more=hits.more)
    with _snapshot(engine) as db:
        dbapi = db.connection.driver_connection
        assert isinstance(dbapi, sqlite3.Connection)
        hits = search(dbapi, connection_id, pattern, limit)
    return Found(get_contacts(engine, hits.rids), hits.total, more=hits.more)
