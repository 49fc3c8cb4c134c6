"""Customer and service text made safe to show: one place, no Qt, for the CLI and the window.

Names, emails and error messages come from apps and services we do not control. Shown raw,
they can drive a terminal (ESC sequences colour it, move the cursor, set its title; BEL
rings; CR and LF forge lines), reorder the sentence around them (U+202E RIGHT-TO-LEFT
OVERRIDE and the other bidi controls), or run as a formula in a spreadsheet.

- `escape_controls(text)`: every control character (C0 but TAB, LF and CR when `keep`
  says so, DEL, C1, U+2028/U+2029) written visibly as `\\x1b`, `\\n`, `\\u2028`...; the
  text stays one line.
- `isolate(text)`: text holding right-to-left letters or bidi controls wrapped in FIRST
  STRONG ISOLATE ... POP DIRECTIONAL ISOLATE (Unicode isolates), its own unmatched PDIs
  dropped, so it cannot reorder what surrounds it. Other text is returned as it is.
- `terminal_text(text)`: both, for one value inside a line of CLI output.
- `one_line(text, limit)`: an error message from a service: `terminal_text`, cut to `limit`
  characters.
- `json_safe(json_text)`: JSON text with C1, DEL, bidi controls and line separators
  written as `\\uXXXX` escapes (the same data, nothing a terminal acts on).
- `mask_emails(text)`: e-mail addresses cut to their first letter and domain
  (`a…@example.com`), for logs, which never hold a full address.
- `neutralize_cell(cell)`: a CSV cell a spreadsheet shows as text, never runs: a leading
  `= + - @` (ASCII, or fullwidth U+FF1D U+FF0B U+FF0D U+FF20), TAB or CR, also after
  leading blanks, gets a `'` in front; controls other than TAB, LF and CR are escaped.
"""

from __future__ import annotations

import re
import unicodedata

#: Explicit bidi formatting characters (UAX #9).
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
_ISOLATE_OPENERS = frozenset("\u2066\u2067\u2068")
FSI = "\u2068"
PDI = "\u2069"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Controls a terminal acts on, and the line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CELL_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_JSON_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
#: Starts of a cell that a spreadsheet reads as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
#: Blanks a spreadsheet may skip before it looks for a formula.
_LEADING_BLANKS = " \t\u00a0\u3000"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with every control character written visibly (one line, nothing run)."""
    return _CONTROL.sub(_escape, text)


def _needs_isolate(text: str) -> bool:
    return any(
        char in BIDI_CONTROLS or unicodedata.bidirectional(char) in ("R", "AL") for char in text
    )


def isolate(text: str) -> str:
    """`text` inside Unicode isolates when it could reorder its surroundings, else as is."""
    if not _needs_isolate(text):
        return text
    kept = []
    depth = 0
    for char in text:
        if char in _ISOLATE_OPENERS:
            depth += 1
        elif char == PDI:
            if depth == 0:
                continue  # would close our isolate early
            depth -= 1
        kept.append(char)
    return FSI + "".join(kept) + PDI * (depth + 1)


def terminal_text(text: str) -> str:
    """One value made safe for a line of terminal output: controls escaped, bidi isolated."""
    return isolate(escape_controls(text))


def one_line(text: str, limit: int = 500) -> str:
    """A message from elsewhere (a service's error) as one safe line of at most `limit`."""
    safe = terminal_text(text.strip())
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def json_safe(json_text: str) -> str:
    """JSON text with what a terminal could act on escaped as `\\uXXXX`: same data."""
    return _JSON_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)


_EMAIL = re.compile(r"([^\s@<>\"'(),;:]{1,64})@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_emails(text: str) -> str:
    """`text` with each e-mail address reduced to its first letter and its domain."""
    return _EMAIL.sub(lambda m: f"{m.group(1)[0]}…@{m.group(2)}", text)


def neutralize_cell(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula (see the module)."""
    cell = _CELL_CONTROL.sub(_escape, cell)
    if cell.lstrip(_LEADING_BLANKS).startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell
