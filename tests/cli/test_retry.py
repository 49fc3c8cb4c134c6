"""`healthdesk retry`: a failure group's failed writes retried through the real reference
service, audited, and seen pending after the next `healthdesk sync`."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from healthdesk import cli_retry
from healthdesk.core.model import Status
from healthdesk.store.counts import read_counts
from healthdesk.store.db import open_db
from healthdesk.store.retries import audit_entries
from healthdesk.sync.server import running_service
from tests.cli.conftest import Run
from tests.helpers.db import status_of
from tests.sync.test_client import DEMO

TOKEN = "cli-retry-token"
CID = "c-hs-mc"


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("HEALTHDESK_TOKEN", TOKEN)
    with running_service(snapshots=[DEMO], token=TOKEN, retry_delay=None) as running:
        yield running


@pytest.fixture
def db(tmp_path: Path, service: Any, run: Run) -> Path:
    path = tmp_path / "retry.sqlite3"
    assert run("sync", service.url, "--db", path, "--connection", CID).code == 0
    return path


def largest_group(db: Path) -> tuple[str, str, int]:
    engine = open_db(db)
    try:
        group = read_counts(engine, CID).failures[0]
    finally:
        engine.dispose()
    return group.app.value, group.fingerprint, group.count


def test_retrying_a_group_then_syncing_shows_it_pending(db: Path, service: Any, run: Run) -> None:
    app, fingerprint, count = largest_group(db)
    result = run(
        "retry", service.url, "--db", db, "--connection", CID,
        "--group", f"{app}:{fingerprint}", "--yes", "--json", "--agent", "Carol",
    )  # fmt: skip
    assert result.code == 0, result.err
    answer = orjson.loads(result.out)
    assert len(answer["queued"]) == count
    assert answer["already_queued"] == answer["unknown"] == []
    assert answer["scope"].endswith(fingerprint)
    engine = open_db(db)
    try:
        [audit] = audit_entries(engine, CID, low_seq=None, before_seq=None)
        assert (audit.agent, audit.requested, audit.queued, audit.id) == (
            "Carol",
            count,
            count,
            answer["audit_id"],
        )
        assert audit.request_key == answer["request"]
    finally:
        engine.dispose()
    assert run("sync", service.url, "--db", db, "--connection", CID).code == 0
    engine = open_db(db)
    try:
        for ref in answer["queued"]:
            assert status_of(engine, ref["app"], ref["id"], CID) == Status.PENDING
    finally:
        engine.dispose()

    # The same group again: they wait for their retry already; nothing is queued twice.
    again = run(
        "retry", service.url, "--db", db, "--connection", CID,
        "--record", f"{answer['queued'][0]['app']}:{answer['queued'][0]['id']}", "--yes",
    )  # fmt: skip
    assert again.code == 0, again.err
    assert "0 queued, 1 already waiting, 0 unknown to the service." in again.out
    assert service.service.retries_waiting(CID) == count


def test_without_a_terminal_it_needs_yes(
    db: Path, service: Any, monkeypatch: pytest.MonkeyPatch, run: Run
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    result = run("retry", service.url, "--db", db, "--connection", CID, "--all")
    assert result.code == 2
    assert "without confirmation: not a terminal; add --yes" in result.err
    assert service.service.retries_waiting(CID) == 0


def test_on_a_terminal_it_asks(db: Path, service: Any) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    app, fingerprint, count = largest_group(db)
    args = cli_retry_args(service.url, db, f"{app}:{fingerprint}")
    out = io.StringIO()
    with pytest.raises(cli_retry.RetryRefused, match="not confirmed"):
        cli_retry.run(args, out, Terminal("n\n"))
    assert out.getvalue().startswith(f"Ask {service.url} to retry {count:,} contact(s) of ")
    assert service.service.retries_waiting(CID) == 0
    cli_retry.run(args, io.StringIO(), Terminal("y\n"))
    assert service.service.retries_waiting(CID) == count


def cli_retry_args(url: str, db: Path, group: str) -> Any:
    from healthdesk.cli import build_parser

    return build_parser().parse_args(
        ["retry", url, "--db", str(db), "--connection", CID, "--group", group]
    )


def test_a_refused_token_sends_nothing(
    db: Path, service: Any, monkeypatch: pytest.MonkeyPatch, run: Run
) -> None:
    monkeypatch.setenv("HEALTHDESK_TOKEN", "wrong")
    result = run("retry", service.url, "--db", db, "--connection", CID, "--all", "--yes")
    assert result.code == 2
    assert result.err.startswith("healthdesk: error: nothing was retried: ")
    assert "refused the token" in result.err
    engine = open_db(db)
    try:
        [audit] = audit_entries(engine, CID, low_seq=None, before_seq=None)
        assert audit.refused is not None
        assert "refused the token" in audit.refused
    finally:
        engine.dispose()
    assert service.service.retries_waiting(CID) == 0


def test_a_group_with_no_failing_contact(db: Path, service: Any, run: Run) -> None:
    result = run(
        "retry", service.url, "--db", db, "--connection", CID, "--group", "a:no such error", "--yes"
    )
    assert result.code == 2
    assert "no failing contact to retry in HubSpot \u203a Other \u203a no such error" in result.err
