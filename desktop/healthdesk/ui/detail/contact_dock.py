"""The "Contact" dock: opens a contact (by key, by app record or as found by a search)
and shows it in a `ContactDetailView`, reading the contact and its history in the
background. Opening another contact before the first arrives shows only the last one.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QDockWidget, QWidget
from sqlalchemy import Engine

from healthdesk.core.contacts import ContactView, explain
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection, Side
from healthdesk.store.contact_history import ContactWithHistory, contact_with_history
from healthdesk.ui.detail.detail_view import EVENT_LIMIT, ContactDetailView
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.text import isolate

__all__ = ["ContactDock"]


class ContactDock(QDockWidget):
    """The contact shown, with its why, records, raw error and history.

    Signals:
        contact_opened(object): the `ContactView` now shown.
        not_found(str): the contact asked for is not a visible contact (a sentence).

    Attributes:
        view: the `ContactDetailView`.
    """

    contact_opened = Signal(object)
    not_found = Signal(str)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        catalog: Catalog,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Contact", parent)
        self.setObjectName("detail_dock")
        self._operations = operations
        self._engine = engine
        self._catalog = catalog
        self._connection: Connection | None = None
        self.view = ContactDetailView(catalog=catalog)
        self.view.contact_link_activated.connect(self._on_view_contact_link_activated)
        self.setWidget(self.view)

    def set_connection(self, connection: Connection | None) -> None:
        """Contacts of `connection` from now on: the one shown goes."""
        self._connection = connection
        self._operations.cancel(self, "open")
        self.view.clear()

    def open_key(self, key: int) -> None:
        """Show the contact `key` of the connection."""
        self._open(key=key, missing=f"The contact {key} is no longer in this database.")

    def open_record(self, app: Side, record_id: str) -> None:
        """Show the contact holding record `record_id` of `app`."""
        self._open(
            record=(app, record_id),
            missing=f"No visible contact holds the record {isolate(record_id)}.",
        )

    def open_contact(self, contact: ContactView) -> None:
        """Show `contact` (found by a search): its history is read first."""
        self.open_key(contact.key)

    def why(self, contact: ContactView) -> str:
        """ "Name: the one sentence why", for the status bar."""
        connection = self._connection
        assert connection is not None
        who = contact.name or contact.email or str(contact.key)
        return f"{isolate(who)}: {explain(contact, connection, self._catalog)}"

    # -- internals ------------------------------------------------------------------------

    def _open(
        self, *, key: int | None = None, record: tuple[Side, str] | None = None, missing: str
    ) -> None:
        connection = self._connection
        if connection is None:
            return
        self._operations.run(
            self,
            "open",
            partial(_read, self._engine, connection.id, key, record),
            partial(self._on_read, connection, missing),
            what="read the contact",
        )

    def _on_read(
        self, connection: Connection, missing: str, found: ContactWithHistory | None
    ) -> None:
        if connection is not self._connection:
            return
        if found is None:
            self.not_found.emit(missing)
            return
        self.view.show_contact(connection, found.contact, found.events)
        self.show()
        self.raise_()
        self.contact_opened.emit(found.contact)

    @Slot(str, str)
    def _on_view_contact_link_activated(self, app: str, record_id: str) -> None:
        self.open_record(Side(app), record_id)


def _read(
    engine: Engine,
    connection_id: str,
    key: int | None,
    record: tuple[Side, str] | None,
    _work: Work,
) -> ContactWithHistory | None:
    return contact_with_history(engine, connection_id, key=key, record=record, limit=EVENT_LIMIT)
