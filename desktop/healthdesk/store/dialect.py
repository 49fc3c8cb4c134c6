"""What differs between the two databases Health Desk runs on, each decided here once.

The store writes its SQL once, in SQLite's words where both databases share them:
`?` parameters (and `?1`, `?2` numbered ones), `ON CONFLICT ... DO UPDATE`, `WITH ... AS
MATERIALIZED`. On PostgreSQL (the team store, through psycopg 3) this module translates
the parameters (`to_format`) for every statement of an engine (`install`) and for the raw
DBAPI cursors of the bulk paths (`PgCursor`), and gives the few expressions whose meaning
differs (`nocase`, `null_order`, `in_values`).

Text order is the same on both: SQLite compares text by its UTF-8 bytes (BINARY), and on
PostgreSQL every text column is of collation "C" (migration 0008), which compares bytes
too. SQLite's NOCASE folds the 26 ASCII letters only; `lower()` of a "C" text does the
same on PostgreSQL, so `nocase(column)` sorts alike on both.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection as SAConnection

POSTGRES = "postgresql"
SQLITE = "sqlite"

# A string literal, a quoted identifier, a numbered or plain parameter, or a percent.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?(\d*)|%")


def dialect_of(bind: Engine | SAConnection) -> str:
    return str(bind.dialect.name)


def is_postgres(bind: Engine | SAConnection) -> bool:
    return dialect_of(bind) == POSTGRES


@lru_cache(maxsize=1024)
def to_format(sql: str) -> tuple[str, tuple[int, ...] | None]:
    """`sql` with `?` / `?N` parameters as psycopg's `%s`, and `%` doubled.

    Returns the statement and, when it numbers its parameters, the 0-based index of the
    parameter each `%s` takes (None: in order).
    """
    order: list[int] = []
    numbered = False
    plain = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal numbered, plain
        token = match.group(0)
        if token == "%":
            return "%%"
        if token[0] in "'\"":
            return token.replace("%", "%%")
        if match.group(1):
            numbered = True
            order.append(int(match.group(1)) - 1)
        else:
            order.append(plain)
            plain += 1
        return "%s"

    text = _TOKENS.sub(replace, sql)
    return text, tuple(order) if numbered else None


def _arrange(order: tuple[int, ...] | None, params: Any) -> Any:
    if order is None or params is None:
        return params
    return tuple(params[index] for index in order)


def install(engine: Engine) -> None:
    """Translate the SQL that the store hands to `exec_driver_sql` on this engine."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _translate(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> tuple[str, Any]:
        if context is not None and context.compiled is not None:
            return statement, parameters  # SQLAlchemy's own, already in psycopg's words
        text, order = to_format(statement)
        if executemany:
            return text, [_arrange(order, row) for row in parameters]
        return text, _arrange(order, parameters)


class PgCursor:
    """A psycopg cursor that takes the store's SQL (as `sqlite3.Cursor.execute` does):
    `execute` returns the cursor, iterating it gives the rows."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        text, order = to_format(sql)
        self._cursor.execute(text, _arrange(order, tuple(params)))
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        text, order = to_format(sql)
        self._cursor.executemany(text, [_arrange(order, tuple(row)) for row in rows])
        return self

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Bulk-load `rows` into `table` with COPY (the fastest way in)."""
        names = ", ".join(columns)
        with self._cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def fetchmany(self, size: int) -> list[Any]:
        return list(self._cursor.fetchmany(size))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def connection(self) -> PgConnection:
        return PgConnection(self._cursor.connection)

    def close(self) -> None:
        self._cursor.close()


#: Rows per round trip of a server-side cursor (store.decisions streams a million rows).
STREAM_ROWS = 5000


class PgConnection:
    """The connection of a PgCursor; its `cursor()` streams from the server (a named,
    server-side cursor), so reading millions of rows keeps the memory flat."""

    _streams = 0

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def cursor(self) -> PgCursor:
        PgConnection._streams += 1
        cursor = self._connection.cursor(name=f"hd_stream_{PgConnection._streams}")
        # Iterating fetches this many rows per round trip (psycopg's default is 100).
        cursor.itersize = STREAM_ROWS
        return PgCursor(cursor)


def of_cursor(cursor: object) -> str:
    """The dialect of a raw cursor of `store.db.raw_transaction`."""
    return POSTGRES if isinstance(cursor, PgCursor) else SQLITE


def index_names(cursor: Any) -> set[str]:
    """The names of the indexes the database of a raw cursor holds."""
    if of_cursor(cursor) == POSTGRES:
        rows = cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        )
    else:
        rows = cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {name for (name,) in rows}


def nocase(expression: str, dialect: str) -> str:
    """`expression` compared as SQLite's NOCASE does (ASCII letters folded)."""
    if dialect == POSTGRES:
        return f'lower({expression} COLLATE "C")'
    return f"{expression} COLLATE NOCASE"


def null_order(descending: bool, dialect: str) -> str:
    """What makes NULLs sort as SQLite sorts them: first ascending, last descending."""
    if dialect == POSTGRES:
        return " NULLS LAST" if descending else " NULLS FIRST"
    return ""


def in_values(expression: str, values: Sequence[Any], dialect: str) -> tuple[str, Any]:
    """`expression IN values` with the values as one parameter (any number of them):
    SQLite reads a JSON array, PostgreSQL an array."""
    if dialect == POSTGRES:
        return f"{expression} = ANY(?)", list(values)
    return f"{expression} IN (SELECT value FROM json_each(?))", orjson.dumps(list(values)).decode()


class Interrupted(sqlite3.OperationalError):
    """A read stopped because its caller cancelled it (what SQLite raises then: callers
    catch one exception on both databases)."""

    def __init__(self) -> None:
        super().__init__("interrupted")


def stream(
    db: SAConnection, sql: str, params: Sequence[Any], stop: Callable[[], bool]
) -> Iterator[Sequence[Any]]:
    """The rows of a long read in chunks, from a server-side cursor; `stop()` is asked
    before and between chunks (Interrupted when it turns true)."""
    if stop():
        raise Interrupted
    result = db.execution_options(stream_results=True, yield_per=8192).exec_driver_sql(
        sql, tuple(params)
    )
    try:
        for chunk in result.partitions():
            yield chunk
            if stop():
                raise Interrupted
    finally:
        result.close()


def insert_rows(
    cursor: Any,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    on_conflict: str = "",
    key: Sequence[str] = (),
) -> int:
    """INSERT `rows` into `table` inside a raw transaction, as one statement per row would,
    in order (a later row of a key wins its DO UPDATE, an earlier one its DO NOTHING; new
    rows are numbered in the order their keys first come);
    the number of rows the statements inserted or updated.

    SQLite: executemany. PostgreSQL: COPY (several times faster than row by row), straight
    into the table without `on_conflict`, else into a temporary copy of it from which one
    INSERT ... SELECT applies `on_conflict`, keeping the last row of each `key` for an
    update (one statement may not update a row twice).
    """
    names = ", ".join(columns)
    if not isinstance(cursor, PgCursor):
        marks = ", ".join("?" * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) {on_conflict}", rows)
        return int(cursor.rowcount)
    if not rows:
        return 0
    if not on_conflict:
        cursor.copy_rows(table, columns, rows)
        return len(rows)
    stage = f"hd_stage_{table}"
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
        f"SELECT {names} FROM {table} WITH NO DATA"
    )
    cursor.execute(
        f"ALTER TABLE {stage} ADD COLUMN IF NOT EXISTS hd_order BIGINT GENERATED ALWAYS AS IDENTITY"
    )
    cursor.copy_rows(stage, columns, rows)
    if key and "DO UPDATE" in on_conflict:
        keys = ", ".join(key)
        # Inserted where the key first came (so new rows are numbered in the same order as
        # on SQLite), with the values it came with last.
        select = (
            f"SELECT {names} FROM (SELECT DISTINCT ON ({keys}) *, "
            f"MIN(hd_order) OVER (PARTITION BY {keys}) AS hd_first FROM {stage} "
            f"ORDER BY {keys}, hd_order DESC) s ORDER BY hd_first"
        )
    else:
        select = f"SELECT {names} FROM {stage} ORDER BY hd_order"
    cursor.execute(f"INSERT INTO {table} ({names}) {select} {on_conflict}")
    changed = cursor.rowcount
    cursor.execute(f"DELETE FROM {stage}")
    return changed


#: The channel on which writers of a team store announce their commits (LISTEN/NOTIFY).
CHANGES_CHANNEL = "healthdesk_changes"


def announce(cursor: Any, connection_ids: Iterable[str]) -> None:
    """Tell every window on a team store, when this transaction commits, that these
    connections changed ("": the list of connections). PostgreSQL delivers the
    notifications at commit, once per distinct payload, and none after a rollback. On
    SQLite nothing is needed: the windows watch the database's files."""
    if not isinstance(cursor, PgCursor):
        return
    for connection_id in sorted(set(connection_ids)):
        cursor.execute("SELECT pg_notify(?, ?)", (CHANGES_CHANNEL, connection_id))
