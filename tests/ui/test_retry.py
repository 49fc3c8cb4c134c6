"""Retry These Contacts in the window, against the real reference service on 127.0.0.1:
the confirmation states the count, the contacts go pending, then to what the service
says it simulated, and the retry is audited and shown in the timeline."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.model import Side, Status
from healthdesk.core.words import plural
from healthdesk.store.pages import ContactFilter
from healthdesk.store.retries import SENT, RetryAudit, audit_entries, retry_targets
from healthdesk.sync.server import RunningService, running_service
from healthdesk.ui.failures.failure_panel import PATH_SEPARATOR, node_path
from healthdesk.ui.failures.tree_model import FailureTreeModel
from healthdesk.ui.main_window import MainWindow
from healthdesk.ui.retry_control import AGENT_KEY
from tests.helpers.db import status_of
from tests.sync.test_client import DEMO
from tests.ui import test_live, window_fixtures
from tests.ui.test_live import TOKEN, fast_backoff
from tests.ui.window_fixtures import MakeEngine, MakeWindow

make_engine = window_fixtures.make_engine
make_window = window_fixtures.make_window
settings = window_fixtures.settings
loop = test_live.loop
errors = test_live.errors

CID = "c-hs-mc"
#: Where the screenshots of these tests go, when set (to look at them).
SHOTS = os.environ.get("HEALTHDESK_TEST_SHOTS")


@pytest.fixture
def service() -> Iterator[RunningService]:
    with running_service(snapshots=[DEMO], token=TOKEN, retry_delay=None, seed=5) as running:
        yield running


def live_demo(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, service: RunningService
) -> tuple[MainWindow, Engine]:
    engine = make_engine(name="retry")
    window = make_window(engine, synchronous=True)
    window.live.backoff = fast_backoff
    window.connect_to_service(service.url, TOKEN)
    qtbot.waitUntil(lambda: window.live.status.startswith("Live ·"), timeout=20_000)
    qtbot.waitUntil(lambda: window.select_connection(CID), timeout=5000)
    qtbot.waitUntil(lambda: window.retry_control.group_action.isEnabled(), timeout=5000)
    return window, engine


def first_error_group(window: MainWindow) -> QModelIndex:
    """The first fingerprint node of the failure tree (app > category > error)."""
    model = window.failure_model()
    assert model is not None
    app = model.index(0, 0)
    category = model.index(0, 0, app)
    return model.index(0, 0, category)


def shot(widget: Any, name: str) -> None:
    if SHOTS:
        widget.grab().save(str(Path(SHOTS) / name))


def confirm(qtbot: QtBot, window: MainWindow) -> Any:
    qtbot.waitUntil(lambda: window.retry_control.confirmation is not None, timeout=5000)
    box = window.retry_control.confirmation
    assert box is not None
    qtbot.waitExposed(box)
    return box


def test_retrying_a_failure_group(
    qtbot: QtBot,
    loop: Any,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
) -> None:
    window, engine = live_demo(qtbot, make_engine, make_window, service)
    window._settings.setValue(AGENT_KEY, "Alice Agent")
    qtbot.waitUntil(lambda: window.failure_model() is not None, timeout=5000)
    qtbot.waitUntil(lambda: window.failure_model().rowCount() > 0, timeout=5000)  # type: ignore[union-attr]
    node = first_error_group(window)
    group = node.data(FailureTreeModel.FilterRole)
    assert isinstance(group, ContactFilter)
    targets = retry_targets(engine, CID, contact_filter=group)
    assert targets
    assert node.data(FailureTreeModel.CountRole) == len(targets)
    scope = PATH_SEPARATOR.join(node_path(node))
    window.failures_view.selectionModel().setCurrentIndex(
        node, QItemSelectionModel.SelectionFlag.ClearAndSelect
    )
    window.retry_control.group_action.trigger()
    box = confirm(qtbot, window)
    assert box.text() == f"Retry {plural(len(targets), 'contact')}?"
    assert box.informativeText().startswith(scope)
    assert "Alice Agent" in box.informativeText()
    shot(window, "retry-confirmation-window.png")
    shot(box, "retry-confirmation.png")
    size = service.service.size(CID)
    button = box.findChild(QPushButton, "retry_button")
    qtbot.mouseClick(button, qtbot_button())

    # Pending first: the service queued them (and processes them only when told).
    def statuses() -> list[str | None]:
        return [status_of(engine, app.value, rid, CID) for app, rid in targets]

    qtbot.waitUntil(lambda: statuses() == [Status.PENDING] * len(targets), timeout=10_000)
    audits = audit_entries(engine, CID, low_seq=None, before_seq=None)
    assert len(audits) == 1
    audit = audits[0]
    assert (audit.agent, audit.requested, audit.queued, audit.unknown, audit.outcome) == (
        "Alice Agent",
        len(targets),
        len(targets),
        0,
        "answered",
    )
    assert audit.scope == scope
    assert window.tabs.row_count(Status.PENDING) >= len(targets)

    # The timeline shows the retry as its own entry, right above the queued events.
    timeline = window.timeline_dock.model
    assert timeline is not None

    def retry_rows() -> list[int]:
        return [
            row
            for row in range(timeline.rowCount())
            if isinstance(timeline.entry_at(row), RetryAudit)
        ]

    # Above it, the queued events (the live pages reach the timeline coalesced).
    qtbot.waitUntil(lambda: retry_rows() == [len(targets)], timeout=5000)
    row = len(targets)
    text = timeline.index(row, 0).data()
    contacts = plural(len(targets), "contact")
    assert f" · Alice Agent retried {contacts} ({len(targets):,} queued) · {scope}" in text
    above = [timeline.entry_at(r) for r in range(row)]
    assert {(e.app, e.record_id) for e in above} == set(targets)  # type: ignore[union-attr]
    window.timeline_dock.show()
    window.timeline_dock.view.scrollTo(timeline.index(row, 0))
    shot(window, "retry-timeline.png")

    # Then what the service says it simulated.
    assert service.service.process_retries(CID) > 0
    outcomes = {
        (Side(item["app"]), item["id"]): item["outcome"]
        for item in service.service.items(CID, size)
        if item["type"] == "event" and item["outcome"] != "queued"
    }
    assert set(outcomes) == set(targets)
    expected = [
        Status.FAILING if outcomes[target] == "failed" else Status.IN_SYNC for target in targets
    ]
    qtbot.waitUntil(lambda: statuses() == expected, timeout=10_000)


def qtbot_button() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_cancelling_the_confirmation_retries_nothing(
    qtbot: QtBot,
    loop: Any,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
) -> None:
    window, engine = live_demo(qtbot, make_engine, make_window, service)
    qtbot.waitUntil(lambda: window.failure_model() is not None, timeout=5000)
    qtbot.waitUntil(lambda: window.failure_model().rowCount() > 0, timeout=5000)  # type: ignore[union-attr]
    window.failures_view.selectionModel().setCurrentIndex(
        first_error_group(window), QItemSelectionModel.SelectionFlag.ClearAndSelect
    )
    size = service.service.size(CID)
    window.retry_control.group_action.trigger()
    box = confirm(qtbot, window)
    box.reject()
    qtbot.waitUntil(lambda: window.retry_control.confirmation is None)
    assert service.service.size(CID) == size
    assert service.service.retries_waiting(CID) == 0
    assert audit_entries(engine, CID, low_seq=None, before_seq=None) == []


def test_retrying_selected_contacts_of_the_failing_list(
    qtbot: QtBot,
    loop: Any,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
) -> None:
    window, engine = live_demo(qtbot, make_engine, make_window, service)
    window.tabs.set_current_status(Status.FAILING)
    view = window.tabs.current_view()
    model = window.tabs.model(Status.FAILING)
    assert model is not None
    qtbot.waitUntil(lambda: model.rowCount() > 3 and model.contact_key(2) is not None)
    for row in (0, 2):
        view.selectionModel().select(
            model.index(row, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    keys = [model.contact_key(0), model.contact_key(2)]
    targets = retry_targets(engine, CID, keys=[k for k in keys if k is not None])
    assert len(targets) == 2
    window.retry_control.selection_action.trigger()
    box = confirm(qtbot, window)
    assert box.text() == "Retry 2 contacts?"
    assert box.informativeText().startswith("2 selected contacts of the Failing list")
    box.findChild(QPushButton, "retry_button").click()
    qtbot.waitUntil(
        lambda: all(
            status_of(engine, app.value, rid, CID) == Status.PENDING for app, rid in targets
        ),
        timeout=10_000,
    )
    audits = audit_entries(engine, CID, low_seq=None, before_seq=None)
    assert [(a.requested, a.queued) for a in audits] == [(2, 2)]


def test_retry_actions_are_for_live_mode_only(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    from healthdesk.store.imports import import_snapshots

    engine = make_engine(name="offline")
    import_snapshots(engine, [DEMO])
    window = make_window(engine, synchronous=True)
    window.reload(select=CID)
    qtbot.waitUntil(lambda: window.current_connection() is not None)
    assert not window.retry_control.group_action.isEnabled()
    assert not window.retry_control.selection_action.isVisible()
    window.retry_control.retry_group()
    assert "needs live mode" in window.statusBar().currentMessage()


def test_a_refused_retry_says_so_and_is_logged_as_refused(
    qtbot: QtBot,
    loop: Any,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window, engine = live_demo(qtbot, make_engine, make_window, service)
    qtbot.waitUntil(lambda: window.failure_model() is not None, timeout=5000)
    qtbot.waitUntil(lambda: window.failure_model().rowCount() > 0, timeout=5000)  # type: ignore[union-attr]
    window.failures_view.selectionModel().setCurrentIndex(
        first_error_group(window), QItemSelectionModel.SelectionFlag.ClearAndSelect
    )
    window.retry_control.group_action.trigger()
    box = confirm(qtbot, window)

    def gone(cid: str, *_args: Any) -> Any:
        raise KeyError(cid)  # the service lost the connection meanwhile: it answers 404

    # Only the retry is refused (an injected fault would hit whichever request comes next).
    monkeypatch.setattr(service.service, "retry", gone)
    box.findChild(QPushButton, "retry_button").click()
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert errors[0].startswith("Nothing was retried. The service answered with an error: ")
    assert f"/v1/connections/{CID}/retry: the service answered 404 " in errors[0]
    assert service.service.retries_waiting(CID) == 0
    # The attempt is in the audit log, as refused, with why.
    [audit] = audit_entries(engine, CID, low_seq=None, before_seq=None)
    assert audit.queued == 0
    assert audit.refused is not None
    assert audit.refused == errors[0].removeprefix("Nothing was retried. ")


@pytest.mark.lifetime
def test_closing_the_window_while_a_retry_is_on_its_way(
    qtbot: QtBot,
    loop: Any,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    service: RunningService,
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window, engine = live_demo(qtbot, make_engine, make_window, service)
    qtbot.waitUntil(lambda: window.failure_model() is not None, timeout=5000)
    qtbot.waitUntil(lambda: window.failure_model().rowCount() > 0, timeout=5000)  # type: ignore[union-attr]
    window.failures_view.selectionModel().setCurrentIndex(
        first_error_group(window), QItemSelectionModel.SelectionFlag.ClearAndSelect
    )
    window.retry_control.group_action.trigger()
    box = confirm(qtbot, window)
    arrived = threading.Event()
    release = threading.Event()
    answer = service.service.retry

    def slow(*args: Any) -> Any:
        arrived.set()
        release.wait(60)  # the service thinks while the window closes (released below)
        return answer(*args)

    monkeypatch.setattr(service.service, "retry", slow)
    box.findChild(QPushButton, "retry_button").click()
    qtbot.waitUntil(arrived.is_set, timeout=10_000)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    release.set()
    assert not window.live.is_running()
    assert window.operations.closed
    # No dialog for a closing window; the log says the retry was sent, with no answer.
    assert errors == []
    [audit] = audit_entries(engine, CID, low_seq=None, before_seq=None)
    assert audit.outcome == SENT
