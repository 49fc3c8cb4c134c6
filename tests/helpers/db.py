"""Look into a test database as plain data, to compare states."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

#: Opens a new, empty database by a name, on the backend of the test's run (the
#: `new_engine` fixture of tests/store): a test's second, third... database.
NewEngine = Callable[[str], Engine]

TABLES = {
    "connections": "id",
    "records": "connection_id, app, ext_id",
    "mappings": "connection_id, a_id",
    "events": "connection_id, seq",
    "contacts": "rid",
}


#: The columns that hold a record's key (its rid), by table.
RID_COLUMNS = {"records": ("rid",), "contacts": ("rid", "a_rid", "b_rid", "duplicate_of")}


def dump(engine: Engine, *, rids_by_order: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered: equal dumps mean equal databases.

    Without the line digests (store.digests): which line a row came from is bookkeeping,
    and items applied from a service page have none; nor when a connection was imported
    (the clock's second may turn between two imports).

    `rids_by_order`: each record key (rid) as its place among the keys (0, 1, ...), for
    two PostgreSQL databases given the same rows by different statements: its sequence
    takes a number for every upsert, those that update too, so the keys grow in the same
    order with other gaps (SQLite's rowid takes none for an update).
    """
    with engine.connect() as db:
        result = {}
        names = {}
        for table, order in TABLES.items():
            names[table] = [
                column["name"]
                for column in inspect(db).get_columns(table)
                if column["name"] not in ("digest", "line", "imported_at")
            ]
            columns = ", ".join(names[table])
            result[table] = [
                tuple(row)
                for row in db.exec_driver_sql(f"SELECT {columns} FROM {table} ORDER BY {order}")
            ]
    if rids_by_order:
        rid = names["records"].index("rid")
        place = {key: n for n, key in enumerate(sorted(row[rid] for row in result["records"]))}
        for table, keys in RID_COLUMNS.items():
            at = [names[table].index(key) for key in keys]
            result[table] = [
                tuple(
                    place[value] if n in at and value is not None else value
                    for n, value in enumerate(row)
                )
                for row in result[table]
            ]
    return result


def statuses(engine: Engine, connection_id: str = "c-1") -> dict[tuple[str, ...], tuple[Any, ...]]:
    """Each contact by its records' app ids, with what was decided (independent of rids)."""
    sql = """
        SELECT ra.ext_id, rb.ext_id, c.status, c.reason, rd.app, rd.ext_id, c.failure_seq,
            c.opposite_deleted, c.name, c.email, c.since, c.failure_app, c.fingerprint
        FROM contacts c
        LEFT JOIN records ra ON ra.rid = c.a_rid
        LEFT JOIN records rb ON rb.rid = c.b_rid
        LEFT JOIN records rd ON rd.rid = c.duplicate_of
        WHERE c.connection_id = ?
    """
    with engine.connect() as db:
        rows = list(db.exec_driver_sql(sql, (connection_id,)))
    result = {}
    for a, b, *rest in rows:
        key = (f"a:{a}" if a else "", f"b:{b}" if b else "")
        assert key not in result
        result[key] = tuple(rest)
    return result


def status_of(engine: Engine, app: str, ext_id: str, connection_id: str = "c-1") -> str | None:
    for key, value in statuses(engine, connection_id).items():
        if f"{app}:{ext_id}" in key:
            return str(value[0])
    return None


def db_target_of(engine: Engine) -> str:
    """What `--db` took to open `engine` (a file, or a PostgreSQL URL): to open it again."""
    if engine.dialect.name == "sqlite":
        return str(engine.url.database)
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_only(engine: Engine, what: str) -> None:
    """Skip the PostgreSQL run of a test about something only SQLite has (`what`)."""
    if engine.dialect.name != "sqlite":
        pytest.skip(f"{what}: SQLite only")
