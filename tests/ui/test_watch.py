"""Watch in the window, against the real reference service on 127.0.0.1: a followed
connection's new failure group, and one grown past the threshold, are announced in the
system tray (a recording tray icon here) or, without one, on the message line; clicking
the notification opens the group."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtWidgets import QDialogButtonBox, QSystemTrayIcon
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.fingerprint import fingerprint
from healthdesk.core.model import Side, Status
from healthdesk.core.watch import AlertKind
from healthdesk.store.counts import read_counts
from healthdesk.sync.server import RunningService, running_service
from healthdesk.ui.failures.tree_model import FailureTreeModel
from healthdesk.ui.icons import app_icon
from healthdesk.ui.main_window import MainWindow
from healthdesk.ui.retry_control import AGENT_KEY
from healthdesk.ui.watch import FOLLOWED_KEY, THRESHOLD_KEY, WatchDialog
from tests.helpers.feed import event
from tests.sync.test_client import DEMO
from tests.ui import test_live, window_fixtures
from tests.ui.test_live import TOKEN, fast_backoff
from tests.ui.window_fixtures import MakeEngine, MakeWindow

make_engine = window_fixtures.make_engine
make_window = window_fixtures.make_window
settings = window_fixtures.settings
loop = test_live.loop

CID = "c-hs-mc"
MESSAGE = "Widget quota of this portal is used up"
SHOTS = os.environ.get("HEALTHDESK_TEST_SHOTS")


class RecordingTray(QSystemTrayIcon):
    """A real tray icon that also keeps what it was asked to show."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(app_icon(), parent)
        self.shown: list[tuple[str, str]] = []

    def showMessage(self, title: str, text: str, *args: Any) -> None:
        self.shown.append((title, text))
        super().showMessage(title, text, *args)


@pytest.fixture
def service() -> Iterator[RunningService]:
    with running_service(snapshots=[DEMO], token=TOKEN, retry_delay=None) as running:
        yield running


def watched_window(
    qtbot: QtBot,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
    *,
    threshold: int,
    tray: bool,
) -> tuple[MainWindow, Engine]:
    engine = make_engine(name="watch")
    window = make_window(engine, synchronous=True)
    window.watcher.tray_factory = RecordingTray if tray else (lambda _parent: None)
    window.watcher.apply_settings({CID}, threshold, "")
    window.live.backoff = fast_backoff
    window.connect_to_service(service.url, TOKEN)
    qtbot.waitUntil(lambda: window.live.following, timeout=20_000)
    qtbot.waitUntil(lambda: window.watcher.reading(CID) is not None, timeout=5000)
    return window, engine


def pending_records(engine: Engine, count: int) -> list[tuple[str, str]]:
    with engine.connect() as db:
        rows = db.exec_driver_sql(
            "SELECT r.app, r.ext_id FROM contacts c JOIN records r ON r.rid = c.rid "
            "WHERE c.connection_id = ? AND c.status = ? AND c.b_rid IS NULL "
            "ORDER BY c.rid LIMIT ?",
            (CID, Status.PENDING.value, count),
        ).all()
    assert len(rows) == count
    return [(app, ext_id) for app, ext_id in rows]


def fail(service: RunningService, records: list[tuple[str, str]]) -> None:
    """The service reports failed writes of `records`, all with MESSAGE."""
    seq = max(i["seq"] for i in service.service.items(CID) if i["type"] == "event")
    items = [
        event(seq + n, app, rid, "failed", cid=CID, code="403", message=MESSAGE)
        for n, (app, rid) in enumerate(records, 1)
    ]
    service.service.append(CID, items)


def group_count(engine: Engine, app: Side) -> int:
    wanted = fingerprint("403", MESSAGE)
    return sum(
        f.count
        for f in read_counts(engine, CID).failures
        if (f.app, f.fingerprint) == (app, wanted)
    )


def test_without_a_tray_the_message_line_says_it(
    qtbot: QtBot,
    loop: Any,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
) -> None:
    window, engine = watched_window(
        qtbot, make_engine, make_window, service, threshold=2, tray=False
    )
    records = pending_records(engine, 3)
    target = Side(records[0][0]).other
    with qtbot.waitSignal(window.watcher.alerted, timeout=10_000) as first:
        fail(service, records[:1])
    [alert] = first.args[0]
    assert alert.kind is AlertKind.NEW
    assert (alert.app, alert.after) == (target, group_count(engine, target))
    message = window.statusBar().currentMessage()
    assert message.startswith("HubSpot ⇄ Mailchimp: a new failure group: ")
    assert MESSAGE in message
    assert window.watcher.tray is None

    with qtbot.waitSignal(window.watcher.alerted, timeout=10_000) as grown:
        fail(service, records[1:])
    [alert] = grown.args[0]
    assert (alert.kind, alert.before, alert.after) == (AlertKind.GREW, 1, 3)
    assert group_count(engine, target) == 3
    assert (
        window.statusBar()
        .currentMessage()
        .startswith("HubSpot ⇄ Mailchimp: a failure group grew past 2: ")
    )


# Offscreen, a tray icon shown looks for the platform's tray window, which it lacks.
@pytest.mark.qt_log_ignore("No such signal QPlatformNativeInterface::systemTrayWindowChanged")
def test_the_tray_notification_opens_the_group(
    qtbot: QtBot,
    loop: Any,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
) -> None:
    window, engine = watched_window(
        qtbot, make_engine, make_window, service, threshold=5, tray=True
    )
    window.select_connection("c-pd-mc")
    records = pending_records(engine, 1)
    with qtbot.waitSignal(window.watcher.alerted, timeout=10_000):
        fail(service, records)
    tray = window.watcher.tray
    assert isinstance(tray, RecordingTray)
    [(title, text)] = tray.shown
    assert title == "HubSpot ⇄ Mailchimp: a new failure group"
    assert MESSAGE in text
    assert text.endswith("1 failing contact (new)")

    tray.messageClicked.emit()
    qtbot.waitUntil(lambda: window.current_connection().id == CID)  # type: ignore[union-attr]

    def chosen() -> Any:
        index = window.failures_view.currentIndex()
        return index.data(FailureTreeModel.FilterRole) if index.isValid() else None

    qtbot.waitUntil(lambda: chosen() is not None, timeout=5000)
    assert chosen().category_fingerprints == (fingerprint("403", MESSAGE),)
    assert chosen().failure_app is Side(records[0][0]).other
    # The Failing list shows that group's contacts.
    qtbot.waitUntil(lambda: window.tabs.row_count(Status.FAILING) == 1)


def test_no_alert_for_unfollowed_connections(
    qtbot: QtBot,
    loop: Any,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
) -> None:
    window, engine = watched_window(
        qtbot, make_engine, make_window, service, threshold=5, tray=True
    )
    window.watcher.apply_settings(set(), 5, "")
    alerts: list[Any] = []
    window.watcher.alerted.connect(alerts.append)
    records = pending_records(engine, 1)
    fail(service, records)
    qtbot.waitUntil(lambda: group_count(engine, Side(records[0][0]).other) == 1, timeout=10_000)
    qtbot.waitUntil(lambda: not window.operations.busy())
    assert alerts == []
    assert window.watcher.tray is None


def test_the_settings_dialog_follows_and_sets_the_threshold(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, settings: QSettings
) -> None:
    from healthdesk.store.imports import import_snapshots

    engine = make_engine(name="settings")
    import_snapshots(engine, [DEMO])
    window = make_window(engine, synchronous=True)
    qtbot.waitUntil(lambda: window.connections_model.rowCount() == 3)
    window.watcher.settings_action.trigger()
    dialog = window.watcher.dialog
    assert isinstance(dialog, WatchDialog)
    qtbot.waitExposed(dialog)
    names = [dialog.list.item(row).text() for row in range(dialog.list.count())]
    assert names == [c.name for c in window.connections_model.connections()]
    dialog.list.item(1).setCheckState(Qt.CheckState.Checked)
    dialog.threshold_box.setValue(25)
    dialog.agent_edit.setText("  Bob  ")
    if SHOTS:
        dialog.grab().save(str(Path(SHOTS) / "watch-dialog.png"))
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.watcher.dialog is None)
    followed = window.connections_model.connections()[1].id
    assert settings.value(FOLLOWED_KEY) in ([followed], followed)
    assert int(settings.value(THRESHOLD_KEY)) == 25
    assert settings.value(AGENT_KEY) == "Bob"


def test_the_readme_picture_renders(qapp: Any, tmp_path: Path) -> None:
    """tests/ui/watch_screenshots.py makes resources/screenshots/watch.png."""
    from PySide6.QtGui import QImage

    from tests.ui.watch_screenshots import render

    (written,) = render(tmp_path)
    image = QImage(str(written))
    assert image.width() >= 500
    assert image.height() >= 150
    assert written.stat().st_size < 100_000
