"""What an agent does with a status list: copy the selected rows (as shown, or just their
emails or ids) and export the whole list to CSV.

Both read through the list's own loaded source (`ListSource`), so they see exactly the
rows the list shows, filter (a failure reason) and order included, and both run in the
background through `Operations`. An export is written to a temporary file that replaces
the target only when whole: it appears whole or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication

from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection
from healthdesk.core.words import STATUS_LABELS, plural
from healthdesk.reports.export import write_csv
from healthdesk.store.queries import get_contacts
from healthdesk.ui.contacts.status_tabs import StatusTabs
from healthdesk.ui.contacts.table_model import ContactTableModel, ListSource
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations, Work

__all__ = ["MAX_COPY_ROWS", "ExportStopped", "ListActions"]

#: More selected rows than this are not copied (Export is the tool for long lists).
MAX_COPY_ROWS = 10_000
_Entry = tuple[ContactView | None, tuple[str, ...]]
#: Contacts read per statement while exporting.
_EXPORT_CHUNK = 2_000


class ExportStopped(Exception):
    """An export given up (cancelled, or the window closed); its file was not written."""


class ListActions(QObject):
    """Copy and export of the current status list of `tabs`."""

    def __init__(
        self,
        *,
        operations: Operations,
        tabs: StatusTabs,
        catalog: Catalog,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._operations = operations
        self._messages = operations.messages
        self._tabs = tabs
        self._catalog = catalog

    # -- copy -----------------------------------------------------------------------------

    def copy_rows(self) -> None:
        """The selected rows as tab-separated text, columns as the table shows them."""
        view = self._tabs.current_view()
        header = view.horizontalHeader()
        columns = [
            header.logicalIndex(visual)
            for visual in range(header.count())
            if not header.isSectionHidden(header.logicalIndex(visual))
        ]

        def lines(entries: list[_Entry]) -> list[str]:
            return [
                "\t".join(texts[c].replace("\t", " ").replace("\n", " ") for c in columns)
                for _row, texts in entries
            ]

        self._copy(lines, lambda n: plural(n, "row"))

    def copy_emails(self) -> None:
        """The selected contacts' emails, one a line."""
        self._copy(
            lambda entries: [row.email for row, _ in entries if row is not None],
            lambda n: "the email" if n == 1 else f"{n:,} emails",
        )

    def copy_ids(self) -> None:
        """The selected contacts' app ids (a pair: both, tab-separated)."""
        self._copy(
            lambda entries: [
                "\t".join(i for i in (row.a_id, row.b_id) if i is not None)
                for row, _ in entries
                if row is not None
            ],
            lambda n: "the id" if n == 1 else f"{n:,} ids",
        )

    def _copy(
        self, format_lines: Callable[[list[_Entry]], list[str]], what: Callable[[int], str]
    ) -> None:
        model = self._tabs.model(self._tabs.current_status())
        source = model.loaded_source() if model is not None else None
        rows = self._tabs.current_view().selected_rows()
        if model is None or not isinstance(source, ListSource) or not rows:
            return
        if len(rows) > MAX_COPY_ROWS:
            self._messages.info(
                f"{len(rows):,} rows are selected; copy at most {MAX_COPY_ROWS:,}, or use "
                "File > Export Current List to CSV."
            )
            return

        def done(entries: list[_Entry]) -> None:
            lines = format_lines(entries)
            if lines:
                QGuiApplication.clipboard().setText("\n".join(lines))
                self._messages.info(f"Copied {what(len(lines))}.", 4000)

        self._operations.run(self, "copy", partial(_entries, source, rows), done, what="copy")

    # -- export ---------------------------------------------------------------------------

    def export(self, path: Path, connection: Connection) -> bool:
        """Write the current list (its filter and order as shown) to `path` as CSV."""
        model = self._tabs.model(self._tabs.current_status())
        source = model.loaded_source() if isinstance(model, ContactTableModel) else None
        if not isinstance(source, ListSource):
            return False
        label = STATUS_LABELS[self._tabs.current_status()]
        self._messages.info(f"Exporting {label} to {path}…", 0)

        def done(count: int) -> None:
            self._messages.info(f"Exported {plural(count, 'contact')} to {path}")

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ExportStopped):
                self._messages.info("Export cancelled; no file was written.")
                return
            self._messages.error(
                "Export failed", f"Could not export to {path}.\n\n{error_text(exc)}"
            )

        return self._operations.run(
            self,
            "export",
            partial(_export, source, path, connection, self._catalog),
            done,
            failed=failed,
        )

    def export_running(self) -> bool:
        return self._operations.busy(self, "export")


def _entries(source: ListSource, rows: Sequence[int], work: Work) -> list[_Entry]:
    """The entries of `rows` (in order), reading each block they fall in once."""
    blocks: dict[int, list[_Entry]] = {}
    found = []
    for row in rows:
        block, offset = divmod(row, source.block_size)
        if block not in blocks:
            if work.cancelled():
                raise ExportStopped
            blocks[block] = source.fetch(block)
        entries = blocks[block]
        if offset < len(entries):
            found.append(entries[offset])
    return found


def _export(
    source: ListSource, path: Path, connection: Connection, catalog: Catalog, work: Work
) -> int:
    keys = source.ordered_keys(work.cancelled)

    def contacts() -> Iterator[ContactView]:
        for start in range(0, len(keys), _EXPORT_CHUNK):
            if work.cancelled():
                raise ExportStopped(path)
            yield from get_contacts(source.engine, list(keys[start : start + _EXPORT_CHUNK]))

    partial_path = path.with_name(path.name + ".partial")
    try:
        # The customers' data: readable by this user only, whatever the umask.
        descriptor = os.open(partial_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "w", encoding="utf-8", newline="") as handle:
            count = write_csv(handle, contacts(), connection, catalog)
        partial_path.replace(path)
    except BaseException:
        partial_path.unlink(missing_ok=True)
        raise
    return count
