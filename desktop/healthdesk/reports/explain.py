"""`healthdesk explain`: a raw error pasted from a ticket, explained.

The agent gives the error's message (and, when the ticket shows them, the app kind and
the error code); the command prints what the failure tree would say of it: the category,
who acts (the owner), the fingerprint it groups under, what it means and how to fix it.
The catalog decides (``Catalog.explain``); this module only reads the arguments and
writes the answer, as text for a person or as one JSON object.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any, TextIO

import orjson

from healthdesk.core.failures import OTHER_CATEGORY, Catalog, Explanation

_WIDTH = 88
_INDENT = "  "


class ExplainError(ValueError):
    """Arguments that cannot be explained; the message says what to give instead."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "message",
        metavar="MESSAGE",
        help="the raw error as the app sent it (quote it), or - to read it from stdin",
    )
    parser.add_argument(
        "--app",
        metavar="KIND",
        default="",
        help="the app that refused the write: hubspot, mailchimp, salesforce, pipedrive... "
        "(default: the first whose entries recognise the error)",
    )
    parser.add_argument("--code", metavar="CODE", default="", help="the error's code, if any")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def read_message(message: str, stdin: TextIO | None = None) -> str:
    """The MESSAGE argument, or stdin's text for "-"; an empty one is refused."""
    if message == "-":
        message = (stdin or sys.stdin).read()
    if not message.strip():
        raise ExplainError("give the raw error MESSAGE to explain (quote it, or - for stdin)")
    return message


def explanation_dict(found: Explanation, *, code: str) -> dict[str, Any]:
    reason = found.reason
    return {
        "recognized": reason.category != OTHER_CATEGORY,
        "app_kind": found.app_kind or None,
        "code": " ".join(code.split()) or None,
        "fingerprint": found.fingerprint,
        "category": reason.category,
        "owner": reason.owner.value,
        "owner_label": reason.owner.label,
        "explanation": reason.explanation,
        "fix": reason.fix,
    }


def explanation_text(found: Explanation) -> str:
    reason = found.reason
    if reason.category == OTHER_CATEGORY:
        recognised = "no entry of the catalog recognises this error"
    elif found.app_kind:
        recognised = f"recognised as a {found.app_kind} error"
    else:
        recognised = "recognised by the entries for any app"
    lines = [
        f"Category     {reason.category} ({recognised})",
        f"Owner        {reason.owner.label} [{reason.owner.value}]",
        f"Fingerprint  {found.fingerprint}",
        "",
        "Meaning",
        *_wrapped(reason.explanation),
        "Fix",
        *_wrapped(reason.fix),
    ]
    return "\n".join(lines) + "\n"


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(text, width=_WIDTH, initial_indent=_INDENT, subsequent_indent=_INDENT) or [
        _INDENT
    ]


def run(
    catalog: Catalog,
    args: argparse.Namespace,
    out: TextIO,
    *,
    stdin: TextIO | None = None,
) -> None:
    """The command: explain ``args.message`` with ``catalog`` and write the answer."""
    message = read_message(args.message, stdin)
    found = catalog.explain(message, app_kind=args.app, code=args.code)
    if args.json:
        out.write(orjson.dumps(explanation_dict(found, code=args.code)).decode() + "\n")
    else:
        out.write(explanation_text(found))
