"""Pages of one status list: exact counts, sorted windows of rows, a contact's position.

What the contact tables of the window read, a window of rows at a time, so that a list of
a million contacts is never loaded whole. Everything here reads the `contacts` table (the
engine's stored decisions) and the records and events it names; nothing decides.

Sorting is done in SQL, always with the contact's rid as the last key, so the order is
total and stable: the same database gives the same page for the same arguments, and a
descending order is exactly the ascending one reversed. SQLite puts NULL first in
ascending order (last in descending); `position_of` counts the same way. On PostgreSQL
(the team store) store.dialect makes the order the same: names and emails folded as
NOCASE does, NULLs placed as SQLite places them, categories read from a small temporary
table of the connection's failure groups instead of a Python function.

Costs (measured on 200,000 contacts, 85,000 in one list; see ui/contacts/table_model.py):
- `count`: one covering-index range (`ix_contacts_list`), ~10 ms per 100,000 rows.
- `page` sorted by `SortKey.NAME` walks `ix_contacts_list` (its entries end with the rid,
  so `ORDER BY name, rid` needs no sort) and by `SortKey.FINGERPRINT` walks
  `ix_contacts_failure`: a few ms at any offset. Every other key sorts the whole filtered
  list on each call (~200 ms per 100,000 rows); for those, `keys` returns the whole order
  once (8 bytes per row) and `rows_by_key` fills windows of it.
- `position_of` counts the rows before a contact: an index range for `NAME`, a scan of
  the list for the other keys.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection as SAConnection

from healthdesk.core.contacts import ContactView
from healthdesk.core.model import Side, Status
from healthdesk.store import dialect
from healthdesk.store.contact_rows import CONTACT_COLUMNS, CONTACT_JOINS, contact_from_row

__all__ = [
    "INDEXED_SORTS",
    "CategoryOf",
    "ContactFilter",
    "SortKey",
    "count",
    "keys",
    "page",
    "position_of",
    "row_for",
    "rows_by_key",
]

#: The category of a failure, given the app that refused it and its fingerprint (the
#: window passes the catalog's classification): needed to sort by `SortKey.CATEGORY`.
CategoryOf = Callable[[Side, str], str]


@dataclass(frozen=True, slots=True)
class ContactFilter:
    """Which contacts a list shows: one status, optionally narrowed to failure groups.

    `failure_app`: only contacts whose failure was refused by this app.
    `category_fingerprints`: None for no fingerprint filter; a tuple for only the
    contacts whose failure has one of these fingerprints (an empty tuple matches nothing).
    """

    status: Status
    failure_app: Side | None = None
    category_fingerprints: tuple[str, ...] | None = None


class SortKey(StrEnum):
    """The columns a list can be sorted by (in SQL; the rid breaks ties)."""

    NAME = "name"
    EMAIL = "email"
    #: The app of a single record (pairs first).
    APP = "app"
    #: The app id of the contact's anchor record (a single record's; a pair's a-record's).
    ID = "id"
    A_ID = "a_id"
    B_ID = "b_id"
    SINCE = "since"
    REASON = "reason"
    #: A duplicate's original, by name.
    ORIGINAL = "original"
    FAILURE_APP = "failure_app"
    #: The failure's catalog category: needs `category_of`.
    CATEGORY = "category"
    ERROR_MESSAGE = "error_message"
    FAILURE_AT = "failure_at"
    FINGERPRINT = "fingerprint"
    OPPOSITE_DELETED = "opposite_deleted"


_JOIN_ANCHOR = "JOIN records r ON r.rid = c.rid"
_JOIN_A = "LEFT JOIN records ra ON ra.rid = c.a_rid"
_JOIN_B = "LEFT JOIN records rb ON rb.rid = c.b_rid"
_JOIN_ORIGINAL = "LEFT JOIN records rd ON rd.rid = c.duplicate_of"
_JOIN_EVENT = "LEFT JOIN events e ON e.connection_id = c.connection_id AND e.seq = c.failure_seq"

#: Per sort key: the join its expression needs (or "") and the expression.
_SORTS: dict[SortKey, tuple[str, str]] = {
    SortKey.NAME: ("", "c.name"),
    SortKey.EMAIL: ("", "c.email"),
    SortKey.APP: ("", "c.side"),
    SortKey.ID: (_JOIN_ANCHOR, "r.ext_id"),
    SortKey.A_ID: (_JOIN_A, "ra.ext_id"),
    SortKey.B_ID: (_JOIN_B, "rb.ext_id"),
    SortKey.SINCE: ("", "c.since"),
    SortKey.REASON: ("", "c.reason"),
    SortKey.ORIGINAL: (_JOIN_ORIGINAL, "rd.name"),
    SortKey.FAILURE_APP: ("", "c.failure_app"),
    SortKey.CATEGORY: ("", "hd_category(c.failure_app, c.fingerprint)"),
    SortKey.ERROR_MESSAGE: (_JOIN_EVENT, "e.error_message"),
    SortKey.FAILURE_AT: ("", "c.failure_at"),
    SortKey.FINGERPRINT: ("", "c.fingerprint"),
    SortKey.OPPOSITE_DELETED: ("", "c.opposite_deleted"),
}
assert set(_SORTS) == set(SortKey)

#: Sort keys an index serves in order (no sort of the list): pages at any offset are cheap.
INDEXED_SORTS = frozenset({SortKey.NAME, SortKey.FINGERPRINT})

# SQLite virtual machine steps between two checks of `cancelled` in `keys`.
_CANCEL_CHECK_STEPS = 20_000


def _where(
    connection_id: str, contact_filter: ContactFilter, db: SAConnection
) -> tuple[str, list[Any]]:
    sql = "c.connection_id = ? AND c.status = ?"
    params: list[Any] = [connection_id, contact_filter.status.value]
    if contact_filter.failure_app is not None:
        sql += " AND c.failure_app = ?"
        params.append(contact_filter.failure_app.value)
    if contact_filter.category_fingerprints is not None:
        # One JSON parameter rather than one per fingerprint: a category may have more
        # fingerprints than SQLite takes variables. The index still serves the IN.
        within, values = dialect.in_values(
            "c.fingerprint", contact_filter.category_fingerprints, dialect.dialect_of(db)
        )
        sql += f" AND {within}"
        params.append(values)
    return sql, params


def filter_sql(
    connection_id: str, contact_filter: ContactFilter, db: SAConnection
) -> tuple[str, list[Any]]:
    """The SQL condition (on contacts aliased `c`) of a list's filter, and its parameters."""
    return _where(connection_id, contact_filter, db)


def _sort(sort: SortKey, category_of: CategoryOf | None, db: SAConnection) -> tuple[str, str]:
    if sort is SortKey.CATEGORY and category_of is None:
        raise ValueError("sorting by category needs category_of")
    join, expr = _SORTS[sort]
    if dialect.is_postgres(db):
        if sort in (SortKey.NAME, SortKey.EMAIL):
            # SQLite's columns are NOCASE; PostgreSQL's index ix_contacts_name folds too.
            expr = dialect.nocase(expr, dialect.POSTGRES)
        elif sort is SortKey.CATEGORY:
            expr = _PG_CATEGORY
    return join, expr


def _order(expr: str, direction: str, db: SAConnection) -> str:
    nulls = dialect.null_order(direction == "DESC", dialect.dialect_of(db))
    return f"{expr} {direction}{nulls}, c.rid {direction}"


#: On PostgreSQL: the category of a contact's failure, from `_install_category`'s table.
_PG_CATEGORY = (
    "COALESCE((SELECT k.category FROM hd_categories k "
    "WHERE k.app = c.failure_app AND k.fp = c.fingerprint), '')"
)


def _install_category(db: SAConnection, category_of: CategoryOf | None, connection_id: str) -> None:
    """Make `hd_category(app, fingerprint)` callable in SQL on this connection (on
    PostgreSQL: fill the temporary table `_PG_CATEGORY` reads)."""
    if category_of is None:
        return
    if dialect.is_postgres(db):
        db.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS hd_categories "
            '(app TEXT COLLATE "C", fp TEXT COLLATE "C", category TEXT COLLATE "C", '
            "PRIMARY KEY (app, fp))"
        )
        db.exec_driver_sql("DELETE FROM hd_categories")
        groups = db.exec_driver_sql(
            "SELECT DISTINCT failure_app, fingerprint FROM contacts WHERE connection_id = ? "
            "AND failure_app IS NOT NULL AND failure_app <> '' AND fingerprint IS NOT NULL",
            (connection_id,),
        ).all()
        if groups:
            db.exec_driver_sql(
                "INSERT INTO hd_categories (app, fp, category) VALUES (?, ?, ?)",
                [(app, fp, category_of(Side(app), fp)) for app, fp in groups],
            )
        return
    dbapi = db.connection.driver_connection
    assert isinstance(dbapi, sqlite3.Connection)

    def hd_category(app: str | None, fp: str | None) -> str:
        if not app or fp is None:
            return ""
        return category_of(Side(app), fp)

    dbapi.create_function("hd_category", 2, hd_category, deterministic=True)


def count(engine: Engine, connection_id: str, contact_filter: ContactFilter) -> int:
    """The exact number of contacts of the list `contact_filter` of a connection, from the
    maintained counts (store.counts: kept in the transaction that changes the contacts),
    so a few rows are read whatever the size of the list (426,547 rows counted took 17 to
    31 ms at a million contacts)."""
    sql = "connection_id = ? AND status = ?"
    params: list[Any] = [connection_id, contact_filter.status.value]
    if contact_filter.failure_app is not None:
        sql += " AND failure_app = ?"
        params.append(contact_filter.failure_app.value)
    with engine.connect() as db:
        if contact_filter.category_fingerprints is not None:
            within, values = dialect.in_values(
                "fingerprint", contact_filter.category_fingerprints, dialect.dialect_of(db)
            )
            sql += f" AND {within}"
            params.append(values)
        value = db.exec_driver_sql(
            f"SELECT COALESCE(SUM(count), 0) FROM contact_counts WHERE {sql}", tuple(params)
        )
        return int(value.scalar_one())


def page(
    engine: Engine,
    connection_id: str,
    contact_filter: ContactFilter,
    *,
    sort: SortKey,
    descending: bool,
    offset: int,
    limit: int,
    category_of: CategoryOf | None = None,
) -> list[ContactView]:
    """Rows `offset` to `offset + limit` (fewer at the end) of the sorted list.

    One statement, so one consistent snapshot of the database: the window of rids is
    chosen on the sort's index (or after a sort) and only its rows are joined.
    """
    if limit <= 0 or offset < 0:
        return []
    direction = "DESC" if descending else "ASC"
    with engine.connect() as db:
        join, expr = _sort(sort, category_of, db)
        where, params = _where(connection_id, contact_filter, db)
        outer = _order("p.v", direction, db).replace("c.rid", "p.rid")
        sql = f"""
            SELECT {CONTACT_COLUMNS}
            FROM (
                SELECT c.rid AS rid, {expr} AS v FROM contacts c {join}
                WHERE {where}
                ORDER BY {_order(expr, direction, db)}
                LIMIT ? OFFSET ?
            ) p
            JOIN contacts c ON c.rid = p.rid
            {CONTACT_JOINS}
            ORDER BY {outer}
        """
        _install_category(db, category_of, connection_id)
        result = db.exec_driver_sql(sql, (*params, limit, offset))
        return [contact_from_row(values) for values in result]


def keys(
    engine: Engine,
    connection_id: str,
    contact_filter: ContactFilter,
    *,
    sort: SortKey,
    descending: bool,
    category_of: CategoryOf | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> array[int]:
    """The rids of the whole sorted list, in order: 8 bytes per contact.

    For the sort keys no index serves: one sort, after which `rows_by_key` fills any
    window in a few ms. `cancelled` is polled while SQLite works; when it turns true the
    query stops and `sqlite3.OperationalError` ("interrupted") is raised.
    """
    direction = "DESC" if descending else "ASC"
    stop = cancelled or (lambda: False)
    found: array[int] = array("q")
    with engine.connect() as db:
        join, expr = _sort(sort, category_of, db)
        where, params = _where(connection_id, contact_filter, db)
        sql = (
            f"SELECT c.rid FROM contacts c {join} WHERE {where} "
            f"ORDER BY {_order(expr, direction, db)}"
        )
        _install_category(db, category_of, connection_id)
        if dialect.is_postgres(db):
            for chunk in dialect.stream(db, sql, params, stop):
                found.extend(rid for (rid,) in chunk)
            return found
        dbapi = db.connection.driver_connection
        assert isinstance(dbapi, sqlite3.Connection)
        dbapi.set_progress_handler(lambda: 1 if stop() else 0, _CANCEL_CHECK_STEPS)
        try:
            cursor = dbapi.execute(sql, params)
            while chunk := cursor.fetchmany(8192):
                found.extend(rid for (rid,) in chunk)
                if stop():
                    raise dialect.Interrupted
        finally:
            dbapi.set_progress_handler(None, 0)
    return found


def rows_by_key(engine: Engine, keys: Iterable[int]) -> dict[int, ContactView]:
    """The rows of the contacts `keys` (missing ones left out), by key; one statement."""
    wanted = list(keys)
    if not wanted:
        return {}
    # The keys travel as one parameter: any number of them, one consistent snapshot.
    with engine.connect() as db:
        within, values = dialect.in_values("c.rid", wanted, dialect.dialect_of(db))
        sql = f"SELECT {CONTACT_COLUMNS} FROM contacts c {CONTACT_JOINS} WHERE {within}"
        result = db.exec_driver_sql(sql, (values,))
        return {values[0]: contact_from_row(values) for values in result}


def row_for(engine: Engine, key: int) -> ContactView | None:
    """The row of the contact `key`, or None when there is no such contact."""
    return rows_by_key(engine, [key]).get(key)


def position_of(
    engine: Engine,
    connection_id: str,
    contact_filter: ContactFilter,
    key: int,
    sort: SortKey,
    descending: bool,
    *,
    category_of: CategoryOf | None = None,
) -> int | None:
    """The row index of contact `key` in the sorted list, or None when it is not in it.

    Counts the rows that sort before it, with the same NULL order as `page`.
    """
    with engine.connect() as db:
        join, expr = _sort(sort, category_of, db)
        where, params = _where(connection_id, contact_filter, db)
        _install_category(db, category_of, connection_id)
        found = db.exec_driver_sql(
            f"SELECT {expr} FROM contacts c {join} WHERE {where} AND c.rid = ?",
            (*params, key),
        ).first()
        if found is None:
            return None
        value = found[0]
        before: str
        extra: tuple[Any, ...]
        if value is None:
            # NULLs come first ascending, last descending; among them the rid decides.
            if descending:
                before = f"({expr} IS NOT NULL OR c.rid > ?)"
            else:
                before = f"({expr} IS NULL AND c.rid < ?)"
            extra = (key,)
        elif descending:
            before = f"({expr} > ? OR ({expr} = ? AND c.rid > ?))"
            extra = (value, value, key)
        else:
            before = f"({expr} IS NULL OR {expr} < ? OR ({expr} = ? AND c.rid < ?))"
            extra = (value, value, key)
        total = db.exec_driver_sql(
            f"SELECT COUNT(*) FROM contacts c {join} WHERE {where} AND {before}",
            (*params, *extra),
        ).scalar_one()
    return int(total)
