"""Live mode in the window, against the real reference service on 127.0.0.1 (no mocked
HTTP): connecting pulls the service's connections, items arriving live move the counts and
the timeline while the user's selection stays, a refused token stops at once, and
stopping ends cleanly.

The asyncio loop is qasync's over the test's QApplication: the tests never stop it nor quit
the application (that would set Qt's quit flag, and every later wait would return at
once); `qtbot.waitUntil` drives its tasks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QEventLoop, QItemSelectionModel
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.model import STATUS_ORDER, Status
from healthdesk.store.queries import counts
from healthdesk.sync.client import Backoff
from healthdesk.sync.credentials import CredentialsError
from healthdesk.sync.server import RunningService, running_service
from healthdesk.ui import main_window as main_window_module
from healthdesk.ui.connect_dialog import ConnectDialog
from healthdesk.ui.connections.list_model import ConnectionListModel
from healthdesk.ui.contacts.status_tabs import tab_title
from healthdesk.ui.live import STATUS_LOST
from healthdesk.ui.main_window import MainWindow
from tests.helpers.feed import event, record, write
from tests.ui import window_fixtures
from tests.ui.window_fixtures import CUSTOMER, MakeEngine, MakeWindow, main_items, one_way_items

make_engine = window_fixtures.make_engine
make_window = window_fixtures.make_window
settings = window_fixtures.settings

TOKEN = "s3cret-live-token"


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """qasync's loop over the test's application, marked running so that tasks run while
    qtbot waits. Torn down without stop() (which would quit the application)."""
    event_loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    # Windows closed at teardown stop their live sync first: let that finish.
    deadline = time.monotonic() + 10
    while any(not t.done() for t in asyncio.all_tasks(event_loop)) and time.monotonic() < deadline:
        qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    pending = [t for t in asyncio.all_tasks(event_loop) if not t.done()]
    assert not pending, f"tasks left running: {pending}"
    qapp.aboutToQuit.disconnect(event_loop._after_run_forever)  # type: ignore[attr-defined]
    asyncio.events._set_running_loop(None)
    event_loop._after_run_forever()  # type: ignore[attr-defined]
    event_loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    event_loop.close()
    asyncio.set_event_loop(None)


def items() -> list[dict[str, Any]]:
    return [*main_items("c-1"), *one_way_items("c-2")]


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    return write(tmp_path / "live.jsonl", items())


@pytest.fixture
def service(snapshot: Path) -> Iterator[RunningService]:
    with running_service(snapshots=[snapshot], token=TOKEN) as running:
        yield running


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The error boxes the window would show (texts), instead of showing them."""
    shown: list[str] = []

    def show_error(_parent: Any, _title: str, text: str) -> None:
        shown.append(text)

    monkeypatch.setattr(main_window_module, "show_error", show_error)
    return shown


def fast_backoff() -> Backoff:
    return Backoff(base=0.05, cap=0.2, max_attempts=3)


def run(qtbot: QtBot, coroutine: Any, timeout: int = 10_000) -> Any:
    """Run `coroutine` on the loop until done (the Qt loop turns meanwhile)."""
    task = asyncio.ensure_future(coroutine)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


def go_live(qtbot: QtBot, window: MainWindow, service: RunningService) -> None:
    window.live.backoff = fast_backoff
    window.connect_to_service(service.url, TOKEN)
    qtbot.waitUntil(lambda: window.live.status.startswith("Live ·"), timeout=10_000)
    qtbot.waitUntil(lambda: window.connections_model.rowCount() == 2, timeout=5000)


def live_window(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, service: RunningService
) -> tuple[MainWindow, Engine]:
    engine = make_engine(name="live")  # empty: everything comes from the service
    window = make_window(engine, synchronous=True)
    go_live(qtbot, window, service)
    return window, engine


def tab_texts(window: MainWindow) -> list[str]:
    return [window.tabs.tabText(i) for i in range(window.tabs.count())]


def test_connecting_pulls_the_service_like_an_import(
    qtbot: QtBot,
    loop: asyncio.AbstractEventLoop,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
    errors: list[str],
) -> None:
    window, engine = live_window(qtbot, make_engine, make_window, service)
    imported = make_engine(items(), name="imported")
    model = window.connections_model
    ids = [model.index(row, 0).data(ConnectionListModel.IdRole) for row in range(2)]
    assert sorted(ids) == ["c-1", "c-2"]
    assert all(model.index(row, 0).data(ConnectionListModel.LiveRole) for row in range(2))
    assert window.live.live_ids == {"c-1", "c-2"}
    for cid in ids:
        assert counts(engine, cid) == counts(imported, cid)
    window.select_connection("c-1")
    qtbot.waitUntil(lambda: window.last_summary is not None)
    expected = counts(imported, "c-1")
    assert tab_texts(window) == [tab_title(s, expected[s]) for s in STATUS_ORDER]
    assert window.live_label.isVisible()
    assert window.live_label.text().startswith("Live · last sync ")
    assert window.disconnect_action.isEnabled()
    assert errors == []
    run(qtbot, window.stop_live())
    assert not window.live.is_running()
    assert not model.index(0, 0).data(ConnectionListModel.LiveRole)


def test_an_item_arriving_live_moves_counts_and_timeline_and_keeps_the_selection(
    qtbot: QtBot,
    loop: asyncio.AbstractEventLoop,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
    errors: list[str],
) -> None:
    window, engine = live_window(qtbot, make_engine, make_window, service)
    window.select_connection("c-1")
    qtbot.waitUntil(lambda: window.last_summary is not None)
    window.tabs.set_current_status(Status.FAILING)
    view = window.tabs.current_view()
    table = window.tabs.model(Status.FAILING)
    assert table is not None
    before = counts(engine, "c-1")[Status.FAILING]
    names = [
        getattr(table.index(row, 0).data(table.RowRole), "name", None)
        for row in range(table.rowCount())
    ]
    row = names.index("Dora Fail")
    key = table.contact_key(row)
    view.selectionModel().setCurrentIndex(
        table.index(row, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    first_entry = window.timeline_dock.view.model().index(0, 0).data()

    # A new HubSpot customer that Mailchimp refuses: one more failing contact, and the
    # newest entry of the timeline.
    service.service.append(
        "c-1",
        [
            record("a", "a0", name="Aaron Newcomer", email="aaron@new.io", fields=CUSTOMER),
            event(
                7,
                "a",
                "a0",
                "failed",
                message="aaron@new.io looks fake or invalid, please enter a real email address.",
            ),
        ],
    )
    title = tab_title(Status.FAILING, before + 1)
    qtbot.waitUntil(lambda: window.tabs.tabText(STATUS_ORDER.index(Status.FAILING)) == title)
    timeline = window.timeline_dock.view.model()
    qtbot.waitUntil(lambda: "Aaron Newcomer" in str(timeline.index(0, 0).data()))
    assert timeline.index(0, 0).data() != first_entry
    # the same contact is still selected (its row moved: Aaron sorts before Dora)
    selected = view.selectionModel().selectedRows()
    assert [table.contact_key(index.row()) for index in selected] == [key]
    assert table.contact_key(view.currentIndex().row()) == key
    qtbot.waitUntil(lambda: window.last_summary is not None and window.last_summary.total > 0)
    assert window.last_summary is not None
    assert window.last_summary.counts[Status.FAILING] == before + 1
    assert errors == []
    run(qtbot, window.stop_live())


def test_a_wrong_token_says_so_once_and_does_not_retry(
    qtbot: QtBot,
    loop: asyncio.AbstractEventLoop,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
    errors: list[str],
) -> None:
    window = make_window(make_engine(name="wrong"), synchronous=True)
    with qtbot.waitSignal(window.live.failed, timeout=10_000) as failed:
        window.connect_to_service(service.url, "not-the-token")
    message = failed.args[0]
    assert "refused the token" in message
    assert "not-the-token" not in message
    qtbot.waitUntil(lambda: not window.live.is_running())
    # The task has ended: nothing is left that could try again.
    assert len(service.requests) == 1  # no retry loop
    assert errors == [message]
    assert window.live_label.text() == "Not connected"
    assert window.connections_model.rowCount() == 0
    assert not window.disconnect_action.isEnabled()


def test_a_lost_service_shows_retrying_then_live_again(
    qtbot: QtBot,
    loop: asyncio.AbstractEventLoop,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
    errors: list[str],
) -> None:
    window, _engine = live_window(qtbot, make_engine, make_window, service)
    service.stop()
    qtbot.waitUntil(lambda: window.live.status == STATUS_LOST, timeout=10_000)
    assert window.live_label.text() == STATUS_LOST
    # offline work goes on: the lists still read the local database
    window.select_connection("c-2")
    qtbot.waitUntil(lambda: window.last_summary is not None)
    service.start()
    qtbot.waitUntil(lambda: window.live.status.startswith("Live ·"), timeout=10_000)
    assert errors == []
    run(qtbot, window.stop_live())


@pytest.mark.lifetime
def test_closing_the_window_stops_live_sync_first(
    qtbot: QtBot,
    loop: asyncio.AbstractEventLoop,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
) -> None:
    window, _engine = live_window(qtbot, make_engine, make_window, service)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert not window.live.is_running()


def test_connect_dialog_prefills_and_remembers_the_token(
    qtbot: QtBot, service: RunningService
) -> None:
    stored: list[tuple[str, str]] = []
    dialog = ConnectDialog(
        url=service.url,
        token_for=lambda url: TOKEN if url == service.url else None,
        store_token=lambda url, token: stored.append((url, token)),
    )
    qtbot.addWidget(dialog)
    assert dialog.token_edit.text() == TOKEN
    assert dialog.token_edit.echoMode() is dialog.token_edit.EchoMode.Password
    assert not dialog.insecure_box.isChecked()
    dialog.remember_box.setChecked(True)
    with qtbot.waitSignal(dialog.accepted):
        dialog.buttons.accepted.emit()
    assert stored == [(service.url, TOKEN)]
    assert dialog.result_values() == (service.url, TOKEN, False)


def test_connect_dialog_says_when_the_keyring_refuses(qtbot: QtBot) -> None:
    def refuse(_url: str, _token: str) -> None:
        raise CredentialsError("no OS keyring is available here")

    dialog = ConnectDialog(token_for=lambda _url: None, store_token=refuse)
    qtbot.addWidget(dialog)
    dialog.token_edit.setText("abc")
    dialog.remember_box.setChecked(True)
    dialog.buttons.accepted.emit()
    assert dialog.result() == 0  # not accepted yet
    assert "could not be remembered" in dialog.error_label.text()
    assert not dialog.error_label.isHidden()
    with qtbot.waitSignal(dialog.accepted):
        dialog.buttons.accepted.emit()  # again: for this session only
