"""FailureTreeModel (app -> category -> fingerprint, exact counts, filters for the list)
and FailurePanel (the tree and the explanation beside it, kept across new summaries)."""

from __future__ import annotations

import html
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog, Owner
from healthdesk.core.model import Connection, Side, Status
from healthdesk.store.pages import ContactFilter
from healthdesk.store.queries import counts, get_connection, summary
from healthdesk.ui.contacts.table_model import ContactTableModel
from healthdesk.ui.failures.failure_panel import PATH_SEPARATOR, FailurePanel, node_path
from healthdesk.ui.failures.tree_model import OWNER_COLUMN, FailureTreeModel
from healthdesk.ui.operations import Operations
from healthdesk.ui.text import plain_tooltip
from tests.helpers import feed
from tests.ui import window_fixtures
from tests.ui.window_fixtures import MakeEngine

# The fixture of window_fixtures that this module uses.
make_engine = window_fixtures.make_engine

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
    """A tree of c-1's summary (or of `connection`'s), read here: the model reads nothing."""

    def make(connection: Connection = health_connection, **kwargs: Any) -> FailureTreeModel:
        return FailureTreeModel(
            summary=summary(health_db, connection, catalog), catalog=catalog, **kwargs
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
    make_tree: Any,
    operations: Operations,
    health_db: Engine,
    health_connection: Connection,
    catalog: Catalog,
) -> None:
    model = make_tree()
    table = ContactTableModel(
        operations=operations,
        engine=health_db,
        connection=health_connection,
        filter=ContactFilter(Status.FAILING),
        catalog=catalog,
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
    # A category node says what the category means in general (it stands for many
    # errors); a fingerprint node explains its own error.
    general = catalog.category(reason.category)
    assert model.explanation_for(exists) == (general.explanation, general.fix)
    assert model.explanation_for(model.index(0, 0, exists)) == (reason.explanation, reason.fix)
    assert model.explanation_for(hubspot) is None
    assert model.explanation_for(QModelIndex()) is None
    assert html.escape(general.explanation) in exists.data(Qt.ItemDataRole.ToolTipRole)
    # Who fixes it: the category's owner, in words, on both levels; nothing on an app.
    assert exists.siblingAtColumn(OWNER_COLUMN).data() == general.owner.short_label
    assert exists.data(model.OwnerRole) == general.owner
    assert model.index(0, 0, exists).data(model.OwnerRole) == reason.owner
    assert hubspot.siblingAtColumn(OWNER_COLUMN).data() == ""


def test_display_roles(make_tree: Any) -> None:
    model = make_tree()
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(3)] == [
        "Failure reason",
        "Contacts",
        "Who fixes it",
    ]
    app = model.index(0, 0)
    assert isinstance(app.data(Qt.ItemDataRole.DecorationRole), QIcon)
    assert model.index(0, 1).data(Qt.ItemDataRole.TextAlignmentRole) is not None
    fingerprint = model.index(0, 0, model.index(0, 0, app))
    owner = Owner(fingerprint.data(model.OwnerRole))  # a str once through Qt
    assert fingerprint.data(Qt.ItemDataRole.ToolTipRole) == plain_tooltip(
        f"{LOOKS_FAKE}\n\nWho fixes it: {owner.label}"
    )
    assert model.flags(fingerprint) & Qt.ItemFlag.ItemNeverHasChildren
    assert model.rowCount(model.index(0, 1)) == 0


def test_another_connection_has_its_own_tree(
    make_tree: Any, health_db: Engine, catalog: Catalog, qtmodeltester: Any
) -> None:
    other = get_connection(health_db, "c-2")
    model = make_tree(other)
    assert model.connection.id == "c-2"
    assert shape(model) == [("Mailchimp", 1, [("Invalid or fake email", 1, [(LOOKS_FAKE, 1)])])]
    qtmodeltester.check(model)
    model.set_summary(summary(health_db, other, catalog))
    assert model.total == 1


def test_a_new_summary_rebuilds_the_tree_in_a_reset(
    make_tree: Any, qtbot: QtBot, health_db: Engine, catalog: Catalog, qtmodeltester: Any
) -> None:
    model = make_tree()
    qtmodeltester.check(model)
    before = shape(model)
    with qtbot.waitSignals([model.modelReset, model.refreshed]):
        model.set_summary(summary(health_db, model.connection, catalog))
    assert shape(model) == before
    assert model.total == 7
    with pytest.raises(ValueError, match="c-2"):
        model.set_summary(summary(health_db, get_connection(health_db, "c-2"), catalog))
    assert model.total == 7


def test_nothing_failing_is_an_empty_tree(
    make_engine: MakeEngine, catalog: Catalog, qtmodeltester: Any
) -> None:
    engine = make_engine([feed.connection(), feed.record("a", "1", name="Ada")])
    model = FailureTreeModel(
        summary=summary(engine, get_connection(engine, "c-1"), catalog), catalog=catalog
    )
    assert model.rowCount() == 0
    assert model.total == 0
    qtmodeltester.check(model)


# ---------------------------------------------------------------------- the panel


@pytest.fixture
def panel(qtbot: QtBot, catalog: Catalog) -> FailurePanel:
    widget = FailurePanel(catalog=catalog)
    qtbot.addWidget(widget)
    widget.resize(600, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def find(model: FailureTreeModel, *path: str) -> QModelIndex:
    """The node reached by the display texts `path` from the top."""
    for index in walk(model):
        if node_path(index) == list(path):
            return index
    raise AssertionError(f"no node {path!r}")


def test_panel_shows_nothing_until_a_summary_arrives(
    panel: FailurePanel, health_db: Engine, health_connection: Connection, catalog: Catalog
) -> None:
    assert panel.model() is None
    panel.set_connection(health_connection)
    assert panel.model() is None
    assert panel.empty_label.isVisible()
    assert panel.empty_label.text() == "Reading failure reasons…"
    assert not panel.view.isVisible()
    panel.set_summary(summary(health_db, health_connection, catalog))
    model = panel.model()
    assert isinstance(model, FailureTreeModel)
    assert panel.view.model() is model
    assert model.total == 7
    assert panel.view.isVisible()
    assert not panel.empty_label.isVisible()
    # The apps are open, their categories are not.
    mailchimp = find(model, "Mailchimp")
    assert panel.view.isExpanded(mailchimp)
    assert panel.view.isExpanded(find(model, "HubSpot"))
    assert not panel.view.isExpanded(find(model, "Mailchimp", "Invalid or fake email"))
    panel.set_connection(None)
    assert panel.model() is None
    assert panel.empty_label.text() == ""


def test_panel_says_when_nothing_is_failing(
    panel: FailurePanel, make_engine: MakeEngine, catalog: Catalog
) -> None:
    engine = make_engine([feed.connection(), feed.record("a", "1", name="Ada")])
    panel.set_summary(summary(engine, get_connection(engine, "c-1"), catalog))
    assert panel.model() is not None
    assert panel.empty_label.isVisible()
    assert panel.empty_label.text() == "Nothing is failing."
    assert not panel.view.isVisible()
    assert not panel.reason_panel.isVisible()


def test_choosing_a_node_gives_its_filter_path_and_explanation(
    qtbot: QtBot,
    panel: FailurePanel,
    health_db: Engine,
    health_connection: Connection,
    catalog: Catalog,
) -> None:
    panel.set_summary(summary(health_db, health_connection, catalog))
    model = panel.model()
    assert model is not None
    fingerprint = find(model, "Mailchimp", "Invalid or fake email", LOOKS_FAKE)
    with qtbot.waitSignal(panel.filter_chosen) as blocker:
        panel.view.setCurrentIndex(fingerprint)
    path = PATH_SEPARATOR.join(["Mailchimp", "Invalid or fake email", LOOKS_FAKE])
    assert blocker.args == [
        ContactFilter(Status.FAILING, failure_app=Side.B, category_fingerprints=(LOOKS_FAKE,)),
        path,
    ]
    reason = catalog.classify("mailchimp", LOOKS_FAKE)
    assert panel.reason_panel.title.text() == path
    assert panel.reason_panel.title.textFormat() == Qt.TextFormat.PlainText
    assert panel.reason_panel.explanation.text() == reason.explanation
    assert panel.reason_panel.fix.text() == reason.fix
    assert panel.reason_panel.fix.isVisible()
    # An app node has no explanation of its own: the panel says where to find one.
    with qtbot.waitSignal(panel.filter_chosen) as blocker:
        panel.view.setCurrentIndex(find(model, "HubSpot"))
    assert blocker.args == [ContactFilter(Status.FAILING, failure_app=Side.A), "HubSpot"]
    assert not panel.reason_panel.fix.isVisible()
    assert "category" in panel.reason_panel.explanation.text()
    with qtbot.waitSignal(panel.filter_chosen) as blocker:
        panel.clear_choice()
    assert blocker.args == [None, ""]
    assert not panel.view.currentIndex().isValid()
    assert panel.view.selectionModel().selectedIndexes() == []


def test_a_new_summary_of_the_same_connection_keeps_open_nodes_and_the_choice(
    qtbot: QtBot,
    panel: FailurePanel,
    health_db: Engine,
    health_connection: Connection,
    catalog: Catalog,
) -> None:
    panel.set_summary(summary(health_db, health_connection, catalog))
    model = panel.model()
    assert model is not None
    category = ("HubSpot", "Already exists in the app")
    panel.view.expand(find(model, *category))
    chosen = [*category, CONFLICT]
    with qtbot.waitSignal(panel.filter_chosen):
        panel.view.setCurrentIndex(find(model, *chosen))
    title = panel.reason_panel.title.text()
    with qtbot.assertNotEmitted(panel.filter_chosen):  # quietly: the list keeps its filter
        panel.set_summary(summary(health_db, health_connection, catalog))
    assert panel.model() is model
    assert panel.view.isExpanded(find(model, *category))
    assert panel.view.isExpanded(find(model, "HubSpot"))
    assert node_path(panel.view.currentIndex()) == chosen
    selected = {node_path(i) == chosen for i in panel.view.selectionModel().selectedIndexes()}
    assert selected == {True}
    assert panel.reason_panel.title.text() == title


def test_a_summary_of_another_connection_replaces_the_tree(
    qtbot: QtBot,
    panel: FailurePanel,
    health_db: Engine,
    health_connection: Connection,
    catalog: Catalog,
) -> None:
    panel.set_summary(summary(health_db, health_connection, catalog))
    old = panel.model()
    assert old is not None
    with qtbot.waitSignal(panel.filter_chosen):
        panel.view.setCurrentIndex(find(old, "Mailchimp"))
    panel.set_summary(summary(health_db, get_connection(health_db, "c-2"), catalog))
    model = panel.model()
    assert model is not None
    assert model is not old
    assert model.connection.id == "c-2"
    assert model.total == 1
    assert not panel.view.currentIndex().isValid()
    assert not panel.reason_panel.fix.isVisible()
    with qtbot.waitSignal(old.destroyed):
        QApplication.processEvents()
    assert panel.findChildren(FailureTreeModel) == [model]
