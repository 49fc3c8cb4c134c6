"""Retry These Contacts (live mode): ask the sync service to write failing contacts again.

From the failure tree (a group: an app, a category or one error) or from the contacts
selected in a list, once the agent confirms a dialog that says how many. The service
answers at once with what it queued; its feed then brings a `queued` event per contact
(the engine reads it as pending) and, later, how each retry went, which moves each
contact to its new status: nothing here sets a status. Every retry confirmed is written to
the audit log (store.retries: who, when, which group, how many, which connection) before
it is sent, then completed with the service's answer; the timeline shows it.

Who is the agent name set in Watch Failure Groups… (`AGENT_KEY` in the window's QSettings), else
the OS user. Database reads and the audit write run through `Operations`; the request
runs on the qasync loop with the live sync's client.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox, QTreeView, QWidget
from sqlalchemy import Engine

from healthdesk.core.model import Connection, Side
from healthdesk.core.words import STATUS_LABELS, plural
from healthdesk.store.pages import ContactFilter
from healthdesk.store.retries import (
    RetryAudit,
    finish_retry,
    latest_seq,
    os_user,
    record_retry,
    retry_targets,
)
from healthdesk.sync.client import AuthError, RetryAnswer, ServiceError, SyncError
from healthdesk.ui.contacts.status_tabs import StatusTabs
from healthdesk.ui.contacts.table_model import ListSource
from healthdesk.ui.failures.failure_panel import PATH_SEPARATOR, node_path
from healthdesk.ui.failures.tree_model import FailureTreeModel
from healthdesk.ui.live import LiveSync, failure_text
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations, Work

__all__ = ["AGENT_KEY", "MAX_RETRY", "RetryControl", "agent_name"]

#: QSettings key of the agent's name in the audit log.
AGENT_KEY = "live/agent"
#: Contacts one retry may name (the service's limit per request).
MAX_RETRY = 10_000


def agent_name(settings: QSettings) -> str:
    """Who retries: the name set in Watch Failure Groups…, else the OS user."""
    name = str(settings.value(AGENT_KEY, "") or "").strip()
    return name or os_user()


@dataclass(frozen=True, slots=True)
class _Plan:
    connection_id: str
    scope: str
    targets: list[tuple[Side, str]]
    after_seq: int


def _group_plan(
    engine: Engine, connection_id: str, contact_filter: ContactFilter, scope: str, _work: Work
) -> _Plan:
    targets = retry_targets(engine, connection_id, contact_filter=contact_filter)
    return _Plan(connection_id, scope, targets, latest_seq(engine, connection_id))


def _selection_plan(
    engine: Engine, source: ListSource, rows: Sequence[int], scope: str, work: Work
) -> _Plan:
    keys: list[int] = []
    blocks: dict[int, list[Any]] = {}
    for row in rows:
        block, offset = divmod(row, source.block_size)
        if block not in blocks:
            if work.cancelled():
                break
            blocks[block] = source.fetch(block)
        entries = blocks[block]
        if offset < len(entries) and entries[offset][0] is not None:
            keys.append(entries[offset][0].key)
    targets = retry_targets(engine, source.connection_id, keys=keys)
    return _Plan(source.connection_id, scope, targets, latest_seq(engine, source.connection_id))


class RetryControl(QObject):
    """The "Retry These Contacts…" actions of the failure tree and of the lists.

    Signals:
        retried(object): a retry was answered by the service and audited (`RetryAudit`).

    Attributes:
        group_action: retries the failure group chosen in the tree (its context menu).
        selection_action: retries the failing contacts selected in the current list.
        confirmation: the open confirmation dialog, or None.
    """

    retried = Signal(object)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        live: LiveSync,
        settings: QSettings,
        failure_view: QTreeView,
        tabs: StatusTabs,
        connection: Callable[[], Connection | None],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        parent_widget: QWidget,
    ) -> None:
        super().__init__(parent_widget)
        self._operations = operations
        self._messages = operations.messages
        self._engine = engine
        self._live = live
        self._settings = settings
        self._failure_view = failure_view
        self._tabs = tabs
        self._connection = connection
        self._spawn = spawn
        self._parent_widget = parent_widget
        self.confirmation: QMessageBox | None = None
        self._writes = itertools.count()  # each audit write its own request

        self.group_action = QAction("&Retry These Contacts…", self)
        self.group_action.setObjectName("retry_group_action")
        self.group_action.setToolTip("Ask the sync service to write this group's contacts again")
        self.group_action.triggered.connect(self.retry_group)
        self.selection_action = QAction("Retry Selected Contacts…", self)
        self.selection_action.setObjectName("retry_selection_action")
        self.selection_action.setToolTip(
            "Ask the sync service to write the selected failing contacts again"
        )
        self.selection_action.triggered.connect(self.retry_selection)
        failure_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        failure_view.addAction(self.group_action)
        live.connections_changed.connect(self.update_actions)
        live.status_changed.connect(self.update_actions)
        self.update_actions()

    def is_live(self) -> bool:
        """Whether the shown connection is followed live (retries are possible)."""
        connection = self._connection()
        return (
            connection is not None
            and self._live.is_running()
            and connection.id in self._live.live_ids
        )

    @Slot()
    def update_actions(self) -> None:
        live = self.is_live()
        for action in (self.group_action, self.selection_action):
            action.setEnabled(live)
            action.setVisible(live)

    # -- asking ---------------------------------------------------------------------------

    @Slot()
    def retry_group(self) -> None:
        """Retry the failure group chosen in the tree, after confirmation."""
        connection = self._connection()
        if connection is None or not self._refuse_unless_live():
            return
        index = self._chosen_node()
        contact_filter = index.data(FailureTreeModel.FilterRole) if index.isValid() else None
        if not isinstance(contact_filter, ContactFilter):
            self._messages.info("Choose a failure group in the Failure reasons tree first.")
            return
        scope = PATH_SEPARATOR.join(node_path(index))
        self._operations.run(
            self,
            "plan",
            partial(_group_plan, self._engine, connection.id, contact_filter, scope),
            self._confirm,
            what="read the contacts to retry",
        )

    @Slot()
    def retry_selection(self) -> None:
        """Retry the failing contacts among those selected in the current list."""
        if self._connection() is None or not self._refuse_unless_live():
            return
        model = self._tabs.model(self._tabs.current_status())
        source = model.loaded_source() if model is not None else None
        rows = self._tabs.current_view().selected_rows()
        if not isinstance(source, ListSource) or not rows:
            self._messages.info("Select the contacts to retry first.")
            return
        if len(rows) > MAX_RETRY:
            self._messages.info(
                f"{len(rows):,} contacts are selected; a retry takes at most {MAX_RETRY:,}."
            )
            return
        label = STATUS_LABELS[self._tabs.current_status()]
        scope = f"{plural(len(rows), 'selected contact')} of the {label} list"
        self._operations.run(
            self,
            "plan",
            partial(_selection_plan, self._engine, source, rows, scope),
            self._confirm,
            what="read the contacts to retry",
        )

    def _chosen_node(self) -> QModelIndex:
        selection = self._failure_view.selectionModel()
        indexes = selection.selectedIndexes() if selection is not None else []
        return indexes[0].siblingAtColumn(0) if indexes else QModelIndex()

    def _refuse_unless_live(self) -> bool:
        if self.is_live():
            return True
        self._messages.info(
            "Retrying needs live mode: connect to the connection's sync service "
            "(File > Connect to Service…)."
        )
        return False

    def _confirm(self, plan: _Plan) -> None:
        if self.confirmation is not None:  # asked twice: the first question stands
            self.confirmation.raise_()
            return
        count = len(plan.targets)
        if count == 0:
            self._messages.info(f"No failing contact to retry in {plan.scope}.")
            return
        if count > MAX_RETRY:
            self._messages.info(
                f"{count:,} contacts: a retry takes at most {MAX_RETRY:,}; choose a smaller group."
            )
            return
        agent = agent_name(self._settings)
        box = QMessageBox(self._parent_widget)
        box.setObjectName("retry_confirmation")
        box.setWindowTitle("Retry Contacts")
        box.setIcon(QMessageBox.Icon.Question)
        box.setTextFormat(Qt.TextFormat.PlainText)  # the group's path quotes app errors
        box.setText(f"Retry {plural(count, 'contact')}?")
        box.setInformativeText(
            f"{plan.scope}\n\nThe sync service will write them again. They show as pending "
            f"until it reports how each retry went. The retry is written to the audit log "
            f"as {agent}."
        )
        retry = box.addButton(
            f"Retry {plural(count, 'Contact')}", QMessageBox.ButtonRole.AcceptRole
        )
        retry.setObjectName("retry_button")
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(retry)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def finished(_result: int) -> None:
            self.confirmation = None
            if box.clickedButton() is retry:
                self._spawn(self._retry(plan, agent))

        box.finished.connect(finished)
        self.confirmation = box
        box.open()

    # -- doing ----------------------------------------------------------------------------

    async def _retry(self, plan: _Plan, agent: str) -> None:
        """Log the retry (as sent), send it, complete the log with the answer."""
        count = len(plan.targets)
        audit = _audit(plan, agent, str(uuid.uuid4()), self._live.url)
        try:
            audit = await self._write(partial(record_retry, self._engine, audit))
        except Exception as exc:  # the database refused: send nothing unlogged
            if not self._operations.closed:
                self._messages.error(
                    "Retry Not Sent",
                    f"Nothing was retried: the audit log could not be written. {error_text(exc)}",
                )
            return
        self._operations.notify_changed(plan.connection_id)
        self._messages.info(f"Asking the sync service to retry {plural(count, 'contact')}…", 0)
        try:
            answer = await self._live.retry(plan.connection_id, plan.targets, key=audit.request_key)
        except (AuthError, ServiceError) as exc:  # the service answered: not retried
            await self._finish(audit, refused=failure_text(exc))
            if not self._operations.closed:
                self._messages.error("Retry Not Sent", f"Nothing was retried. {failure_text(exc)}")
            return
        except SyncError as exc:  # no answer: it may have been queued, the log says "sent"
            if self._operations.closed:
                return
            text = (
                f"No answer from the sync service about the retry of "
                f"{plural(count, 'contact')} ({failure_text(exc)}): it may have been queued; "
                "if so, its contacts turn pending as the service's feed comes."
            )
            # The client closes before the live task ends: a stop asked meanwhile
            # (disconnected, or the window closes) is not the service's silence.
            if self._live.is_running() and not self._live.is_stopping():
                self._messages.error("Retry Not Confirmed", text)
            else:
                self._messages.warning(text)
            return
        audit = await self._finish(
            audit,
            queued=len(answer.queued),
            already_queued=len(answer.already_queued),
            unknown=len(answer.unknown),
        )
        if self._operations.closed:
            return
        self._messages.info(f"Retry asked: {_answer_text(answer)}.", 8000)
        self.retried.emit(audit)

    async def _write(self, write: Callable[[], RetryAudit]) -> RetryAudit:
        return await self._operations.run_async(
            self, ("audit", next(self._writes)), lambda _work: write(), what="write the audit log"
        )

    async def _finish(self, audit: RetryAudit, **answer: Any) -> RetryAudit:
        """Complete the audit row; the window closing, or a database error, leaves it
        "sent" (said in the status bar)."""
        if self._operations.closed:
            return audit
        try:
            done = await self._write(partial(finish_retry, self._engine, audit, **answer))
        except Exception as exc:
            if not self._operations.closed:
                self._messages.warning(
                    f"The retry's answer could not be written to the audit log: {error_text(exc)}"
                )
            return audit
        self._operations.notify_changed(audit.connection_id)
        return done


def _audit(plan: _Plan, agent: str, key: str, service_url: str) -> RetryAudit:
    now = datetime.now(UTC)
    return RetryAudit(
        connection_id=plan.connection_id,
        at=now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        agent=agent,
        scope=plan.scope,
        requested=len(plan.targets),
        queued=0,
        already_queued=0,
        unknown=0,
        service_url=service_url,
        request_key=key,
        after_seq=plan.after_seq,
    )


def _answer_text(answer: RetryAnswer) -> str:
    parts = [f"{plural(len(answer.queued), 'contact')} queued"]
    if answer.already_queued:
        parts.append(f"{len(answer.already_queued):,} already waiting")
    if answer.unknown:
        parts.append(f"{len(answer.unknown):,} unknown to the service")
    return ", ".join(parts)
