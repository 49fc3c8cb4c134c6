"""What compare and whatif must print, derived from other commands' output (`export`,
`summary`), never from the code under test."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.cli.conftest import Run

ABSENT = "absent"


def exported_statuses(run: Run, source: list[str | Path], connection: str) -> dict[str, str]:
    """Each contact of `healthdesk export --format jsonl` by identity ("a:ID", else "b:ID")."""
    result = run("export", *source, "--connection", connection, "--format", "jsonl")
    assert result.code == 0, result.err
    found: dict[str, str] = {}
    for line in result.out.splitlines():
        contact = json.loads(line)
        ids = {record["app"]: record["id"] for record in contact["records"]}
        identity = f"a:{ids['a']}" if "a" in ids else f"b:{ids['b']}"
        assert identity not in found
        found[identity] = contact["status"]
    return found


def joined_moves(old: dict[str, str], new: dict[str, str]) -> dict[tuple[str, str], int]:
    """How many contacts went from each place to each other, the unchanged left out."""
    moves = Counter(
        (old.get(identity, ABSENT), new.get(identity, ABSENT)) for identity in old.keys() | new
    )
    return {key: count for key, count in moves.items() if key[0] != key[1]}


def printed_moves(printed: dict[str, Any]) -> dict[tuple[str, str], int]:
    moves = {(m["from"], m["to"]): m["count"] for m in printed["moves"]}
    assert len(moves) == len(printed["moves"])
    return moves


def summary_of(run: Run, source: list[str | Path], connection: str) -> dict[str, Any]:
    result = run("summary", *source, "--connection", connection, "--json")
    assert result.code == 0, result.err
    summary: dict[str, Any] = json.loads(result.out)
    return summary
