"""The contacts behind a number of the summary of performed actions: ActionContactsModel
(exact count, rows in windows, read through `Operations`) and ActionContactsDialog."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog
from healthdesk.core.model import Outcome, Side, Status
from healthdesk.store import timeline
from healthdesk.store.queries import get_connection, summary
from healthdesk.ui.actions.action_contacts import (
    COLUMNS,
    PLACEHOLDER,
    ActionContactsDialog,
    ActionContactsModel,
)
from healthdesk.ui.icons import status_icon
from healthdesk.ui.operations import Operations
from healthdesk.ui.text import plain_tooltip
from tests.helpers import feed
from tests.ui import window_fixtures
from tests.ui.conftest import HOSTILE_NAME, build_db
from tests.ui.window_fixtures import MakeEngine, one_way_items

# The fixture of window_fixtures that this module uses.
make_engine = window_fixtures.make_engine

DISPLAY = Qt.ItemDataRole.DisplayRole
KEY = ActionContactsModel.KeyRole
ROW = ActionContactsModel.RowRole
ACTIONS = [(side, outcome) for side in Side for outcome in (Outcome.CREATED, Outcome.UPDATED)]
#: Contacts created in Mailchimp in the long database: many blocks of the model.
MANY = 3_000


def many_items() -> list[dict[str, Any]]:
    """MANY HubSpot singles, each created in Mailchimp; every third one updated twice."""
    items: list[dict[str, Any]] = [feed.connection()]
    items += [
        feed.record("a", f"h{i:05d}", name=f"Person {i:05d}", email=f"p{i:05d}@example.com")
        for i in range(MANY)
    ]
    seq = 0
    for i in range(MANY):
        seq += 1
        items.append(feed.event(seq, "a", f"h{i:05d}", "created"))
        if i % 3 == 0:
            for _ in range(2):
                seq += 1
                items.append(feed.event(seq, "a", f"h{i:05d}", "updated"))
    return items


@pytest.fixture(scope="module")
def many_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = build_db(tmp_path_factory.mktemp("many") / "many.sqlite3", many_items())
    yield engine
    engine.dispose()


@pytest.fixture
def make_model(
    qtbot: QtBot, operations: Operations, health_db: Engine
) -> Callable[..., ActionContactsModel]:
    """Build models, answered inline unless given `ops`."""

    def make(
        target: Side = Side.B,
        outcome: Outcome = Outcome.CREATED,
        *,
        ops: Operations = operations,
        engine: Engine = health_db,
        cid: str = "c-1",
        **kwargs: Any,
    ) -> ActionContactsModel:
        return ActionContactsModel(
            operations=ops,
            engine=engine,
            connection=get_connection(engine, cid),
            target=target,
            outcome=outcome,
            **kwargs,
        )

    return make


def column(model: ActionContactsModel, number: int) -> list[str]:
    return [model.index(row, number).data() for row in range(model.rowCount())]


def events_of_contact(engine: Engine, key: int, target: Side, outcome: Outcome) -> int:
    """The events of `outcome` into `target` about either record of the contact `key`."""
    with engine.connect() as db:
        value = db.exec_driver_sql(
            "SELECT COUNT(*) FROM contacts c JOIN records r ON r.rid IN (c.a_rid, c.b_rid, c.rid) "
            "JOIN events e ON e.connection_id = r.connection_id AND e.app = r.app "
            "AND e.ext_id = r.ext_id WHERE c.rid = ? AND e.target = ? AND e.outcome = ?",
            (key, target.value, outcome.value),
        ).scalar_one()
    return int(value)


# ---------------------------------------------------------------------- model contract


@pytest.mark.parametrize(("target", "outcome"), ACTIONS)
def test_qtmodeltester(qtmodeltester: Any, make_model: Any, target: Side, outcome: Outcome) -> None:
    model = make_model(target, outcome)
    qtmodeltester.check(model)
    qtmodeltester.check(model, force_py=True)


def test_qtmodeltester_while_rows_load_in_the_background(
    qtmodeltester: Any,
    qtbot: QtBot,
    make_model: Any,
    many_db: Engine,
    background_operations: Operations,
) -> None:
    model = make_model(engine=many_db, ops=background_operations, block_size=64, max_blocks=4)
    assert model.rowCount() == 0
    qtmodeltester.check(model)  # while the list is being read: no row yet
    with qtbot.waitSignal(model.loaded, timeout=10_000) as blocker:
        pass
    assert blocker.args == [MANY, MANY]
    assert model.rowCount() == MANY
    qtmodeltester.check(model)
    qtbot.waitUntil(lambda: model.index(MANY - 1, 1).data() != PLACEHOLDER, timeout=5000)
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.refresh()
        assert model.rowCount() == MANY  # the rows stay until the list is read again
    assert model.rowCount() == MANY


def test_rejects_outcomes_that_are_not_actions(
    qtbot: QtBot, operations: Operations, health_db: Engine
) -> None:
    with pytest.raises(ValueError, match="not an action"):
        ActionContactsModel(
            operations=operations,
            engine=health_db,
            connection=get_connection(health_db, "c-1"),
            target=Side.B,
            outcome=Outcome.FAILED,
        )


# ---------------------------------------------------------------------- what it lists


@pytest.mark.parametrize(("target", "outcome"), ACTIONS)
def test_count_is_the_distinct_contacts_concerned(
    make_model: Any, health_db: Engine, catalog: Catalog, target: Side, outcome: Outcome
) -> None:
    model = make_model(target, outcome)
    assert model.is_loaded
    assert model.rowCount() == timeline.count_action_contacts(health_db, "c-1", target, outcome)
    found = model.found
    assert found is not None
    assert found.contacts == model.rowCount()
    actions = summary(health_db, get_connection(health_db, "c-1"), catalog).actions
    assert found.events == actions[target][outcome]
    keys = [model.index(row, 0).data(KEY) for row in range(model.rowCount())]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert events_of_contact(health_db, key, target, outcome) > 0


def test_rows_of_the_small_database(make_model: Any) -> None:
    model = make_model(Side.B, Outcome.CREATED)
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(4)] == list(COLUMNS)
    assert model.columnCount() == 4
    assert column(model, 1) == ["Ada Lovelace", "Edsger Dijkstra", "Grace Hopper"]
    assert column(model, 0) == ["In sync", "Failing", "In sync"]
    assert column(model, 2) == ["ada@example.com", "edsger@example.com", "grace@example.com"]
    assert column(model, 3)[0] == "HubSpot 1 / Mailchimp m1"
    icon = model.index(1, 0).data(Qt.ItemDataRole.DecorationRole)
    assert icon.cacheKey() == status_icon(Status.FAILING).cacheKey()
    assert model.index(1, 1).data(Qt.ItemDataRole.DecorationRole) is None
    row = model.index(1, 2).data(ROW)
    assert (row.status, row.name) == (Status.FAILING, "Edsger Dijkstra")
    assert model.index(1, 1).data(KEY) == row.key == model.contact_key(1)
    assert model.title() == "Created in Mailchimp (3 events, 3 contacts)"


def test_many_events_of_one_contact_list_it_once(make_model: Any, many_db: Engine) -> None:
    model = make_model(Side.B, Outcome.UPDATED, engine=many_db)
    assert model.rowCount() == MANY // 3
    assert (
        model.title() == f"Updated in Mailchimp ({2 * MANY // 3:,} events, {MANY // 3:,} contacts)"
    )
    assert column(model, 1)[:2] == ["Person 00000", "Person 00003"]


def test_hidden_records_are_not_listed(make_engine: MakeEngine, make_model: Any) -> None:
    engine = make_engine(
        [*one_way_items("c-2"), feed.event(3, "b", "m-only-1", "created", cid="c-2")]
    )
    into_a = make_model(Side.A, Outcome.CREATED, engine=engine, cid="c-2")
    assert into_a.rowCount() == 0
    assert into_a.title() == "Created in Pipedrive (1 event, 0 contacts)"
    into_b = make_model(Side.B, Outcome.CREATED, engine=engine, cid="c-2")
    assert column(into_b, 1) == ["Paula Pair"]


def test_hostile_text_shows_verbatim(make_engine: MakeEngine, make_model: Any) -> None:
    engine = make_engine(
        [
            feed.connection(names=("<i>App A</i>", "App &amp; B")),
            feed.record("a", "<1>", name=HOSTILE_NAME, email="<x@example.com>"),
            feed.event(1, "a", "<1>", "created"),
        ]
    )
    model = make_model(Side.B, Outcome.CREATED, engine=engine)
    assert [model.index(0, c).data() for c in range(4)] == [
        "Pending",
        HOSTILE_NAME,
        "<x@example.com>",
        "<i>App A</i> <1>",
    ]
    assert model.index(0, 1).data(Qt.ItemDataRole.ToolTipRole) == plain_tooltip(HOSTILE_NAME)
    assert model.title() == "Created in App &amp; B (1 event, 1 contact)"


def test_rows_come_in_windows(
    qtbot: QtBot, make_model: Any, many_db: Engine, background_operations: Operations
) -> None:
    model = make_model(engine=many_db, ops=background_operations, block_size=100, max_blocks=3)
    assert model.found is None
    assert model.contact_key(0) is None
    qtbot.waitUntil(lambda: model.rowCount() == MANY, timeout=10_000)
    assert model.index(0, 1).data() == "Person 00000"  # the first rows come with the list
    middle = MANY // 2
    assert model.index(middle, 1).data() == PLACEHOLDER
    assert model.index(middle, 1).data(ROW) is None
    assert model.index(middle, 1).data(KEY) is not None  # known with the list
    for row in (0, MANY // 2, MANY - 1):
        qtbot.waitUntil(lambda r=row: model.index(r, 1).data() == f"Person {r:05d}", timeout=5000)
        assert model.cached_rows <= 300
    assert model.row_at(MANY - 1) is not None


# ---------------------------------------------------------------------- the dialog


def make_dialog(
    qtbot: QtBot, operations: Operations, engine: Engine, **kwargs: Any
) -> ActionContactsDialog:
    kwargs.setdefault("connection", get_connection(engine, "c-1"))
    kwargs.setdefault("target", Side.B)
    kwargs.setdefault("outcome", Outcome.CREATED)
    dialog = ActionContactsDialog(operations=operations, engine=engine, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_dialog_title_counts_events_and_contacts(
    qtbot: QtBot, many_db: Engine, background_operations: Operations
) -> None:
    dialog = make_dialog(qtbot, background_operations, many_db)
    assert dialog.windowTitle() == "Created in Mailchimp"  # while the list is read
    qtbot.waitUntil(
        lambda: (
            dialog.windowTitle() == f"Created in Mailchimp ({MANY:,} events, {MANY:,} contacts)"
        ),
        timeout=10_000,
    )
    assert dialog.table.model() is dialog.model
    assert dialog.table.isVisible()


def test_double_click_opens_the_contact(
    qtbot: QtBot, health_db: Engine, operations: Operations
) -> None:
    dialog = make_dialog(qtbot, operations, health_db)
    index = dialog.model.index(1, 1)
    assert index.data() == "Edsger Dijkstra"
    position = dialog.table.visualRect(index).center()
    with qtbot.waitSignal(dialog.contact_activated) as blocker:
        qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=position)
        qtbot.mouseDClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=position)
    assert blocker.args == [dialog.model.contact_key(1)]
    dialog.table.setCurrentIndex(dialog.model.index(0, 0))
    with qtbot.waitSignal(dialog.contact_activated) as blocker:
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    assert blocker.args == [dialog.model.contact_key(0)]


def test_copy_rows(qtbot: QtBot, health_db: Engine, operations: Operations) -> None:
    dialog = make_dialog(qtbot, operations, health_db)
    dialog.table.selectRow(0)
    dialog.copy_rows()
    assert QGuiApplication.clipboard().text() == (
        "In sync\tAda Lovelace\tada@example.com\tHubSpot 1 / Mailchimp m1"
    )


def test_dialog_empty_state(
    qtbot: QtBot, health_db: Engine, background_operations: Operations
) -> None:
    dialog = make_dialog(
        qtbot, background_operations, health_db, target=Side.A, outcome=Outcome.UPDATED
    )
    assert not dialog.empty_label.isVisible()  # not known to be empty before it is read
    qtbot.waitUntil(dialog.empty_label.isVisible, timeout=5000)
    assert dialog.empty_label.text() == "No contact was updated in HubSpot."
    assert dialog.windowTitle() == "Updated in HubSpot (0 events, 0 contacts)"
    assert not dialog.table.isVisible()


def test_a_failed_read_is_said_in_the_dialog(
    qtbot: QtBot,
    health_db: Engine,
    background_operations: Operations,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(timeline, "action_contact_keys", broken)
    dialog = make_dialog(qtbot, background_operations, health_db)
    hint = "The list could not be read: RuntimeError: disk on fire"
    qtbot.waitUntil(
        lambda: hint in [label.text() for label in dialog.findChildren(QLabel)], timeout=5000
    )
    assert dialog.model.rowCount() == 0
    assert dialog.windowTitle() == "Created in Mailchimp"


@pytest.mark.lifetime
def test_deleting_a_model_while_its_list_is_read_delivers_nothing_to_it(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    many_db: Engine,
    background_operations: Operations,
) -> None:
    connection = get_connection(many_db, "c-1")
    entered, release = threading.Event(), threading.Event()
    finished: list[bool] = []
    real_keys = timeline.action_contact_keys

    def gated_keys(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(10)
        try:  # told to stop (its owner is gone): the query may end early, by an error
            return real_keys(*args, **kwargs)
        finally:
            finished.append(kwargs["cancelled"]())

    monkeypatch.setattr(timeline, "action_contact_keys", gated_keys)
    dialog = ActionContactsDialog(
        operations=background_operations,
        engine=many_db,
        connection=connection,
        target=Side.B,
        outcome=Outcome.CREATED,
    )
    model = dialog.model
    delivered: list[object] = []
    for signal in (model.loaded, model.reloaded, model.modelReset, model.load_failed):
        signal.connect(lambda *args: delivered.append(args))
    qtbot.waitUntil(entered.is_set, timeout=5000)  # the list is being read
    shiboken6.delete(dialog)  # the dialog and its model go
    assert not shiboken6.isValid(model)
    assert not background_operations.busy()
    release.set()
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert background_operations.wait_done(10_000)
    QApplication.processEvents()
    assert finished == [True]  # the read ran, told that its answer is not wanted
    assert delivered == []


def test_the_dialog_follows_a_change_of_its_connection(
    qtbot: QtBot, fresh_db: Engine, operations: Operations, tmp_path: Any
) -> None:
    from healthdesk.store.imports import import_snapshots
    from tests.ui.conftest import health_items

    dialog = make_dialog(qtbot, operations, fresh_db)
    found = dialog.model.found
    assert found is not None
    before = found.events
    # One more write into Mailchimp: a new "created" event of a HubSpot record.
    more = [*health_items(), feed.event(500, "a", "2", "created")]
    import_snapshots(fresh_db, [feed.write(tmp_path / "more.jsonl", more)])
    operations.notify_changed("c-2")  # another connection: nothing to read
    assert dialog.model.found is found
    operations.notify_changed("c-1")
    found = dialog.model.found
    assert found is not None
    assert found.events == before + 1
    assert dialog.windowTitle() == dialog.model.title()
