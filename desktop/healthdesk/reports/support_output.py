"""Writes a support report to a file, HTML or PDF by its name, whole or not at all, and
readable by its owner only (it holds customers' data unless redacted)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Final

from healthdesk.reports.support import ReportCancelled, SupportReport

__all__ = ["FORMATS", "report_format", "write_report"]

#: The formats by file suffix.
FORMATS: Final = {".html": "html", ".htm": "html", ".pdf": "pdf"}
REPORT_MODE: Final = 0o600


def report_format(path: Path) -> str:
    """ "html" or "pdf" for `path`'s suffix; ValueError for any other."""
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        given = path.suffix or "a name without a suffix"
        raise ValueError(f"{path}: a report is written as .html or .pdf, not {given}")
    return found


def render(report: SupportReport, fmt: str) -> bytes:
    """The bytes of the report in `fmt` ("html" or "pdf"; PDF needs a QGuiApplication)."""
    if fmt == "pdf":
        from healthdesk.reports.support_pdf import render_pdf

        return render_pdf(report)
    from healthdesk.reports.support_html import render_html

    return render_html(report).encode("utf-8")


def write_report(
    report: SupportReport,
    path: Path,
    *,
    mode: int = REPORT_MODE,
    cancelled: Callable[[], bool] | None = None,
) -> int:
    """Write `report` to `path` (its suffix chooses the format); returns the bytes written.

    The file is written beside `path` as `.partial` with `mode`, then renamed over it,
    unless `cancelled()` says so first (ReportCancelled: no file is left).
    """
    data = render(report, report_format(path))
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, mode)
        with open(fd, "wb") as handle:
            handle.write(data)
        if cancelled is not None and cancelled():
            raise ReportCancelled
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return len(data)
