"""`healthdesk compare OLD NEW [--connection ID] [--json]`: what changed between two
states of one connection.

OLD and NEW are snapshot files (each imported into a temporary database) or Health Desk
databases (recognized by their first bytes); `compare OLD --db PATH` compares a snapshot
with a database. The comparison itself is `store.statuses.compare_databases`.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine

#: The first bytes of every SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `compare` on the CLI's subcommands."""
    compare = commands.add_parser(
        "compare",
        help="what changed between two snapshots (or databases) of one connection",
        description="Compare two states of one connection: the counts before and after, "
        "how many contacts moved from each status to each other (or appeared, 'absent' "
        "before, or went, 'absent' after), and the failure groups that changed. A contact "
        "is the same in both when its app-a record id is (else its app-b record id).",
    )
    compare.add_argument("old", metavar="OLD", help="the earlier snapshot file or database")
    compare.add_argument(
        "new", metavar="NEW", nargs="?", help="the later snapshot file or database (or --db)"
    )
    compare.add_argument("--db", metavar="PATH", help="the database to compare OLD with")
    compare.add_argument(
        "--connection", metavar="ID", help="the connection (may be left out when only one)"
    )
    compare.add_argument("--json", action="store_true", help="print one JSON object")


def is_database(path: Path) -> bool:
    """Whether `path` is an SQLite database (else it is read as a snapshot)."""
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


@contextmanager
def open_state(path: Path) -> Iterator[Engine]:
    """The engine of a database file, or of a temporary database holding a snapshot."""
    from healthdesk.store.db import open_db
    from healthdesk.store.imports import snapshot_database

    if is_database(path):
        engine = open_db(path)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with snapshot_database([path]) as engine:
        yield engine


def run(args: argparse.Namespace, out: TextIO) -> None:
    from healthdesk.cli import CliError
    from healthdesk.config import load_catalog
    from healthdesk.reports.compare import comparison_json, comparison_text
    from healthdesk.store.queries import UnknownConnection, get_connection
    from healthdesk.store.statuses import compare_databases

    if args.new is not None and args.db is not None:
        raise CliError("give NEW or --db, not both")
    if args.new is None and args.db is None:
        raise CliError("give the state to compare OLD with: NEW (a snapshot or database) or --db")
    paths = [Path(args.old), Path(args.new if args.new is not None else args.db)]
    for path in paths:
        if not path.is_file():
            raise CliError(f"{path}: no such file")
    with ExitStack() as stack:
        old, new = (stack.enter_context(open_state(path)) for path in paths)
        try:
            connection = get_connection(new, args.connection)
        except UnknownConnection as exc:
            raise CliError(f"{paths[1]}: {exc}") from None
        try:
            get_connection(old, connection.id)
        except UnknownConnection as exc:
            raise CliError(f"{paths[0]}: {exc}") from None
        catalog = load_catalog()
        result = compare_databases(old, new, connection, catalog)
    if args.json:
        out.write(comparison_json(result) + "\n")
    else:
        out.write(comparison_text(result, connection, before="before", after="after") + "\n")
