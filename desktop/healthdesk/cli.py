"""The `healthdesk` command: thin argument parsing over the layers.

Errors end with exit status 2 and one line on stderr (`healthdesk: error: ...`), never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NoReturn, TextIO

from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from healthdesk import (
    __version__,
    cli_compare,
    cli_forget,
    cli_report,
    cli_retry,
    cli_whatif,
)
from healthdesk.core.failures import CatalogError
from healthdesk.core.model import STATUS_ORDER, Side
from healthdesk.feed.items import FeedError
from healthdesk.reports import explain
from healthdesk.store.ingest import ImportCancelled

EXIT_ERROR = 2


class CliError(Exception):
    """An error for the user: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, as every other error of the command; --help shows the usage.
        self.exit(EXIT_ERROR, f"healthdesk: error: {message} (see '{self.prog} --help')\n")


#: --db takes a file, or a team store's URL (store.team: no password in it).
_DB_HELP = "the database file, or a team store's postgresql://USER@HOST/DB (default: your own file)"


def _add_source(parser: argparse.ArgumentParser, *, connection: bool = True) -> None:
    parser.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="a snapshot file to work on (in a temporary database) instead of --db",
    )
    parser.add_argument("--db", metavar="PATH", help=_DB_HELP)
    if connection:
        parser.add_argument(
            "--connection",
            metavar="ID",
            help="the connection (may be left out when there is only one)",
        )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _file_mode(text: str) -> int:
    from healthdesk.reports.export import parse_mode

    try:
        return parse_mode(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT") from None
    if not (200 <= size[0] <= 8000 and 200 <= size[1] <= 8000):
        raise argparse.ArgumentTypeError("each side must be from 200 to 8000 pixels")
    return size


def _contact_ref(text: str) -> tuple[Side, str]:
    app, _, record_id = text.partition(":")
    if app not in ("a", "b") or not record_id:
        raise argparse.ArgumentTypeError(f"{text!r} is not APP:ID with APP a or b, e.g. a:101")
    return Side(app), record_id


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="healthdesk",
        description="Health Desk: why is this contact not syncing? "
        "'healthdesk [--db PATH] [FILE...]' opens the window on your database (importing "
        "the bundled demo on first run), or on snapshot FILEs imported into it.",
    )
    parser.add_argument("--version", action="version", version=f"healthdesk {__version__}")
    parser.add_argument(
        "--db",
        metavar="PATH",
        # Its own name: a command's --db (None when left out) would otherwise overwrite it.
        dest="db_first",
        help="the window's database file (default: your own), or the command's",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    imp = commands.add_parser("import", help="import snapshot files into the database")
    imp.add_argument("files", nargs="+", metavar="FILE", help="snapshot files (.jsonl, .gz)")
    imp.add_argument("--db", metavar="PATH", help=_DB_HELP)

    summ = commands.add_parser("summary", help="counts, actions and failure reasons")
    _add_source(summ)
    summ.add_argument("--json", action="store_true", help="print one JSON object")

    exp = commands.add_parser("export", help="one row per visible contact (CSV or JSONL)")
    _add_source(exp)
    exp.add_argument(
        "--status",
        choices=[status.value for status in STATUS_ORDER],
        action="append",
        help="only contacts of this status (repeatable)",
    )
    exp.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    exp.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    exp.add_argument(
        "--mode",
        type=_file_mode,
        default=0o600,
        metavar="OCTAL",
        help="permissions of the -o file (default 600: only you can read it)",
    )

    fnd = commands.add_parser("find", help="contacts whose name, email or app id contains QUERY")
    fnd.add_argument("args", nargs="+", metavar="[FILE] QUERY")
    fnd.add_argument("--db", metavar="PATH", help=_DB_HELP)
    fnd.add_argument("--connection", metavar="ID", help="the connection")
    fnd.add_argument("--limit", type=_positive, default=200, help="at most this many (default 200)")
    fnd.add_argument("--json", action="store_true", help="print a JSON list")

    shot = commands.add_parser(
        "screenshot", help="render the window to a PNG (offscreen), for tickets and docs"
    )
    _add_source(shot)
    shot.add_argument("-o", "--output", metavar="PNG", required=True)
    shot.add_argument(
        "--tab",
        choices=["in_sync", "excluded", "duplicates", "failing", "pending"],
        help="the status list to show (default: in_sync)",
    )
    shot.add_argument(
        "--size", metavar="WxH", type=_size, default=(1400, 900), help="default 1400x900"
    )
    shot.add_argument("--search", metavar="TEXT", help="type TEXT in the search bar")
    shot.add_argument(
        "--contact",
        metavar="APP:ID",
        type=_contact_ref,
        help="open the contact holding this record, e.g. a:101 or b:mc-77",
    )
    shot.add_argument(
        "--appearance",
        choices=["light", "dark"],
        default="light",
        help="the colour scheme (default: light, whatever the desktop's)",
    )

    syn = commands.add_parser(
        "sync", help="pull connections from a sync service (with --follow, keep them live)"
    )
    syn.add_argument("url", metavar="URL", help="the service, e.g. http://127.0.0.1:8765")
    syn.add_argument("--db", metavar="PATH", help=_DB_HELP)
    syn.add_argument("--connection", metavar="ID", help="only this connection (default: all)")
    syn.add_argument(
        "--follow", action="store_true", help="keep long-polling and applying until Ctrl+C"
    )
    syn.add_argument(
        "--allow-insecure",
        action="store_true",
        help="allow plain http:// to a machine other than this one",
    )

    srv = commands.add_parser(
        "serve",
        help="run the reference sync service over snapshot files (token: HEALTHDESK_TOKEN)",
    )
    srv.add_argument("snapshots", nargs="+", metavar="SNAPSHOT")
    srv.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    srv.add_argument("--port", type=int, default=8765, help="default 8765")
    srv.add_argument(
        "--simulate",
        type=float,
        metavar="RATE",
        help="append realistic live activity, about RATE items per second",
    )
    srv.add_argument(
        "--no-auth", action="store_true", help="no token at all (loopback addresses only)"
    )

    explain.add_arguments(
        commands.add_parser(
            "explain", help="category, owner, fingerprint, meaning and fix of a raw app error"
        )
    )
    cli_forget.add_parser(commands)
    cli_retry.add_parser(commands)
    cli_report.add_parser(commands)
    cli_compare.add_parser(commands)
    cli_whatif.add_parser(commands)

    gen = commands.add_parser("generate", help="write a realistic demo snapshot")
    gen.add_argument("--contacts", type=_positive, default=2000, help="about this many contacts")
    gen.add_argument("--seed", type=int, default=1, help="same seed, same bytes")
    gen.add_argument("-o", "--output", metavar="FILE", required=True)
    gen.add_argument("--no-compress", action="store_true", help="plain JSON Lines")

    from healthdesk.bench.command import add_arguments as bench_arguments

    bench_arguments(commands.add_parser("bench", help="measure import speed, memory and size"))
    return parser


# -- databases -------------------------------------------------------------------------


@contextmanager
def _database(file: str | None, db: str | None) -> Iterator[Engine]:
    """The engine to work on: --db, a temporary database of FILE, or the default one."""
    from healthdesk.store.db import open_db
    from healthdesk.store.imports import snapshot_database

    if file is not None and db is not None:
        raise CliError("give a snapshot FILE or --db, not both")
    if file is None:
        if db is not None and not _db_exists(db):
            raise CliError(f"{db}: no such database")
        engine = open_db(db)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with snapshot_database([file]) as engine:
        yield engine


def _is_url(db: str) -> bool:
    from healthdesk.store.db import is_team_store

    return is_team_store(db)


def _db_exists(db: str) -> bool:
    """Whether --db names a database file there is, or a team store (its server says)."""
    from healthdesk.store.db import is_team_store

    return is_team_store(db) or Path(db).exists()


# -- commands ----------------------------------------------------------------------------


def _cmd_import(args: argparse.Namespace, out: TextIO) -> None:
    from healthdesk.store.db import open_db
    from healthdesk.store.imports import import_snapshots
    from healthdesk.store.queries import counts, list_connections

    engine = open_db(args.db)
    try:
        started = time.perf_counter()
        report = import_snapshots(engine, args.files)
        seconds = time.perf_counter() - started
        names = ", ".join(args.files)
        out.write(
            f"Imported {names}: {report.connections:,} connection items, "
            f"{report.records:,} records, {report.mappings:,} mappings, "
            f"{report.events:,} events ({report.events_new:,} new) in {seconds:.1f} s.\n"
        )
        decided = report.decided
        for connection in list_connections(engine):
            if connection.id not in decided:
                continue
            found = counts(engine, connection.id)
            changed = decided[connection.id]
            how = "all decided" if connection.id in report.full else f"{changed:,} changed"
            parts = ", ".join(f"{status.value} {n:,}" for status, n in found.items())
            out.write(f"  {connection.id} ({connection.name}): {parts} [{how}]\n")
        if not decided:
            out.write("  Nothing changed.\n")
    finally:
        engine.dispose()


def _cmd_summary(args: argparse.Namespace, out: TextIO) -> None:
    from healthdesk.config import load_catalog
    from healthdesk.reports.summary import summary_json, summary_text
    from healthdesk.store.queries import get_connection, summary

    with _database(args.file, args.db) as engine:
        connection = get_connection(engine, args.connection)
        catalog = load_catalog()
        result = summary(engine, connection, catalog)
    out.write(summary_json(result, catalog=catalog) if args.json else summary_text(result))
    out.write("\n")


def _cmd_export(args: argparse.Namespace, out: TextIO) -> None:
    from healthdesk.config import load_catalog
    from healthdesk.core.model import STATUS_ORDER, Status
    from healthdesk.reports.export import write_csv, write_file, write_jsonl
    from healthdesk.store.queries import get_connection, iter_contacts

    statuses = [Status(s) for s in args.status] if args.status else list(STATUS_ORDER)
    statuses = [s for s in STATUS_ORDER if s in statuses]
    writer = write_csv if args.format == "csv" else write_jsonl
    with _database(args.file, args.db) as engine:
        connection = get_connection(engine, args.connection)
        contacts = iter_contacts(engine, connection.id, statuses)
        catalog = load_catalog()
        if args.output:
            target = Path(args.output)
            count = write_file(
                target, lambda handle: writer(handle, contacts, connection, catalog), mode=args.mode
            )
            sys.stderr.write(f"Exported {count:,} contacts to {target}\n")
        else:
            writer(out, contacts, connection, catalog)


def _cmd_find(args: argparse.Namespace, out: TextIO) -> None:
    from healthdesk.config import load_catalog
    from healthdesk.reports.export import contact_json, find_text
    from healthdesk.store.queries import find, get_connection

    if len(args.args) > 2:
        raise CliError("find takes [FILE] QUERY: quote a QUERY that holds spaces")
    file, query = (None, args.args[0]) if len(args.args) == 1 else args.args
    with _database(file, args.db) as engine:
        connection = get_connection(engine, args.connection)
        found = find(engine, connection.id, query, limit=args.limit)
        catalog = load_catalog()
        if args.json:
            import orjson

            from healthdesk.core.safe_text import json_safe

            rows = [contact_json(c, connection, catalog) for c in found.contacts]
            out.write(json_safe(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode()) + "\n")
        else:
            out.write(
                find_text(found.contacts, connection, query, total=found.total, more=found.more)
            )
        if found.more:
            sys.stderr.write(
                f"healthdesk: showing the first {len(found.contacts):,} of more than "
                f"{found.total:,} matches (a longer QUERY narrows them)\n"
            )
        elif found.total > len(found.contacts):
            sys.stderr.write(
                f"healthdesk: showing the first {len(found.contacts):,} of {found.total:,} "
                "matches (--limit shows more)\n"
            )


def _cmd_generate(args: argparse.Namespace, out: TextIO) -> None:
    from healthdesk.feed.generate import generate

    result = generate(
        args.output, contacts=args.contacts, seed=args.seed, compress=not args.no_compress
    )
    out.write(
        f"Wrote {result.path}: {result.items:,} items, about {result.contacts:,} contacts "
        f"in {len(result.connections)} connections ({', '.join(result.connections)}).\n"
    )


def _cmd_sync(args: argparse.Namespace, out: TextIO) -> None:
    import asyncio
    import signal

    from healthdesk.store.db import open_db
    from healthdesk.store.queries import counts
    from healthdesk.sync.client import Page, Retrying, SyncClient, SyncError
    from healthdesk.sync.credentials import CredentialsError, token_for

    def on_page(page: Page) -> None:
        if page.items:
            report = page.report
            out.write(
                f"  {page.connection_id}: +{page.items:,} items ({report.records:,} records, "
                f"{report.events_new:,} new events)\n"
            )
            out.flush()

    def on_retry(retry: Retrying) -> None:
        sys.stderr.write(
            f"healthdesk: {retry.reason}; retrying at {retry.until_text()} "
            f"(in {retry.delay:.1f} s)\n"
        )

    async def run(engine: Engine) -> None:
        stop = asyncio.Event()
        # Ctrl+C stops between two pages: the database holds whole pages and their cursor.
        with suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        async with SyncClient(
            base_url=args.url,
            token=token_for(args.url),
            engine=engine,
            allow_insecure=args.allow_insecure,
            on_retry=on_retry,
        ) as client:
            if args.connection:
                ids = [args.connection]
            else:
                ids = [c.id for c in await client.list_connections()]
            for connection_id in ids:
                pulling = asyncio.ensure_future(client.pull(connection_id))
                stopped = asyncio.ensure_future(stop.wait())
                try:
                    await asyncio.wait({pulling, stopped}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stopped.cancel()
                if not pulling.done():
                    pulling.cancel()
                    with suppress(asyncio.CancelledError):
                        await pulling
                    out.write("Interrupted; the pages applied are kept: run again to resume.\n")
                    return
                report = pulling.result()
                found = ", ".join(
                    f"{status.value} {n:,}" for status, n in counts(engine, connection_id).items()
                )
                out.write(
                    f"Synced {connection_id} from {client.base_url}: {report.items:,} items "
                    f"({report.records:,} records, {report.mappings:,} mappings, "
                    f"{report.events_new:,} new events) in {report.pages:,} pages, "
                    f"{report.seconds:.1f} s\n  {found}\n"
                )
            if args.follow:
                out.write(f"Following {len(ids)} connection(s); Ctrl+C stops.\n")
                out.flush()
                reports = await client.follow(ids, on_page=on_page, stop=stop)
                applied = sum(report.items for report in reports.values())
                out.write(f"Stopped following: {applied:,} live items applied.\n")

    engine = open_db(args.db)  # like import, sync may start a new database
    try:
        asyncio.run(run(engine))
    except (SyncError, CredentialsError, ValueError) as exc:
        # ValueError: a URL that is not http(s)://host (credentials.normalize_url).
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> None:
    import asyncio

    from healthdesk.sync.server import ServiceError, serve

    def ready(url: str) -> None:
        out.write(f"Serving {len(args.snapshots)} snapshot(s) on {url} (Ctrl+C stops)\n")
        out.flush()

    try:
        asyncio.run(
            serve(
                snapshots=args.snapshots,
                host=args.host,
                port=args.port,
                token=os.environ.get("HEALTHDESK_TOKEN") or None,
                simulate_rate=args.simulate,
                no_auth=args.no_auth,
                ready=ready,
            )
        )
    except ServiceError as exc:
        raise CliError(str(exc)) from None


def _cmd_screenshot(args: argparse.Namespace, out: TextIO) -> None:
    from PySide6.QtCore import QSize

    from healthdesk.ui.screenshot import render

    if args.file is not None and args.db is not None:
        raise CliError("give a snapshot FILE or --db, not both")
    db = args.db
    if args.file is None and db is None:  # your own database, as the other commands do
        from healthdesk.store.db import default_db_path

        db = str(default_db_path())
        if not Path(db).exists():
            raise CliError(f"give a snapshot FILE or --db PATH (no database at {db} yet)")
    if db is not None and not _db_exists(db):
        raise CliError(f"{db}: no such database")
    path = render(
        out=Path(args.output),
        db_path=(db if _is_url(db) else Path(db)) if db else None,
        file=Path(args.file) if args.file else None,
        connection_id=args.connection,
        tab=args.tab,
        size=QSize(*args.size),
        search=args.search,
        contact=args.contact,
        dark=args.appearance == "dark",
    )
    out.write(f"Wrote {path}\n")


def _window(db: str | None, files: Sequence[str]) -> int:
    for name in files:
        if not Path(name).is_file():
            raise CliError(f"{name}: no such snapshot file")
    if db is not None and not _db_exists(db):
        raise CliError(f"{db}: no such database")
    if _headless():
        return _headless_summary(db, files)
    from healthdesk.store.db import is_team_store
    from healthdesk.ui.app import run

    target: Path | str | None = db if is_team_store(db) else (Path(db) if db else None)
    return run(db_path=target, files=[Path(f) for f in files])


def _cmd_explain(args: argparse.Namespace, out: TextIO) -> None:
    from healthdesk.config import load_catalog

    try:
        explain.run(load_catalog(), args, out)
    except explain.ExplainError as exc:
        raise CliError(str(exc)) from None


def _cmd_bench(args: argparse.Namespace, out: TextIO) -> None:
    from healthdesk.bench.command import run

    run(args, out)


_COMMANDS: dict[str | None, Callable[[argparse.Namespace, TextIO], None]] = {
    "import": _cmd_import,
    "summary": _cmd_summary,
    "export": _cmd_export,
    "find": _cmd_find,
    "explain": _cmd_explain,
    "generate": _cmd_generate,
    "screenshot": _cmd_screenshot,
    "serve": _cmd_serve,
    "sync": _cmd_sync,
    "forget": cli_forget.run,
    "retry": cli_retry.run,
    "report": cli_report.run,
    "compare": cli_compare.run,
    "whatif": cli_whatif.run,
    "bench": _cmd_bench,
}


def main(argv: Sequence[str] | None = None) -> int:
    from healthdesk.store.db import DatabaseBusy, TeamStoreError, set_default_on_wait
    from healthdesk.store.queries import UnknownConnection, UnknownContact

    set_default_on_wait(lambda message: sys.stderr.write(f"healthdesk: {message}\n"))
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `healthdesk [--db PATH] [FILE...]` opens the window; other first words are commands.
    window_files = _window_files(words)
    try:
        if window_files is not None:
            return _window(*window_files)
        args, extra = parser.parse_known_args(words)
        if extra and args.command == "find" and not any(w.startswith("-") for w in extra):
            # `find FILE --connection ID QUERY`: argparse stops taking positionals at an
            # option, so QUERY arrives here.
            args.args += extra
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        _take_first_db(parser, args)
        if args.command is None:
            return _window(args.db, [])
        _COMMANDS[args.command](args, sys.stdout)
    except (
        FeedError,
        CliError,
        UnknownConnection,
        CatalogError,
        UnknownContact,
        DatabaseBusy,
        TeamStoreError,
        cli_forget.ForgetRefused,
        cli_retry.RetryRefused,
        cli_report.ReportRefused,
    ) as exc:
        return _fail(str(exc))
    except ImportCancelled:
        return _fail("cancelled; the database is unchanged")
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours.
        with suppress(OSError):
            sys.stdout.close()
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}")
    except DatabaseError as exc:
        # Most often --db names a file that is not a Health Desk database.
        from healthdesk.store.team import describe_error

        said = describe_error(exc)
        return _fail(f"{args.db or 'the database'}: {said or f'cannot use it: {exc.orig or exc}'}")
    except KeyboardInterrupt:
        sys.stderr.write("healthdesk: interrupted\n")
        return 130
    return 0


def _headless() -> bool:
    """A Linux session with no display to open a window on (a server, a container)."""
    return (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and not os.environ.get("QT_QPA_PLATFORM")
    )


def _headless_summary(db: str | None, files: Sequence[str]) -> int:
    """Without a display, what the window would open on, as text, and how to see more."""
    from healthdesk.config import load_catalog
    from healthdesk.reports.summary import summary_text
    from healthdesk.store.db import is_team_store, open_db
    from healthdesk.store.demo import ensure_demo
    from healthdesk.store.imports import import_snapshots
    from healthdesk.store.queries import list_connections, summary

    sys.stderr.write(
        "healthdesk: no display (DISPLAY and WAYLAND_DISPLAY are unset), so no window: "
        "here is the summary. See 'healthdesk --help' for find, export and screenshot.\n"
    )
    engine = open_db(db)
    try:
        if files:
            import_snapshots(engine, list(files))
        elif not is_team_store(db):  # a team store is the team's: no demo in it
            ensure_demo(engine)
        catalog = load_catalog()
        for connection in list_connections(engine):
            sys.stdout.write(summary_text(summary(engine, connection, catalog)) + "\n\n")
    finally:
        engine.dispose()
    return 0


def _take_first_db(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`healthdesk --db PATH COMMAND ...` works on PATH as `COMMAND --db PATH` does."""
    first = args.db_first
    if args.command is None:
        args.db = first  # the window's
    elif first is None:
        return
    elif not hasattr(args, "db"):
        parser.error(f"{args.command} works on no database: --db does not apply to it")
    elif args.db is None:
        args.db = first
    elif args.db != first:
        parser.error(f"--db is given twice, {first!r} and {args.db!r}: give it once")


def _window_files(words: list[str]) -> tuple[str | None, list[str]] | None:
    """(db, files) when the words ask for the window on snapshot files, else None."""
    db = None
    rest = words
    if len(rest) >= 2 and rest[0] == "--db":
        db, rest = rest[1], rest[2:]
    elif rest and rest[0].startswith("--db="):
        db, rest = rest[0].partition("=")[2], rest[1:]
    if not rest or rest[0].startswith("-") or rest[0] in _COMMANDS:
        return None
    return db, rest


def _fail(message: str) -> int:
    from healthdesk.core.safe_text import one_line

    # Errors quote customer data and services' answers: one safe line, whatever they hold.
    sys.stderr.write(f"healthdesk: error: {one_line(message, limit=2000)}\n")
    return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
