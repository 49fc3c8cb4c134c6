"""Retries in the Activity timeline: their own kind of entry, each once, right above the
event that was the latest when the retry was asked, across pages."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from healthdesk.store.queries import get_connection
from healthdesk.store.retries import RetryAudit, finish_retry, record_retry
from healthdesk.store.timeline import TimelineEntry
from healthdesk.ui.operations import Operations
from healthdesk.ui.timeline.timeline_model import TimelineModel
from tests.ui import window_fixtures
from tests.ui.test_timeline import LONG, long_items
from tests.ui.window_fixtures import MakeEngine

make_engine = window_fixtures.make_engine


def audit(after_seq: int, n: int) -> RetryAudit:
    return RetryAudit(
        connection_id="c-1",
        at=f"2026-03-02T09:{n:02d}:00.000Z",
        agent="Alice",
        scope=f"HubSpot > Other > group {n}",
        requested=n,
        queued=n - 1,
        already_queued=0,
        unknown=1,
        service_url="http://127.0.0.1:8765",
        request_key=f"key-{n}",
        after_seq=after_seq,
    )


def test_retries_show_once_each_above_their_event(
    qtbot: QtBot, qtmodeltester: Any, operations: Operations, make_engine: MakeEngine
) -> None:
    engine = make_engine(long_items(), name="retries")
    # After the latest event, at a page's edge (page_size 200: 1234 - 200 = 1034), deep.
    wanted = {LONG: 2, LONG - 200: 3, 600: 4, 1: 5}
    for after_seq, n in wanted.items():
        sent = record_retry(engine, audit(after_seq, n))
        if n == 5:
            finish_retry(engine, sent, refused="The service answered with an error: 503")
        elif n != 4:  # 4 stays as sent: its answer never came
            finish_retry(engine, sent, queued=n - 1, unknown=1)
    model = TimelineModel(
        operations=operations, engine=engine, connection=get_connection(engine, "c-1")
    )
    while not model.exhausted:
        model.fetchMore(QModelIndex())
    qtmodeltester.check(model)
    entries = [model.entry_at(row) for row in range(model.rowCount())]
    events = [e for e in entries if isinstance(e, TimelineEntry)]
    retries = [e for e in entries if isinstance(e, RetryAudit)]
    assert [e.seq for e in events] == list(range(LONG, 0, -1))
    assert [(r.after_seq, r.requested) for r in retries] == sorted(wanted.items(), reverse=True)
    for retry in retries:
        row = entries.index(retry)
        below = entries[row + 1]
        assert isinstance(below, TimelineEntry)
        assert below.seq == retry.after_seq
        index = model.index(row, 0)
        assert index.data(TimelineModel.ContactKeyRole) is None
        assert index.data(Qt.ItemDataRole.FontRole).bold()
        text = index.data()
        assert text.startswith("2026-03-02 09:")
        said = {
            2: "(1 queued, 1 unknown to the service)",
            3: "(2 queued, 1 unknown to the service)",
            4: "(sent; no answer recorded)",
            5: "(not retried: The service answered with an error: 503)",
        }[retry.requested]
        assert f"Alice retried {retry.requested} contacts {said}" in text
        assert text.endswith(retry.scope)
        tooltip = index.data(Qt.ItemDataRole.ToolTipRole)
        assert f"Request: {retry.request_key}" in tooltip
