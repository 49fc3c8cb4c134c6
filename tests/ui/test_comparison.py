"""File > Compare With… and File > What If…: the numbers of their tables are those of the
engine (the two states' stored statuses joined by identity; `store.whatif`), the cells of
the matrix list the right contacts, and What If writes nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.core.compare import ABSENT, PLACE_ORDER
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Condition, Connection, Op, Status
from healthdesk.feed.generate import generate
from healthdesk.store import statuses
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import get_connection, iter_contacts
from healthdesk.store.whatif import whatif, with_changes
from healthdesk.ui import compare_dialog
from healthdesk.ui.compare_dialog import CompareDialog, MovedContactsModel
from healthdesk.ui.comparison_models import CountsModel, FailureChangesModel, MoveMatrixModel
from healthdesk.ui.operations import Operations
from healthdesk.ui.whatif_dialog import WhatIfDialog
from tests.helpers.db import dump
from tests.helpers.operations import drain
from tests.ui import window_fixtures
from tests.ui.window_fixtures import MakeWindow

# The fixtures of window_fixtures that this module uses.
make_window = window_fixtures.make_window
settings = window_fixtures.settings

CID = "c-hs-mc"


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Engine]]:
    """(earlier snapshot, later snapshot, database of the later one)."""
    folder = tmp_path_factory.mktemp("comparison")
    old = generate(folder / "old.jsonl.gz", contacts=900, seed=11).path
    new = generate(folder / "new.jsonl.gz", contacts=950, seed=12).path
    engine = open_db(folder / "now.sqlite3")
    import_snapshots(engine, [new])
    yield old, new, engine
    engine.dispose()


@pytest.fixture(scope="module")
def old_engine(states: tuple[Path, Path, Engine]) -> Iterator[Engine]:
    engine = open_db(states[0].with_suffix(".sqlite3"))
    import_snapshots(engine, [states[0]])
    yield engine
    engine.dispose()


def by_identity(engine: Engine) -> dict[tuple[str, str], tuple[Status, int]]:
    """Each stored contact by identity (its a-record, else its b-record): status, key."""
    found = {}
    for contact in iter_contacts(engine, CID):
        record = contact.records[0]
        found[(record.app.value, record.id)] = (contact.status, contact.key)
    return found


def expected_moves(old: Engine, new: Engine) -> Counter[tuple[str, str]]:
    before, after = by_identity(old), by_identity(new)
    return Counter(
        (
            before[key][0].value if key in before else ABSENT,
            after[key][0].value if key in after else ABSENT,
        )
        for key in before.keys() | after.keys()
    )


def open_compare(
    qtbot: QtBot, operations: Operations, states: tuple[Path, Path, Engine], catalog: Catalog
) -> CompareDialog:
    old, _new, engine = states
    dialog = CompareDialog(
        operations=operations,
        engine=engine,
        connection=get_connection(engine, CID),
        catalog=catalog,
        snapshot=old,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_the_matrix_counts_the_moves_of_the_two_states(
    qtbot: QtBot,
    operations: Operations,
    states: tuple[Path, Path, Engine],
    old_engine: Engine,
    catalog: Catalog,
) -> None:
    dialog = open_compare(qtbot, operations, states, catalog)
    expected = expected_moves(old_engine, states[2])
    model = dialog.view.matrix_model
    assert model.rowCount() == model.columnCount() == len(PLACE_ORDER)
    for row, from_ in enumerate(PLACE_ORDER):
        for column, to in enumerate(PLACE_ORDER):
            index = model.index(row, column)
            assert index.data(MoveMatrixModel.CountRole) == expected[(from_, to)]
            count = expected[(from_, to)]
            if from_ == to == ABSENT:
                assert index.data() == ""
            else:
                assert index.data() == (f"{count:,}" if count else "·")
            listable = bool(count) and from_ != to
            assert bool(index.flags() & Qt.ItemFlag.ItemIsSelectable) == listable
    counts = dialog.view.counts_model
    for row, status in enumerate(Status):
        before = sum(n for (f, _t), n in expected.items() if f == status.value)
        after = sum(n for (_f, t), n in expected.items() if t == status.value)
        assert counts.index(row, 1).data() == f"{before:,}"
        assert counts.index(row, 2).data() == f"{after:,}"
    moved = sum(n for (f, t), n in expected.items() if f != t)
    assert dialog.status_label.text() == f"{moved:,} contacts changed status since the snapshot."


def test_the_failure_groups_that_changed(
    qtbot: QtBot,
    operations: Operations,
    states: tuple[Path, Path, Engine],
    old_engine: Engine,
    catalog: Catalog,
) -> None:
    dialog = open_compare(qtbot, operations, states, catalog)

    def groups(engine: Engine) -> Counter[tuple[str, str]]:
        return Counter(
            (c.failure.app.value, c.failure.fingerprint)  # type: ignore[union-attr]
            for c in iter_contacts(engine, CID, [Status.FAILING])
        )

    before, after = groups(old_engine), groups(states[2])
    changed = {key for key in before.keys() | after.keys() if before[key] != after[key]}
    model = dialog.failures_model
    assert model.rowCount() == len(changed)
    shown = set()
    for row in range(model.rowCount()):
        change = model.change(row)
        assert change is not None
        key = (change.app.value, change.fingerprint)
        assert (change.before, change.after) == (before[key], after[key])
        assert model.index(row, 5).data() == change.fingerprint
        shown.add(key)
    assert shown == changed
    grew = sum(1 for key in changed if after[key] > before[key])
    assert (
        dialog.tabs.tabText(0) == f"Failure groups that changed ({len(changed):,}, {grew:,} grew)"
    )
    # The groups that grew come first.
    deltas = [model.change(row).delta for row in range(model.rowCount())]  # type: ignore[union-attr]
    assert deltas[:grew] == sorted(deltas[:grew], reverse=True)
    assert all(d > 0 for d in deltas[:grew])


def cell_center(dialog: CompareDialog, from_: str, to: str) -> Any:
    index = dialog.view.matrix_model.index_of(from_, to)
    return dialog.view.matrix_view.visualRect(index).center()


@pytest.fixture(params=["kept by the comparison", "read again"])
def cell_keys(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where a cell's contacts come from: the keys the comparison kept (reading both
    databases again then fails the test), or, past the limit of keys kept, both
    databases read again."""
    if request.param == "kept by the comparison":

        def refuse(*_args: Any, **_kwargs: Any) -> Any:
            raise AssertionError("the cell read both databases again")

        monkeypatch.setattr(compare_dialog, "moved_keys", refuse)
    else:
        monkeypatch.setattr(statuses, "MOVED_LIMIT", 0)
    return str(request.param)


@pytest.mark.parametrize(
    ("from_", "to"),
    [("in_sync", "failing"), ("failing", "in_sync"), (ABSENT, "pending"), ("excluded", ABSENT)],
)
def test_a_cell_lists_the_contacts_that_moved(
    qtbot: QtBot,
    operations: Operations,
    states: tuple[Path, Path, Engine],
    old_engine: Engine,
    catalog: Catalog,
    from_: str,
    to: str,
    cell_keys: str,
) -> None:
    dialog = open_compare(qtbot, operations, states, catalog)
    before, after = by_identity(old_engine), by_identity(states[2])
    moved = {
        key
        for key in before.keys() | after.keys()
        if (before[key][0].value if key in before else ABSENT) == from_
        and (after[key][0].value if key in after else ABSENT) == to
    }
    assert moved, "the generated states should hold such moves"
    qtbot.mouseClick(
        dialog.view.matrix_view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=cell_center(dialog, from_, to),
    )
    model = dialog.contacts_model
    assert model is not None
    assert model.move == (from_, to)
    assert dialog.tabs.currentIndex() == 1
    # Keys in the database the contacts are in: now, or the snapshot's for those gone.
    keys_of = {key: (after if to != ABSENT else before)[key][1] for key in moved}
    assert model.rowCount() == len(moved)
    listed = {model.contact_key(row) for row in range(model.rowCount())}
    assert listed == set(keys_of.values())
    names = [model.index(row, 1).data() for row in range(model.rowCount())]
    assert names == sorted(names, key=lambda n: (n == "", n.casefold())) or len(set(names)) < len(
        names
    )
    assert str(len(moved)) in dialog.contacts_label.text()


def test_a_diagonal_or_empty_cell_lists_nothing(
    qtbot: QtBot, operations: Operations, states: tuple[Path, Path, Engine], catalog: Catalog
) -> None:
    dialog = open_compare(qtbot, operations, states, catalog)
    qtbot.mouseClick(
        dialog.view.matrix_view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=cell_center(dialog, "in_sync", "in_sync"),
    )
    assert dialog.contacts_model is None


def test_models_pass_qtmodeltester(
    qtbot: QtBot,
    qtmodeltester: Any,
    operations: Operations,
    states: tuple[Path, Path, Engine],
    catalog: Catalog,
) -> None:
    dialog = open_compare(qtbot, operations, states, catalog)
    dialog.show_move("in_sync", "excluded")
    assert dialog.contacts_model is not None
    for model in (
        dialog.view.matrix_model,
        dialog.view.counts_model,
        dialog.failures_model,
        dialog.contacts_model,
    ):
        qtmodeltester.check(model)
        qtmodeltester.check(model, force_py=True)
    for empty in (MoveMatrixModel(), CountsModel(), FailureChangesModel()):
        qtmodeltester.check(empty, force_py=True)
        assert empty.rowCount() == 0


def test_moved_contacts_model_in_the_background(
    qtbot: QtBot,
    qtmodeltester: Any,
    background_operations: Operations,
    states: tuple[Path, Path, Engine],
    old_engine: Engine,
) -> None:
    engine = states[2]
    model = MovedContactsModel(
        operations=background_operations,
        old=old_engine,
        new=engine,
        connection=get_connection(engine, CID),
        move=("excluded", "in_sync"),
    )
    qtmodeltester.check(model, force_py=True)
    with qtbot.waitSignal(model.loaded, timeout=10_000) as blocker:
        pass
    expected = expected_moves(old_engine, engine)[("excluded", "in_sync")]
    assert blocker.args == [expected]
    qtmodeltester.check(model, force_py=True)
    drain(qtbot, background_operations)


def test_double_click_opens_the_contact_in_the_window(
    qtbot: QtBot, make_window: MakeWindow, states: tuple[Path, Path, Engine]
) -> None:
    old, _new, engine = states
    window = make_window(engine)
    assert window.select_connection(CID)
    file_menu = window.menuBar().actions()[0].menu()
    assert window.comparisons.compare_action in file_menu.actions()
    assert window.comparisons.whatif_action in file_menu.actions()
    dialog = window.comparisons.compare_with(old)
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.show_move("in_sync", "failing")
    model = dialog.contacts_model
    assert model is not None
    assert model.rowCount() > 0
    table = dialog.contacts_table
    position = table.visualRect(model.index(0, 1)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=position)
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=position)
    shown = window.detail_view.contact
    assert shown is not None
    assert shown.key == model.contact_key(0)
    assert shown.status is Status.FAILING
    dialog.close()


def test_a_snapshot_without_the_connection_says_so(
    qtbot: QtBot,
    operations: Operations,
    states: tuple[Path, Path, Engine],
    catalog: Catalog,
    tmp_path: Path,
) -> None:
    from tests.helpers.feed import connection, write

    other = write(tmp_path / "other.jsonl", [connection("c-other")])
    _old, new, engine = states
    dialog = open_compare(qtbot, operations, (other, new, engine), catalog)
    assert dialog.comparison is None
    assert dialog.status_label.text() == (
        f"Could not compare: other.jsonl does not hold this connection ({CID}); "
        "it holds: c-other (HubSpot ⇄ Mailchimp)"
    )
    assert dialog.again_button.isVisible()


def test_compare_cancels_and_runs_again(
    qtbot: QtBot,
    background_operations: Operations,
    states: tuple[Path, Path, Engine],
    catalog: Catalog,
) -> None:
    dialog = open_compare(qtbot, background_operations, states, catalog)
    dialog.cancel()
    assert dialog.status_label.text() == "Cancelled."
    assert not dialog.running()
    assert dialog.again_button.isVisible()
    drain(qtbot, background_operations)
    assert dialog.comparison is None
    dialog.start()
    qtbot.waitUntil(lambda: dialog.comparison is not None, timeout=20_000)
    assert not dialog.progress.isVisible()
    drain(qtbot, background_operations)


# -- what if ------------------------------------------------------------------------------


def open_whatif(qtbot: QtBot, operations: Operations, engine: Engine) -> WhatIfDialog:
    dialog = WhatIfDialog(
        operations=operations, engine=engine, connection=get_connection(engine, CID)
    )
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def shown_after(dialog: WhatIfDialog) -> dict[Status, int]:
    model = dialog.view.counts_model
    return {
        status: int(model.index(row, 2).data().replace(",", ""))
        for row, status in enumerate(Status)
    }


def test_whatif_follows_each_change_and_writes_nothing(
    qtbot: QtBot, operations: Operations, states: tuple[Path, Path, Engine]
) -> None:
    engine = states[2]
    rows = dump(engine)
    dialog = open_whatif(qtbot, operations, engine)
    connection: Connection = get_connection(engine, CID)
    stored = connection.settings
    assert dialog.comparison is not None
    assert not dialog.comparison.changed
    assert dialog.status_label.text() == "No contact would change status."
    matrix = dialog.view.matrix_model
    assert matrix.rowCount() == len(Status)  # the same contacts: none is "not there"
    assert not matrix.listable

    dialog.avoid_check.setChecked(not stored.avoid_duplicates)
    expected = whatif(
        engine, CID, with_changes(stored, avoid_duplicates=not stored.avoid_duplicates)
    )
    assert dialog.comparison == expected
    assert shown_after(dialog) == expected.after
    assert expected.changed

    rule = stored.rules[0]
    dialog.set_rule_enabled(rule.id, False)
    expected = whatif(
        engine,
        CID,
        with_changes(
            stored,
            avoid_duplicates=not stored.avoid_duplicates,
            without_rules=frozenset({rule.id}),
        ),
    )
    assert dialog.comparison == expected
    assert dialog.settings().rules == tuple(r for r in stored.rules if r.id != rule.id)

    dialog.reset()
    assert dialog.avoid_check.isChecked() == stored.avoid_duplicates
    assert dialog.comparison is not None
    assert not dialog.comparison.changed

    # An edited condition: the rule's first condition made to match nothing.
    edited_rule = next(r for r in stored.rules if r.conditions)
    nothing = Condition(field="name", op=Op.EQUALS, value="no such name at all")
    dialog.edit_condition(edited_rule.id, 0, nothing)
    changed_rules = tuple(
        replace(r, conditions=(nothing, *r.conditions[1:])) if r.id == edited_rule.id else r
        for r in stored.rules
    )
    expected = whatif(engine, CID, replace(stored, rules=changed_rules))
    assert dialog.comparison == expected
    assert dump(engine) == rows


def test_the_condition_editor_edits_the_selected_condition(
    qtbot: QtBot, operations: Operations, states: tuple[Path, Path, Engine]
) -> None:
    engine = states[2]
    dialog = open_whatif(qtbot, operations, engine)
    stored = get_connection(engine, CID).settings
    row, rule = next((n, r) for n, r in enumerate(stored.rules) if r.conditions)
    item = dialog.rules_tree.topLevelItem(row).child(0)  # type: ignore[union-attr]
    dialog.rules_tree.setCurrentItem(item)
    assert dialog.editor.isVisible()
    assert dialog.field_edit.text() == rule.conditions[0].field
    assert dialog.op_combo.currentData() == rule.conditions[0].op
    dialog.op_combo.setCurrentIndex(dialog.op_combo.findData(Op.IS_EMPTY))
    dialog.op_combo.activated.emit(dialog.op_combo.currentIndex())
    assert not dialog.value_edit.isEnabled()
    qtbot.waitUntil(lambda: dialog.settings().rules[row].conditions[0].op is Op.IS_EMPTY)
    field = rule.conditions[0].field
    expected_rules = tuple(
        replace(r, conditions=(Condition(field, Op.IS_EMPTY, None), *r.conditions[1:]))
        if r.id == rule.id
        else r
        for r in stored.rules
    )
    assert dialog.comparison == whatif(engine, CID, replace(stored, rules=expected_rules))
    assert item.text(0).endswith("is empty")
    dialog.field_edit.setText("")
    dialog.field_edit.textEdited.emit("")
    qtbot.waitUntil(lambda: dialog.editor_error.text() == "A condition needs a field.")


def test_whatif_newest_change_wins_in_the_background(
    qtbot: QtBot, background_operations: Operations, states: tuple[Path, Path, Engine]
) -> None:
    engine = states[2]
    stored = get_connection(engine, CID).settings
    dialog = open_whatif(qtbot, background_operations, engine)
    arrived: list[Any] = []
    dialog.decided.connect(arrived.append)
    for _ in range(3):
        dialog.avoid_check.toggle()
    final = dialog.settings()
    assert final.avoid_duplicates != stored.avoid_duplicates
    qtbot.waitUntil(lambda: not dialog.running(), timeout=20_000)
    drain(qtbot, background_operations)
    assert arrived[-1] == whatif(engine, CID, final)
    assert len(arrived) == 1  # the older requests were stale: never delivered
    dialog.avoid_check.toggle()
    dialog.cancel()
    assert dialog.status_label.text().startswith("Cancelled")
    drain(qtbot, background_operations)
    assert len(arrived) == 1


def test_whatif_of_the_window(
    qtbot: QtBot, make_window: MakeWindow, states: tuple[Path, Path, Engine]
) -> None:
    window = make_window(states[2])
    assert window.select_connection(CID)
    window.comparisons.whatif_action.trigger()
    dialogs = window.findChildren(WhatIfDialog)
    assert len(dialogs) == 1
    assert dialogs[0].windowTitle() == f"What If: {window.current_connection().name}"
    dialogs[0].close()


def test_the_readme_pictures_render(qapp: Any, tmp_path: Path) -> None:
    """tests/ui/comparison_screenshots.py makes resources/screenshots/{compare,whatif}.png."""
    from PySide6.QtGui import QImage

    from tests.ui.comparison_screenshots import render

    written = render(tmp_path)
    assert [path.name for path in written] == ["compare.png", "whatif.png"]
    for path in written:
        image = QImage(str(path))
        assert image.width() >= 900
        assert image.height() >= 480
        assert path.stat().st_size < 300_000  # small enough for the README


def test_new_data_decides_the_whatif_and_the_comparison_again(
    qtbot: QtBot,
    operations: Operations,
    states: tuple[Path, Path, Engine],
    catalog: Catalog,
) -> None:
    engine = states[2]
    whatif_dialog = open_whatif(qtbot, operations, engine)
    compare_dialog = open_compare(qtbot, operations, states, catalog)
    first = compare_dialog.comparison
    with qtbot.waitSignal(whatif_dialog.decided):
        operations.notify_changed(CID)
    assert compare_dialog.comparison is not first
    assert compare_dialog.comparison == first  # the same data: the same numbers
    with qtbot.assertNotEmitted(whatif_dialog.decided):
        operations.notify_changed("c-other")
