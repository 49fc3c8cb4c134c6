"""The `healthdesk bench` command: run the suites, print the figures as a table or JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from healthdesk.bench import BenchContext, Figure, suites


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--contacts", type=int, default=1_000_000, help="about this many contacts (default 1M)"
    )
    parser.add_argument("--seed", type=int, default=1, help="of the generated snapshot")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--keep", metavar="DIR", help="work in DIR and keep its files (snapshots are reused)"
    )
    parser.add_argument(
        "--suite",
        action="append",
        choices=list(suites()),
        help="run only this suite (repeatable; default: all, in order)",
    )


def run(args: argparse.Namespace, out: TextIO) -> None:
    if args.contacts < 4:
        raise ValueError("--contacts must be at least 4")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="healthdesk-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    def say(text: str) -> None:
        sys.stderr.write(f"bench: {text}\n")
        sys.stderr.flush()

    context = BenchContext(contacts=args.contacts, seed=args.seed, work=work, say=say)
    started = time.perf_counter()
    figures: list[Figure] = []
    try:
        for name, suite in suites().items():
            if not args.suite or name in args.suite:
                figures.extend(suite(context))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if args.json:
        out.write(
            json.dumps(
                {
                    "contacts": args.contacts,
                    "seed": args.seed,
                    "date": when,
                    "machine": machine,
                    "seconds": time.perf_counter() - started,
                    "figures": [figure.as_json() for figure in figures],
                },
                indent=2,
            )
            + "\n"
        )
        return
    out.write(f"healthdesk bench: {args.contacts:,} contacts, {when}, {machine}\n\n")
    out.write(format_table(figures))


def format_table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "target", "", "detail")]
    for figure in figures:
        mark = "" if figure.ok is None else ("ok" if figure.ok else "MISSED")
        rows.append(
            (figure.name, f"{figure.value:,.2f} {figure.unit}", figure.target, mark, figure.detail)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + "  "
        + row[4]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"
