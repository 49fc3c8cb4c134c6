"""The support report as one self-contained HTML document: inline CSS, the chart as inline
SVG, no script, no link to anything outside it (it is read offline, forwarded, attached).

Every text from the data (names, emails, ids, error messages, the connection's names) is
escaped, so a contact named `<script>` is shown as those characters; control characters
are written visibly (`\\x1b`) and each value is isolated (`<bdi>`) so that right-to-left
text cannot reorder the line around it.

The same markup feeds Qt's rich-text engine for the PDF (reports/support_pdf.py), so it
keeps to what both read: tables for layout, simple class selectors; with `chart_src` the
chart is an `<img>` the PDF writer supplies (Qt does not draw inline SVG).
"""

from __future__ import annotations

from html import escape
from typing import Final

from healthdesk import __version__
from healthdesk.core.model import STATUS_ORDER, Outcome, Reason, Side, Status
from healthdesk.core.palette import STATUS_COLORS
from healthdesk.core.safe_text import escape_controls, terminal_text
from healthdesk.core.words import REASON_LABELS, STATUS_LABELS, plural
from healthdesk.reports.summary import DIRECTION_ARROWS
from healthdesk.reports.support import ABSENT, Comparison, GroupSection, SupportReport

__all__ = ["CHART_HEIGHT", "CHART_WIDTH", "render_html", "status_chart_svg"]

CHART_WIDTH: Final = 640
_ROW: Final = 30
CHART_HEIGHT: Final = _ROW * len(STATUS_ORDER) + 8
_LABEL_W: Final = 110
_COUNT_W: Final = 150

_CSS = """
body { font-family: 'DejaVu Sans', 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 10.5pt;
       color: #202124; margin: 24px; max-width: 900px; }
h1 { font-size: 18pt; margin: 0 0 4px 0; }
h2 { font-size: 13pt; margin: 22px 0 6px 0; border-bottom: 1px solid #dadce0; }
h3 { font-size: 11pt; margin: 14px 0 2px 0; }
p { margin: 3px 0; }
.muted { color: #5f6368; }
.note { color: #5f6368; font-size: 9pt; }
.redacted { color: #a50e0e; font-weight: bold; }
table.data { border-collapse: collapse; margin: 4px 0 8px 0; font-size: 9pt; }
table.data th { text-align: left; background-color: #f1f3f4; font-weight: bold; }
table.data td, table.data th { border: 1px solid #dadce0; padding: 3px 8px; vertical-align: top; }
td.num, th.num { text-align: right; }
td.when { white-space: nowrap; }
td.error { background-color: #fafafa; }
code { font-family: 'DejaVu Sans Mono', Consolas, monospace; font-size: 9pt; }
.label { color: #5f6368; }
"""


def _text(value: str) -> str:
    """Customer text as HTML: escaped, control characters visible, isolated."""
    return f"<bdi>{escape(terminal_text(value), quote=True)}</bdi>"


def _name(value: str) -> str:
    return _text(value) if value.strip() else '<span class="muted">(no name)</span>'


def _n(value: int) -> str:
    return f"{value:,}"


def _pct(part: int, total: int) -> str:
    return f"{100 * part / total:.1f}%" if total else "\u2013"  # en dash


def status_chart_svg(counts: dict[Status, int]) -> str:
    """A horizontal bar per status, its length the share of all contacts, with the exact
    count and share beside it: an SVG element with a title for screen readers."""
    total = sum(counts.values())
    biggest = max(counts.values(), default=0)
    span = CHART_WIDTH - _LABEL_W - _COUNT_W
    words = ", ".join(f"{STATUS_LABELS[s]} {counts[s]:,}" for s in STATUS_ORDER)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
        f'viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" '
        f'aria-label="Contacts by status: {escape(words)}" '
        'font-family="DejaVu Sans, Segoe UI, Helvetica, Arial, sans-serif" font-size="13">',
        f"<title>Contacts by status: {escape(words)}</title>",
    ]
    for row, status in enumerate(STATUS_ORDER):
        count = counts[status]
        y = 4 + row * _ROW
        width = round(span * count / biggest) if biggest else 0
        if count and width < 2:
            width = 2  # a status that has contacts always shows
        parts.append(
            f'<text x="0" y="{y + 19}" fill="#202124">{escape(STATUS_LABELS[status])}</text>'
            f'<rect x="{_LABEL_W}" y="{y + 4}" width="{span}" height="20" fill="#f1f3f4"/>'
            f'<rect x="{_LABEL_W}" y="{y + 4}" width="{width}" height="20" '
            f'fill="{STATUS_COLORS[status]}"/>'
            f'<text x="{_LABEL_W + span + 10}" y="{y + 19}" fill="#202124">'
            f"{count:,} ({_pct(count, total)})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: SupportReport, *, chart_src: str | None = None) -> str:
    """The whole document. `chart_src`: an image URL to show instead of the inline SVG."""
    connection = report.connection
    settings = connection.settings
    a, b = connection.app(Side.A).name, connection.app(Side.B).name
    arrow = DIRECTION_ARROWS[settings.direction.value]
    title = f"Support report: {connection.name}"
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # Nothing outside this file may be fetched (a forwarded report must not call home).
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{escape(escape_controls(title))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Support report: {_text(connection.name)}</h1>",
        f'<p class="muted">Connection {_text(connection.id)} · {_text(a)} {arrow} {_text(b)} · '
        f"Avoid Duplicates {'on' if settings.avoid_duplicates else 'off'} · "
        f"made {escape(report.generated_at)}</p>",
    ]
    if report.redacted:
        out.append(
            '<p class="redacted">Redacted: contacts\' names, emails and record ids are '
            "pseudonyms (the same contact has the same pseudonym throughout), raw error "
            "messages are left out.</p>"
        )
    out.append("<h2>Sync state</h2>")
    out.append(f"<p>{_text(report.state)}</p>")
    out.append("<h2>What syncs</h2>")
    out.append('<table class="data" width="100%">')
    for rules in report.rules:
        lines = "<br>".join(_text(line) for line in rules.lines)
        shown = lines if rules.syncs else f'<span class="muted">{lines}</span>'
        out.append(f"<tr><th>From {_text(rules.app_name)}</th><td>{shown}</td></tr>")
    out.append("</table>")
    out.extend(_contacts(report, chart_src))
    out.extend(_failures(report))
    if report.comparison is not None:
        out.extend(_moves(report.comparison))
    out.append(
        f'<p class="note">Made by Health Desk {escape(__version__)}. Every status is the one '
        "Health Desk decided and stored for the contact; the counts are exact.</p>"
    )
    out.append("</body></html>")
    return "\n".join(out)


def _contacts(report: SupportReport, chart_src: str | None) -> list[str]:
    counts = report.counts
    total = sum(counts.values())
    summary = report.summary
    connection = report.connection
    out = [f"<h2>Contacts: {_n(total)}</h2>"]
    if chart_src is None:
        out.append(f"<div>{status_chart_svg(counts)}</div>")
    else:
        words = ", ".join(f"{STATUS_LABELS[s]} {counts[s]:,}" for s in STATUS_ORDER)
        out.append(
            f'<p><img src="{escape(chart_src)}" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
            f'alt="Contacts by status: {escape(words)}"></p>'
        )
    out.append('<table class="data"><tr><th>Status</th><th class="num">Contacts</th>')
    out.append('<th class="num">Share</th><th>Detail</th></tr>')
    for status in STATUS_ORDER:
        detail = ""
        if status is Status.EXCLUDED:
            detail = ", ".join(
                f"{REASON_LABELS[reason]} {_n(summary.excluded[reason])}" for reason in Reason
            )
        out.append(
            f'<tr><td>{escape(STATUS_LABELS[status])}</td><td class="num">'
            f'{_n(counts[status])}</td><td class="num">{_pct(counts[status], total)}</td>'
            f"<td>{escape(detail)}</td></tr>"
        )
    out.append("</table>")
    out.append('<table class="data"><tr><th>Writes into</th><th class="num">Created</th>')
    out.append('<th class="num">Updated</th></tr>')
    for side in Side:
        done = summary.actions[side]
        out.append(
            f"<tr><td>{_text(connection.app(side).name)}</td>"
            f'<td class="num">{_n(done[Outcome.CREATED])}</td>'
            f'<td class="num">{_n(done[Outcome.UPDATED])}</td></tr>'
        )
    out.append("</table>")
    return out


def _failures(report: SupportReport) -> list[str]:
    failing = report.counts[Status.FAILING]
    out = ["<h2>Why contacts fail</h2>"]
    if not report.groups:
        out.append("<p>No contact is failing.</p>")
        return out
    shown = len(report.groups)
    groups = shown + report.other_groups
    out.append(
        f"<p>{plural(failing, 'failing contact')} in {plural(groups, 'group')} of the same error"
        + (f"; the {shown} largest:" if report.other_groups else ":")
        + "</p>"
    )
    out.append(
        '<table class="data" width="100%"><tr><th class="num">Contacts</th><th>Refused by</th>'
        "<th>Reason</th><th>Who fixes it</th></tr>"
    )
    for group in report.groups:
        out.append(
            f'<tr><td class="num">{_n(group.count)}</td><td>{_text(group.app_name)}</td>'
            f"<td>{_text(group.category)}</td><td>{escape(group.owner.label)}</td></tr>"
        )
    if report.other_groups:
        out.append(
            f'<tr><td class="num">{_n(report.other_contacts)}</td>'
            f'<td colspan="3" class="muted">in {plural(report.other_groups, "smaller group")}'
            "</td></tr>"
        )
    out.append("</table>")
    for group in report.groups:
        out.extend(_group(group, redacted=report.redacted))
    return out


def _group(group: GroupSection, *, redacted: bool) -> list[str]:
    out = [
        f"<h3>{_n(group.count)} · {_text(group.app_name)} refused: {_text(group.category)}</h3>",
        f'<p><span class="label">Error:</span> <code>{_text(group.fingerprint)}</code></p>',
        f'<p><span class="label">Who fixes it:</span> {escape(group.owner.label)}</p>',
        f'<p><span class="label">What it means:</span> {_text(group.explanation)}</p>',
        f'<p><span class="label">How to fix it:</span> {_text(group.fix)}</p>',
    ]
    if not group.samples:
        return out
    more = group.count - len(group.samples)
    heading = "For example" + (f" ({_n(len(group.samples))} of {_n(group.count)})" if more else "")
    out.append(f'<p class="label">{heading}:</p>')
    out.append(
        '<table class="data" width="100%"><thead><tr><th width="19%">Name</th>'
        '<th width="37%">Email</th><th width="26%">Records</th><th width="18%">Failed (UTC)</th>'
        "</tr></thead>"
    )
    for sample in group.samples:
        records = "<br>".join(f"{_text(app)} {_text(rid)}" for app, rid in sample.records)
        out.append(
            f"<tr><td>{_name(sample.name)}</td><td>{_text(sample.email)}</td><td>{records}</td>"
            f'<td class="when">{escape(sample.failed_at)}</td></tr>'
        )
        if not redacted and sample.error:
            out.append(
                f'<tr><td colspan="4" class="error"><span class="label">As sent:</span> '
                f"<code>{_text(sample.error)}</code></td></tr>"
            )
    out.append("</table>")
    return out


#: Moves of equal size are listed in the order of the tabs, contacts that came or went last.
_ORDER: Final = {**{status.value: n for n, status in enumerate(STATUS_ORDER)}, ABSENT: 99}


def _place(value: str) -> str:
    if value == ABSENT:
        return "Not there"
    return STATUS_LABELS[Status(value)]


def _moves(comparison: Comparison) -> list[str]:
    label = f" ({_text(comparison.label)})" if comparison.label else ""
    out = [f"<h2>Moves since the compared snapshot{label}</h2>"]
    out.append(
        '<table class="data"><tr><th>Counts</th><th class="num">Before</th>'
        '<th class="num">Now</th><th class="num">Change</th></tr>'
    )
    for status in STATUS_ORDER:
        before = comparison.before.get(status.value, 0)
        after = comparison.after.get(status.value, 0)
        change = after - before
        out.append(
            f'<tr><td>{escape(STATUS_LABELS[status])}</td><td class="num">{_n(before)}</td>'
            f'<td class="num">{_n(after)}</td><td class="num">{change:+,}</td></tr>'
        )
    out.append("</table>")
    moves = sorted(
        (move for move in comparison.moves if move.count and move.source != move.target),
        key=lambda move: (-move.count, _ORDER[move.source], _ORDER[move.target]),
    )
    if not moves:
        out.append("<p>No contact changed status.</p>")
        return out
    out.append(
        '<table class="data"><tr><th>Was</th><th>Is now</th><th class="num">Contacts</th></tr>'
    )
    for move in moves:
        out.append(
            f"<tr><td>{escape(_place(move.source))}</td><td>{escape(_place(move.target))}</td>"
            f'<td class="num">{_n(move.count)}</td></tr>'
        )
    out.append("</table>")
    return out
