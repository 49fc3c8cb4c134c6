"""Notice when another process changes the team store (a `healthdesk sync --follow`
service, an import, another agent's window): writers announce each commit on PostgreSQL's
`healthdesk_changes` channel (store.dialect.announce), naming the connections it changed,
and this listener hears it at once, without polling. The window then reads again what it
shows, through the one change hook (`Operations.notify_changed`, coalesced: a burst of
pages is one refresh), as `DatabaseWatcher` does for an SQLite file.

The listener is a coroutine on the window's asyncio loop (qasync's: it shares the GUI
thread and waits on the connection's socket, so it takes no thread of the pool). A lost
connection is retried every few seconds, and said once in the status bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject
from sqlalchemy import Engine

from healthdesk.store.dialect import CHANGES_CHANNEL
from healthdesk.ui.operations import Operations

__all__ = ["TeamWatcher"]

_log = logging.getLogger(__name__)
#: Seconds between two attempts to listen again after the connection was lost.
RETRY_SECONDS = 5.0


class TeamWatcher(QObject):
    """Listens to the team store of `engine`; on a change, announces the connections the
    writer named (and the list of connections, and the shown one: `shown()`) as changed.

    `listening` is true once the LISTEN is in place (tests wait for it)."""

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        shown: Callable[[], str | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._operations = operations
        self._shown = shown
        from healthdesk.store.team import connect_params  # psycopg: only for a team store

        self._params = connect_params(engine)
        self.listening = False
        self._task: asyncio.Task[None] | None = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a screenshot): nothing runs beside the window to listen for
        task = self._task = loop.create_task(self._listen())
        # Deleted with its window without `stop()` (a window never shown): stop anyway, so
        # that the task never calls into deleted objects.
        self.destroyed.connect(lambda *_: task.cancel())

    def stop(self) -> None:
        """Stop listening (the window closes); the connection is closed by the task."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.listening = False

    def _changed(self, connection_id: str) -> None:
        notify = self._operations.notify_changed
        notify("", coalesce=True)
        if connection_id:
            notify(connection_id, coalesce=True)
        else:
            shown = self._shown()
            if shown:
                notify(shown, coalesce=True)

    async def _listen(self) -> None:
        import psycopg

        told = False
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(**self._params, autocommit=True)
                try:
                    await connection.execute(f"LISTEN {CHANGES_CHANNEL}")
                    self.listening = True
                    if told:
                        told = False
                        self._operations.messages.info("The team store is reachable again.")
                        self._changed("")  # what changed meanwhile was not heard
                    async for note in connection.notifies():
                        self._changed(note.payload)
                finally:
                    self.listening = False
                    with contextlib.suppress(psycopg.Error):
                        await connection.close()
            except psycopg.OperationalError as exc:
                _log.info("team store listener: %s", exc)
                if not told:
                    told = True
                    self._operations.messages.warning(
                        "Lost the team store's change notices; retrying (the window may "
                        "show older data meanwhile)."
                    )
            await asyncio.sleep(RETRY_SECONDS)
