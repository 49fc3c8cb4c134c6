"""File > Open Team Store…: the dialog builds the store's URL (never with a password),
keeps a password in the keyring only when asked, and the opener tries the store on a
worker before it opens it in a new window; a store that cannot be opened is said, and
nothing is started."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import URL

from healthdesk.ui.operations import Operations
from healthdesk.ui.team_store_dialog import TeamStoreDialog, TeamStoreOpener
from tests.helpers.postgres import Cluster


class Keyring:
    def __init__(self, known: dict[str, str] | None = None) -> None:
        self.known = dict(known or {})

    def password_for(self, url: URL) -> str | None:
        return self.known.get(url.render_as_string())

    def store(self, url: URL, password: str) -> None:
        self.known[url.render_as_string()] = password


@pytest.fixture
def keyring() -> Keyring:
    return Keyring({"postgresql+psycopg://alice@db.example.com:5433/team": "kept"})


@pytest.fixture
def dialog(qtbot: QtBot, keyring: Keyring) -> TeamStoreDialog:
    made = TeamStoreDialog(password_for=keyring.password_for, store_password=keyring.store)
    qtbot.addWidget(made)
    return made


def place(dialog: TeamStoreDialog, host: str, port: int, database: str, user: str) -> None:
    dialog.host_edit.setText(host)
    dialog.port_box.setValue(port)
    dialog.database_edit.setText(database)
    dialog.user_edit.setText(user)
    dialog.user_edit.editingFinished.emit()


def test_the_url_has_no_password_and_the_keyring_fills_it(dialog: TeamStoreDialog) -> None:
    place(dialog, "db.example.com", 5433, "team", "alice")
    assert dialog.url() == "postgresql://alice@db.example.com:5433/team"
    assert dialog.password() == "kept"
    place(dialog, "/run/postgresql", 5432, "team", "bob")
    assert dialog.url() == "postgresql://bob@/team?host=/run/postgresql&port=5432"
    assert dialog.password() is None  # the one it filled in goes with its store


def test_missing_fields_are_named(dialog: TeamStoreDialog) -> None:
    place(dialog, "", 5432, "", "alice")
    dialog.buttons.accepted.emit()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert dialog.error_label.text() == "Give the host and the database."


def test_a_password_is_remembered_only_when_asked(dialog: TeamStoreDialog, keyring: Keyring):
    place(dialog, "db.example.com", 5432, "team", "carol")
    dialog.password_edit.setText("typed")
    dialog.buttons.accepted.emit()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert "postgresql+psycopg://carol@db.example.com:5432/team" not in keyring.known
    dialog.remember_box.setChecked(True)
    dialog.buttons.accepted.emit()
    assert keyring.known["postgresql+psycopg://carol@db.example.com:5432/team"] == "typed"


@pytest.fixture
def launched() -> list[tuple[list[str], dict[str, str]]]:
    return []


@pytest.fixture
def opener(
    qtbot: QtBot, operations: Operations, launched: list[tuple[list[str], dict[str, str]]]
) -> TeamStoreOpener:
    from PySide6.QtWidgets import QWidget

    parent = QWidget()
    qtbot.addWidget(parent)

    def launch(arguments: list[str], environment: dict[str, str]) -> bool:
        launched.append((arguments, environment))
        return True

    return TeamStoreOpener(operations=operations, parent_widget=parent, launch=launch)


def test_a_store_that_opens_opens_in_a_new_window(
    opener: TeamStoreOpener,
    operations: Operations,
    postgres_url: str,
    launched: list[Any],
    qtbot: QtBot,
) -> None:
    said: list[str] = []
    operations.messages.status.connect(lambda text, _ms: said.append(text))
    opener.open_store(postgres_url, "secret")
    qtbot.waitUntil(lambda: bool(launched))
    # The password goes in the new process's environment, never in its arguments.
    assert launched == [(["--db", postgres_url], {"PGPASSWORD": "secret"})]
    assert said[-1].endswith("opens in a new window.")


def test_a_store_that_cannot_be_opened_is_said(
    opener: TeamStoreOpener,
    operations: Operations,
    postgres_cluster: Cluster,
    launched: list[Any],
    qtbot: QtBot,
) -> None:
    with qtbot.waitSignal(operations.messages.alert) as alert:
        opener.open_store(postgres_cluster.url("no_such_store"), None)
    title, text = alert.args
    assert title == "Open Team Store"
    assert text.startswith("Could not open postgresql://postgres@/no_such_store")
    assert 'database "no_such_store" does not exist' in text
    assert launched == []
