"""One window per database: a second start hands its snapshot files to the open window."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from healthdesk.ui.single_instance import (
    MAX_FILES,
    InstanceServer,
    hand_over,
    parse_message,
    server_name,
)
from tests.helpers.feed import write
from tests.ui import window_fixtures
from tests.ui.window_fixtures import MakeEngine, MakeWindow, main_items, one_way_items

make_engine = window_fixtures.make_engine
make_window = window_fixtures.make_window
settings = window_fixtures.settings


@pytest.fixture(autouse=True)
def _runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))


def test_a_second_start_hands_its_snapshot_to_the_open_window(
    qtbot: QtBot, tmp_path: Path, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(main_items("c-1"))
    db = Path(str(engine.url.database))
    window = make_window(engine)
    server = InstanceServer(server_name(db))
    assert server.listen()
    server.files_received.connect(window.receive_files)
    snapshot = write(tmp_path / "other.jsonl", one_way_items("c-2"))
    assert window.connections_model.row_of("c-2") < 0

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    second = subprocess.Popen(
        [sys.executable, "-m", "healthdesk", "--db", str(db), str(snapshot)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The window answers from this event loop while the second process waits.
        qtbot.waitUntil(lambda: second.poll() is not None, timeout=60_000)
    finally:
        if second.poll() is None:
            second.kill()
    _out, err = second.communicate()
    assert second.returncode == 0, err
    assert f"the window open on {db.resolve()}: 1 snapshot file(s) handed" in err
    qtbot.waitUntil(lambda: window.connections_model.row_of("c-2") >= 0)
    server.close()


def test_a_start_with_no_window_open_finds_nobody(tmp_path: Path) -> None:
    assert not hand_over(server_name(tmp_path / "nobody.sqlite3"), [])


def test_the_name_is_per_database_and_private(tmp_path: Path) -> None:
    first = server_name(tmp_path / "a.sqlite3")
    assert first == server_name(tmp_path / "." / "a.sqlite3")
    assert first != server_name(tmp_path / "b.sqlite3")
    assert first.startswith(os.environ["XDG_RUNTIME_DIR"])
    assert str(os.getuid()) in Path(first).name


def test_a_socket_left_by_a_crashed_window_is_taken_over(qtbot: QtBot, tmp_path: Path) -> None:
    name = server_name(tmp_path / "db.sqlite3")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(name)  # bound, never listening, never removed: what a crash leaves
    stale.close()
    assert Path(name).exists()
    server = InstanceServer(name)
    assert server.listen()
    with qtbot.waitSignal(server.files_received) as received:
        # A second process, as a second start would be (its socket waits blocking).
        second = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path;"
                "from healthdesk.ui.single_instance import hand_over;"
                "sys.exit(0 if hand_over(sys.argv[1], [Path(sys.argv[2])]) else 1)",
                name,
                str(tmp_path / "x.healthsnap"),
            ]
        )
    qtbot.waitUntil(lambda: second.poll() is not None)
    assert second.returncode == 0  # it was answered
    assert received.args == [[(tmp_path / "x.healthsnap").resolve()]]
    server.close()


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[1, 2]",
        b'{"files": "a"}',
        b'{"files": [1]}',
        b'{"files": [""]}',
        b'{"files": ["a\\u0000b"]}',
        b'{"files": ' + str(["x"] * (MAX_FILES + 1)).replace("'", '"').encode() + b"}",
        b"\xff\xfe",
    ],
)
def test_a_message_that_is_not_one_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"JSON|list of files|not a path"):
        parse_message(data)


def test_a_message_gives_its_files() -> None:
    assert parse_message(b'{"files": ["/a/b.healthsnap", "/c"]}') == [
        Path("/a/b.healthsnap"),
        Path("/c"),
    ]
