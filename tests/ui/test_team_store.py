"""The team store in the window: one process writes (a window in live mode, pulling the
reference service while it simulates activity), two other windows only read the same
PostgreSQL database, and both stay in step with it without polling: they hear each
commit through LISTEN/NOTIFY (ui/team_watcher.py) and refresh their counts, lists and
timeline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.model import STATUS_ORDER
from healthdesk.store import timeline
from healthdesk.store.cursors import get_cursor
from healthdesk.store.db import open_db
from healthdesk.store.queries import counts
from healthdesk.sync.credentials import normalize_url
from healthdesk.sync.server import RunningService, running_service
from healthdesk.ui.contacts.status_tabs import tab_title
from healthdesk.ui.main_window import MainWindow
from healthdesk.ui.operations import SynchronousOperations
from healthdesk.ui.team_watcher import TeamWatcher
from tests.helpers.feed import write
from tests.ui import window_fixtures
from tests.ui.test_live import TOKEN, fast_backoff, loop, run
from tests.ui.window_fixtures import MakeWindow, main_items

make_window = window_fixtures.make_window
settings = window_fixtures.settings
__all__ = ["loop"]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    snapshot = write(tmp_path / "team.jsonl", main_items("c-1"))
    with running_service(snapshots=[snapshot], token=TOKEN, seed=13) as running:
        yield running


@pytest.fixture
def engines(postgres_url: str) -> Iterator[list[Engine]]:
    """Three engines on one new team store: the writer's and two readers'."""
    opened = [open_db(postgres_url) for _ in range(3)]
    yield opened
    for engine in opened:
        engine.dispose()


def tab_texts(window: MainWindow) -> list[str]:
    return [window.tabs.tabText(i) for i in range(window.tabs.count())]


def timeline_top(window: MainWindow) -> object:
    return window.timeline_dock.view.model().index(0, 0).data()


def test_one_writer_and_two_reading_windows_stay_in_step(
    qtbot: QtBot,
    loop: asyncio.AbstractEventLoop,
    engines: list[Engine],
    service: RunningService,
    make_window: MakeWindow,
) -> None:
    """(The windows close before the service and the database go: fixtures in order.)"""
    truth = engines[0]
    readers = [make_window(engine) for engine in engines[1:]]
    for reader in readers:
        assert isinstance(reader.db_watcher, TeamWatcher)
        qtbot.waitUntil(lambda r=reader: r.db_watcher.listening, timeout=10_000)
        assert reader.connections_model.rowCount() == 0  # nothing imported yet
    writer = make_window(engines[0])
    writer.live.backoff = fast_backoff
    writer.connect_to_service(service.url, TOKEN)
    qtbot.waitUntil(lambda: writer.live.status.startswith("Live ·"), timeout=10_000)
    for reader in readers:
        qtbot.waitUntil(lambda r=reader: r.connections_model.rowCount() == 1, timeout=10_000)
        reader.select_connection("c-1")
    writer.select_connection("c-1")
    feed = service.service
    source = normalize_url(service.url)

    def caught_up() -> bool:
        return get_cursor(truth, source, "c-1") == feed.cursor("c-1", feed.size("c-1"))

    for _round in range(4):
        assert feed.simulate(25) >= 25
        qtbot.waitUntil(caught_up, timeout=20_000)
        expected = counts(truth, "c-1")
        titles = [tab_title(status, expected[status]) for status in STATUS_ORDER]
        newest = timeline.page(truth, "c-1", before_seq=None, limit=1)[0]
        for window in (writer, *readers):
            qtbot.waitUntil(lambda w=window, t=titles: tab_texts(w) == t, timeout=10_000)
            qtbot.waitUntil(
                lambda w=window: (
                    w.timeline_dock.view.model().rowCount() > 0
                    and timeline_top(w) == timeline_top(writer)
                ),
                timeout=10_000,
            )
        assert newest.seq == timeline.page(truth, "c-1", before_seq=None, limit=1)[0].seq
    run(qtbot, writer.stop_live())
    for reader in readers:
        reader.close()
        assert reader.db_watcher is not None
        assert not reader.db_watcher.listening


@pytest.mark.lifetime
def test_a_window_deleted_while_it_listens_stops_listening(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop, engines: list[Engine], settings: QSettings
) -> None:
    """(The loop fixture fails the test if a listener task is left running.)"""
    operations = SynchronousOperations()
    window = MainWindow(engine=engines[0], operations=operations, settings=settings)
    watcher = window.db_watcher
    assert isinstance(watcher, TeamWatcher)
    qtbot.waitUntil(lambda: watcher.listening, timeout=10_000)
    listeners = [task for task in asyncio.all_tasks(loop) if not task.done()]
    assert listeners
    shiboken6.delete(window)
    qtbot.waitUntil(lambda: all(task.done() for task in listeners), timeout=10_000)
    operations.shutdown()
    shiboken6.delete(operations)
