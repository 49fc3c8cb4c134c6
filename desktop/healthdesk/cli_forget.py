"""`healthdesk forget --db PATH --connection ID [--yes]`: remove a connection for good.

Asks for confirmation on a terminal (the connection's id typed back); without a terminal
it needs `--yes`. The removal itself is store.forget.forget_connection.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from healthdesk.core.safe_text import terminal_text


class ForgetRefused(Exception):
    """The user did not confirm, or could not be asked; nothing was removed."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `forget` on the CLI's subcommands."""
    forget = commands.add_parser(
        "forget",
        help="remove a connection and every trace of its customers from the database",
    )
    forget.add_argument(
        "--db",
        metavar="PATH",
        help="the database file, or a team store's postgresql://USER@HOST/DB (default: your own)",
    )
    forget.add_argument("--connection", metavar="ID", required=True, help="the connection")
    forget.add_argument(
        "--yes", action="store_true", help="do not ask for confirmation (needed without a terminal)"
    )


def run(args: argparse.Namespace, out: TextIO, stdin: TextIO | None = None) -> None:
    """Forget the connection; raises ForgetRefused, UnknownConnection or DatabaseBusy."""
    from healthdesk.store.db import default_db_path, is_team_store, open_db
    from healthdesk.store.forget import connection_name, forget_connection

    stdin = stdin or sys.stdin
    path: Path | str = args.db if is_team_store(args.db) else Path(args.db or default_db_path())
    if isinstance(path, Path) and not path.exists():
        raise ForgetRefused(f"{path}: no such database")
    engine = open_db(path)
    try:
        name = connection_name(engine, args.connection)
        shown = f"{terminal_text(args.connection)} ({terminal_text(name)})"
        if not args.yes:
            _confirm(shown, args.connection, path, stdin, out)
        report = forget_connection(engine, args.connection)
    finally:
        engine.dispose()
    removed = report.removed
    out.write(
        f"Forgot {shown}: {removed.get('records', 0):,} records, "
        f"{removed.get('events', 0):,} events, {removed.get('mappings', 0):,} mappings "
        f"removed from {path}.\n"
    )
    if not report.wiped:
        raise ForgetRefused(
            f"the connection is removed, but another process has {path} open: older copies "
            f"of its pages stay in {Path(path).name}-wal until that process closes the database "
            "(SQLite then removes that file)"
        )


def _confirm(shown: str, connection_id: str, path: Path | str, stdin: TextIO, out: TextIO) -> None:
    if not stdin.isatty():
        raise ForgetRefused(
            f"refusing to forget {shown} without confirmation: not a terminal; add --yes"
        )
    out.write(
        f"This removes {shown} and all of its customers' names, emails and history from "
        f"{path}, for good.\nType the connection's id to confirm: "
    )
    out.flush()
    answer = stdin.readline().strip()
    if answer != connection_id:
        raise ForgetRefused("not confirmed; nothing was removed")
