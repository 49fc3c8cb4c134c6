"""Fixtures of the CLI tests: an isolated home, a hand-built snapshot, and `run`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from healthdesk.cli import main
from tests.helpers.feed import connection, event, mapping, record, write

#: Rules of the hand-built connection: a HubSpot record syncs when its lifecycle is
#: "customer", a Mailchimp record when its status is "subscribed".
RULES = [
    {"id": "ra", "from": "a", "all": [{"field": "lifecycle", "op": "equals", "value": "customer"}]},
    {"id": "rb", "from": "b", "all": [{"field": "status", "op": "equals", "value": "subscribed"}]},
]
LOCKED = {"phase": "locked", "locked_by": {"id": "c-9", "name": "Salesforce → HubSpot"}}
CUSTOMER = {"lifecycle": "customer"}
SUBSCRIBED = {"status": "subscribed"}
INJECTION_NAME = '=HYPERLINK("http://x")'

#: What the hand-built snapshot must decide, by the app ids of each contact's records.
EXPECTED_STATUS: dict[tuple[str, ...], tuple[str, str | None]] = {
    ("a1", "b1"): ("in_sync", None),
    ("a2", "mc-7731"): ("in_sync", None),
    ("a3", "b3"): ("excluded", "no_rule_match"),
    ("a4", "b4"): ("failing", None),
    ("hs_5",): ("excluded", "no_rule_match"),
    ("a6",): ("failing", None),
    ("b7",): ("failing", None),
    ("a8",): ("excluded", "no_email"),
    ("a9",): ("duplicate", None),
    ("b10",): ("pending", None),
    ("b11",): ("duplicate", None),
    ("a12",): ("pending", None),
}


def snapshot_items() -> list[dict[str, Any]]:
    """One connection whose contacts cover every status and reason (EXPECTED_STATUS)."""
    return [
        connection(rules=RULES, state=LOCKED),
        # in_sync pairs
        record("a", "a1", name="Alice Martin", email="alice@acme.com", fields=CUSTOMER),
        record("b", "b1", name="Alice Martin", email="alice@acme.com", fields=SUBSCRIBED),
        mapping("a1", "b1"),
        record("a", "a2", name="José Núñez", email="jose@acme.com", fields=CUSTOMER),
        record("b", "mc-7731", name="José Núñez", email="jose@acme.com", fields=SUBSCRIBED),
        mapping("a2", "mc-7731"),
        # a pair that matches neither side's rules
        record("a", "a3", name="Carl Lead", email="carl@lead.io", fields={"lifecycle": "lead"}),
        record("b", "b3", name="Carl Lead", email="carl@lead.io", fields={"status": "cleaned"}),
        mapping("a3", "b3"),
        # a pair whose last write failed
        record("a", "a4", name="Dora Fail", email="dora@fail.io", fields=CUSTOMER),
        record("b", "b4", name="Dora Fail", email="dora@fail.io", fields=SUBSCRIBED),
        mapping("a4", "b4"),
        # unmapped records
        record("a", "hs_5", name="100% Lead", email="lead@lead.io", fields={"lifecycle": "lead"}),
        record("a", "a6", name="Eve Fail", email="eve@fail.io", fields=CUSTOMER),
        record("b", "b7", name="Finn Conflict", email="finn@conflict.io", fields=SUBSCRIBED),
        record("a", "a8", name="Gus Noemail", email="  ", fields=CUSTOMER),
        record("a", "a9", name="Alice Again", email=" ALICE@acme.com ", fields=CUSTOMER),
        record(
            "b",
            "b10",
            name="Hal Home",
            email="@home",
            fields=SUBSCRIBED,
            created_at="2025-01-01T00:00:00Z",
        ),
        record("b", "b11", name="Hal Home 2", email="@home", fields=SUBSCRIBED),
        record("a", "a12", name=INJECTION_NAME, email="+1@x.com", fields=CUSTOMER),
        # history: writes into b (Mailchimp) and into a (HubSpot)
        event(1, "a", "a1", "created"),
        event(2, "b", "b1", "updated"),
        event(3, "a", "a2", "updated"),
        event(4, "a", "a2", "unchanged"),
        event(5, "b", "mc-7731", "created"),
        event(6, "a", "a4", "created"),
        event(
            7,
            "a",
            "a4",
            "failed",
            message="dora@fail.io looks fake or invalid, please enter a real email address.",
        ),
        event(
            8,
            "a",
            "a6",
            "failed",
            message="eve.k@fail.io looks fake or invalid, please enter a real email address.",
        ),
        event(
            9,
            "b",
            "b7",
            "failed",
            code="CONFLICT",
            message="Contact already exists. Existing ID: 3401",
        ),
        event(10, "a", "a9", "duplicate"),
        event(11, "a", "hs_5", "excluded"),
    ]


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """XDG dirs in a temporary home: no test reads or writes the user's own files."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    return home


@pytest.fixture
def default_db(isolated_home: Path) -> Path:
    """Where the user's default database would be (it must not exist unless imported)."""
    from healthdesk.store.db import default_db_path

    path = default_db_path()
    assert path.is_relative_to(isolated_home)
    return path


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """`run("summary", path, "--json")`: main() in-process, as the exit code, stdout, stderr."""

    def _run(*argv: str | Path) -> Result:
        capsys.readouterr()
        try:
            code = main([str(arg) for arg in argv])
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else 0
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run


@pytest.fixture(scope="session")
def snapshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("snapshots")


@pytest.fixture(scope="session")
def snapshot(snapshot_dir: Path) -> Path:
    """The hand-built snapshot (EXPECTED_STATUS), one connection, uncompressed."""
    return write(snapshot_dir / "one.jsonl", snapshot_items())


@pytest.fixture(scope="session")
def two_connections(snapshot_dir: Path) -> Path:
    """Two connections in one (gzip) snapshot: c-1 and c-2."""
    second = [
        connection(
            "c-2",
            name="Pipedrive → Mailchimp",
            direction="a_to_b",
            kinds=("pipedrive", "mailchimp"),
            names=("Pipedrive", "Mailchimp"),
        ),
        record("a", "p1", cid="c-2", name="Paula", email="paula@pd.io"),
    ]
    return write(snapshot_dir / "two.jsonl.gz", snapshot_items() + second, compress=True)
