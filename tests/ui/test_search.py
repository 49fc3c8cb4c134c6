"""Search: the results model (worker, stale results dropped) and the bar (debounce, keys)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QModelIndex, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection, Side, Status
from healthdesk.store import queries
from healthdesk.store.queries import Found, get_connection
from healthdesk.ui.icons import status_icon
from healthdesk.ui.operations import Operations
from healthdesk.ui.search import search_model
from healthdesk.ui.search.search_bar import DEBOUNCE_MS, PLACEHOLDER, SearchBar
from healthdesk.ui.search.search_model import SearchResultsModel
from healthdesk.ui.text import plain_tooltip
from tests.helpers.operations import drain
from tests.ui.conftest import HOSTILE_NAME

DISPLAY = Qt.ItemDataRole.DisplayRole
CONTACT = SearchResultsModel.ContactRole


@pytest.fixture
def make_model(
    qtbot: QtBot,
    operations: Operations,
    health_db: Engine,
    health_connection: Connection,
    catalog: Catalog,
) -> Callable[..., SearchResultsModel]:
    """Build results models, answered inline unless given `ops`."""

    def make(*, ops: Operations = operations) -> SearchResultsModel:
        return SearchResultsModel(
            operations=ops, engine=health_db, connection=health_connection, catalog=catalog
        )

    return make


@pytest.fixture
def make_bar(
    qtbot: QtBot,
    operations: Operations,
    health_db: Engine,
    health_connection: Connection,
    catalog: Catalog,
) -> Callable[..., SearchBar]:
    """A shown search bar at the top of a window of its own (the popup floats over it),
    answered inline unless given `ops`."""

    def make(
        *, ops: Operations = operations, engine: Engine = health_db, connection: Any = None
    ) -> SearchBar:
        host = QWidget()
        qtbot.addWidget(host)
        host.resize(700, 520)
        bar = SearchBar(
            operations=ops,
            engine=engine,
            connection=connection or health_connection,
            catalog=catalog,
        )
        layout = QVBoxLayout(host)
        layout.addWidget(bar)
        layout.addStretch(1)
        host.show()
        qtbot.waitExposed(host)
        return bar

    return make


def titles(model: SearchResultsModel) -> list[str]:
    return [model.index(row, 0).data(DISPLAY) for row in range(model.rowCount())]


def contacts(model: SearchResultsModel) -> list[ContactView]:
    return [model.index(row, 0).data(CONTACT) for row in range(model.rowCount())]


# ---------------------------------------------------------------------------- the model


def test_model_passes_the_model_tester(qtmodeltester: Any, make_model: Any) -> None:
    model = make_model()
    model.set_query("example")
    assert model.rowCount() > 5
    qtmodeltester.check(model, force_py=True)
    model.set_query("")
    qtmodeltester.check(model, force_py=True)


def test_finds_by_name_in_another_case(make_model: Any) -> None:
    model = make_model()
    model.set_query("  ADA lovelace ")
    assert titles(model) == ["Ada Lovelace <ada@example.com>"]
    assert model.total == 1


def test_finds_by_email(make_model: Any) -> None:
    model = make_model()
    model.set_query("grace@EXAMPLE")
    assert titles(model) == ["Grace Hopper <grace@example.com>"]


def test_finds_a_pair_once_by_the_id_of_its_b_record(make_model: Any) -> None:
    model = make_model()
    model.set_query("m5")
    assert model.rowCount() == 1
    (found,) = contacts(model)
    assert found.is_pair
    assert [(r.app, r.id) for r in found.records] == [(Side.A, "5"), (Side.B, "m5")]
    index = model.index(0, 0)
    assert index.data(SearchResultsModel.IdsRole) == "HubSpot 5 · Mailchimp m5"
    assert "HubSpot 5 · Mailchimp m5" in index.data(Qt.ItemDataRole.ToolTipRole)


def test_each_result_has_its_status_icon(make_model: Any) -> None:
    model = make_model()
    model.set_query("example")
    seen = set()
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        contact = index.data(CONTACT)
        icon = index.data(Qt.ItemDataRole.DecorationRole)
        assert isinstance(icon, QIcon)
        assert icon.cacheKey() == status_icon(contact.status).cacheKey()
        seen.add(contact.status)
    assert seen == set(Status)


def test_failing_result_names_the_category(make_model: Any) -> None:
    model = make_model()
    model.set_query("Fay Fake")
    assert model.index(0, 0).data(SearchResultsModel.StatusTextRole) == "Failing"
    assert "Failing: " in model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_customer_text_is_plain(make_model: Any) -> None:
    model = make_model()
    model.set_query("hostile@")
    assert titles(model) == [f"{HOSTILE_NAME} <hostile@example.com>"]
    tooltip = model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith(plain_tooltip(HOSTILE_NAME)[:-4])  # escaped inside <p>


def test_empty_query_clears_and_reports(make_model: Any, qtbot: QtBot) -> None:
    model = make_model()
    model.set_query("ada")
    assert model.rowCount() > 0
    with qtbot.waitSignal(model.finished) as blocker:
        model.set_query("   ")
    assert blocker.args == [0]
    assert model.rowCount() == 0


def test_worker_returns_results_by_signal(
    make_model: Any, qtbot: QtBot, background_operations: Operations
) -> None:
    model = make_model(ops=background_operations)
    with qtbot.waitSignal(model.finished, timeout=5000) as blocker:
        model.set_query("fake")
        assert model.busy
        assert model.rowCount() == 0  # until the results arrive
    assert blocker.args == [2]
    assert not model.busy
    assert sorted(c.name for c in contacts(model)) == ["Fay Fake", "Gus Fake"]


def test_stale_results_are_dropped(
    make_model: Any,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    background_operations: Operations,
) -> None:
    entered, release = threading.Event(), threading.Event()
    searched: list[str] = []
    real_find = queries.find

    def gated_find(engine: Engine, connection_id: str, text: str, **kw: Any) -> Found:
        if text == "ada":
            entered.set()
            release.wait(10)
        found = real_find(engine, connection_id, text, **kw)
        searched.append(text)
        return found

    monkeypatch.setattr(search_model, "find", gated_find)
    model = make_model(ops=background_operations)
    shown: list[int] = []
    model.finished.connect(shown.append)
    model.set_query("ada")
    qtbot.waitUntil(entered.is_set, timeout=5000)  # the first search is running
    model.set_query("grace")
    with qtbot.waitSignal(model.finished, timeout=5000):
        pass  # "grace" is answered while "ada" is still held
    assert searched == ["grace"]
    release.set()
    qtbot.waitUntil(lambda: searched == ["grace", "ada"], timeout=5000)
    drain(qtbot, background_operations)  # the stale answer had every chance to arrive
    assert shown == [1]
    assert titles(model) == ["Grace Hopper <grace@example.com>"]
    assert model.query == "grace"


@pytest.mark.lifetime
def test_two_quick_queries_show_only_the_last(
    make_model: Any, qtbot: QtBot, background_operations: Operations
) -> None:
    model = make_model(ops=background_operations)
    shown: list[int] = []
    model.finished.connect(shown.append)
    model.set_query("ada")
    model.set_query("edsger")
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    drain(qtbot, background_operations)
    assert shown == [1]
    assert titles(model) == ["Edsger Dijkstra <edsger@example.com>"]


def test_an_empty_query_drops_the_search_running(
    make_model: Any, qtbot: QtBot, background_operations: Operations
) -> None:
    model = make_model(ops=background_operations)
    shown: list[int] = []
    model.finished.connect(shown.append)
    model.set_query("ada")
    model.set_query("")  # answered at once, and the search of "ada" is dropped
    assert shown == [0]
    assert not model.busy
    drain(qtbot, background_operations)
    assert shown == [0]
    assert model.rowCount() == 0


def test_a_failed_search_is_reported_and_the_list_emptied(
    make_model: Any, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model()
    model.set_query("ada")
    assert model.rowCount() > 0

    def broken(*args: Any, **kwargs: Any) -> Found:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(search_model, "find", broken)
    with qtbot.waitSignal(model.failed) as blocker:
        model.set_query("grace")
    assert blocker.args == ["RuntimeError: disk on fire"]
    assert model.rowCount() == 0
    assert model.total == 0
    assert not model.busy


@pytest.mark.lifetime
def test_deleting_a_model_while_it_searches_delivers_nothing_to_it(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    health_db: Engine,
    health_connection: Connection,
    catalog: Catalog,
    background_operations: Operations,
) -> None:
    entered, release = threading.Event(), threading.Event()
    finished: list[int] = []
    real_find = queries.find

    def gated_find(engine: Engine, connection_id: str, text: str, **kw: Any) -> Found:
        entered.set()
        release.wait(10)
        found = real_find(engine, connection_id, text, **kw)
        finished.append(found.total)
        return found

    monkeypatch.setattr(search_model, "find", gated_find)
    model = SearchResultsModel(
        operations=background_operations,
        engine=health_db,
        connection=health_connection,
        catalog=catalog,
    )
    delivered: list[object] = []
    for signal in (model.finished, model.failed, model.modelReset):
        signal.connect(lambda *args: delivered.append(args))
    model.set_query("fake")
    qtbot.waitUntil(entered.is_set, timeout=5000)  # the search is running
    model.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not shiboken6.isValid(model)
    assert not background_operations.busy()
    release.set()
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    drain(qtbot, background_operations)
    assert finished == [2]  # the search ran to its end
    assert delivered == []


# ---------------------------------------------------------------------------- the bar


def test_bar_has_its_placeholder_and_clear_button(make_bar: Any) -> None:
    bar = make_bar()
    assert bar.line_edit.placeholderText() == PLACEHOLDER
    assert bar.line_edit.isClearButtonEnabled()
    assert not bar.popup_visible()


def test_typing_quickly_runs_one_query(
    make_bar: Any, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_find = queries.find

    def counting_find(engine: Engine, connection_id: str, text: str, **kw: Any) -> Found:
        calls.append(text)
        return real_find(engine, connection_id, text, **kw)

    monkeypatch.setattr(search_model, "find", counting_find)
    bar = make_bar()
    qtbot.keyClicks(bar.line_edit, "ada")
    assert calls == []  # nothing before the typing pauses
    qtbot.waitUntil(lambda: bool(calls) and not bar.pending(), timeout=DEBOUNCE_MS * 8)
    assert calls == ["ada"]
    assert bar.popup_visible()
    assert bar.results_view.isVisible()


def test_enter_chooses_the_current_result(make_bar: Any, qtbot: QtBot) -> None:
    bar = make_bar()
    bar.search("grace")
    assert bar.popup_visible()
    with qtbot.waitSignal(bar.contact_chosen) as blocker:
        qtbot.keyClick(bar.line_edit, Qt.Key.Key_Return)
    (chosen,) = blocker.args
    assert isinstance(chosen, ContactView)
    assert chosen.name == "Grace Hopper"
    assert not bar.popup_visible()


def test_down_then_enter_chooses_the_next(make_bar: Any, qtbot: QtBot) -> None:
    bar = make_bar()
    bar.search("fake")
    expected = bar.model.contact_at(1)
    qtbot.keyClick(bar.line_edit, Qt.Key.Key_Down)
    qtbot.keyClick(bar.line_edit, Qt.Key.Key_Down)  # stays on the last
    qtbot.keyClick(bar.line_edit, Qt.Key.Key_Up)
    qtbot.keyClick(bar.line_edit, Qt.Key.Key_Down)
    assert bar.results_view.currentIndex().row() == 1
    with qtbot.waitSignal(bar.contact_chosen) as blocker:
        qtbot.keyClick(bar.line_edit, Qt.Key.Key_Enter)
    assert blocker.args == [expected]


def test_enter_while_typing_chooses_when_results_arrive(
    make_bar: Any, qtbot: QtBot, background_operations: Operations
) -> None:
    bar = make_bar(ops=background_operations)
    qtbot.keyClicks(bar.line_edit, "m5")
    with qtbot.waitSignal(bar.contact_chosen, timeout=5000) as blocker:
        qtbot.keyClick(bar.line_edit, Qt.Key.Key_Return)
    assert blocker.args[0].record(Side.B).id == "m5"


def test_click_chooses(make_bar: Any, qtbot: QtBot) -> None:
    bar = make_bar()
    bar.search("fake")
    rect = bar.results_view.visualRect(bar.model.index(1, 0))
    with qtbot.waitSignal(bar.contact_chosen) as blocker:
        qtbot.mouseClick(bar.results_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [bar.model.contact_at(1)]


def test_escape_closes_then_clears(make_bar: Any, qtbot: QtBot) -> None:
    bar = make_bar()
    bar.search("ada")
    assert bar.popup_visible()
    qtbot.keyClick(bar.line_edit, Qt.Key.Key_Escape)
    assert not bar.popup_visible()
    assert bar.line_edit.text() == "ada"
    qtbot.keyClick(bar.line_edit, Qt.Key.Key_Down)  # opens again
    assert bar.popup_visible()
    qtbot.keyClick(bar.line_edit, Qt.Key.Key_Escape)
    qtbot.keyClick(bar.line_edit, Qt.Key.Key_Escape)
    assert bar.line_edit.text() == ""
    assert bar.model.rowCount() == 0


def test_no_match_says_so(make_bar: Any) -> None:
    bar = make_bar()
    bar.search("zzz-nobody")
    assert bar.popup_visible()
    assert not bar.results_view.isVisible()
    assert bar.footer.text() == "No contact matches \u201czzz-nobody\u201d"
    assert bar.footer.textFormat() == Qt.TextFormat.PlainText


def test_footer_counts_the_results(make_bar: Any) -> None:
    bar = make_bar()
    bar.search("fake")
    assert bar.footer.text() == "2 contacts"
    bar.search("m5")
    assert bar.footer.text() == "1 contact"


def test_cut_results_say_first_50_of_n(make_bar: Any, big_db: Engine) -> None:
    bar = make_bar(engine=big_db, connection=get_connection(big_db, "c-1"))
    bar.search("Pair 0000")  # Pair 000000 .. Pair 000099
    assert bar.model.rowCount() == 50
    assert bar.model.total == 100
    assert bar.footer.text().startswith("First 50 of 100 contacts")
    assert bar.model.index(0, 0).data(DISPLAY) == "Pair 000000 <pair000000@example.com>"


def test_very_many_results_say_more_than(
    make_bar: Any, big_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond the exact-count limit (lowered here), the footer says "more than"."""
    from healthdesk.store import search_index

    monkeypatch.setattr(search_index, "EXACT_LIMIT", 60)
    bar = make_bar(engine=big_db, connection=get_connection(big_db, "c-1"))
    bar.search("Pair 0000")
    assert bar.model.rowCount() == 50
    assert (bar.model.total, bar.model.more) == (60, True)
    assert bar.footer.text().startswith("First 50 of more than 60 contacts")
    assert bar.model.index(0, 0).data(DISPLAY) == "Pair 000000 <pair000000@example.com>"


def test_popup_stays_in_the_window(make_bar: Any) -> None:
    bar = make_bar()
    bar.search("example")
    host = bar.window()
    geometry = bar.popup.geometry()
    assert bar.popup.parentWidget() is host
    assert geometry.top() >= bar.line_edit.mapTo(host, bar.line_edit.rect().bottomLeft()).y()
    assert host.rect().contains(geometry)


def test_set_connection_clears(make_bar: Any, health_db: Engine) -> None:
    bar = make_bar()
    bar.search("ada")
    bar.set_connection(health_db, get_connection(health_db, "c-2"))
    assert bar.line_edit.text() == ""
    assert not bar.popup_visible()
    bar.search("ada")  # c-1's Ada is not in c-2
    assert bar.model.rowCount() == 0
    bar.search("Zed")
    assert [c.name for c in contacts(bar.model)] == ["Zed Other"]
    bar.set_connection(None, None)
    assert not bar.isEnabled()


def test_delegate_reports_two_lines(make_bar: Any) -> None:
    bar = make_bar()
    bar.search("ada")
    height = bar.results_view.sizeHintForRow(0)
    assert height >= 2 * bar.fontMetrics().height()
    assert bar.results_view.visualRect(QModelIndex()).isEmpty()
