"""The contact detail: the why, both records, the raw error, the rules, the link, history
(ContactDetailView, which reads nothing), and the Contact dock that reads a contact and its
history through `Operations` and shows it."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, Qt
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
)
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.contacts import ContactView, explain, failure_reason
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection, Side, Status
from healthdesk.store import contact_history
from healthdesk.store.contact_history import contact_by_record, contact_with_history
from healthdesk.store.queries import get_connection
from healthdesk.ui.detail import ContactDetailView
from healthdesk.ui.detail import contact_dock as contact_dock_module
from healthdesk.ui.detail.contact_dock import ContactDock
from healthdesk.ui.detail.detail_view import _RECORD_MIN_WIDTH, EMPTY_TEXT, outcome_status
from healthdesk.ui.icons import status_icon
from healthdesk.ui.operations import Operations
from healthdesk.ui.text import isolate
from tests.helpers import feed
from tests.ui.conftest import HOSTILE_NAME
from tests.ui.window_fixtures import MakeEngine, main_items, make_engine, one_way_items  # noqa: F401

MEMBER_EXISTS = (
    "edsger@example.com is already a list member. Use PUT to insert or update list members."
)


@pytest.fixture
def view(qtbot: QtBot, catalog: Catalog) -> ContactDetailView:
    widget = ContactDetailView(catalog=catalog)
    qtbot.addWidget(widget)
    widget.resize(820, 900)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


ShowFn = Callable[..., ContactView]


def show_record(
    view: ContactDetailView, engine: Engine, connection: Connection, app: Side, record_id: str
) -> ContactView:
    """Read the contact holding the record and its events, and show them in `view`."""
    found = contact_with_history(engine, connection.id, record=(app, record_id))
    assert found is not None
    view.show_contact(connection, found.contact, found.events)
    return found.contact


@pytest.fixture
def show(view: ContactDetailView, health_db: Engine, health_connection: Connection) -> ShowFn:
    def show(app: str, record_id: str) -> ContactView:
        return show_record(view, health_db, health_connection, Side(app), record_id)

    return show


def cell(table: QTableWidget | None, row: int, column: int) -> QTableWidgetItem:
    assert table is not None
    item = table.item(row, column)
    assert item is not None
    return item


def plain(label: QLabel | None) -> str:
    assert label is not None
    assert label.textFormat() == Qt.TextFormat.PlainText
    return label.text()


def test_empty_state(view: ContactDetailView) -> None:
    assert view.contact is None
    assert view.empty_label.isVisible()
    assert view.empty_label.text() == EMPTY_TEXT


def test_shows_the_why_sentence(
    view: ContactDetailView, show: ShowFn, health_connection: Connection, catalog: Catalog
) -> None:
    for app, record_id in (("a", "5"), ("a", "10"), ("a", "12"), ("a", "21"), ("a", "40")):
        contact = show(app, record_id)
        assert plain(view.why_label) == explain(contact, health_connection, catalog)
        assert not view.empty_label.isVisible()


def test_pair_shows_both_records_side_by_side(view: ContactDetailView, show: ShowFn) -> None:
    show("b", "m5")
    assert [plain(p.id_label) for p in view.record_panels] == ["5", "m5"]
    assert [plain(p.email_label) for p in view.record_panels] == ["edsger@example.com"] * 2
    left, right = view.record_panels
    assert left.geometry().top() == right.geometry().top()
    assert left.geometry().right() < right.geometry().left()


def test_single_record_and_deleted_flag(view: ContactDetailView, show: ShowFn) -> None:
    show("a", "40")
    assert [plain(p.id_label) for p in view.record_panels] == ["40"]
    show("a", "3")  # a pair whose Mailchimp record was deleted
    flags = [p.deleted_label.isVisible() for p in view.record_panels]
    assert flags == [False, True]
    assert plain(view.record_panels[1].deleted_label) == "Deleted in Mailchimp"


def test_failing_shows_the_raw_error_and_the_catalog(
    view: ContactDetailView, show: ShowFn, health_connection: Connection, catalog: Catalog
) -> None:
    contact = show("a", "5")
    assert plain(view.error_code_label) == "Member Exists"
    assert plain(view.error_message_label) == MEMBER_EXISTS
    reason = failure_reason(contact, health_connection, catalog)
    assert reason is not None
    assert plain(view.category_label) == reason.category
    assert plain(view.explanation_label) == reason.explanation
    assert plain(view.fix_label) == reason.fix


def test_hostile_error_and_name_are_shown_as_characters(
    qtbot: QtBot,
    view: ContactDetailView,
    make_engine: MakeEngine,  # noqa: F811
) -> None:
    engine = make_engine(
        [
            feed.connection(),
            feed.record("a", "h1", name=HOSTILE_NAME, email="h@example.com"),
            feed.event(1, "a", "h1", "failed", code=HOSTILE_NAME, message=HOSTILE_NAME),
        ]
    )
    contact = show_record(view, engine, get_connection(engine, "c-1"), Side.A, "h1")
    assert contact.status is Status.FAILING
    assert plain(view.error_message_label) == HOSTILE_NAME
    assert plain(view.error_code_label) == HOSTILE_NAME
    assert plain(view.title_label) == HOSTILE_NAME
    assert plain(view.record_panels[0].name_label) == HOSTILE_NAME
    assert view.events_table is not None
    assert cell(view.events_table, 0, 3).text() == f"{HOSTILE_NAME}: {HOSTILE_NAME}"
    # Every label is plain text (the link label, when there is one, escapes).
    for label in view.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()


def test_duplicate_links_to_its_original(
    qtbot: QtBot, view: ContactDetailView, show: ShowFn, health_db: Engine
) -> None:
    show("a", "21")
    link = view.original_link
    assert link is not None
    assert link.textFormat() == Qt.TextFormat.RichText
    assert "Dup Original" in link.text()
    link.adjustSize()
    with qtbot.waitSignal(view.contact_link_activated) as blocker:
        # Click inside the link's text, at the right end of the label's text.
        qtbot.mouseClick(
            link,
            Qt.MouseButton.LeftButton,
            pos=QPoint(link.sizeHint().width() - 12, link.height() // 2),
        )
    assert blocker.args == ["a", "20"]
    original = contact_by_record(health_db, "c-1", Side(blocker.args[0]), blocker.args[1])
    assert original is not None
    assert original.name == "Dup Original"


def test_original_link_escapes_a_hostile_name(
    view: ContactDetailView,
    make_engine: MakeEngine,  # noqa: F811
) -> None:
    engine = make_engine(
        [
            feed.connection(),
            feed.record("a", 'o"1', name=HOSTILE_NAME, email="same@example.com"),
            feed.record(
                "a", "d1", name="Copy", email="same@example.com", created_at="2026-01-02T00:00:00Z"
            ),
        ]
    )
    contact = show_record(view, engine, get_connection(engine, "c-1"), Side.A, "d1")
    assert contact.status is Status.DUPLICATE
    link = view.original_link
    assert link is not None
    assert html.escape(HOSTILE_NAME) in link.text()
    assert HOSTILE_NAME not in link.text()
    with_signal: list[tuple[str, str]] = []
    view.contact_link_activated.connect(lambda app, rid: with_signal.append((app, rid)))
    href = link.text().split('href="', 1)[1].split('"', 1)[0]
    link.linkActivated.emit(html.unescape(href))
    assert with_signal == [("a", 'o"1')]


def test_excluded_lists_rules_and_their_failing_condition(
    view: ContactDetailView, show: ShowFn
) -> None:
    show("a", "11")  # a pair matching no rule on either side
    table = view.rules_table
    assert table is not None
    rows = [
        [cell(table, row, column).text() for column in range(table.columnCount())]
        for row in range(table.rowCount())
    ]
    assert rows == [
        ["HubSpot", "ra", "name does not contain \u201cskip\u201d", "Skip Pair", "fails"],
        ["Mailchimp", "rb", "name does not contain \u201cskip\u201d", "Skip Pair B", "fails"],
    ]
    show("a", "12")  # excluded for having no email: no rules table
    assert view.rules_table is None


def test_fields_are_a_key_value_table(
    view: ContactDetailView,
    make_engine: MakeEngine,  # noqa: F811
) -> None:
    engine = make_engine(main_items())
    show_record(view, engine, get_connection(engine, "c-1"), Side.A, "a3")  # lifecycle: lead
    fields = view.record_panels[0].fields_table
    assert [
        (cell(fields, r, 0).text(), cell(fields, r, 1).text()) for r in range(fields.rowCount())
    ] == [("lifecycle", "lead")]
    assert view.rules_table is not None
    assert cell(view.rules_table, 0, 3).text() == "lead"


def test_events_most_recent_first_with_icons(view: ContactDetailView, show: ShowFn) -> None:
    show("a", "5")
    assert [e.seq for e in view.events] == [4, 3]
    table = view.events_table
    assert table is not None
    assert [cell(table, row, 1).text() for row in range(table.rowCount())] == [
        "Mailchimp refused the write",
        "Created in Mailchimp",
    ]
    assert cell(table, 0, 1).icon().cacheKey() == status_icon(Status.FAILING).cacheKey()
    assert cell(table, 1, 1).icon().cacheKey() == status_icon(Status.IN_SYNC).cacheKey()
    assert cell(table, 0, 3).text() == f"Member Exists: {MEMBER_EXISTS}"
    assert cell(table, 0, 0).text() == "2026-02-01 00:00:04"


def test_outcome_icons() -> None:
    from healthdesk.core.model import Outcome

    assert outcome_status(Outcome.FAILED) is Status.FAILING
    assert outcome_status(Outcome.CREATED) is Status.IN_SYNC
    assert outcome_status(Outcome.UPDATED) is Status.IN_SYNC
    assert outcome_status(Outcome.EXCLUDED) is Status.EXCLUDED
    assert outcome_status(Outcome.DUPLICATE) is Status.DUPLICATE
    assert outcome_status(Outcome.UNCHANGED) is None


def test_no_events_says_so(view: ContactDetailView, show: ShowFn) -> None:
    show("a", "40")
    assert view.events == []
    assert view.events_table is not None
    assert not view.events_table.isVisible()
    (note,) = [w for w in view.findChildren(QLabel) if w.objectName() == "detail_no_events"]
    assert note.isVisible()


def test_clear_goes_back_to_the_empty_state(
    qtbot: QtBot, view: ContactDetailView, show: ShowFn
) -> None:
    show("a", "5")
    view.clear()
    assert view.contact is None
    assert view.why_label is None
    assert view.empty_label.isVisible()


def test_showing_many_contacts_keeps_one_content(
    qtbot: QtBot, view: ContactDetailView, show: ShowFn
) -> None:
    for _ in range(3):
        show("a", "5")
        show("a", "21")
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # deleteLater
    contents = [w for w in view.findChildren(QLabel) if w.objectName() == "detail_why"]
    assert len(contents) == 1


def test_the_view_shows_the_events_it_is_given_and_reads_nothing(
    view: ContactDetailView,
    health_db: Engine,
    health_connection: Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = contact_with_history(health_db, "c-1", record=(Side.A, "5"))
    assert found is not None
    assert [e.seq for e in found.events] == [4, 3]

    def no_reading(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the view read the database")

    for name in ("contact_events", "contact_by_record", "contact_with_history"):
        monkeypatch.setattr(contact_history, name, no_reading)
    view.show_contact(health_connection, found.contact, found.events[1:])
    assert [e.seq for e in view.events] == [3]
    assert view.events_table is not None
    assert view.events_table.rowCount() == 1
    view.show_contact(health_connection, found.contact, [])
    assert view.events == []
    assert not view.events_table.isVisible()


# ---------------------------------------------------------------------- the dock


@pytest.fixture
def make_dock(
    qtbot: QtBot, operations: Operations, health_db: Engine, catalog: Catalog
) -> Callable[..., ContactDock]:
    """A Contact dock in a shown window (as in the application: a top-level dock would
    be raised by the platform), showing c-1's contacts; answered inline unless given `ops`."""
    hosts: list[QMainWindow] = []

    def make(
        *, ops: Operations = operations, engine: Engine = health_db, cid: str | None = "c-1"
    ) -> ContactDock:
        host = QMainWindow()
        hosts.append(host)  # qtbot holds it weakly
        qtbot.addWidget(host)
        dock = ContactDock(operations=ops, engine=engine, catalog=catalog)
        host.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        host.resize(900, 900)
        host.show()
        qtbot.waitExposed(host)
        if cid is not None:
            dock.set_connection(get_connection(engine, cid))
        return dock

    return make


def test_dock_opens_a_contact_with_its_events_from_the_database(
    qtbot: QtBot,
    make_dock: Any,
    health_db: Engine,
    health_connection: Connection,
    catalog: Catalog,
) -> None:
    dock = make_dock()
    assert dock.windowTitle() == "Contact"
    assert dock.view.contact is None
    edsger = contact_by_record(health_db, "c-1", Side.A, "5")
    assert edsger is not None
    with qtbot.waitSignal(dock.contact_opened) as blocker:
        dock.open_key(edsger.key)
    assert blocker.args == [edsger]
    assert dock.view.contact == edsger
    assert [e.seq for e in dock.view.events] == [4, 3]
    assert plain(dock.view.error_message_label) == MEMBER_EXISTS
    assert plain(dock.view.why_label) == explain(edsger, health_connection, catalog)
    why = explain(edsger, health_connection, catalog)
    assert dock.why(edsger) == f"{isolate('Edsger Dijkstra')}: {why}"
    # By one of its records, and as a search found it.
    with qtbot.waitSignal(dock.contact_opened) as blocker:
        dock.open_record(Side.B, "m33")
    assert blocker.args[0].name == "Ivy Exists"
    assert [e.seq for e in dock.view.events] == [9]
    with qtbot.waitSignal(dock.contact_opened) as blocker:
        dock.open_contact(edsger)
    assert blocker.args == [edsger]
    assert [e.seq for e in dock.view.events] == [4, 3]


def test_dock_says_when_a_record_is_no_visible_contact(
    qtbot: QtBot,
    make_dock: Any,
    make_engine: MakeEngine,  # noqa: F811
) -> None:
    engine = make_engine(
        [*one_way_items("c-2"), feed.event(3, "b", "m-only-1", "created", cid="c-2")]
    )
    dock = make_dock(engine=engine, cid="c-2")
    opened: list[object] = []
    dock.contact_opened.connect(opened.append)
    with qtbot.waitSignal(dock.not_found) as blocker:
        dock.open_record(Side.B, "m-only-1")  # hidden by the direction a -> b
    (message,) = blocker.args
    assert message.startswith("No visible contact holds the record ")
    assert "m-only-1" in message
    with qtbot.waitSignal(dock.not_found) as blocker:
        dock.open_key(987_654)
    assert blocker.args == ["The contact 987654 is no longer in this database."]
    assert opened == []
    assert dock.view.contact is None
    with qtbot.waitSignal(dock.contact_opened) as blocker:
        dock.open_record(Side.A, "p1")
    assert blocker.args[0].name == "Paula Pair"


def test_dock_follows_the_duplicates_link_to_its_original(
    qtbot: QtBot, make_dock: Any, health_db: Engine
) -> None:
    dock = make_dock()
    with qtbot.waitSignal(dock.contact_opened):
        dock.open_record(Side.A, "21")
    assert dock.view.contact is not None
    assert dock.view.contact.name == "Dup Copy"
    link = dock.view.original_link
    assert link is not None
    href = link.text().split('href="', 1)[1].split('"', 1)[0]
    with qtbot.waitSignal(dock.contact_opened) as blocker:
        link.linkActivated.emit(html.unescape(href))
    original = contact_by_record(health_db, "c-1", Side.A, "20")
    assert blocker.args == [original]
    assert dock.view.contact == original


def test_dock_without_a_connection_opens_nothing(
    qtbot: QtBot, make_dock: Any, health_db: Engine
) -> None:
    dock = make_dock(cid=None)
    with qtbot.assertNotEmitted(dock.contact_opened), qtbot.assertNotEmitted(dock.not_found):
        dock.open_record(Side.A, "5")
    assert dock.view.contact is None
    dock.set_connection(get_connection(health_db, "c-1"))
    with qtbot.waitSignal(dock.contact_opened):
        dock.open_record(Side.A, "5")
    dock.set_connection(get_connection(health_db, "c-2"))  # the contact shown goes
    assert dock.view.contact is None
    assert dock.view.empty_label.isVisible()


@pytest.mark.lifetime
def test_dock_shows_only_the_last_contact_opened(
    qtbot: QtBot,
    make_dock: Any,
    background_operations: Operations,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entered, release = threading.Event(), threading.Event()
    read: list[str] = []
    real_read = contact_history.contact_with_history

    def gated_read(*args: Any, record: Any = None, **kwargs: Any) -> Any:
        if record == (Side.A, "5"):
            entered.set()
            release.wait(10)
        found = real_read(*args, record=record, **kwargs)
        read.append(record[1])
        return found

    monkeypatch.setattr(contact_dock_module, "contact_with_history", gated_read)
    dock = make_dock(ops=background_operations)
    opened: list[ContactView] = []
    dock.contact_opened.connect(opened.append)
    dock.open_record(Side.A, "5")
    qtbot.waitUntil(entered.is_set, timeout=5000)  # Edsger is being read
    with qtbot.waitSignal(dock.contact_opened, timeout=5000):
        dock.open_record(Side.A, "40")
    release.set()
    qtbot.waitUntil(lambda: sorted(read) == ["40", "5"], timeout=5000)
    qtbot.waitUntil(lambda: not background_operations.busy(), timeout=5000)
    assert background_operations.wait_done(10_000)
    QApplication.processEvents()
    assert [contact.name for contact in opened] == ["Pending Person"]
    assert dock.view.contact is not None
    assert dock.view.contact.name == "Pending Person"


def test_dock_does_not_open_a_contact_of_another_connection(
    qtbot: QtBot, make_dock: Any, health_db: Engine
) -> None:
    dock = make_dock()  # c-1
    zed = contact_by_record(health_db, "c-2", Side.A, "p1")
    assert zed is not None
    with qtbot.assertNotEmitted(dock.contact_opened), qtbot.waitSignal(dock.not_found):
        dock.open_key(zed.key)
    assert dock.view.contact is None


def test_a_pairs_records_stack_when_the_dock_is_narrow(
    qtbot: QtBot, view: ContactDetailView, show: ShowFn
) -> None:
    show("a", "1")  # a mapped pair
    first, second = view.record_panels
    box = view.records_box
    assert box is not None
    wide = 2 * _RECORD_MIN_WIDTH
    qtbot.waitUntil(lambda: box.width() >= wide)  # laid out in the 820-wide view
    assert first.geometry().top() == second.geometry().top()  # side by side
    view.resize(420, 900)  # a laptop's narrow Contact dock
    qtbot.waitUntil(lambda: box.width() < wide)
    qtbot.waitUntil(lambda: second.geometry().top() > first.geometry().bottom())  # stacked
    assert second.geometry().left() == first.geometry().left()
    view.resize(820, 900)
    qtbot.waitUntil(lambda: first.geometry().top() == second.geometry().top())
