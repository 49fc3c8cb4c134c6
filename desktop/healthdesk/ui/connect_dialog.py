"""File > Connect to Service…: where the sync service is, and its token.

The token field starts with the token known for the URL (HEALTHDESK_TOKEN, else the OS
keyring); "Remember token" keeps it in the keyring. A keyring that cannot keep it is said
in the dialog, and the connection goes on with the token for this session only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from healthdesk.sync import credentials
from healthdesk.sync.credentials import CredentialsError, normalize_url
from healthdesk.ui.style import error_colour, text_colour

__all__ = ["DEFAULT_URL", "ConnectDialog"]

DEFAULT_URL = "http://127.0.0.1:8765"


class ConnectDialog(QDialog):
    """Asks for the service's URL and token; `result_values()` once accepted.

    `token_for` and `store_token` default to `healthdesk.sync.credentials` (tests pass
    their own, so that no test touches the user's keyring).

    Attributes:
        url_edit, token_edit, remember_box, insecure_box, error_label, buttons.
    """

    def __init__(
        self,
        *,
        url: str = DEFAULT_URL,
        parent: QWidget | None = None,
        token_for: Callable[[str], str | None] = credentials.token_for,
        store_token: Callable[[str, str], None] = credentials.store_token,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("connect_dialog")
        self.setWindowTitle("Connect to Service")
        self._token_for = token_for
        self._store_token = store_token
        self._prefilled = ""

        intro = QLabel(
            "Keep this database in step with a sync service: its connections are pulled, "
            "then followed live while the window is open."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.url_edit = QLineEdit(url)
        self.url_edit.setObjectName("url_edit")
        self.url_edit.setPlaceholderText(DEFAULT_URL)
        self.token_edit = QLineEdit()
        self.token_edit.setObjectName("token_edit")
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("none (a service started with --no-auth)")
        self.remember_box = QCheckBox("Remember token (in the system keyring)")
        self.remember_box.setObjectName("remember_box")
        self.insecure_box = QCheckBox("Allow plain http to a non-local address")
        self.insecure_box.setObjectName("insecure_box")
        self.insecure_box.setToolTip(
            "The token and the data would cross the network unencrypted; "
            "only on a network you trust."
        )
        self.error_label = QLabel()
        self.error_label.setObjectName("connect_error")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        text_colour(self.error_label, error_colour)
        self.error_label.hide()

        form = QFormLayout()
        form.addRow("Service &URL:", self.url_edit)
        form.addRow("&Token:", self.token_edit)
        form.addRow("", self.remember_box)
        form.addRow("", self.insecure_box)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Connect")
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.url_edit.editingFinished.connect(self._on_url_edit_editing_finished)
        self._prefill()
        self.resize(460, self.sizeHint().height())

    def result_values(self) -> tuple[str, str | None, bool]:
        """(url, token or None, allow_insecure) as entered."""
        token = self.token_edit.text().strip()
        return self.url_edit.text().strip(), token or None, self.insecure_box.isChecked()

    def _prefill(self) -> None:
        try:
            known = self._token_for(self.url_edit.text().strip()) or ""
        except (ValueError, CredentialsError):
            known = ""
        # Replace only a token we filled in ourselves, never one the user typed.
        if self.token_edit.text() in ("", self._prefilled):
            self.token_edit.setText(known)
            self._prefilled = known

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    @Slot()
    def _on_url_edit_editing_finished(self) -> None:
        self._prefill()

    @Slot()
    def _on_buttons_accepted(self) -> None:
        url, token, _insecure = self.result_values()
        try:
            normalize_url(url)
        except ValueError as exc:
            self._show_error(str(exc))
            return
        if self.remember_box.isChecked() and token:
            try:
                self._store_token(url, token)
            except (CredentialsError, ValueError) as exc:
                # Connect anyway: the token is then used for this session only.
                self.remember_box.setChecked(False)
                self._show_error(
                    f"The token could not be remembered: {exc}. Press Connect again to "
                    "use it for this session only."
                )
                return
        self.accept()
