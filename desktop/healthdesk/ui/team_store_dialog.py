"""File > Open Team Store…: a PostgreSQL database shared by the team, in a new window.

The dialog asks where the store is (host, port, database, user); the password field is
optional: libpq finds it in ~/.pgpass, or it is the one the keyring holds for that store
(filled in when known), and "Remember password" keeps a typed one there. It never goes
on a command line or into the URL.

`TeamStoreOpener` tries the store on a worker (through `Operations`: the connection,
the migrations a new store needs) and, once it opens, starts a second Health Desk on it
(the window is tied to its database; the store opens beside it). A password not kept in
the keyring reaches that process in its environment (PGPASSWORD), never in its arguments.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import partial
from urllib.parse import quote

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.engine import URL

from healthdesk.store.db import TeamStoreError
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations, Work

__all__ = ["Launch", "TeamStoreDialog", "TeamStoreOpener"]

DEFAULT_PORT = 5432
#: launch(arguments, environment): starts a Health Desk with these arguments.
Launch = Callable[[list[str], dict[str, str]], bool]


class TeamStoreDialog(QDialog):
    """Asks where the team store is; `url()` and `password()` once accepted.

    `password_for(url)` and `store_password(url, password)` default to the keyring of
    `store.team` (tests pass their own, so that no test touches the user's keyring).
    """

    def __init__(
        self,
        *,
        parent: QWidget | None = None,
        password_for: Callable[[URL], str | None] | None = None,
        store_password: Callable[[URL, str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("team_store_dialog")
        self.setWindowTitle("Open Team Store")
        from healthdesk.store import team  # psycopg: only once a team store is asked for

        self._team = team
        self._password_for = password_for or team.stored_password
        self._store_password = store_password or team.store_password
        self._prefilled = ""

        intro = QLabel(
            "A Health Desk database on a PostgreSQL server, shared by your team: it opens "
            "in a new window, which follows every change the team's sync makes."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.host_edit = QLineEdit("localhost")
        self.host_edit.setObjectName("host_edit")
        self.host_edit.setPlaceholderText("db.example.com, or a socket folder")
        self.port_box = QSpinBox()
        self.port_box.setObjectName("port_box")
        self.port_box.setRange(1, 65535)
        self.port_box.setValue(DEFAULT_PORT)
        self.database_edit = QLineEdit("healthdesk")
        self.database_edit.setObjectName("database_edit")
        self.user_edit = QLineEdit(os.environ.get("USER", ""))
        self.user_edit.setObjectName("user_edit")
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password_edit")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("from ~/.pgpass, or none")
        self.remember_box = QCheckBox("Remember password (in the system keyring)")
        self.remember_box.setObjectName("remember_box")
        self.error_label = QLabel()
        self.error_label.setObjectName("team_store_error")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b3261e;")
        self.error_label.hide()

        form = QFormLayout()
        form.addRow("&Host:", self.host_edit)
        form.addRow("&Port:", self.port_box)
        form.addRow("&Database:", self.database_edit)
        form.addRow("&User:", self.user_edit)
        form.addRow("Pass&word:", self.password_edit)
        form.addRow("", self.remember_box)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Open")
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        for edit in (self.host_edit, self.database_edit, self.user_edit):
            edit.editingFinished.connect(self._on_place_editing_finished)
        self.port_box.editingFinished.connect(self._on_place_editing_finished)
        self._prefill()
        self.resize(440, self.sizeHint().height())

    def url(self) -> str:
        """The store's `postgresql://` URL as entered (a socket folder goes in `host=`)."""
        host = self.host_edit.text().strip()
        user = quote(self.user_edit.text().strip(), safe="")
        database = quote(self.database_edit.text().strip(), safe="")
        port = self.port_box.value()
        if host.startswith("/"):
            return f"postgresql://{user}@/{database}?host={quote(host)}&port={port}"
        return f"postgresql://{user}@{host}:{port}/{database}"

    def password(self) -> str | None:
        return self.password_edit.text() or None

    def _engine_url(self) -> URL | None:
        try:
            return self._team.engine_url(self.url())
        except TeamStoreError:
            return None

    def _prefill(self) -> None:
        found = self._engine_url()
        known = (self._password_for(found) if found is not None else None) or ""
        # Replace only a password we filled in ourselves, never one the user typed.
        if self.password_edit.text() in ("", self._prefilled):
            self.password_edit.setText(known)
            self._prefilled = known

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    @Slot()
    def _on_place_editing_finished(self) -> None:
        self._prefill()

    @Slot()
    def _on_buttons_accepted(self) -> None:
        missing = [
            name
            for name, edit in (
                ("host", self.host_edit),
                ("database", self.database_edit),
                ("user", self.user_edit),
            )
            if not edit.text().strip()
        ]
        if missing:
            self._show_error(f"Give the {' and the '.join(missing)}.")
            return
        url = self._engine_url()
        if url is None:
            self._show_error(f"{self.url()} is not a database address Health Desk can use.")
            return
        password = self.password()
        if self.remember_box.isChecked() and password:
            try:
                self._store_password(url, password)
            except Exception as exc:  # keyring backends raise their own kinds
                self.remember_box.setChecked(False)
                self._show_error(
                    f"The password could not be remembered: {exc}. Press Open again to use "
                    "it for this window only."
                )
                return
        self.accept()


def launch_healthdesk(arguments: list[str], environment: dict[str, str]) -> bool:
    """Start another Health Desk (this program) with `arguments`, detached."""
    if getattr(sys, "frozen", False):  # the bundle: its executable is Health Desk
        program, prefix = sys.executable, []
    else:
        program, prefix = sys.executable, ["-m", "healthdesk"]
    process = QProcess()
    process.setProgram(program)
    process.setArguments([*prefix, *arguments])
    env = QProcessEnvironment.systemEnvironment()
    for key, value in environment.items():
        env.insert(key, value)
    process.setProcessEnvironment(env)
    started, _pid = process.startDetached()
    return bool(started)


def _try_open(url: str, password: str | None, _work: Work) -> str:
    """Open the store once (connection, rights, migrations) and close it; its URL."""
    from healthdesk.store import team

    team.open_team_store(url, password=password).dispose()
    return url


class TeamStoreOpener(QObject):
    """The File menu's "Open Team Store…" (`action`): the dialog, a trial opening on a
    worker, then a new window on the store (`launch`, default: another Health Desk)."""

    def __init__(
        self,
        *,
        operations: Operations,
        parent_widget: QWidget,
        launch: Launch = launch_healthdesk,
        dialog_factory: Callable[[QWidget], TeamStoreDialog] | None = None,
    ) -> None:
        super().__init__(parent_widget)
        self._operations = operations
        self._parent_widget = parent_widget
        self._launch = launch
        self._dialog_factory = dialog_factory or (lambda parent: TeamStoreDialog(parent=parent))
        self.action = QAction("Open &Team Store…", self)
        self.action.setObjectName("team_store_action")
        self.action.triggered.connect(self._on_action_triggered)

    @Slot()
    def _on_action_triggered(self) -> None:
        dialog = self._dialog_factory(self._parent_widget)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(partial(self._on_dialog_accepted, dialog))
        dialog.open()

    def _on_dialog_accepted(self, dialog: TeamStoreDialog) -> None:
        self.open_store(dialog.url(), dialog.password())

    def open_store(self, url: str, password: str | None) -> None:
        """Try the store on a worker; on success open it in a new window."""
        from healthdesk.store import team

        messages = self._operations.messages
        shown = team.engine_url(url).set(drivername="postgresql").render_as_string()
        messages.info(f"Opening the team store {shown}…", 0)

        def done(opened: str) -> None:
            environment = {"PGPASSWORD": password} if password else {}
            if self._launch(["--db", opened], environment):
                messages.info(f"The team store {shown} opens in a new window.")
            else:
                messages.error("Open Team Store", "Health Desk could not be started again.")

        def failed(exc: BaseException) -> None:
            messages.info("")
            messages.error("Open Team Store", f"Could not open {shown}: {error_text(exc)}")

        self._operations.run(
            self,
            "open",
            partial(_try_open, url, password),
            done,
            failed=failed,
            what="open the team store",
        )
