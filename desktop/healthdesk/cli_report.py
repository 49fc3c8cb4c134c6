"""`healthdesk report (FILE | --db PATH) [--connection ID] -o OUT.html|OUT.pdf [--redact]
[--compare OLD]`: the support report of a connection, for a customer or an engineer
(reports/support.py); with `--compare`, the moves since OLD (a snapshot or a database of
the same connection, as `healthdesk compare` reads them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from healthdesk.core.failures import Catalog
    from healthdesk.core.model import Connection
    from healthdesk.reports.support import Comparison


class ReportRefused(Exception):
    """The report cannot be written as asked (an unknown format); nothing was written."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `report` on the CLI's subcommands."""
    report = commands.add_parser(
        "report",
        help="a support report of a connection: state, counts, failure reasons (HTML or PDF)",
    )
    report.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="a snapshot file to work on (in a temporary database) instead of --db",
    )
    report.add_argument("--db", metavar="PATH", help="the database file (default: your own)")
    report.add_argument(
        "--connection", metavar="ID", help="the connection (may be left out when there is only one)"
    )
    report.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        required=True,
        help="the report file: OUT.html (self-contained) or OUT.pdf (A4); written 600",
    )
    report.add_argument(
        "--redact",
        action="store_true",
        help="pseudonyms for contacts' names, emails and record ids; no raw error messages",
    )
    report.add_argument(
        "--compare",
        metavar="OLD",
        help="add the moves since OLD: an earlier snapshot (or database) of the connection",
    )


def run(args: argparse.Namespace, out: TextIO) -> None:
    """Write the report; raises ReportRefused, or what reading the database raises."""
    from healthdesk.cli import _database
    from healthdesk.config import load_catalog
    from healthdesk.reports.support import build_report
    from healthdesk.reports.support_output import report_format, write_report
    from healthdesk.store.queries import get_connection

    target = Path(args.output)
    try:
        fmt = report_format(target)
    except ValueError as exc:
        raise ReportRefused(str(exc)) from None
    if fmt == "pdf":
        from healthdesk.reports.support_pdf import ensure_gui_app

        ensure_gui_app()
    catalog = load_catalog()
    with _database(args.file, args.db) as engine:
        connection = get_connection(engine, args.connection)
        comparison = None
        if args.compare is not None:
            comparison = _since(Path(args.compare), engine, connection, catalog)
        report = build_report(
            engine, connection, catalog, redact=args.redact, comparison=comparison
        )
    size = write_report(report, target)
    redacted = ", redacted" if args.redact else ""
    sys.stderr.write(f"healthdesk: wrote {target} ({fmt.upper()}, {size:,} bytes{redacted})\n")
    out.flush()


def _since(old: Path, engine: Engine, connection: Connection, catalog: Catalog) -> Comparison:
    """The moves from `old` (a snapshot or a database) to `engine`, for the report."""
    from healthdesk.cli import CliError
    from healthdesk.cli_compare import open_state
    from healthdesk.reports.compare import comparison_dict
    from healthdesk.reports.support import Comparison
    from healthdesk.store.queries import UnknownConnection, get_connection
    from healthdesk.store.statuses import compare_databases

    if not old.is_file():
        raise CliError(f"{old}: no such file")
    with open_state(old) as before:
        try:
            get_connection(before, connection.id)
        except UnknownConnection as exc:
            raise CliError(f"{old}: {exc}") from None
        moved = compare_databases(before, engine, connection, catalog)
    return Comparison.from_json(comparison_dict(moved, failures=False), label=old.name)
