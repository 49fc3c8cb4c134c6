"""`healthdesk sync URL`: a pull through the command line, against the reference service."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from healthdesk.cli import main
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.sync.server import running_service
from tests.helpers.db import statuses

DEMO = Path(str(importlib.resources.files("healthdesk.data") / "demo.healthsnap"))


def test_sync_pulls_what_an_import_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHDESK_TOKEN", "t0ken")
    with running_service(snapshots=[DEMO], token="t0ken") as service:
        assert main(["sync", service.url, "--db", str(tmp_path / "synced.sqlite3")]) == 0
    out = capsys.readouterr().out
    assert "Synced c-hs-mc from http://127.0.0.1:" in out
    synced = open_db(tmp_path / "synced.sqlite3")
    imported = open_db(tmp_path / "imported.sqlite3")
    try:
        import_snapshots(imported, [DEMO])
        for connection_id in ("c-hs-mc", "c-sf-hs", "c-pd-mc"):
            assert statuses(synced, connection_id) == statuses(imported, connection_id)
    finally:
        synced.dispose()
        imported.dispose()


def test_sync_with_a_wrong_token_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHDESK_TOKEN", "not-the-token")
    with running_service(snapshots=[DEMO], token="t0ken") as service:
        code = main(["sync", service.url, "--db", str(tmp_path / "s.sqlite3")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"healthdesk: error: {service.url}: the service refused the token")
    assert err.count("\n") == 1
    assert "not-the-token" not in err
