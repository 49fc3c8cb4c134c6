"""The bundle itself, built by packaging/build.sh: it runs with no venv and no Python on
PATH. A build takes minutes, so this runs only when asked for:

    HEALTHDESK_BUNDLE_TEST=1 .venv/bin/python -m pytest tests/packaging/test_bundle.py
"""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from healthdesk.ui.single_instance import InstanceServer, server_name
from tests.packaging.conftest import PACKAGING, ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # the build: a minute here, more on a busy machine
    pytest.mark.skipif(
        os.environ.get("HEALTHDESK_BUNDLE_TEST") != "1",
        reason="builds the bundle (minutes): set HEALTHDESK_BUNDLE_TEST=1",
    ),
]

BUNDLE = ROOT / "dist" / "healthdesk"


@pytest.fixture(scope="module")
def healthdesk() -> Path:
    subprocess.run(["bash", str(PACKAGING / "build.sh")], check=True, capture_output=True)
    return BUNDLE / "healthdesk"


def _run(healthdesk: Path, home: Path, *args: str | Path, offscreen: bool = True) -> str:
    # What a user's session has: no venv, no Python on PATH; no display.
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    if offscreen:
        env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run(
        [str(healthdesk), *map(str, args)], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_command_runs_from_the_bundle(healthdesk: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "small.healthsnap"
    db = tmp_path / "x.sqlite3"
    assert "Wrote" in _run(healthdesk, tmp_path, "generate", "--contacts", "200", "-o", snapshot)
    # A new database: the Alembic migrations are found in the bundle.
    assert "Imported" in _run(healthdesk, tmp_path, "import", "--db", db, snapshot)
    summary = _run(healthdesk, tmp_path, "summary", "--db", db, "--connection", "c-hs-mc")
    assert "Failing" in summary  # the failure catalog is there too
    assert "contact(s) match" in _run(
        healthdesk, tmp_path, "find", "--db", db, "--connection", "c-hs-mc", "a"
    )
    csv = _run(healthdesk, tmp_path, "export", "--db", db, "--connection", "c-hs-mc")
    assert len(csv.splitlines()) > 100
    for command in ("sync", "serve"):
        assert "usage: healthdesk" in _run(healthdesk, tmp_path, command, "--help")


def test_the_bundled_demo_and_the_window(healthdesk: Path, tmp_path: Path) -> None:
    # No display: `healthdesk` prints what the window would show, the bundled demo.
    shown = _run(healthdesk, tmp_path, offscreen=False)
    assert "HubSpot ⇄ Mailchimp [c-hs-mc]" in shown
    png = tmp_path / "window.png"
    out = _run(
        healthdesk,
        tmp_path,
        "screenshot",
        ROOT / "data" / "demo.healthsnap",
        "--connection",
        "c-hs-mc",
        "--tab",
        "failing",
        "-o",
        png,
    )
    assert "Wrote" in out
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1400, 900)


def test_the_bundle_hands_a_snapshot_to_the_open_window(
    healthdesk: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    # The bundle's QtNetwork (the local socket) reaches a window listening here.
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    db = tmp_path / "open.sqlite3"
    db.touch()
    old = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    try:
        server = InstanceServer(server_name(db))
        assert server.listen()
    finally:
        if old is None:
            del os.environ["XDG_RUNTIME_DIR"]
        else:
            os.environ["XDG_RUNTIME_DIR"] = old
    env = {
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": str(runtime),
    }
    demo = ROOT / "data" / "demo.healthsnap"
    with qtbot.waitSignal(server.files_received, timeout=60_000) as received:
        second = subprocess.Popen(
            [str(healthdesk), "--db", str(db), str(demo)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    qtbot.waitUntil(lambda: second.poll() is not None, timeout=60_000)
    second.communicate()
    assert second.returncode == 0
    assert received.args == [[demo.resolve()]]
    server.close()
