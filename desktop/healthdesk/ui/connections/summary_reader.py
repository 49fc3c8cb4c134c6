"""Reads the shown connection's summary (counts, exclusion reasons, actions, failure
groups) in the background: when a connection is shown, and again whenever its data
changes (`Operations.changed`). Only the newest read is answered, so a fast live feed
never queues reads and never shows an older summary after a newer one."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Signal, Slot
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection
from healthdesk.store.queries import Summary, summary
from healthdesk.ui.operations import Operations, Work

__all__ = ["SummaryReader"]


class SummaryReader(QObject):
    """The summary of the shown connection, kept up to date.

    Signals:
        summary_ready(object): a new `Summary` of the shown connection.

    Attributes:
        last: the shown connection's latest summary (None until read).
    """

    summary_ready = Signal(object)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        catalog: Catalog,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._operations = operations
        self._engine = engine
        self._catalog = catalog
        self._connection: Connection | None = None
        self.last: Summary | None = None
        operations.changed.connect(self._on_operations_changed)

    def set_connection(self, connection: Connection | None) -> None:
        """Read the summary of `connection` (None: none) from now on."""
        self._connection = connection
        self.last = None
        self._operations.cancel(self)
        if connection is not None:
            self.read()

    def read(self) -> None:
        """Read the shown connection's summary again."""
        connection = self._connection
        if connection is None:
            return
        self._operations.run(
            self,
            "summary",
            partial(_summary, self._engine, connection, self._catalog),
            self._on_read,
            what="read the summary",
        )

    def _on_read(self, found: Summary) -> None:
        shown = self._connection
        if shown is None or found.connection.id != shown.id:
            return
        self.last = found
        self.summary_ready.emit(found)

    @Slot(str)
    def _on_operations_changed(self, connection_id: str) -> None:
        if self._connection is not None and connection_id == self._connection.id:
            self.read()


def _summary(engine: Engine, connection: Connection, catalog: Catalog, _work: Work) -> Summary:
    return summary(engine, connection, catalog)
