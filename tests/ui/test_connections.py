"""The connections' widgets: the sidebar list, the sync-state banner, the configuration."""

from __future__ import annotations

import html

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QListView, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from healthdesk.core.model import (
    App,
    Condition,
    Connection,
    Direction,
    LockedBy,
    Op,
    Phase,
    Rule,
    Settings,
    Side,
    SyncState,
)
from healthdesk.ui.connections import PHASE_BADGES, apps_text, direction_text
from healthdesk.ui.connections.config_panel import ConfigPanel
from healthdesk.ui.connections.list_model import ConnectionDelegate, ConnectionListModel
from healthdesk.ui.connections.state_banner import StateBanner, connection_link
from healthdesk.ui.text import plain_tooltip
from tests.ui.window_fixtures import HOSTILE


def make_connection(
    cid: str = "c-1",
    *,
    name: str = "HubSpot ⇄ Mailchimp",
    direction: Direction = Direction.TWO_WAY,
    state: SyncState | None = None,
    apps: tuple[str, str] = ("HubSpot", "Mailchimp"),
    rules: tuple[Rule, ...] | None = None,
    avoid_duplicates: bool = True,
) -> Connection:
    return Connection(
        id=cid,
        name=name,
        app_a=App(apps[0], "hubspot"),
        app_b=App(apps[1], "mailchimp"),
        settings=Settings(
            direction=direction,
            avoid_duplicates=avoid_duplicates,
            rules=rules
            if rules is not None
            else (
                Rule("r1", Side.A, (Condition("lifecycle_stage", Op.EQUALS, "customer"),)),
                Rule("r2", Side.B, ()),
            ),
        ),
        state=state or SyncState(Phase.ACTIVE),
    )


# -- the list ------------------------------------------------------------------------------


def test_list_model_passes_the_model_tester(qtmodeltester: object) -> None:
    model = ConnectionListModel(
        connections=[make_connection("c-1"), make_connection("c-2", name="Other")]
    )
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_list_model_rows_name_apps_direction_and_badge() -> None:
    one_way = make_connection(
        "c-2",
        name="Salesforce → HubSpot",
        direction=Direction.A_TO_B,
        apps=("Salesforce", "HubSpot"),
        state=SyncState(Phase.SYNCING, Side.A),
    )
    model = ConnectionListModel(connections=[make_connection(), one_way])
    assert model.rowCount() == 2
    first, second = model.index(0, 0), model.index(1, 0)
    assert first.data() == "HubSpot ⇄ Mailchimp"
    assert first.data(ConnectionListModel.AppsRole) == "HubSpot ⇄ Mailchimp"
    assert second.data(ConnectionListModel.AppsRole) == "Salesforce → HubSpot"
    assert first.data(ConnectionListModel.BadgeRole).text == "Active"
    assert second.data(ConnectionListModel.BadgeRole).text == "Syncing"
    assert second.data(ConnectionListModel.IdRole) == "c-2"
    assert model.row_of("c-2") == 1
    assert model.row_of("nope") == -1
    assert model.connection(5) is None


def test_every_phase_has_a_badge() -> None:
    assert set(PHASE_BADGES) == set(Phase)


def test_list_shows_hostile_names_as_plain_text(qtbot: QtBot) -> None:
    connection = make_connection(name=HOSTILE, apps=("<i>A</i>", "B & C"))
    model = ConnectionListModel(connections=[connection])
    index = model.index(0, 0)
    assert index.data(Qt.ItemDataRole.DisplayRole) == HOSTILE
    assert index.data(ConnectionListModel.AppsRole) == "<i>A</i> ⇄ B & C"
    tooltip = index.data(Qt.ItemDataRole.ToolTipRole)
    assert html.escape(HOSTILE) in tooltip
    assert HOSTILE not in tooltip  # never raw markup in a rich-text tool tip


def test_delegate_paints_and_sizes(qtbot: QtBot) -> None:
    view = QListView()
    qtbot.addWidget(view)
    model = ConnectionListModel(connections=[make_connection(name=HOSTILE * 5)], parent=view)
    view.setModel(model)
    delegate = ConnectionDelegate(view)
    view.setItemDelegate(delegate)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = view.visualRect(model.index(0, 0))
    option.rect.setWidth(220)
    option.rect.setHeight(delegate.sizeHint(option, model.index(0, 0)).height())
    assert option.rect.height() >= 2 * view.fontMetrics().height()
    image = QImage(240, option.rect.height() + 4, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    delegate.paint(painter, option, model.index(0, 0))
    painter.end()
    painted = {image.pixel(x, y) for x in range(0, 240, 3) for y in range(0, image.height(), 3)}
    assert len(painted) > 3  # text and the badge were drawn


def test_words_of_apps_and_direction() -> None:
    two_way = make_connection()
    one_way = make_connection(direction=Direction.B_TO_A)
    assert apps_text(two_way) == "HubSpot ⇄ Mailchimp"
    assert apps_text(one_way) == "HubSpot ← Mailchimp"
    assert direction_text(two_way) == "Two-way"
    assert direction_text(one_way) == "One-way, from Mailchimp to HubSpot"
    assert plain_tooltip("<b>") == "<p style='white-space:pre-wrap'>&lt;b&gt;</p>"


# -- the banner ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (SyncState(Phase.SCANNING, Side.A), "Scanning HubSpot"),
        (SyncState(Phase.SYNCING, Side.B), "Syncing Mailchimp"),
        (SyncState(Phase.ACTIVE), "Active and listening for changes"),
        (SyncState(Phase.PAUSED), "Paused"),
        (SyncState(Phase.ERROR, message="HubSpot login expired"), "Error: HubSpot login expired"),
        (
            SyncState(Phase.LOCKED, locked_by=LockedBy("c-9", "Salesforce → HubSpot")),
            "Waiting for Salesforce → HubSpot (c-9) to finish",
        ),
    ],
)
def test_banner_says_the_state(qtbot: QtBot, state: SyncState, text: str) -> None:
    banner = StateBanner()
    qtbot.addWidget(banner)
    banner.set_connection(make_connection(state=state), known_ids={"c-1"})
    assert banner.name_label.text() == "HubSpot ⇄ Mailchimp"
    assert banner.state_label.text() == text
    assert banner.state_label.textFormat() == Qt.TextFormat.PlainText


def test_locked_banner_links_a_known_connection(qtbot: QtBot) -> None:
    banner = StateBanner()
    qtbot.addWidget(banner)
    other = LockedBy("c 9/ü", HOSTILE)
    banner.set_connection(
        make_connection(state=SyncState(Phase.LOCKED, locked_by=other)), known_ids={"c-1", "c 9/ü"}
    )
    label = banner.state_label
    assert label.textFormat() == Qt.TextFormat.RichText
    assert html.escape(HOSTILE) in label.text()
    assert HOSTILE not in label.text()
    assert f'href="{connection_link("c 9/ü")}"' in label.text()
    with qtbot.waitSignal(banner.connection_requested) as blocker:
        label.linkActivated.emit(connection_link("c 9/ü"))
    assert blocker.args == ["c 9/ü"]


def test_banner_without_connection(qtbot: QtBot) -> None:
    banner = StateBanner()
    qtbot.addWidget(banner)
    banner.set_connection(None)
    assert banner.name_label.text() == "No connection"
    assert banner.connection() is None


def test_banner_shows_hostile_text_plainly(qtbot: QtBot) -> None:
    banner = StateBanner()
    qtbot.addWidget(banner)
    state = SyncState(Phase.ERROR, message=HOSTILE)
    banner.set_connection(make_connection(name=HOSTILE, state=state))
    assert banner.name_label.text() == HOSTILE
    assert banner.name_label.textFormat() == Qt.TextFormat.PlainText
    assert banner.state_label.text() == f"Error: {HOSTILE}"
    assert banner.state_label.textFormat() == Qt.TextFormat.PlainText


# -- the configuration ---------------------------------------------------------------------


def test_config_panel_in_words(qtbot: QtBot) -> None:
    panel = ConfigPanel()
    qtbot.addWidget(panel)
    rules = (
        Rule("r1", Side.A, (Condition("lifecycle_stage", Op.EQUALS, "customer"),)),
        Rule("r2", Side.A, (Condition("tags", Op.HAS_TAG, "vip"),)),
    )
    panel.set_connection(make_connection(rules=rules, avoid_duplicates=False))
    assert panel.apps_label.text() == "HubSpot ⇄ Mailchimp"
    assert panel.direction_label.text() == "Two-way"
    assert panel.duplicates_label.text() == "Avoid Duplicates: off"
    texts = [label.text() for label in panel.rule_labels]
    assert texts == [
        "HubSpot contacts where lifecycle stage is “customer”   (rule r1)",
        "or HubSpot contacts where tags include “vip”   (rule r2)",
        "Nothing: no rule syncs Mailchimp contacts",
    ]
    assert all(label.textFormat() == Qt.TextFormat.PlainText for label in panel.rule_labels)


def test_config_panel_one_way(qtbot: QtBot) -> None:
    panel = ConfigPanel()
    qtbot.addWidget(panel)
    panel.set_connection(make_connection(direction=Direction.A_TO_B))
    assert panel.direction_label.text() == "One-way, from HubSpot to Mailchimp"
    assert panel.duplicates_label.text() == "Avoid Duplicates: on"
    texts = [label.text() for label in panel.rule_labels]
    assert texts == [
        "HubSpot contacts where lifecycle stage is “customer”   (rule r1)",
        "Nothing: the connection is one-way, from HubSpot",
    ]
    panel.set_connection(None)
    assert panel.rule_labels == []
    assert panel.apps_label.text() == ""


def test_config_panel_shows_hostile_text_plainly(qtbot: QtBot) -> None:
    panel = ConfigPanel()
    qtbot.addWidget(panel)
    rules = (Rule("r<1>", Side.A, (Condition("x", Op.EQUALS, HOSTILE),)),)
    panel.set_connection(make_connection(apps=(HOSTILE, "B"), rules=rules))
    assert panel.apps_label.text() == f"{HOSTILE} ⇄ B"
    assert panel.apps_label.textFormat() == Qt.TextFormat.PlainText
    assert panel.rule_labels[0].text() == f"{HOSTILE} contacts where x is “{HOSTILE}”   (rule r<1>)"
    assert panel.rule_labels[0].textFormat() == Qt.TextFormat.PlainText
