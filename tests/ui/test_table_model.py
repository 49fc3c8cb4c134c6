"""ContactTableModel: exact counts, rows in windows, SQL sorting, plain text, threads."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QIcon
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog
from healthdesk.core.model import STATUS_ORDER, Connection, Side, Status
from healthdesk.store import pages
from healthdesk.store.imports import import_snapshots
from healthdesk.store.pages import ContactFilter, SortKey
from healthdesk.store.queries import counts, get_connection
from healthdesk.ui.contacts.columns import columns_for
from healthdesk.ui.contacts.table_model import PLACEHOLDER, ContactTableModel
from healthdesk.ui.text import plain_tooltip
from tests.helpers import feed
from tests.ui.conftest import BIG_CONTACTS, HOSTILE_NAME, RULES

DISPLAY = Qt.ItemDataRole.DisplayRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
DECORATION = Qt.ItemDataRole.DecorationRole


@pytest.fixture
def make_model(
    qtbot: QtBot, health_db: Engine, health_connection: Connection, catalog: Catalog
) -> Iterator[Any]:
    """Build models over the small database; they are closed after the test."""
    made: list[ContactTableModel] = []

    def make(
        status: Status | ContactFilter = Status.IN_SYNC,
        *,
        sync: bool = True,
        engine: Engine = health_db,
        connection: Connection = health_connection,
        **kwargs: Any,
    ) -> ContactTableModel:
        contact_filter = status if isinstance(status, ContactFilter) else ContactFilter(status)
        model = ContactTableModel(
            engine=engine,
            connection=connection,
            filter=contact_filter,
            catalog=catalog,
            fetch_synchronously=sync,
            **kwargs,
        )
        made.append(model)
        return model

    yield make
    for model in made:
        model.close()


def column_texts(model: ContactTableModel, column: int) -> list[str]:
    return [model.index(row, column).data() for row in range(model.rowCount())]


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
    qtmodeltester: Any, qtbot: QtBot, make_model: Any
) -> None:
    model = make_model(Status.FAILING, sync=False, block_size=2, max_blocks=4)
    qtmodeltester.check(model)
    # The checker asked for every row: blocks arrive while it keeps watching the signals.
    qtbot.waitUntil(lambda: all(text != PLACEHOLDER for text in column_texts(model, 1)))
    model.sort(1, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: all(text != PLACEHOLDER for text in column_texts(model, 1)))


@pytest.mark.parametrize("status", STATUS_ORDER)
def test_row_count_is_the_stored_count(make_model: Any, health_db: Engine, status: Status) -> None:
    model = make_model(status)
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
        assert isinstance(found, pages.Row)
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
    everything = sorted(model.contact_key(row) for row in range(model.rowCount()))
    for column in range(model.columnCount()):
        model.sort(column, Qt.SortOrder.AscendingOrder)
        up = [model.contact_key(row) for row in range(model.rowCount())]
        texts = column_texts(model, column)
        model.sort(column, Qt.SortOrder.DescendingOrder)
        down = [model.contact_key(row) for row in range(model.rowCount())]
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


def test_row_of_finds_a_contact_in_every_order(make_model: Any) -> None:
    model = make_model(Status.FAILING)
    for column in range(model.columnCount()):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            model.sort(column, order)
            for row in range(model.rowCount()):
                assert model.row_of(model.contact_key(row)) == row
    assert model.row_of(-5) is None


def test_row_of_asks_the_database_when_nothing_is_cached(
    make_model: Any, health_db: Engine
) -> None:
    model = make_model(Status.IN_SYNC, sync=False)
    key = pages.page(
        health_db, "c-1", model.filter, sort=SortKey.NAME, descending=False, offset=2, limit=1
    )[0].key
    assert model.cached_rows == 0
    assert model.row_of(key) == 2


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


def test_refresh_recounts_after_an_import(
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
    assert model.rowCount() == 3  # exact as of the last count, until refreshed
    with qtbot.waitSignals([model.modelReset, model.count_changed]):
        model.refresh()
    assert model.rowCount() == 4
    assert model.index(0, 1).data() == "Aaron New"
    with qtbot.assertNotEmitted(model.count_changed):
        model.refresh()


# ---------------------------------------------------------------------- background loading


def test_background_rows_arrive_by_data_changed(make_model: Any, qtbot: QtBot) -> None:
    model = make_model(Status.IN_SYNC, sync=False)
    index = model.index(0, 0)
    assert index.data() == PLACEHOLDER
    assert index.data(TOOLTIP) is None
    assert isinstance(index.data(DECORATION), QIcon)  # the status is known already
    with qtbot.waitSignal(model.dataChanged, timeout=5000) as blocker:
        pass
    top_left, bottom_right = blocker.args[0], blocker.args[1]
    assert top_left.row() == 0
    assert bottom_right.row() == model.rowCount() - 1
    assert bottom_right.column() == model.columnCount() - 1
    assert index.data() == HOSTILE_NAME
    assert model.contact_key(0) is not None


def test_results_of_before_a_reset_are_dropped(make_model: Any, qtbot: QtBot) -> None:
    model = make_model(Status.IN_SYNC, sync=False)
    assert model.index(0, 0).data() == PLACEHOLDER
    model.sort(0, Qt.SortOrder.DescendingOrder)  # the request in flight is now stale
    assert model.index(0, 0).data() == PLACEHOLDER
    qtbot.waitUntil(lambda: model.index(0, 0).data() != PLACEHOLDER, timeout=5000)
    assert model.index(0, 0).data() == "Grace Hopper"
    qtbot.wait(50)
    assert model.index(0, 0).data() == "Grace Hopper"


def test_a_failed_fetch_is_reported_and_not_retried(
    make_model: Any, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model(Status.EXCLUDED, sync=False)
    calls = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pages, "page", broken)
    with qtbot.waitSignal(model.load_failed, timeout=5000) as blocker:
        model.index(0, 1).data()
    assert blocker.args == ["disk on fire"]
    assert model.index(0, 1).data() == ""
    qtbot.wait(50)
    assert len(calls) == 1
    monkeypatch.undo()
    model.refresh()
    qtbot.waitUntil(lambda: model.index(0, 1).data() not in ("", PLACEHOLDER), timeout=5000)


def test_deleting_a_busy_model_waits_for_its_worker(
    qtbot: QtBot, health_db: Engine, health_connection: Connection, catalog: Catalog
) -> None:
    for _ in range(3):
        model = ContactTableModel(
            engine=health_db,
            connection=health_connection,
            filter=ContactFilter(Status.IN_SYNC),
            catalog=catalog,
        )
        model.index(0, 0).data()
        model.sort(1, Qt.SortOrder.AscendingOrder)
        model.index(0, 0).data()
        del model
        gc.collect()
    parent = QObject()
    child = ContactTableModel(
        engine=health_db,
        connection=health_connection,
        filter=ContactFilter(Status.FAILING),
        catalog=catalog,
        parent=parent,
    )
    child.index(0, 0).data()
    with qtbot.waitSignal(parent.destroyed):
        parent.deleteLater()
    del child, parent
    gc.collect()


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
    make_model: Any, big_db: Engine, qtbot: QtBot
) -> None:
    connection = get_connection(big_db, "c-1")
    model = make_model(Status.PENDING, engine=big_db, connection=connection, sync=False)
    last = model.rowCount() - 1
    assert model.index(last, 1).data() == PLACEHOLDER
    qtbot.waitUntil(lambda: model.index(last, 1).data() != PLACEHOLDER, timeout=10_000)
    assert model.index(last, 1).data() == f"Single {last:06d}"
    assert model.row_of(model.contact_key(last)) == last
    # A jump through many blocks keeps the cache and the queue bounded.
    for row in range(0, model.rowCount(), 300):
        model.index(row, 1).data()
    qtbot.waitUntil(lambda: not model.loading, timeout=10_000)
    assert model.cached_rows <= model.block_size * model.max_blocks
    model.sort(3, Qt.SortOrder.DescendingOrder)  # ID: no index, the order is fetched
    qtbot.waitUntil(lambda: model.index(0, 3).data() != PLACEHOLDER, timeout=10_000)
    assert model.index(0, 3).data() == f"s{last:06d}"
    assert model.row_of(model.contact_key(0)) == 0


def test_invalid_indexes_return_nothing(make_model: Any) -> None:
    model = make_model(Status.IN_SYNC)
    assert model.data(QModelIndex()) is None
    assert model.index(99, 0).data() is None
    assert model.headerData(99, Qt.Orientation.Horizontal) is None
