"""The contact detail: a contact's status and the one sentence why, its records side by
side with their fields, what explains the status (the failing write's raw error and the
catalog's explanation and fix, the rules that did not match, the duplicate's original),
and the contact's own events, most recent first.

Nothing here decides: the status and the sentence are what the engine stored and
`core.contacts.explain` says of it; the rules table evaluates the rules with
`core.rules.explain`, the same closures the engine used. Customer text (names, emails,
field values, error messages) is always shown as plain text; the one rich-text label (the
link to a duplicate's original) escapes everything it shows.

The view reads nothing: `ContactDock` reads a contact and its events in the background
(`store.contact_history.contact_with_history`) and hands them to `show_contact`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import quote, unquote

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from healthdesk.core.contacts import ContactView, RecordView, explain, failure_reason
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection, Outcome, Reason, Side, Status
from healthdesk.core.rules import describe_condition, describe_rule, field_text
from healthdesk.core.rules import explain as explain_rules
from healthdesk.core.words import STATUS_WORDS
from healthdesk.store.contact_history import EventView
from healthdesk.ui.icons import status_icon
from healthdesk.ui.keyboard import tab_leaves
from healthdesk.ui.style import error_colour, mute, text_colour
from healthdesk.ui.text import plain_label, plain_tooltip

__all__ = ["EMPTY_TEXT", "EVENT_LIMIT", "ContactDetailView", "outcome_status", "when_text"]

EMPTY_TEXT: Final = "Choose a contact to see why it has its status"
#: Events listed at most (the most recent ones).
EVENT_LIMIT: Final = 500
_LINK_SCHEME: Final = "record"
_NO_EVENTS: Final = "No sync activity recorded for this contact yet."
#: Rows of a table shown before it scrolls.
_MAX_TABLE_ROWS: Final = 12

#: The status icon of an event's outcome (none for "unchanged").
_OUTCOME_STATUS: Final = {
    Outcome.FAILED: Status.FAILING,
    Outcome.CREATED: Status.IN_SYNC,
    Outcome.UPDATED: Status.IN_SYNC,
    Outcome.EXCLUDED: Status.EXCLUDED,
    Outcome.DUPLICATE: Status.DUPLICATE,
    Outcome.QUEUED: Status.PENDING,
}


def outcome_status(outcome: Outcome) -> Status | None:
    """The status whose icon marks an event of `outcome`, or None (unchanged)."""
    return _OUTCOME_STATUS.get(outcome)


def when_text(at: str | None, *, utc: bool = True) -> str:
    """A canonical UTC time as people read it: "2026-02-01 00:00:04 UTC" (without the
    zone when a column heading says it)."""
    if not at:
        return ""
    if len(at) >= 19 and at[10] == "T":
        return f"{at[:10]} {at[11:19]}" + (" UTC" if utc else "")
    return at


def _outcome_text(event: EventView, connection: Connection) -> str:
    target = connection.app(event.target).name
    return {
        Outcome.CREATED: f"Created in {target}",
        Outcome.UPDATED: f"Updated in {target}",
        Outcome.FAILED: f"{target} refused the write",
        Outcome.UNCHANGED: "Nothing to change",
        Outcome.EXCLUDED: "Skipped: excluded by the rules",
        Outcome.DUPLICATE: "Skipped: duplicate",
        Outcome.QUEUED: f"Retry queued (writing into {target})",
    }[event.outcome]


#: Below twice this width the two records of a pair stack instead of standing side by side.
_RECORD_MIN_WIDTH: Final = 330


class _Reflow(QWidget):
    """Its children side by side when it is at least `wide` pixels wide, else stacked:
    the two records of a pair stay readable in a narrow dock (a laptop's screen)."""

    def __init__(self, *, wide: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._wide = wide
        self.box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(10)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        box = getattr(self, "box", None)  # not while Python tears the widget down
        if box is None:
            return
        wanted = (
            QBoxLayout.Direction.LeftToRight
            if event.size().width() >= self._wide
            else QBoxLayout.Direction.TopToBottom
        )
        if box.direction() != wanted:
            box.setDirection(wanted)


def _label(
    text: str = "",
    *,
    muted: bool = False,
    bold: bool = False,
    wrap: bool = False,
    scale: float = 1.0,
    name: str = "",
) -> QLabel:
    """A plain-text label whose text can be selected and copied."""
    return plain_label(
        text, muted=muted, bold=bold, wrap=wrap, scale=scale, name=name, selectable=True
    )


def _heading(text: str) -> QLabel:
    label = _label(text, bold=True)
    label.setContentsMargins(0, 6, 0, 0)
    return label


def _table(headers: Sequence[str], *, name: str, spoken: str) -> QTableWidget:
    """A read-only table of plain-text items (a QTableWidgetItem never reads rich text);
    `spoken` is its name for screen readers."""
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setAccessibleName(spoken)
    tab_leaves(table)
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    rows = table.verticalHeader()
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(table.fontMetrics().height() + 8)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setStretchLastSection(True)
    return table


def _item(text: str, *, tooltip: bool = True) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if tooltip and text:
        item.setToolTip(plain_tooltip(text))
    return item


def _fit_columns(
    table: QTableWidget, columns: Sequence[int], *, padding: int = 16, cap: int = 10_000
) -> None:
    """`columns` as wide as their contents plus some air, at most `cap` pixels (longer
    text is elided, whole in its tool tip)."""
    header = table.horizontalHeader()
    for column in columns:
        table.resizeColumnToContents(column)
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        table.setColumnWidth(column, min(table.columnWidth(column) + padding, cap))


def _fit_height(
    table: QTableWidget, max_rows: int = _MAX_TABLE_ROWS, *, scrolls_sideways: bool = False
) -> None:
    """Tall enough for its rows (up to `max_rows`; more scroll), never taller. With
    `scrolls_sideways`, columns wider than the table scroll (a narrow dock), and room is
    kept for that scroll bar."""
    rows = table.rowCount()
    row_height = table.verticalHeader().defaultSectionSize()
    header = table.horizontalHeader().sizeHint().height()
    shown = max(1, min(rows, max_rows))
    sideways = 0
    if scrolls_sideways:
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        sideways = table.horizontalScrollBar().sizeHint().height()
    table.setFixedHeight(header + row_height * shown + 2 * table.frameWidth() + sideways)
    policy = (
        Qt.ScrollBarPolicy.ScrollBarAsNeeded
        if rows > max_rows
        else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    )
    table.setVerticalScrollBarPolicy(policy)


class _RecordPanel(QFrame):
    """One record: app, id, name, email, times, deleted flag, and its fields.

    Attributes:
        id_label, name_label, email_label, created_label, updated_label: the values.
        deleted_label: "Deleted in <app>" (hidden unless the record is deleted).
        fields_table: the record's fields, two columns (field, value).
    """

    def __init__(self, record: RecordView, connection: Connection) -> None:
        super().__init__()
        self.setObjectName(f"record_{record.app.value}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.record = record
        app = connection.app(record.app).name
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(6)
        layout.addWidget(_label(f"{app} record", bold=True, name="record_title"))

        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(3)
        self.id_label = _label(record.id, name="record_id")
        self.name_label = _label(record.name, wrap=True, name="record_name")
        self.email_label = _label(record.email or "(no email)", name="record_email")
        if not record.email.strip():
            mute(self.email_label)
        self.created_label = _label(when_text(record.created_at))
        self.updated_label = _label(when_text(record.updated_at))
        rows = (
            ("ID", self.id_label),
            ("Name", self.name_label),
            ("Email", self.email_label),
            ("Created", self.created_label),
            ("Updated", self.updated_label),
        )
        for row, (key, value) in enumerate(rows):
            grid.addWidget(_label(key, muted=True), row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)

        self.deleted_label = _label(f"Deleted in {app}", bold=True, name="record_deleted")
        text_colour(self.deleted_label, error_colour)
        self.deleted_label.setVisible(record.deleted)
        layout.addWidget(self.deleted_label)

        self.fields_table = _table(
            ("Field", "Value"), name="record_fields", spoken=f"{app} record fields"
        )
        fields = list(record.fields.items())
        self.fields_table.setRowCount(len(fields))
        for row, (key, value) in enumerate(fields):
            self.fields_table.setItem(row, 0, _item(str(key)))
            self.fields_table.setItem(row, 1, _item(field_text(value)))
        _fit_columns(self.fields_table, (0,), cap=180)
        if fields:
            _fit_height(self.fields_table)
            layout.addWidget(self.fields_table)
        else:
            self.fields_table.hide()
            layout.addWidget(_label("No other fields.", muted=True))
        layout.addStretch(1)


class ContactDetailView(QWidget):
    """Everything about one contact, to answer "why does it have this status?".

    Signals:
        contact_link_activated(str, str): a link to another record was followed (the
            duplicate's original): its app ("a" or "b") and record id; look the contact up
            with `store.contact_history.contact_by_record`.

    Attributes:
        contact: the contact shown (None when empty).
        empty_label: the hint shown when no contact is.
        title_label, status_label, why_label: the top: name, status, the sentence why.
        record_panels: one `_RecordPanel` per record (a-record first).
        original_link: the link to a duplicate's original (None otherwise).
        error_code_label, error_message_label, category_label, explanation_label,
            fix_label: a failing contact's raw error and its catalog entry (else None).
        rules_table: the rules and their first failing condition (excluded, no rule
            match; else None).
        events_table: the contact's events, most recent first; `events` the same as data.
    """

    contact_link_activated = Signal(str, str)

    def __init__(self, *, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("contact_detail")
        self._catalog = catalog
        self.contact: ContactView | None = None
        self.events: list[EventView] = []
        self._reset_parts()

        self.empty_label = _label(EMPTY_TEXT, muted=True, wrap=True, name="detail_empty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._scroll = QScrollArea()
        self._scroll.setObjectName("detail_scroll")
        self._scroll.setAccessibleName("Contact")
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        # As needed: in a narrow dock nothing may be out of reach (the text wraps and the
        # records stack first; a long field value may still need it).
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._stack = QStackedWidget()
        self._stack.addWidget(self.empty_label)
        self._stack.addWidget(self._scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)
        self.clear()

    def _reset_parts(self) -> None:
        self.title_label: QLabel | None = None
        self.status_label: QLabel | None = None
        self.why_label: QLabel | None = None
        self.record_panels: list[_RecordPanel] = []
        self.original_link: QLabel | None = None
        self.error_code_label: QLabel | None = None
        self.error_message_label: QLabel | None = None
        self.category_label: QLabel | None = None
        self.explanation_label: QLabel | None = None
        self.fix_label: QLabel | None = None
        self.owner_label: QLabel | None = None
        self.rules_table: QTableWidget | None = None
        self.events_table: QTableWidget | None = None
        self.records_box: _Reflow | None = None

    # ------------------------------------------------------------------ public API

    @Slot()
    def clear(self) -> None:
        """Show no contact: the hint of what this view is for."""
        self.contact = None
        self.events = []
        self._reset_parts()
        old = self._scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self._stack.setCurrentWidget(self.empty_label)

    def show_contact(
        self, connection: Connection, contact: ContactView, events: Sequence[EventView]
    ) -> None:
        """Show `contact` of `connection` with its `events` (most recent first, read by
        `read_contact` in the background: this view reads nothing itself)."""
        self.contact = contact
        self.events = list(events)
        self._reset_parts()
        content = QWidget()
        content.setObjectName("detail_content")
        layout = QVBoxLayout(content)
        layout.setContentsMargins(14, 12, 14, 14)
        layout.setSpacing(8)
        self._add_header(layout, connection, contact)
        self._add_explanation(layout, connection, contact)
        self._add_records(layout, connection, contact)
        self._add_events(layout, connection)
        layout.addStretch(1)
        old = self._scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self._scroll.setWidget(content)
        self._scroll.verticalScrollBar().setValue(0)
        self._stack.setCurrentWidget(self._scroll)

    # ------------------------------------------------------------------ parts

    def _add_header(
        self, layout: QVBoxLayout, connection: Connection, contact: ContactView
    ) -> None:
        icon = QLabel()
        icon.setObjectName("detail_status_icon")
        icon.setTextFormat(Qt.TextFormat.PlainText)
        icon.setPixmap(status_icon(contact.status).pixmap(32, 32))
        icon.setFixedSize(36, 36)
        icon.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        title = contact.name or contact.email or "(no name, no email)"
        self.title_label = _label(title, bold=True, scale=1.3, wrap=True, name="detail_title")
        status = STATUS_WORDS[contact.status]
        if contact.reason is not None:
            status += f" ({contact.reason.value.replace('_', ' ')})"
        if contact.opposite_deleted:
            status += " \u00b7 opposite deleted"
        ids = " \u00b7 ".join(f"{connection.app(r.app).name} {r.id}" for r in contact.records)
        self.status_label = _label(
            f"{status}  \u00b7  {ids}", muted=True, wrap=True, name="detail_status"
        )
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title_label)
        titles.addWidget(self.status_label)
        top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(titles, 1)
        layout.addLayout(top)

        self.why_label = _label(
            explain(contact, connection, self._catalog), wrap=True, scale=1.05, name="detail_why"
        )
        why = QFrame()
        why.setObjectName("detail_why_box")
        why.setFrameShape(QFrame.Shape.StyledPanel)
        why_layout = QVBoxLayout(why)
        why_layout.setContentsMargins(10, 8, 10, 8)
        why_layout.setSpacing(2)
        why_layout.addWidget(_label("Why", muted=True))
        why_layout.addWidget(self.why_label)
        layout.addWidget(why)

    def _add_explanation(
        self, layout: QVBoxLayout, connection: Connection, contact: ContactView
    ) -> None:
        if contact.status is Status.FAILING and contact.failure is not None:
            self._add_failure(layout, connection, contact)
        elif contact.status is Status.EXCLUDED and contact.reason is Reason.NO_RULE_MATCH:
            self._add_rules(layout, connection, contact)
        elif contact.status is Status.DUPLICATE and contact.duplicate_of is not None:
            original = contact.duplicate_of
            app = connection.app(original.app).name
            shown = f"{app} record \u201c{original.name}\u201d ({original.id})"
            if not original.name.strip():
                shown = f"{app} record {original.id}"
            href = f"{_LINK_SCHEME}:{original.app.value}:{quote(original.id, safe='')}"
            link = QLabel()
            link.setObjectName("detail_original_link")
            link.setTextFormat(Qt.TextFormat.RichText)
            link.setText(f'Original: <a href="{html.escape(href)}">{html.escape(shown)}</a>')
            link.setOpenExternalLinks(False)
            link.setTextInteractionFlags(
                Qt.TextInteractionFlag.LinksAccessibleByMouse
                | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
            )
            link.setToolTip(plain_tooltip(f"Open the original: {shown}"))
            link.linkActivated.connect(self._on_original_link_activated)
            self.original_link = link
            layout.addWidget(link)

    def _add_failure(
        self, layout: QVBoxLayout, connection: Connection, contact: ContactView
    ) -> None:
        failure = contact.failure
        assert failure is not None
        reason = failure_reason(contact, connection, self._catalog)
        box = QFrame()
        box.setObjectName("detail_failure")
        box.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(box)
        grid.setContentsMargins(10, 8, 10, 10)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)
        target = connection.app(failure.app).name
        grid.addWidget(_label(f"The error {target} sent", bold=True), 0, 0, 1, 2)
        self.error_code_label = _label(failure.code or "(none)", name="detail_error_code")
        self.error_message_label = _label(failure.message, wrap=True, name="detail_error_message")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.error_message_label.setFont(mono)
        self.error_code_label.setFont(mono)
        rows: list[tuple[str, QLabel]] = [
            ("When", _label(when_text(failure.at))),
            ("Code", self.error_code_label),
            ("Message", self.error_message_label),
        ]
        if reason is not None:
            self.category_label = _label(reason.category, bold=True, name="detail_category")
            self.explanation_label = _label(
                reason.explanation, wrap=True, name="detail_explanation"
            )
            self.fix_label = _label(reason.fix, wrap=True, name="detail_fix")
            self.owner_label = _label(reason.owner.label, wrap=True, name="detail_owner")
            rows += [
                ("Category", self.category_label),
                ("Who fixes it", self.owner_label),
                ("Meaning", self.explanation_label),
                ("How to fix", self.fix_label),
            ]
        for row, (key, value) in enumerate(rows, start=1):
            grid.addWidget(_label(key, muted=True), row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
        grid.setColumnStretch(1, 1)
        layout.addWidget(box)

    def _add_rules(self, layout: QVBoxLayout, connection: Connection, contact: ContactView) -> None:
        settings = connection.settings
        source = settings.direction.source
        rows: list[tuple[str, str, str, str, bool]] = []
        for record in contact.records:
            if source is not None and record.app is not source:
                continue  # one-way: only the source side's rules count
            app = connection.app(record.app).name
            rules = settings.rules_of(record.app)
            if not rules:
                rows.append((app, "\u2013", f"No rule syncs contacts from {app}", "", False))
                continue
            explanation = explain_rules(rules, record.name, record.email, record.fields)
            for result in explanation.rules:
                failing = result.first_failing
                if failing is None:
                    rows.append((app, result.rule.id, describe_rule(result.rule, app), "", True))
                else:
                    found = failing.actual if failing.actual else "(empty)"
                    needs = describe_condition(failing.condition)
                    rows.append((app, result.rule.id, needs, found, False))
        table = _table(("App", "Rule", "Needs", "Found", ""), name="detail_rules", spoken="Rules")
        table.setRowCount(len(rows))
        for row, (app, rule_id, needs, found, holds) in enumerate(rows):
            table.setItem(row, 0, _item(app))
            table.setItem(row, 1, _item(rule_id))
            table.setItem(row, 2, _item(needs))
            table.setItem(row, 3, _item(found))
            verdict = _item("holds" if holds else "fails", tooltip=False)
            verdict.setIcon(status_icon(Status.IN_SYNC if holds else Status.EXCLUDED))
            table.setItem(row, 4, verdict)
        header = table.horizontalHeader()
        _fit_columns(table, (0, 1), cap=120)
        _fit_columns(table, (3,), cap=150)
        _fit_columns(table, (4,))
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        _fit_height(table)
        self.rules_table = table
        layout.addWidget(_heading("Rules, and the first condition of each that fails"))
        layout.addWidget(table)

    def _add_records(
        self, layout: QVBoxLayout, connection: Connection, contact: ContactView
    ) -> None:
        layout.addWidget(_heading("Records" if contact.is_pair else "Record"))
        self.records_box = _Reflow(wide=2 * _RECORD_MIN_WIDTH)
        row = self.records_box.box
        for side in Side:
            record = contact.record(side)
            if record is not None:
                panel = _RecordPanel(record, connection)
                self.record_panels.append(panel)
                row.addWidget(panel, 1)
            elif not contact.is_pair:
                app = connection.app(side).name
                note = _label(f"Not linked to any {app} record.", muted=True, wrap=True)
                note.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
                note.setContentsMargins(10, 8, 10, 8)
                note.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
                row.addWidget(note, 1)
        layout.addWidget(self.records_box)

    def _add_events(self, layout: QVBoxLayout, connection: Connection) -> None:
        heading = "History, most recent first"
        if len(self.events) >= EVENT_LIMIT:
            heading += f" (the latest {EVENT_LIMIT:,})"
        layout.addWidget(_heading(heading))
        table = _table(
            ("When (UTC)", "What", "Record", "Error"), name="detail_events", spoken="History"
        )
        self.events_table = table
        if not self.events:
            table.hide()
            layout.addWidget(_label(_NO_EVENTS, muted=True, name="detail_no_events"))
            layout.addWidget(table)
            return
        table.setRowCount(len(self.events))
        for row, event in enumerate(self.events):
            table.setItem(row, 0, _item(when_text(event.at, utc=False), tooltip=False))
            what = _item(_outcome_text(event, connection), tooltip=False)
            status = outcome_status(event.outcome)
            if status is not None:
                what.setIcon(status_icon(status))
            table.setItem(row, 1, what)
            record = f"{connection.app(event.app).name} {event.record_id}"
            table.setItem(row, 2, _item(record))
            error = ""
            if event.outcome is Outcome.FAILED:
                error = ": ".join(part for part in (event.error_code, event.error_message) if part)
            table.setItem(row, 3, _item(error))
        _fit_columns(table, (0,))
        _fit_columns(table, (1,), cap=230)
        _fit_columns(table, (2,), cap=130)
        _fit_height(table, scrolls_sideways=True)
        layout.addWidget(table)

    # ------------------------------------------------------------------ slots

    @Slot(str)
    def _on_original_link_activated(self, href: str) -> None:
        scheme, _, rest = href.partition(":")
        app, _, record_id = rest.partition(":")
        if scheme != _LINK_SCHEME or app not in (Side.A.value, Side.B.value):
            return
        self.contact_link_activated.emit(app, unquote(record_id))

    def sizeHint(self) -> Any:
        hint = super().sizeHint()
        hint.setWidth(max(hint.width(), 760))
        return hint
