"""`healthdesk whatif (FILE | --db PATH) [--connection ID] [--avoid-duplicates on|off]
[--without-rule RULE_ID]... [--json]`: a connection's statuses decided again under other
settings, in memory: the database is never written (`store.whatif`).
"""

from __future__ import annotations

import argparse
from typing import TextIO


def _on_off(text: str) -> bool:
    if text.lower() in ("on", "off"):
        return text.lower() == "on"
    raise argparse.ArgumentTypeError(f"{text!r} is not on or off")


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `whatif` on the CLI's subcommands."""
    whatif = commands.add_parser(
        "whatif",
        help="what the statuses would be with other settings (never writes the database)",
        description="Decide a connection's contacts again with Avoid Duplicates switched or "
        "rules removed, without changing anything stored, and print the counts now and "
        "then, and how many contacts would move from each status to each other.",
    )
    whatif.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="a snapshot file to work on (in a temporary database) instead of --db",
    )
    whatif.add_argument("--db", metavar="PATH", help="the database file (default: your own)")
    whatif.add_argument(
        "--connection", metavar="ID", help="the connection (may be left out when only one)"
    )
    whatif.add_argument(
        "--avoid-duplicates",
        type=_on_off,
        metavar="on|off",
        help="Avoid Duplicates switched on or off",
    )
    whatif.add_argument(
        "--without-rule",
        action="append",
        default=[],
        metavar="RULE_ID",
        help="this rule removed (repeatable)",
    )
    whatif.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace, out: TextIO) -> None:
    from healthdesk.cli import CliError, _database
    from healthdesk.reports.compare import comparison_json, comparison_text
    from healthdesk.store.queries import get_connection
    from healthdesk.store.whatif import whatif, with_changes

    with _database(args.file, args.db) as engine:
        connection = get_connection(engine, args.connection)
        settings = connection.settings
        known = {rule.id for rule in settings.rules}
        unknown = [rule for rule in args.without_rule if rule not in known]
        if unknown:
            choices = ", ".join(sorted(known)) or "none"
            raise CliError(
                f"no rule {', '.join(map(repr, unknown))} in {connection.id}; its rules: {choices}"
            )
        changed = with_changes(
            settings,
            avoid_duplicates=args.avoid_duplicates,
            without_rules=frozenset(args.without_rule),
        )
        result = whatif(engine, connection.id, changed)
    if args.json:
        out.write(comparison_json(result, failures=False) + "\n")
        return
    changes = []
    if changed.avoid_duplicates != settings.avoid_duplicates:
        changes.append(f"Avoid Duplicates {'on' if changed.avoid_duplicates else 'off'}")
    changes.extend(f"without rule {rule}" for rule in dict.fromkeys(args.without_rule))
    out.write(f"What if: {', '.join(changes) or 'nothing changed'}\n")
    out.write(comparison_text(result, connection, before="now", after="what if", failures=False))
    out.write("\n")
