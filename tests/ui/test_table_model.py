"""ContactTableModel: exact counts, rows in windows, SQL sorting, plain text, background
reads through `Operations` (rows arriving, staleness, deletion while reading)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QIcon
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import STATUS_ORDER, Connection, Side, Status
from healthdesk.store import pages
from healthdesk.store.imports import import_snapshots
from healthdesk.store.pages import ContactFilter, SortKey
from healthdesk.store.queries import counts, get_connection
from healthdesk.ui.contacts.columns import columns_for
from healthdesk.ui.contacts.table_model import PLACEHOLDER, ContactTableModel
from healthdesk.ui.operations import Operations
from healthdesk.ui.text import plain_tooltip
from tests.helpers import feed
from tests.helpers.operations import drain
from tests.ui.conftest import BIG_CONTACTS, HOSTILE_NAME, RULES

DISPLAY = Qt.ItemDataRole.DisplayRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
DECORATION = Qt.ItemDataRole.DecorationRole


@pytest.fixture
def make_model(
    qtbot: QtBot,
    operations: Operations,
    health_db: Engine,
    health_connection: Connection,
    catalog: Catalog,
) -> Callable[..., ContactTableModel]:
    """Build models over the small database; answered inline unless given `ops`."""

    def make(
        status: Status | ContactFilter = Status.IN_SYNC,
        *,
        ops: Operations = operations,
        engine: Engine = health_db,
        connection: Connection = health_connection,
        **kwargs: Any,
    ) -> ContactTableModel:
        contact_filter = status if isinstance(status, ContactFilter) else ContactFilter(status)
        return ContactTableModel(
            operations=ops,
            engine=engine,
            connection=connection,
            filter=contact_filter,
            catalog=catalog,
            **kwargs,
        )

    return make


def loaded(qtbot: QtBot, model: ContactTableModel) -> ContactTableModel:
    """`model` once its list is read (background operations), with no row read yet: the
    first load brings the first rows with it, so the list is read again without any."""
    qtbot.waitUntil(lambda: model.is_loaded and not model.loading, timeout=5000)
    with qtbot.waitSignal(model.reloaded, timeout=5000):
        model.reload(rows=())
    assert model.cached_rows == 0
    return model


def column_texts(model: ContactTableModel, column: int) -> list[str]:
    return [model.index(row, column).data() for row in range(model.rowCount())]


def row_keys(model: ContactTableModel) -> list[int]:
    """The contact keys of every row, in order (asking for their blocks, like a view)."""
    return [model.index(row, 0).data(ContactTableModel.KeyRole) for row in range(model.rowCount())]


def row_texts(model: ContactTableModel, name: str) -> dict[str, str]:
    """The cells of the row whose Name is `name`, by header."""
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    name_column = headers.index("Name")
    for row in range(model.rowCount()):
        if model.index(row, name_column).data() == name:
            cells = [model.index(row, c).data() for c in range(model.columnCount())]
            return dict(zip(headers, cells, strict=True))
    raise AssertionError(f"no row named {name!r}")


# ---------------------------------------------------------------------- model contract


@pytest.mark.parametrize("status", STATUS_ORDER)
def test_qtmodeltester_on_every_status(qtmodeltester: Any, make_model: Any, status: Status) -> None:
    model = make_model(status)
    qtmodeltester.check(model)
    qtmodeltester.check(model, force_py=True)


def test_qtmodeltester_while_rows_load_in_the_background(
    qtmodeltester: Any, qtbot: QtBot, make_model: Any, background_operations: Operations
) -> None:
    model = make_model(Status.FAILING, ops=background_operations, block_size=2, max_blocks=4)
    assert model.rowCount() == 0  # until the list is read
    qtmodeltester.check(model)
    # The checker keeps watching the signals as the list and then its blocks arrive.
    qtbot.waitUntil(lambda: model.rowCount() == 7, timeout=5000)
    qtmodeltester.check(model)
    qtbot.waitUntil(lambda: all(text != PLACEHOLDER for text in column_texts(model, 1)))
    model.sort(1, Qt.SortOrder.DescendingOrder)  # the old rows show until the new order
    qtbot.waitUntil(
        lambda: (
            column_texts(model, 1)[0] == "Kim Invalid"
            and all(text != PLACEHOLDER for text in column_texts(model, 1))
        )
    )
    names = column_texts(model, 1)
    assert names == sorted(names, reverse=True)


@pytest.mark.parametrize("status", STATUS_ORDER)
def test_row_count_is_the_stored_count(make_model: Any, health_db: Engine, status: Status) -> None:
    model = make_model(status)
    assert model.is_loaded
    assert model.rowCount() == counts(health_db, "c-1")[status]
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.columnCount() == len(columns_for(status))


def test_headers_name_the_apps(make_model: Any) -> None:
    headers = {
        status: [
            make_model(status).headerData(c, Qt.Orientation.Horizontal)
            for c in range(len(columns_for(status)))
        ]
        for status in STATUS_ORDER
    }
    assert headers == {
        Status.IN_SYNC: ["Name", "Email", "HubSpot ID", "Mailchimp ID", "Since", "Deleted"],
        Status.EXCLUDED: ["App", "Name", "Email", "ID", "Reason"],
        Status.DUPLICATE: ["App", "Name", "Email", "ID", "Original"],
        Status.FAILING: ["App", "Name", "Email", "ID", "Category", "Message", "When"],
        Status.PENDING: ["App", "Name", "Email", "ID"],
    }


def test_in_sync_rows(make_model: Any) -> None:
    model = make_model(Status.IN_SYNC)
    assert row_texts(model, "Alan Turing") == {
        "Name": "Alan Turing",
        "Email": "alan@example.com",
        "HubSpot ID": "3",
        "Mailchimp ID": "m3",
        "Since": "2026-01-01",
        "Deleted": "Deleted in Mailchimp",
    }
    assert row_texts(model, "Ada Lovelace")["Deleted"] == ""


def test_excluded_rows_say_why(make_model: Any) -> None:
    model = make_model(Status.EXCLUDED)
    assert row_texts(model, "Skip Me") == {
        "App": "HubSpot",
        "Name": "Skip Me",
        "Email": "skipme@example.com",
        "ID": "10",
        "Reason": "No rule match",
    }
    assert row_texts(model, "No Mail")["Reason"] == "No email"
    pair = row_texts(model, "Skip Pair")
    assert (pair["App"], pair["ID"], pair["Reason"]) == (
        "HubSpot / Mailchimp",
        "11 / m11",
        "No rule match",
    )


def test_duplicate_rows_name_their_original(make_model: Any) -> None:
    model = make_model(Status.DUPLICATE)
    assert row_texts(model, "Dup Copy")["Original"] == "Dup Original (20)"
    assert row_texts(model, "Ada Again") == {
        "App": "HubSpot",
        "Name": "Ada Again",
        "Email": "Ada@Example.com",
        "ID": "22",
        "Original": "Ada Lovelace (1)",
    }


def test_failing_rows_show_the_refusing_app_category_and_raw_error(make_model: Any) -> None:
    model = make_model(Status.FAILING)
    assert row_texts(model, "Hal Exists") == {
        "App": "HubSpot",
        "Name": "Hal Exists",
        "Email": "hal@example.com",
        "ID": "m32",
        "Category": "Already exists in the app",
        "Message": "Contact already exists. Existing ID: 3401",
        "When": "2026-02-01 00:00 UTC",
    }
    fay = row_texts(model, "Fay Fake")
    assert (fay["App"], fay["Category"]) == ("Mailchimp", "Invalid or fake email")
    assert (
        fay["Message"]
        == "fay@example.com looks fake or invalid, please enter a real email address."
    )
    pair = row_texts(model, "Edsger Dijkstra")
    assert (pair["App"], pair["ID"]) == ("Mailchimp", "5 / m5")


def test_pending_rows(make_model: Any) -> None:
    model = make_model(Status.PENDING)
    assert sorted(column_texts(model, 1)) == ["Dup Original", "Pending B", "Pending Person"]
    assert row_texts(model, "Pending B") == {
        "App": "Mailchimp",
        "Name": "Pending B",
        "Email": "pendingb@example.com",
        "ID": "m41",
    }


def test_customer_text_is_returned_verbatim(make_model: Any) -> None:
    model = make_model(Status.IN_SYNC)
    row = column_texts(model, 0).index(HOSTILE_NAME)
    index = model.index(row, 0)
    assert index.data(DISPLAY) == HOSTILE_NAME
    # Shown as exactly these characters: escaped inside an explicit rich-text tool tip.
    assert index.data(TOOLTIP) == plain_tooltip(HOSTILE_NAME)
    assert isinstance(index.data(DISPLAY), str)


def test_tooltips_are_the_whole_cell_and_icons_mark_the_first_column(make_model: Any) -> None:
    model = make_model(Status.FAILING)
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            shown = index.data(DISPLAY)
            assert index.data(TOOLTIP) == (plain_tooltip(shown) if shown else None)
        icon = model.index(row, 0).data(DECORATION)
        assert isinstance(icon, QIcon)
        assert not icon.isNull()
        assert model.index(row, 1).data(DECORATION) is None


def test_rows_and_keys_roles(make_model: Any, health_db: Engine) -> None:
    model = make_model(Status.DUPLICATE)
    for row in range(model.rowCount()):
        found = model.index(row, 2).data(ContactTableModel.RowRole)
        assert isinstance(found, ContactView)
        assert found.status is Status.DUPLICATE
        assert model.index(row, 0).data(ContactTableModel.KeyRole) == found.key
        assert model.contact_key(row) == found.key
        assert model.row_at(row) == found
        assert pages.row_for(health_db, found.key) == found
    assert model.contact_key(model.rowCount()) is None
    assert model.contact_key(-1) is None


def test_the_other_connection_is_not_listed(make_model: Any, health_db: Engine) -> None:
    other = get_connection(health_db, "c-2")
    model = make_model(Status.FAILING, connection=other)
    assert model.rowCount() == 1
    assert column_texts(model, 1) == ["Yan Failing"]
    assert column_texts(make_model(Status.FAILING), 1).count("Yan Failing") == 0


# ---------------------------------------------------------------------- sorting


def test_sorting_by_name(make_model: Any, qtbot: QtBot) -> None:
    model = make_model(Status.IN_SYNC)
    assert model.sort_key is SortKey.NAME
    # Binary order, as the index keeps it: "<" sorts before letters.
    assert column_texts(model, 0) == [HOSTILE_NAME, "Ada Lovelace", "Alan Turing", "Grace Hopper"]
    with qtbot.waitSignal(model.modelReset):
        model.sort(0, Qt.SortOrder.DescendingOrder)
    assert model.index(0, 0).data() == "Grace Hopper"
    assert (model.sort_key, model.descending, model.sort_column) == (SortKey.NAME, True, 0)
    model.sort(0, Qt.SortOrder.AscendingOrder)
    assert model.index(0, 0).data() == HOSTILE_NAME


@pytest.mark.parametrize("status", STATUS_ORDER)
def test_every_column_sorts_both_ways(make_model: Any, status: Status) -> None:
    model = make_model(status)
    everything = sorted(row_keys(model))
    for column in range(model.columnCount()):
        model.sort(column, Qt.SortOrder.AscendingOrder)
        up = row_keys(model)
        texts = column_texts(model, column)
        model.sort(column, Qt.SortOrder.DescendingOrder)
        down = row_keys(model)
        assert sorted(up) == everything
        assert down == up[::-1], f"column {column}"
        assert model.sort_column == column
        if model.column_sort_key(column) in {SortKey.NAME, SortKey.EMAIL, SortKey.A_ID}:
            assert texts == sorted(texts)


def test_sorting_failing_by_category_groups_categories(make_model: Any) -> None:
    model = make_model(Status.FAILING)
    model.sort(4, Qt.SortOrder.AscendingOrder)
    categories = column_texts(model, 4)
    assert categories == sorted(categories)
    assert categories[0] == "Already exists in the app"


def test_sort_minus_one_restores_name_order(make_model: Any) -> None:
    model = make_model(Status.IN_SYNC)
    model.sort(1, Qt.SortOrder.DescendingOrder)
    model.sort(-1, Qt.SortOrder.AscendingOrder)
    assert (model.sort_key, model.descending) == (SortKey.NAME, False)


def test_the_loaded_source_finds_a_contact_in_every_order(make_model: Any) -> None:
    model = make_model(Status.FAILING)
    for column in range(model.columnCount()):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            model.sort(column, order)
            source = model.loaded_source()
            assert source is not None
            for row, key in enumerate(row_keys(model)):
                assert source.position_of(key) == row
    assert model.loaded_source().position_of(-5) is None


def test_reload_reports_the_new_rows_of_kept_contacts_in_every_order(
    make_model: Any, qtbot: QtBot
) -> None:
    model = make_model(Status.FAILING)
    for column in range(model.columnCount()):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            model.sort(column, order)
            keys = row_keys(model)
            with qtbot.waitSignal(model.reloaded) as blocker:
                model.reload(keep=[*keys, -5])  # -5: not listed, left out
            assert blocker.args == [{key: row for row, key in enumerate(keys)}]


def test_reload_reports_the_new_row_of_a_kept_contact_after_a_re_sort(
    make_model: Any, qtbot: QtBot
) -> None:
    model = make_model(Status.IN_SYNC)
    assert column_texts(model, 0) == [HOSTILE_NAME, "Ada Lovelace", "Alan Turing", "Grace Hopper"]
    grace, ada = model.contact_key(3), model.contact_key(1)
    model.sort(0, Qt.SortOrder.DescendingOrder)
    with qtbot.waitSignal(model.reloaded) as blocker:
        model.reload(keep=[grace, ada], rows=[0])
    assert blocker.args == [{grace: 0, ada: 2}]
    assert model.index(0, 0).data() == "Grace Hopper"
    # A contact of another list is no longer listed: left out.
    model.set_filter(ContactFilter(Status.PENDING))
    with qtbot.waitSignal(model.reloaded) as blocker:
        model.reload(keep=[grace])
    assert blocker.args == [{}]


def test_reload_finds_a_kept_contact_in_the_database_when_nothing_is_cached(
    make_model: Any, qtbot: QtBot, health_db: Engine, background_operations: Operations
) -> None:
    model = loaded(qtbot, make_model(Status.IN_SYNC, ops=background_operations))
    key = pages.page(
        health_db, "c-1", model.filter, sort=SortKey.NAME, descending=False, offset=2, limit=1
    )[0].key
    assert model.cached_rows == 0
    with qtbot.waitSignal(model.reloaded, timeout=5000) as blocker:
        model.reload(keep=[key], rows=())
    assert blocker.args == [{key: 2}]
    assert model.cached_rows == 0  # no row was asked for


def test_reload_with_rows_swaps_the_list_without_placeholders(
    make_model: Any,
    qtbot: QtBot,
    fresh_db: Engine,
    tmp_path: Any,
    background_operations: Operations,
) -> None:
    connection = get_connection(fresh_db, "c-1")
    model = make_model(
        Status.PENDING, ops=background_operations, engine=fresh_db, connection=connection
    )
    loaded(qtbot, model)
    qtbot.waitUntil(lambda: model.index(0, 1).data() == "Dup Original", timeout=5000)
    kept = model.contact_key(0)
    import_snapshots(
        fresh_db,
        [
            feed.write(
                tmp_path / "more.jsonl",
                [
                    feed.connection(rules=RULES),
                    feed.record("b", "m90", name="Aaron New", email="aaron@example.com"),
                ],
            )
        ],
    )
    shown: list[list[str]] = []
    model.modelReset.connect(lambda: shown.append(column_texts(model, 1)))
    with qtbot.waitSignal(model.reloaded, timeout=5000) as blocker:
        model.reload(keep=[kept], rows=range(model.rowCount()))
        assert column_texts(model, 1)[0] == "Dup Original"  # the old list until the new one
    assert blocker.args == [{kept: 1}]
    # The new list appeared whole, in the reset itself: no placeholder in between.
    assert shown == [["Aaron New", "Dup Original", "Pending B", "Pending Person"]]
    assert model.cached_rows == 4


# ---------------------------------------------------------------------- filter and refresh


def test_set_filter_switches_list_columns_and_count(make_model: Any, qtbot: QtBot) -> None:
    model = make_model(Status.IN_SYNC)
    model.sort(3, Qt.SortOrder.DescendingOrder)  # Mailchimp ID: not a column of Failing
    with qtbot.waitSignal(model.count_changed) as counted, qtbot.waitSignal(model.modelReset):
        model.set_filter(ContactFilter(Status.FAILING, failure_app=Side.A))
    assert counted.args == [3]
    assert model.filter == ContactFilter(Status.FAILING, failure_app=Side.A)
    assert model.columnCount() == 7
    assert (model.sort_key, model.descending) == (SortKey.NAME, False)
    assert sorted(column_texts(model, 1)) == ["Hal Exists", "Ivy Exists", "Jo Invalid"]
    model.set_filter(ContactFilter(Status.FAILING, failure_app=Side.A, category_fingerprints=()))
    assert model.rowCount() == 0


def test_reload_recounts_after_an_import(
    make_model: Any, fresh_db: Engine, qtbot: QtBot, tmp_path: Any
) -> None:
    connection = get_connection(fresh_db, "c-1")
    model = make_model(Status.PENDING, engine=fresh_db, connection=connection)
    assert model.rowCount() == 3
    assert model.index(0, 1).data() == "Dup Original"
    path = feed.write(
        tmp_path / "more.jsonl",
        [
            feed.connection(rules=RULES),
            feed.record("b", "m90", name="Aaron New", email="aaron@example.com"),
        ],
    )
    import_snapshots(fresh_db, [path])
    assert model.rowCount() == 3  # exact as of the last count, until reloaded
    with qtbot.waitSignals([model.modelReset, model.count_changed]):
        model.reload()
    assert model.rowCount() == 4
    assert model.index(0, 1).data() == "Aaron New"
    with qtbot.assertNotEmitted(model.count_changed):
        model.reload()


# ---------------------------------------------------------------------- background loading


def test_the_list_is_read_in_the_background_when_made(
    make_model: Any, qtbot: QtBot, background_operations: Operations
) -> None:
    model = make_model(Status.FAILING, ops=background_operations)
    assert model.rowCount() == 0
    assert not model.is_loaded
    assert model.loading
    reloaded: list[object] = []
    model.reloaded.connect(reloaded.append)
    with qtbot.waitSignal(model.count_changed, timeout=5000) as blocker:
        pass
    assert blocker.args == [7]
    assert reloaded == [{}]
    assert model.rowCount() == 7
    assert model.is_loaded


def test_background_rows_arrive_by_data_changed(
    make_model: Any, qtbot: QtBot, background_operations: Operations
) -> None:
    model = loaded(qtbot, make_model(Status.IN_SYNC, ops=background_operations))
    index = model.index(0, 0)
    assert index.data() == PLACEHOLDER
    assert index.data(TOOLTIP) is None
    assert model.contact_key(0) is None
    assert isinstance(index.data(DECORATION), QIcon)  # the status is known already
    with qtbot.waitSignal(model.dataChanged, timeout=5000) as blocker:
        pass
    top_left, bottom_right = blocker.args[0], blocker.args[1]
    assert top_left.row() == 0
    assert bottom_right.row() == model.rowCount() - 1
    assert bottom_right.column() == model.columnCount() - 1
    assert index.data() == HOSTILE_NAME
    assert model.contact_key(0) is not None


def test_results_of_before_a_reset_are_dropped(
    make_model: Any,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    background_operations: Operations,
) -> None:
    model = loaded(qtbot, make_model(Status.IN_SYNC, ops=background_operations))
    entered, release = threading.Event(), threading.Event()
    calls: list[bool] = []
    real_page = pages.page

    def gated_page(*args: Any, **kwargs: Any) -> Any:
        first = not calls
        calls.append(first)
        if first:  # the block of the ascending order: held until the order changed
            entered.set()
            release.wait(10)
        return real_page(*args, **kwargs)

    monkeypatch.setattr(pages, "page", gated_page)
    assert model.index(0, 0).data() == PLACEHOLDER
    qtbot.waitUntil(entered.is_set, timeout=5000)  # the first block is being read
    model.sort(0, Qt.SortOrder.DescendingOrder)  # the block in flight is now stale
    assert model.index(0, 0).data() == PLACEHOLDER
    qtbot.waitUntil(lambda: model.index(0, 0).data() != PLACEHOLDER, timeout=5000)
    assert model.index(0, 0).data() == "Grace Hopper"
    release.set()
    drain(qtbot, background_operations)
    assert calls == [True, False]  # the stale block was read, and dropped on arrival
    assert column_texts(model, 0) == ["Grace Hopper", "Alan Turing", "Ada Lovelace", HOSTILE_NAME]


def test_a_failed_fetch_is_reported_and_not_retried(
    make_model: Any,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    background_operations: Operations,
) -> None:
    model = loaded(qtbot, make_model(Status.EXCLUDED, ops=background_operations))
    calls = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pages, "page", broken)
    with qtbot.waitSignal(model.load_failed, timeout=5000) as blocker:
        model.index(0, 1).data()
    assert blocker.args == ["RuntimeError: disk on fire"]
    assert model.index(0, 1).data() == ""
    assert column_texts(model, 1) == [""] * model.rowCount()
    assert not background_operations.busy()  # the failed block is not asked again
    assert len(calls) == 1
    monkeypatch.undo()
    model.reload()
    qtbot.waitUntil(lambda: model.index(0, 1).data() not in ("", PLACEHOLDER), timeout=5000)


def test_a_failed_load_is_reported_and_the_list_stays(
    make_model: Any, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model(Status.PENDING)
    before = column_texts(model, 1)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pages, "count", broken)
    with qtbot.waitSignal(model.load_failed) as blocker:
        model.reload()
    assert blocker.args == ["RuntimeError: disk on fire"]
    assert column_texts(model, 1) == before


@pytest.mark.parametrize("how", ["delete", "parent_delete_later"])
@pytest.mark.lifetime
def test_deleting_a_model_while_its_list_is_read_delivers_nothing_to_it(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    health_db: Engine,
    health_connection: Connection,
    catalog: Catalog,
    background_operations: Operations,
    how: str,
) -> None:
    release = threading.Event()
    started: list[int] = []
    finished: list[int] = []
    real_count = pages.count

    def gated_count(*args: Any, **kwargs: Any) -> int:
        started.append(1)
        release.wait(10)
        value = real_count(*args, **kwargs)
        finished.append(value)
        return value

    monkeypatch.setattr(pages, "count", gated_count)
    parent = QObject()

    def make(parent: QObject | None = None) -> ContactTableModel:
        return ContactTableModel(
            operations=background_operations,
            engine=health_db,
            connection=health_connection,
            filter=ContactFilter(Status.IN_SYNC),
            catalog=catalog,
            parent=parent,
        )

    gone = make(parent if how == "parent_delete_later" else None)
    kept = make()  # the same read, for a model that stays: it gets its answer
    delivered: list[object] = []
    for signal in (gone.reloaded, gone.count_changed, gone.modelReset, gone.load_failed):
        signal.connect(lambda *args: delivered.append(args))
    qtbot.waitUntil(lambda: len(started) == 2, timeout=5000)  # both reads are running
    if how == "delete":
        shiboken6.delete(gone)
    else:
        with qtbot.waitSignal(parent.destroyed):
            parent.deleteLater()
    assert not shiboken6.isValid(gone)
    assert not background_operations.busy(gone)
    with qtbot.waitSignal(kept.reloaded, timeout=5000):
        release.set()
    drain(qtbot, background_operations)
    assert len(started) == len(finished) == 2  # both reads ran to their end
    assert delivered == []
    assert kept.rowCount() == 4


# ---------------------------------------------------------------------- a big list


@pytest.mark.slow
def test_big_list_scrolls_to_the_end_with_a_flat_cache(
    make_model: Any, big_db: Engine, qtbot: QtBot
) -> None:
    connection = get_connection(big_db, "c-1")
    model = make_model(Status.IN_SYNC, engine=big_db, connection=connection)
    pairs = BIG_CONTACTS // 2
    assert model.rowCount() == pairs
    bound = model.block_size * model.max_blocks
    last = model.rowCount() - 1
    assert model.index(last, 0).data() == f"Pair {pairs - 1:06d}"
    assert model.index(last, 3).data() == f"q{pairs - 1:06d}"
    for row in range(0, model.rowCount(), 97):  # a scroll through the whole list
        assert model.index(row, 0).data() == f"Pair {row:06d}"
        assert model.cached_rows <= bound
    model.sort(1, Qt.SortOrder.DescendingOrder)  # email: no index, the order is fetched
    assert model.index(0, 1).data() == f"pair{pairs - 1:06d}@example.com"
    assert model.index(last, 1).data() == "pair000000@example.com"
    assert model.cached_rows <= bound


@pytest.mark.slow
def test_big_list_loads_the_last_rows_in_the_background(
    make_model: Any, big_db: Engine, qtbot: QtBot, background_operations: Operations
) -> None:
    connection = get_connection(big_db, "c-1")
    model = make_model(
        Status.PENDING, ops=background_operations, engine=big_db, connection=connection
    )
    qtbot.waitUntil(lambda: model.is_loaded, timeout=10_000)
    last = model.rowCount() - 1
    assert last == BIG_CONTACTS - BIG_CONTACTS // 2 - 1
    assert model.index(last, 1).data() == PLACEHOLDER
    qtbot.waitUntil(lambda: model.index(last, 1).data() != PLACEHOLDER, timeout=10_000)
    assert model.index(last, 1).data() == f"Single {last:06d}"
    assert model.loaded_source().position_of(model.contact_key(last)) == last
    # A jump through many blocks keeps the cache and the queue bounded.
    for row in range(0, model.rowCount(), 300):
        model.index(row, 1).data()
    qtbot.waitUntil(lambda: not model.loading, timeout=10_000)
    assert model.cached_rows <= model.block_size * model.max_blocks
    model.sort(3, Qt.SortOrder.DescendingOrder)  # ID: no index, the order is fetched
    # The old list shows until the new order is read; then its first row arrives.
    qtbot.waitUntil(lambda: model.index(0, 3).data() == f"s{last:06d}", timeout=10_000)
    assert model.loaded_source().position_of(model.contact_key(0)) == 0


def test_invalid_indexes_return_nothing(make_model: Any) -> None:
    model = make_model(Status.IN_SYNC)
    assert model.data(QModelIndex()) is None
    assert model.index(99, 0).data() is None
    assert model.headerData(99, Qt.Orientation.Horizontal) is None
