"""The columns of each status list: header, text of a cell, and the SQL sort behind it.

Pure Python (no Qt): the table model asks these for headers and cell texts; the texts
are computed once per row when a window of rows arrives (possibly on the loader's
thread), so they must only read their arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection, Reason, Side, Status
from healthdesk.store.pages import SortKey

__all__ = ["Column", "RenderContext", "columns_for", "reason_text", "render_row"]

#: Between the two apps or ids of a mapped pair, in a single cell.
PAIR_SEPARATOR = " / "

_REASON_TEXT = {Reason.NO_RULE_MATCH: "No rule match", Reason.NO_EMAIL: "No email"}


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What cell texts need besides the row: app names and the failure catalog."""

    connection: Connection
    catalog: Catalog

    def app_name(self, side: Side | None) -> str:
        return self.connection.app(side).name if side is not None else ""

    def category(self, side: Side, fingerprint: str) -> str:
        """The catalog's category of a failure refused by `side` (never re-decided)."""
        return self.catalog.classify(self.connection.app(side).kind, fingerprint).category


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a status list."""

    id: str
    title: Callable[[Connection], str]
    sort: SortKey
    text: Callable[[ContactView, RenderContext], str]


def reason_text(reason: Reason | None) -> str:
    return _REASON_TEXT.get(reason, "") if reason is not None else ""


def _date(value: str | None) -> str:
    return value[:10] if value else ""


def _time(value: str | None) -> str:
    """A canonical UTC time ("2026-02-01T08:30:05Z") as "2026-02-01 08:30 UTC"."""
    if not value:
        return ""
    return f"{value[:10]} {value[11:16]} UTC" if len(value) >= 16 else value


def _app(row: ContactView, ctx: RenderContext) -> str:
    if row.side is not None:
        return ctx.app_name(row.side)
    return PAIR_SEPARATOR.join((ctx.app_name(Side.A), ctx.app_name(Side.B)))


def _id(row: ContactView, ctx: RenderContext) -> str:
    if row.side is not None:
        return row.record_id
    return PAIR_SEPARATOR.join((row.a_id or "", row.b_id or ""))


def _original(row: ContactView, ctx: RenderContext) -> str:
    original = row.duplicate_of
    if original is None:
        return ""
    name = (original.name or "").strip()
    return f"{name} ({original.id})" if name else original.id


def _deleted(row: ContactView, ctx: RenderContext) -> str:
    if not row.opposite_deleted:
        return ""
    sides = ((Side.A, row.a_deleted), (Side.B, row.b_deleted))
    deleted = [ctx.app_name(side) for side, gone in sides if gone]
    return f"Deleted in {' and '.join(deleted)}" if deleted else "Deleted"


def _category(row: ContactView, ctx: RenderContext) -> str:
    failure = row.failure
    return ctx.category(failure.app, failure.fingerprint) if failure is not None else ""


def _message(row: ContactView, ctx: RenderContext) -> str:
    failure = row.failure
    return (failure.message or failure.code) if failure is not None else ""


def _fixed(title: str) -> Callable[[Connection], str]:
    return lambda connection: title


_NAME = Column("name", _fixed("Name"), SortKey.NAME, lambda row, ctx: row.name)
_EMAIL = Column("email", _fixed("Email"), SortKey.EMAIL, lambda row, ctx: row.email)
_APP = Column("app", _fixed("App"), SortKey.APP, _app)
_ID = Column("id", _fixed("ID"), SortKey.ID, _id)

_COLUMNS: dict[Status, tuple[Column, ...]] = {
    Status.IN_SYNC: (
        _NAME,
        _EMAIL,
        Column("a_id", lambda c: f"{c.app_a.name} ID", SortKey.A_ID, lambda r, x: r.a_id or ""),
        Column("b_id", lambda c: f"{c.app_b.name} ID", SortKey.B_ID, lambda r, x: r.b_id or ""),
        Column("since", _fixed("Since"), SortKey.SINCE, lambda row, ctx: _date(row.since)),
        Column("deleted", _fixed("Deleted"), SortKey.OPPOSITE_DELETED, _deleted),
    ),
    Status.EXCLUDED: (
        _APP,
        _NAME,
        _EMAIL,
        _ID,
        Column("reason", _fixed("Reason"), SortKey.REASON, lambda r, x: reason_text(r.reason)),
    ),
    Status.DUPLICATE: (
        _APP,
        _NAME,
        _EMAIL,
        _ID,
        Column("original", _fixed("Original"), SortKey.ORIGINAL, _original),
    ),
    Status.FAILING: (
        Column(
            "failure_app",
            _fixed("App"),
            SortKey.FAILURE_APP,
            lambda row, ctx: ctx.app_name(row.failure.app if row.failure else None),
        ),
        _NAME,
        _EMAIL,
        _ID,
        Column("category", _fixed("Category"), SortKey.CATEGORY, _category),
        Column("message", _fixed("Message"), SortKey.ERROR_MESSAGE, _message),
        Column(
            "when",
            _fixed("When"),
            SortKey.FAILURE_AT,
            lambda row, ctx: _time(row.failure.at if row.failure else None),
        ),
    ),
    Status.PENDING: (_APP, _NAME, _EMAIL, _ID),
}


def columns_for(status: Status) -> tuple[Column, ...]:
    """The columns of the list of `status`, in order; the first carries the status icon."""
    return _COLUMNS[status]


def render_row(
    row: ContactView, columns: tuple[Column, ...], ctx: RenderContext
) -> tuple[str, ...]:
    """The text of each cell of `row` (customer text verbatim: views show it as plain text)."""
    return tuple(column.text(row, ctx) for column in columns)
