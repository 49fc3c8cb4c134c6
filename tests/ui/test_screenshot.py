"""`ui.screenshot.render`: the window offscreen, to a PNG of the requested size."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from healthdesk.core.model import Status
from healthdesk.feed.items import FeedError
from healthdesk.store.queries import UnknownConnection
from healthdesk.ui.screenshot import parse_tab, render
from tests.helpers.feed import write
from tests.ui import window_fixtures
from tests.ui.window_fixtures import (
    MakeEngine,
    locked_items,
    main_items,
)

# The fixtures of window_fixtures that this module uses.
make_engine = window_fixtures.make_engine


def test_render_a_snapshot_to_a_png_of_the_requested_size(qtbot: QtBot, tmp_path: Path) -> None:
    snapshot = write(tmp_path / "one.jsonl", main_items())
    out = render(file=snapshot, out=tmp_path / "shots" / "window.png", size=QSize(900, 640))
    assert out == tmp_path / "shots" / "window.png"
    image = QImage(str(out))
    assert not image.isNull()
    assert image.size() == QSize(900, 640)
    # not one flat colour: the window was drawn
    colours = {image.pixel(x, y) for x in range(0, 900, 25) for y in range(0, 640, 25)}
    assert len(colours) > 5


def test_render_a_database_connection_and_tab(
    qtbot: QtBot, make_engine: MakeEngine, tmp_path: Path
) -> None:
    engine = make_engine(locked_items(), name="shots")
    engine.dispose()
    db = tmp_path / "shots.sqlite3"
    out = render(
        db_path=db,
        out=tmp_path / "failing.png",
        connection_id="c-2",
        tab="failing",
        size=QSize(1200, 800),
    )
    assert QImage(str(out)).size() == QSize(1200, 800)
    with pytest.raises(UnknownConnection, match="c-404"):
        render(db_path=db, out=tmp_path / "x.png", connection_id="c-404")
    assert not (tmp_path / "x.png").exists()


def test_render_refuses_bad_arguments(qtbot: QtBot, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        render(db_path=tmp_path / "none.sqlite3", out=tmp_path / "x.png")
    with pytest.raises(ValueError, match="not both"):
        render(out=tmp_path / "x.png")
    with pytest.raises(ValueError, match="unknown tab"):
        render(file=tmp_path / "x.jsonl", out=tmp_path / "x.png", tab="everything")
    with pytest.raises(ValueError, match="too small"):
        render(file=tmp_path / "x.jsonl", out=tmp_path / "x.png", size=QSize(10, 10))
    broken = tmp_path / "broken.jsonl"
    broken.write_text("not json\n", encoding="utf-8")
    with pytest.raises(FeedError, match=r"broken\.jsonl:1"):
        render(file=broken, out=tmp_path / "x.png")


def test_tab_names() -> None:
    assert parse_tab("duplicates") is Status.DUPLICATE
    assert parse_tab("duplicate") is Status.DUPLICATE
    assert parse_tab("IN_SYNC") is Status.IN_SYNC
    assert parse_tab(None) is None
    assert parse_tab(Status.PENDING) is Status.PENDING


def test_the_screenshot_command(
    qtbot: QtBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from healthdesk.cli import main

    snapshot = write(tmp_path / "one.jsonl", main_items())
    out = tmp_path / "shot.png"
    args = ["screenshot", str(snapshot), "-o", str(out), "--tab", "failing"]
    assert main([*args, "--size", "800x600"]) == 0
    assert capsys.readouterr().out == f"Wrote {out}\n"
    assert QImage(str(out)).size() == QSize(800, 600)
    with pytest.raises(SystemExit) as exited:
        main([*args, "--size", "80x60"])
    assert exited.value.code == 2
    assert "each side must be from 200 to 8000 pixels" in capsys.readouterr().err


def test_the_screenshot_command_opens_a_contact_and_searches(
    qtbot: QtBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from healthdesk.cli import main

    snapshot = write(tmp_path / "one.jsonl", main_items())
    out = tmp_path / "shot.png"
    args = ["screenshot", str(snapshot), "-o", str(out), "--size", "900x600"]
    assert main([*args, "--contact", "a:a1", "--search", "a"]) == 0
    assert QImage(str(out)).size() == QSize(900, 600)
    capsys.readouterr()
    assert main([*args, "--contact", "b:no-such-record"]) == 2
    assert capsys.readouterr().err == (
        "healthdesk: error: no visible contact holds the record b:no-such-record\n"
    )


def test_the_screenshot_command_without_a_source_says_so_in_one_line(
    qtbot: QtBot,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from healthdesk.cli import main

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "empty-home"))
    assert main(["screenshot", "-o", str(tmp_path / "shot.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("healthdesk: error: give a snapshot FILE or --db PATH")
    assert "Traceback" not in err
    assert not (tmp_path / "shot.png").exists()


def test_the_screenshot_command_on_a_team_store(
    qtbot: QtBot, tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_url: str
) -> None:
    from healthdesk.cli import main

    snapshot = write(tmp_path / "one.jsonl", main_items())
    assert main(["import", str(snapshot), "--db", postgres_url]) == 0
    out = tmp_path / "team.png"
    args = ["screenshot", "--db", postgres_url, "-o", str(out), "--size", "900x600"]
    assert main([*args, "--tab", "failing", "--contact", "a:a1", "--search", "a"]) == 0
    assert capsys.readouterr().out.endswith(f"Wrote {out}\n")
    assert QImage(str(out)).size() == QSize(900, 600)
