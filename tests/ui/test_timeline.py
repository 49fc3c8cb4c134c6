"""The activity timeline: TimelineModel (keyset pages, most recent first, on a worker)
and the "Activity" dock (empty state, loading as it scrolls, opening contacts)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.model import Connection, Outcome, Side, Status
from healthdesk.store import pages, timeline
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import get_connection
from healthdesk.ui.icons import status_icon
from healthdesk.ui.operations import Operations
from healthdesk.ui.timeline.timeline_dock import EMPTY_TEXT, TimelineDock
from healthdesk.ui.timeline.timeline_model import TimelineModel, entry_text
from tests.helpers import feed
from tests.helpers.operations import drain
from tests.ui import window_fixtures
from tests.ui.conftest import HOSTILE_NAME
from tests.ui.window_fixtures import MakeEngine, one_way_items

# The fixture of window_fixtures that this module uses.
make_engine = window_fixtures.make_engine

DISPLAY = Qt.ItemDataRole.DisplayRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
DECORATION = Qt.ItemDataRole.DecorationRole
KEY = TimelineModel.ContactKeyRole
ENTRY = TimelineModel.EntryRole
#: Events of the long history: several pages of the model.
LONG = 1_234


def long_items() -> list[dict[str, Any]]:
    """c-1 with LONG events over 100 records, each record's events spread over time."""
    items: list[dict[str, Any]] = [feed.connection()]
    items += [feed.record("a", f"r{i:03d}", name=f"Person {i:03d}") for i in range(100)]
    outcomes = ("created", "updated", "unchanged", "failed")
    items += [
        feed.event(
            seq, "a", f"r{seq % 100:03d}", outcomes[seq % 4], at=f"2026-03-01T10:{seq % 60:02d}:00Z"
        )
        for seq in range(1, LONG + 1)
    ]
    return items


@pytest.fixture(scope="module")
def long_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    from tests.ui.conftest import build_db

    engine = build_db(tmp_path_factory.mktemp("long") / "long.sqlite3", long_items())
    yield engine
    engine.dispose()


@pytest.fixture
def make_model(
    qtbot: QtBot, operations: Operations, health_db: Engine
) -> Callable[..., TimelineModel]:
    """Build timeline models, answered inline unless given `ops`."""

    def make(
        *,
        ops: Operations = operations,
        engine: Engine = health_db,
        connection: Connection | None = None,
        **kwargs: Any,
    ) -> TimelineModel:
        return TimelineModel(
            operations=ops,
            engine=engine,
            connection=connection or get_connection(engine, "c-1"),
            **kwargs,
        )

    return make


@pytest.fixture
def make_dock(qtbot: QtBot, operations: Operations) -> Callable[..., TimelineDock]:
    """A shown dock, answered inline unless given `ops`."""

    def make(*, ops: Operations = operations) -> TimelineDock:
        dock = TimelineDock(operations=ops)
        qtbot.addWidget(dock)
        dock.resize(520, 300)
        dock.show()
        qtbot.waitExposed(dock)
        return dock

    return make


def fetch_all(model: TimelineModel) -> None:
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())


def seqs(model: TimelineModel) -> list[int]:
    return [model.index(row).data(ENTRY).seq for row in range(model.rowCount())]


def plain(tooltip: str) -> str:
    document = QTextDocument()
    document.setHtml(tooltip)
    return document.toPlainText()


# ---------------------------------------------------------------------- model contract


def test_qtmodeltester(qtmodeltester: Any, make_model: Any) -> None:
    model = make_model()
    qtmodeltester.check(model)
    fetch_all(model)
    qtmodeltester.check(model, force_py=True)


def test_qtmodeltester_on_a_long_history(
    qtmodeltester: Any, make_model: Any, long_db: Engine
) -> None:
    model = make_model(engine=long_db)
    qtmodeltester.check(model)
    fetch_all(model)
    assert model.rowCount() == LONG
    qtmodeltester.check(model)


def test_qtmodeltester_while_pages_load_in_the_background(
    qtmodeltester: Any,
    qtbot: QtBot,
    make_model: Any,
    long_db: Engine,
    background_operations: Operations,
) -> None:
    model = make_model(engine=long_db, ops=background_operations)
    qtmodeltester.check(model)
    # The checker asked for more: the tester keeps watching as pages are appended.
    while not model.exhausted:
        if not model.loading:
            model.fetchMore(QModelIndex())
        with qtbot.waitSignal(model.page_loaded, timeout=5000):
            pass
    assert model.rowCount() == timeline.count(long_db, "c-1") == LONG
    assert seqs(model) == list(range(LONG, 0, -1))
    model.refresh()
    assert model.rowCount() == 0
    with qtbot.waitSignal(model.page_loaded, timeout=5000):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == model.page_size


def test_a_list_not_a_tree(make_model: Any) -> None:
    model = make_model()
    fetch_all(model)
    parent = model.index(0)
    assert model.rowCount(parent) == 0
    assert not model.canFetchMore(parent)
    model.fetchMore(parent)  # a valid parent: nothing happens
    assert model.rowCount() == 10


# ---------------------------------------------------------------------- order and paging


def test_most_recent_first_in_pages(make_model: Any, long_db: Engine) -> None:
    model = make_model(engine=long_db)
    assert model.rowCount() == 0
    model.fetchMore(QModelIndex())
    assert model.rowCount() == model.page_size
    assert model.canFetchMore(QModelIndex())
    fetch_all(model)
    assert not model.canFetchMore(QModelIndex())
    assert model.exhausted
    assert model.rowCount() == timeline.count(long_db, "c-1")
    assert seqs(model) == list(range(LONG, 0, -1))


def test_fetch_more_is_not_reentrant(
    qtbot: QtBot,
    make_model: Any,
    long_db: Engine,
    background_operations: Operations,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pages_read: list[int | None] = []
    real_page = timeline.page

    def counting_page(*args: Any, **kwargs: Any) -> Any:
        pages_read.append(kwargs.get("before_seq"))
        return real_page(*args, **kwargs)

    monkeypatch.setattr(timeline, "page", counting_page)
    model = make_model(engine=long_db, ops=background_operations)
    with qtbot.waitSignal(model.page_loaded, timeout=5000):
        for _ in range(5):
            model.fetchMore(QModelIndex())
        assert model.loading
    drain(qtbot, background_operations)
    assert pages_read == [None]  # one page read, not five
    assert model.rowCount() == model.page_size
    assert not model.loading


def test_the_dock_loads_more_as_it_scrolls(
    qtbot: QtBot, make_dock: Any, long_db: Engine, background_operations: Operations
) -> None:
    dock = make_dock(ops=background_operations)
    dock.set_connection(long_db, get_connection(long_db, "c-1"))
    model = dock.model
    assert model is not None
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=5000)
    assert model.rowCount() < LONG
    bar = dock.view.verticalScrollBar()
    while not model.exhausted:
        before = model.rowCount()
        bar.setValue(bar.maximum())
        qtbot.waitUntil(lambda b=before: model.rowCount() > b or model.exhausted, timeout=5000)
    assert model.rowCount() == timeline.count(long_db, "c-1")
    assert seqs(model) == list(range(LONG, 0, -1))


def test_refresh_shows_new_events_on_top(
    qtbot: QtBot, make_model: Any, make_engine: MakeEngine, tmp_path: Path
) -> None:
    items = [
        feed.connection(),
        feed.record("a", "1", name="Ada"),
        feed.event(1, "a", "1", "created"),
    ]
    engine = make_engine(items)
    model = make_model(engine=engine)
    fetch_all(model)
    assert seqs(model) == [1]
    later = [*items, feed.event(2, "a", "1", "updated")]
    import_snapshots(engine, [feed.write(tmp_path / "later.jsonl", later)])
    model.refresh()
    fetch_all(model)
    assert seqs(model) == [2, 1]


# ---------------------------------------------------------------------- what an entry shows


def test_display_text(make_model: Any) -> None:
    model = make_model()
    fetch_all(model)
    texts = [model.index(row).data(DISPLAY) for row in range(model.rowCount())]
    assert texts[-1] == "2026-02-01 00:00 · Ada Lovelace (HubSpot 1) → created in Mailchimp"
    assert texts[0] == (
        "2026-02-01 00:00 · Jo Invalid (Mailchimp m34) → failed: "
        "INVALID_EMAIL: Email address jo@invalid is invalid"
    )


def test_every_outcome_reads_plainly(make_engine: MakeEngine, make_model: Any) -> None:
    r, e = feed.record, feed.event
    engine = make_engine(
        [
            feed.connection(),
            r("a", "1", name="Ada", email="ada@example.com"),
            r("b", "m2", name="", email="x@example.com"),
            e(1, "a", "1", "created", at="2026-11-19T09:57:31Z"),
            e(2, "a", "1", "updated"),
            e(3, "a", "1", "unchanged"),
            e(4, "b", "m2", "excluded"),
            e(5, "b", "m2", "duplicate"),
            e(6, "b", "m2", "failed", code="", message="Refused"),
        ]
    )
    model = make_model(engine=engine)
    fetch_all(model)
    by_seq = {model.index(row).data(ENTRY).seq: model.index(row) for row in range(6)}
    texts = {seq: index.data(DISPLAY).split(" · ", 1)[1] for seq, index in by_seq.items()}
    assert by_seq[1].data(DISPLAY).startswith("2026-11-19 09:57 · ")
    assert texts == {
        1: "Ada (HubSpot 1) → created in Mailchimp",
        2: "Ada (HubSpot 1) → updated in Mailchimp",
        3: "Ada (HubSpot 1) → nothing to change in Mailchimp",
        4: "Mailchimp m2 → skipped: excluded",
        5: "Mailchimp m2 → skipped: duplicate",
        6: "Mailchimp m2 → failed: Refused",
    }
    icons = {seq: index.data(DECORATION).cacheKey() for seq, index in by_seq.items()}
    assert icons[1] == icons[2] == status_icon(Status.IN_SYNC).cacheKey()
    assert icons[4] == status_icon(Status.EXCLUDED).cacheKey()
    assert icons[5] == status_icon(Status.DUPLICATE).cacheKey()
    assert icons[6] == status_icon(Status.FAILING).cacheKey()
    # "unchanged" has no status symbol, only a blank that keeps the rows aligned.
    assert icons[3] not in {status_icon(status).cacheKey() for status in Status}
    image = by_seq[3].data(DECORATION).pixmap(16, 16).toImage()
    assert all(image.pixelColor(x, y).alpha() == 0 for x in range(image.width()) for y in range(16))


def test_hostile_text_shows_verbatim(make_engine: MakeEngine, make_model: Any) -> None:
    message = f"{HOSTILE_NAME} &amp; <script>alert(1)</script>\nsecond line"
    engine = make_engine(
        [
            feed.connection(names=("<i>App A</i>", "App &amp; B")),
            feed.record("a", "<1>", name=HOSTILE_NAME, email="x@example.com"),
            feed.event(1, "a", "<1>", "failed", code="<b>E</b>", message=message),
        ]
    )
    model = make_model(engine=engine)
    fetch_all(model)
    index = model.index(0)
    one_line = message.replace("\n", " ")
    assert index.data(DISPLAY) == (
        f"2026-02-01 00:00 · {HOSTILE_NAME} (<i>App A</i> <1>) → failed: <b>E</b>: {one_line}"
    )
    tooltip = plain(index.data(TOOLTIP))
    # The whole raw error, line breaks kept, and who refused it.
    assert message in tooltip
    assert "Code: <b>E</b>" in tooltip
    assert "App &amp; B refused the write" in tooltip
    assert HOSTILE_NAME in tooltip


def test_entry_role_and_contact_key(make_model: Any, health_db: Engine) -> None:
    model = make_model()
    fetch_all(model)
    for row in range(model.rowCount()):
        entry = model.index(row).data(ENTRY)
        assert entry == model.entry_at(row)
        assert model.index(row).data(KEY) == entry.contact_key
        assert entry.contact_key is not None
        assert model.index(row).data(DISPLAY) == entry_text(entry, model.connection)


def test_a_failing_event_opens_the_failing_contact(
    qtbot: QtBot, make_dock: Any, health_db: Engine, health_connection: Connection
) -> None:
    dock = make_dock()
    dock.set_connection(health_db, health_connection)
    model = dock.model
    row = next(
        row for row in range(model.rowCount()) if model.index(row).data(ENTRY).record_id == "m33"
    )
    index = model.index(row)
    entry = index.data(ENTRY)
    assert entry.outcome is Outcome.FAILED
    dock.view.scrollTo(index)
    with qtbot.waitSignal(dock.contact_activated) as blocker:
        qtbot.mouseClick(
            dock.view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=dock.view.visualRect(index).center(),
        )
    key = blocker.args[0]
    assert key == entry.contact_key
    contact = pages.row_for(health_db, key)
    assert contact is not None
    assert (contact.status, contact.name, contact.b_id) == (Status.FAILING, "Ivy Exists", "m33")
    assert contact.failure is not None
    assert contact.failure.message == entry.error_message


def test_enter_opens_the_current_entry(
    qtbot: QtBot, make_dock: Any, health_db: Engine, health_connection: Connection
) -> None:
    dock = make_dock()
    dock.set_connection(health_db, health_connection)
    index = dock.model.index(2)
    dock.view.setCurrentIndex(index)
    dock.view.setFocus()
    with qtbot.waitSignal(dock.contact_activated) as blocker:
        qtbot.keyClick(dock.view, Qt.Key.Key_Return)
    assert blocker.args == [index.data(KEY)]


def test_hidden_records_have_no_contact(
    qtbot: QtBot, make_engine: MakeEngine, make_dock: Any
) -> None:
    engine = make_engine(
        [*one_way_items("c-2"), feed.event(3, "b", "m-only-1", "created", cid="c-2")]
    )
    dock = make_dock()
    dock.set_connection(engine, get_connection(engine, "c-2"))
    model = dock.model
    entries = {model.index(r).data(ENTRY).seq: model.index(r) for r in range(model.rowCount())}
    hidden = entries[3]
    assert hidden.data(ENTRY).record_name == "Only In Mailchimp"
    assert hidden.data(KEY) is None
    assert "not a contact of the lists" in plain(hidden.data(TOOLTIP))
    assert entries[1].data(KEY) is not None
    activated: list[int] = []
    dock.contact_activated.connect(activated.append)
    qtbot.mouseClick(
        dock.view.viewport(), Qt.MouseButton.LeftButton, pos=dock.view.visualRect(hidden).center()
    )
    qtbot.mouseClick(
        dock.view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=dock.view.visualRect(entries[1]).center(),
    )
    assert activated == [entries[1].data(KEY)]


# ---------------------------------------------------------------------- the dock


def test_dock_title_and_view(make_dock: Any) -> None:
    dock = make_dock()
    assert dock.windowTitle() == "Activity"
    assert dock.objectName() == "timeline_dock"  # saved in the window's state
    assert dock.view.uniformItemSizes()
    assert dock.view.textElideMode() == Qt.TextElideMode.ElideRight


def test_empty_state(
    qtbot: QtBot,
    make_dock: Any,
    make_engine: MakeEngine,
    health_db: Engine,
    background_operations: Operations,
) -> None:
    dock = make_dock(ops=background_operations)
    assert dock.empty_label.isVisible()
    assert dock.empty_label.text() == EMPTY_TEXT == "No activity yet"
    engine = make_engine([feed.connection(), feed.record("a", "1")], name="quiet")
    dock.set_connection(engine, get_connection(engine, "c-1"))
    qtbot.waitUntil(lambda: dock.model is not None and dock.model.exhausted, timeout=5000)
    qtbot.waitUntil(dock.empty_label.isVisible, timeout=5000)
    dock.set_connection(health_db, get_connection(health_db, "c-1"))
    qtbot.waitUntil(dock.view.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: dock.model.rowCount() == 10, timeout=5000)
    dock.set_connection(None, None)
    assert dock.model is None
    assert dock.empty_label.isVisible()


@pytest.mark.lifetime
def test_switching_connections_drops_the_old_model(
    qtbot: QtBot,
    make_dock: Any,
    health_db: Engine,
    long_db: Engine,
    background_operations: Operations,
) -> None:
    dock = make_dock(ops=background_operations)
    for _ in range(3):
        dock.set_connection(long_db, get_connection(long_db, "c-1"))
        dock.set_connection(health_db, get_connection(health_db, "c-2"))
    qtbot.waitUntil(lambda: dock.model.exhausted, timeout=5000)
    assert [dock.model.index(r).data(ENTRY).seq for r in range(dock.model.rowCount())] == [1]
    QApplication.processEvents()
    assert len(dock.findChildren(TimelineModel)) == 1
    dock.refresh()
    qtbot.waitUntil(lambda: dock.model.rowCount() == 1, timeout=5000)


@pytest.mark.parametrize("how", ["delete", "parent_delete_later", "dock_switch"])
@pytest.mark.lifetime
def test_deleting_a_model_while_a_page_is_read_delivers_nothing_to_it(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    long_db: Engine,
    background_operations: Operations,
    how: str,
) -> None:
    connection = get_connection(long_db, "c-1")
    entered, release = threading.Event(), threading.Event()
    finished: list[int] = []
    real_page = timeline.page

    def gated_page(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(10)
        entries = real_page(*args, **kwargs)
        finished.append(len(entries))
        return entries

    monkeypatch.setattr(timeline, "page", gated_page)
    parent = QObject()
    dock: TimelineDock | None = None
    if how == "dock_switch":
        dock = TimelineDock(operations=background_operations)
        qtbot.addWidget(dock)
        dock.set_connection(long_db, connection)  # reads its first page
        model = dock.model
        assert model is not None
    else:
        model = TimelineModel(
            operations=background_operations,
            engine=long_db,
            connection=connection,
            parent=parent if how == "parent_delete_later" else None,
        )
        model.fetchMore(QModelIndex())
    delivered: list[object] = []
    for signal in (model.page_loaded, model.load_failed, model.rowsInserted):
        signal.connect(lambda *args: delivered.append(args))
    qtbot.waitUntil(entered.is_set, timeout=5000)  # the page is being read
    if how == "delete":
        shiboken6.delete(model)
    elif how == "parent_delete_later":
        with qtbot.waitSignal(parent.destroyed):
            parent.deleteLater()
    else:
        assert dock is not None
        dock.set_connection(None, None)  # the old model is deleted later
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not shiboken6.isValid(model)
    assert not background_operations.busy()
    release.set()
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    drain(qtbot, background_operations)
    assert finished == [200]  # the page was read to its end
    assert delivered == []
    if dock is not None:
        assert dock.model is None


# ---------------------------------------------------------------------- refreshing on change


def test_the_dock_refreshes_when_its_connection_changes(
    qtbot: QtBot, make_dock: Any, make_engine: MakeEngine, tmp_path: Path, operations: Operations
) -> None:
    items = [
        feed.connection(),
        feed.record("a", "1", name="Ada"),
        feed.event(1, "a", "1", "created"),
    ]
    engine = make_engine(items)
    dock = make_dock()
    dock.set_connection(engine, get_connection(engine, "c-1"))
    model = dock.model
    assert seqs(model) == [1]
    later = [*items, feed.event(2, "a", "1", "updated")]
    import_snapshots(engine, [feed.write(tmp_path / "later.jsonl", later)])
    operations.notify_changed("c-2")  # another connection: nothing to read
    assert seqs(model) == [1]
    with qtbot.waitSignal(model.modelReset):
        operations.notify_changed("c-1")
    assert dock.model is model
    assert seqs(model) == [2, 1]
    assert dock.view.isVisible()


def test_the_dock_waits_while_older_entries_are_read(
    qtbot: QtBot, make_dock: Any, long_db: Engine, operations: Operations
) -> None:
    dock = make_dock()
    dock.set_connection(long_db, get_connection(long_db, "c-1"))
    model = dock.model
    assert model is not None
    bar = dock.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)
    bar.setValue(bar.maximum() // 2)  # the agent reads older entries
    held = model.rowCount()
    with qtbot.assertNotEmitted(model.modelReset):
        operations.changed.emit("c-1")
    assert model.rowCount() == held
    assert bar.value() > bar.minimum()
    with qtbot.waitSignal(model.modelReset):
        bar.setValue(bar.minimum())  # back at the top: the newest entries are read
    assert model.rowCount() == model.page_size
    assert seqs(model)[0] == LONG
    # Once refreshed, a scroll to the top does not read again.
    with qtbot.assertNotEmitted(model.modelReset):
        bar.setValue(bar.minimum() + 1)
        bar.setValue(bar.minimum())


def test_sides_of_an_entry(make_model: Any) -> None:
    model = make_model()
    fetch_all(model)
    entry = model.index(0).data(ENTRY)
    assert (entry.app, entry.target) == (Side.B, Side.A)
