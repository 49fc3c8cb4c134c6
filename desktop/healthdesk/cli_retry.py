"""`healthdesk retry URL --connection ID (--group APP:FINGERPRINT | --all | --record APP:ID...)`:
ask the sync service to retry failed writes, as the window's Retry These Contacts does.

The records come from the database (`--db`, as `healthdesk sync` fills it): the failing
contacts of one failure group (the app that refused and the error's fingerprint, as
`summary` prints them), or all failing contacts, or the records named. On a terminal it
asks before sending; without one it needs `--yes`. The retry is written to the database's
audit log (who: `--agent`, else the OS user). The contacts turn pending, then to their new
status, as `healthdesk sync URL` pulls the service's feed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import orjson

from healthdesk.core.model import Side, Status
from healthdesk.core.safe_text import json_safe, one_line, terminal_text

_SEPARATOR = " \u203a "  # the failure tree's path separator


class RetryRefused(Exception):
    """Nothing was sent: not confirmed, nothing to retry, or the service refused."""


def _side_ref(text: str) -> tuple[Side, str]:
    app, sep, rest = text.partition(":")
    if not sep or app not in ("a", "b") or not rest:
        raise argparse.ArgumentTypeError(f"expected APP:VALUE with APP a or b, got {text!r}")
    return Side(app), rest


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `retry` on the CLI's subcommands."""
    retry = commands.add_parser(
        "retry", help="ask the sync service to retry failed writes (a failure group, or records)"
    )
    retry.add_argument("url", metavar="URL", help="the service, e.g. http://127.0.0.1:8765")
    retry.add_argument("--db", metavar="PATH", help="the database file (default: your own)")
    retry.add_argument("--connection", metavar="ID", required=True, help="the connection")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--group",
        metavar="APP:FINGERPRINT",
        type=_side_ref,
        help="the failing contacts of one failure group: the app that refused, and the "
        'fingerprint as `summary` prints it, e.g. "b:400: Invalid Resource: …"',
    )
    which.add_argument("--all", action="store_true", help="every failing contact")
    which.add_argument(
        "--record",
        metavar="APP:ID",
        type=_side_ref,
        action="append",
        help="a record whose failed write to retry (repeat it for more)",
    )
    retry.add_argument("--agent", metavar="NAME", help="who asks, for the audit log (default: you)")
    retry.add_argument("--yes", action="store_true", help="do not ask (needed without a terminal)")
    retry.add_argument("--json", action="store_true", help="print the service's answer as JSON")
    retry.add_argument(
        "--allow-insecure",
        action="store_true",
        help="allow plain http:// to a machine other than this one",
    )


def run(args: argparse.Namespace, out: TextIO, stdin: TextIO | None = None) -> None:
    """Send the retry; raises RetryRefused, UnknownConnection or DatabaseBusy."""
    from healthdesk.config import load_catalog
    from healthdesk.store.db import default_db_path, open_db
    from healthdesk.store.pages import ContactFilter
    from healthdesk.store.queries import get_connection
    from healthdesk.store.retries import (
        RetryAudit,
        finish_retry,
        latest_seq,
        os_user,
        record_retry,
        retry_targets,
    )
    from healthdesk.sync.client import (
        AuthError,
        RetryAnswer,
        ServiceError,
        SyncClient,
        SyncError,
    )
    from healthdesk.sync.credentials import CredentialsError, normalize_url, token_for

    path = Path(args.db) if args.db else default_db_path()
    if not path.exists():
        raise RetryRefused(f"{path}: no such database")
    engine = open_db(path)
    try:
        connection = get_connection(engine, args.connection)
        if args.record:
            targets = list(dict.fromkeys(args.record))
            scope = f"{len(targets):,} record(s) named"
        elif args.all:
            targets = retry_targets(
                engine, connection.id, contact_filter=ContactFilter(Status.FAILING)
            )
            scope = "every failing contact"
        else:
            app, fingerprint = args.group
            group = ContactFilter(
                Status.FAILING, failure_app=app, category_fingerprints=(fingerprint,)
            )
            targets = retry_targets(engine, connection.id, contact_filter=group)
            kind = connection.app(app).kind
            category = load_catalog().classify(kind, fingerprint).category
            scope = _SEPARATOR.join([connection.app(app).name, category, fingerprint])
        if not targets:
            raise RetryRefused(f"no failing contact to retry in {terminal_text(scope)}")
        name = terminal_text(connection.name)
        shown = f"{len(targets):,} contact(s) of {name}: {terminal_text(scope)}"
        if not args.yes:
            _confirm(shown, args.url, stdin or sys.stdin, out)
        try:
            service_url = normalize_url(args.url)
        except ValueError as exc:
            raise RetryRefused(str(exc)) from None
        now = datetime.now(UTC)
        audit = record_retry(
            engine,
            RetryAudit(
                connection_id=connection.id,
                at=now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                agent=(args.agent or os.environ.get("HEALTHDESK_AGENT") or os_user()).strip(),
                scope=scope,
                requested=len(targets),
                queued=0,
                already_queued=0,
                unknown=0,
                service_url=service_url,
                request_key=str(uuid.uuid4()),
                after_seq=latest_seq(engine, connection.id),
            ),
        )
        key = audit.request_key

        async def send() -> RetryAnswer:
            async with SyncClient(
                base_url=args.url,
                token=token_for(args.url),
                engine=engine,
                allow_insecure=args.allow_insecure,
            ) as client:
                return await client.retry(connection.id, targets, key=key)

        try:
            answer = asyncio.run(send())
        except (AuthError, ServiceError) as exc:
            finish_retry(engine, audit, refused=one_line(str(exc), 300))
            raise RetryRefused(f"nothing was retried: {exc}") from None
        except (SyncError, CredentialsError, ValueError) as exc:
            raise RetryRefused(
                f"no answer from the service ({exc}): the retry may have been queued (the audit "
                "log says it was sent); run `healthdesk sync` to see, or retry again (the same "
                "contacts are not queued twice)"
            ) from None
        audit = finish_retry(
            engine,
            audit,
            queued=len(answer.queued),
            already_queued=len(answer.already_queued),
            unknown=len(answer.unknown),
        )
    finally:
        engine.dispose()
    if args.json:
        refs = {
            name: [{"app": app.value, "id": rid} for app, rid in getattr(answer, name)]
            for name in ("queued", "already_queued", "unknown")
        }
        data: dict[str, object] = {"request": key, "connection": connection.id, "scope": scope}
        data.update(refs)
        data["audit_id"] = audit.id
        out.write(json_safe(orjson.dumps(data).decode()) + "\n")
        return
    out.write(
        f"Asked {args.url} to retry {shown}: {len(answer.queued):,} queued, "
        f"{len(answer.already_queued):,} already waiting, {len(answer.unknown):,} unknown to "
        f"the service.\nThey show as pending, then as the service reports each retry, after "
        f"`healthdesk sync {args.url}`.\n"
    )


def _confirm(shown: str, url: str, stdin: TextIO, out: TextIO) -> None:
    if not stdin.isatty():
        raise RetryRefused(
            f"refusing to retry {shown} without confirmation: not a terminal; add --yes"
        )
    out.write(f"Ask {url} to retry {shown}? [y/N] ")
    out.flush()
    if stdin.readline().strip().lower() not in ("y", "yes"):
        raise RetryRefused("not confirmed; nothing was retried")
