"""FailureTreeModel: app -> category -> fingerprint, exact counts, filters for the list."""

from __future__ import annotations

import gc
import html
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QIcon
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection, Side, Status
from healthdesk.store.pages import ContactFilter
from healthdesk.store.queries import counts, get_connection, summary
from healthdesk.ui.contacts.table_model import ContactTableModel
from healthdesk.ui.failures.tree_model import FailureTreeModel
from healthdesk.ui.text import plain_tooltip

MEMBER_EXISTS = (
    "Member Exists: <email> is already a list member. Use PUT to insert or update list members."
)
LOOKS_FAKE = "Invalid Resource: <email> looks fake or invalid, please enter a real email address."
VALID_EMAIL = "Invalid Resource: Please provide a valid email address."
CONFLICT = "CONFLICT: Contact already exists. Existing ID: <n>"
INVALID_EMAIL = "INVALID_EMAIL: Email address <email> is invalid"


@pytest.fixture
def make_tree(
    qtbot: QtBot, health_db: Engine, health_connection: Connection, catalog: Catalog
) -> Any:
    def make(*, sync: bool = True, **kwargs: Any) -> FailureTreeModel:
        return FailureTreeModel(
            engine=health_db,
            connection=health_connection,
            catalog=catalog,
            fetch_synchronously=sync,
            **kwargs,
        )

    return make


def walk(model: FailureTreeModel, parent: QModelIndex | None = None) -> list[QModelIndex]:
    """Every index of column 0, depth first."""
    parent = parent or QModelIndex()
    found = []
    for row in range(model.rowCount(parent)):
        index = model.index(row, 0, parent)
        found.append(index)
        found.extend(walk(model, index))
    return found


def shape(model: FailureTreeModel, parent: QModelIndex | None = None) -> list[Any]:
    """The tree as nested (text, count, children) tuples."""
    parent = parent or QModelIndex()
    result = []
    for row in range(model.rowCount(parent)):
        index = model.index(row, 0, parent)
        count = model.index(row, 1, parent).data()
        children = shape(model, index)
        result.append((index.data(), count, children) if children else (index.data(), count))
    return result


def test_qtmodeltester(qtmodeltester: Any, make_tree: Any) -> None:
    model = make_tree()
    qtmodeltester.check(model)
    qtmodeltester.check(model, force_py=True)


def test_the_tree_is_app_category_fingerprint_with_counts(make_tree: Any) -> None:
    assert shape(make_tree()) == [
        (
            "Mailchimp",
            4,
            [
                ("Invalid or fake email", 3, [(LOOKS_FAKE, 2), (VALID_EMAIL, 1)]),
                ("Already exists in the app", 1, [(MEMBER_EXISTS, 1)]),
            ],
        ),
        (
            "HubSpot",
            3,
            [
                ("Already exists in the app", 2, [(CONFLICT, 2)]),
                ("Invalid or fake email", 1, [(INVALID_EMAIL, 1)]),
            ],
        ),
    ]


def test_counts_are_exact_sums_at_every_level(make_tree: Any, health_db: Engine) -> None:
    model = make_tree()
    for index in walk(model):
        children = [model.index(r, 0, index) for r in range(model.rowCount(index))]
        if children:
            own = index.data(FailureTreeModel.CountRole)
            assert own == sum(child.data(FailureTreeModel.CountRole) for child in children)
    assert model.total == counts(health_db, "c-1")[Status.FAILING]


def test_filters_of_nodes(make_tree: Any) -> None:
    model = make_tree()
    mailchimp = model.index(0, 0)
    fake = model.index(0, 0, mailchimp)
    one = model.index(1, 0, fake)
    assert mailchimp.data(FailureTreeModel.FilterRole) == ContactFilter(
        Status.FAILING, failure_app=Side.B
    )
    assert fake.data(FailureTreeModel.FilterRole) == ContactFilter(
        Status.FAILING, failure_app=Side.B, category_fingerprints=(LOOKS_FAKE, VALID_EMAIL)
    )
    assert model.filter_for(one) == ContactFilter(
        Status.FAILING, failure_app=Side.B, category_fingerprints=(VALID_EMAIL,)
    )
    assert [i.data(FailureTreeModel.KindRole) for i in (mailchimp, fake, one)] == [
        "app",
        "category",
        "fingerprint",
    ]


def test_each_node_filters_the_failing_list_to_its_count(
    make_tree: Any, health_db: Engine, health_connection: Connection, catalog: Catalog
) -> None:
    model = make_tree()
    table = ContactTableModel(
        engine=health_db,
        connection=health_connection,
        filter=ContactFilter(Status.FAILING),
        catalog=catalog,
        fetch_synchronously=True,
    )
    assert table.rowCount() == model.total
    for index in walk(model):
        table.set_filter(index.data(FailureTreeModel.FilterRole))
        assert table.rowCount() == index.data(FailureTreeModel.CountRole), index.data()
        if index.data(FailureTreeModel.KindRole) == "category":
            assert {table.index(r, 4).data() for r in range(table.rowCount())} == {index.data()}
        if index.data(FailureTreeModel.KindRole) == "app":
            assert {table.index(r, 0).data() for r in range(table.rowCount())} == {index.data()}


def test_explanations_come_from_the_catalog(make_tree: Any, catalog: Catalog) -> None:
    model = make_tree()
    hubspot = model.index(1, 0)
    exists = model.index(0, 0, hubspot)
    reason = catalog.classify("hubspot", CONFLICT)
    assert model.explanation_for(exists) == (reason.explanation, reason.fix)
    assert model.explanation_for(model.index(0, 0, exists)) == (reason.explanation, reason.fix)
    assert model.explanation_for(hubspot) is None
    assert model.explanation_for(QModelIndex()) is None
    assert html.escape(reason.explanation) in exists.data(Qt.ItemDataRole.ToolTipRole)


def test_display_roles(make_tree: Any) -> None:
    model = make_tree()
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(2)] == [
        "Failure reason",
        "Contacts",
    ]
    app = model.index(0, 0)
    assert isinstance(app.data(Qt.ItemDataRole.DecorationRole), QIcon)
    assert model.index(0, 1).data(Qt.ItemDataRole.TextAlignmentRole) is not None
    fingerprint = model.index(0, 0, model.index(0, 0, app))
    assert fingerprint.data(Qt.ItemDataRole.ToolTipRole) == plain_tooltip(LOOKS_FAKE)
    assert model.flags(fingerprint) & Qt.ItemFlag.ItemNeverHasChildren
    assert model.rowCount(model.index(0, 1)) == 0


def test_another_connection_has_its_own_tree(
    health_db: Engine, catalog: Catalog, qtmodeltester: Any
) -> None:
    other = get_connection(health_db, "c-2")
    model = FailureTreeModel(
        engine=health_db, connection=other, catalog=catalog, fetch_synchronously=True
    )
    assert shape(model) == [("Mailchimp", 1, [("Invalid or fake email", 1, [(LOOKS_FAKE, 1)])])]
    model.set_summary(summary(health_db, other, catalog))
    qtmodeltester.check(model)


def test_a_given_summary_is_used_at_once(
    make_tree: Any, health_db: Engine, health_connection: Connection, catalog: Catalog
) -> None:
    given = summary(health_db, health_connection, catalog)
    model = make_tree(sync=False, summary=given)
    assert model.total == 7
    with pytest.raises(ValueError, match="c-2"):
        model.set_summary(summary(health_db, get_connection(health_db, "c-2"), catalog))


def test_the_summary_is_read_in_the_background(
    make_tree: Any, qtbot: QtBot, qtmodeltester: Any
) -> None:
    model = make_tree(sync=False)
    qtmodeltester.check(model)
    assert model.rowCount() == 0  # until the summary arrives
    with qtbot.waitSignal(model.refreshed, timeout=5000):
        pass
    assert model.rowCount() == 2
    assert model.total == 7
    with qtbot.waitSignals([model.modelReset, model.refreshed], timeout=5000):
        model.refresh()
    assert model.total == 7


def test_deleting_a_reading_tree_waits_for_its_worker(
    qtbot: QtBot, health_db: Engine, health_connection: Connection, catalog: Catalog
) -> None:
    for _ in range(3):
        model = FailureTreeModel(engine=health_db, connection=health_connection, catalog=catalog)
        model.refresh()
        del model
        gc.collect()
    parent = QObject()
    FailureTreeModel(engine=health_db, connection=health_connection, catalog=catalog, parent=parent)
    with qtbot.waitSignal(parent.destroyed):
        parent.deleteLater()
    del parent
    gc.collect()
