"""Failure reasons: fingerprints of raw app errors and the catalog that explains them.

A destination app's raw error (code + message) is kept whole elsewhere; here it is reduced
to a **fingerprint**, the grouping key: the message with e-mail addresses, UUIDs, URLs,
quoted values, ids and numbers masked, so that "Contact already exists. Existing ID: 3401"
and "... Existing ID: 9876" fall in one group. The **catalog** (a TOML data file support
staff extend without code, ``data/failure-catalog.toml``) maps fingerprints, per app kind,
to a category, a plain-language explanation and a fix.
The contract: README, "Failure reasons".

Pure Python: no Qt, no SQL. ``fingerprint`` runs once per failed event (millions on a big
import) and ``Catalog.classify`` caches per distinct (app kind, fingerprint).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

__all__ = [
    "OTHER_CATEGORY",
    "OTHER_REASON",
    "Catalog",
    "CatalogError",
    "Reason",
    "bundled_catalog",
    "fingerprint",
    "split_fingerprint",
]

# --------------------------------------------------------------------------- fingerprint

# E-mail addresses, lenient on purpose: an app rejecting "bob@@example" quotes it back and
# it must be masked too. A local part is required, so "@mentions" are left alone. The
# regex finds the "@" and its domain (a fast literal search); the local part is walked
# back from the "@" by _mask_emails (a regex starting with it would try every position).
_EMAIL_DOMAIN = re.compile(r"@+[\w-]+(?:\.[\w-]+)*")
# The characters RFC 5322 allows in an unquoted local part (O'Neil@…, a+b@…), less
# "/", "=", "?" and "&", which in practice mark an e-mail inside a URL's query.
_EMAIL_LOCAL = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%'*+^_`{|}~-"
)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
# A URL starts after anything but a letter (a digit before it becomes "<n>" later, which a
# second masking must see the same way) and runs to the next white space, quote or
# bracket; trailing punctuation is not part of it. "<" and ">" are allowed inside so that
# an already masked "<email>" in a query string does not cut the URL in two.
_URL = re.compile(
    r"(?<![^\W\d_])(?:[a-z][a-z0-9+.-]*://|www\.)[^\s\"'“”\[\](){}]*[^\s\"'“”\[\](){}.,;:!?]", re.I
)
# Quoted texts: "…" (JSON-aware: a key is recognised by the colon after it and the value of
# a key-value pair is captured with it), “…” and '…'. A single quote only opens after a
# non-word character and only closes before one, so the apostrophes of "you've" and "don't"
# are not quotes; "<" and ">" count as word characters there, so that a placeholder that
# replaced a word ("5'x'" -> "<n>'x'") does not turn an apostrophe into a quote.
_QUOTED = re.compile(
    r"\"(?P<key>[^\"\\]*(?:\\.[^\"\\]*)*)\"(?P<sep>\s*:\s*)"
    r"\"(?P<kval>[^\"\\]*(?:\\.[^\"\\]*)*)\""
    r"|\"(?P<dq>[^\"\\]*(?:\\.[^\"\\]*)*)\"(?P<colon>\s*:)?"
    r"|“(?P<cq>[^“”]*)”"
    r"|(?<![\w'>])'(?P<sq>[^']*)'(?![\w'<])"
)
# Keys whose values name a thing (a property, a field, an error code) rather than carry a
# contact's data: their values are kept, so errors about one property group together.
_NAME_KEYS = frozenset(
    {
        "name",
        "field",
        "fieldname",
        "field_name",
        "property",
        "propertyname",
        "property_name",
        "param",
        "parameter",
        "attribute",
        "tag",
        "merge_field",
        "error",
        "errorcode",
        "error_code",
        "code",
        "type",
    }
)
# A quoted text right after one of these words names a property: 'Property "firstname"
# does not exist' keeps "firstname".
_NAME_BEFORE = re.compile(
    r"\b(?:property|properties|field|fields|column|parameter|attribute|merge tag|tag)\s*$",
    re.I,
)
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.\-]{0,63}")
_PLACEHOLDER = re.compile(r"<[a-z]+>")
# A token that contains a digit (the lookahead), for ids and numbers: a word, and the parts
# with digits joined to it by "." or "-" ("mc-77", "1.5", "2024-05-01", not the "-Property"
# of "v2-Property"), or a number with thousands commas ("1,234").
_TOKEN = re.compile(r"(?<!\w)(?=[\w.,-]*\d)\w+(?:[.-]\w*\d\w*|,\d{3}(?!\w))*")
_DIGIT = re.compile(r"\d")
_NUMBER = re.compile(r"[\d.,_-]+")
_HEX_ID = re.compile(r"[0-9a-fA-F]{8,}")
# Names that carry a digit but are not ids: "MMERGE3", "address_line2", "OAuth2" (3+
# letters then 1-2 digits) and Salesforce API names "Field_12__c".
_NAME_WITH_DIGIT = re.compile(
    r"[A-Za-z][A-Za-z_]{2,}\d{1,2}(?:__[A-Za-z]{1,3})?|[A-Za-z][A-Za-z0-9_]*__[A-Za-z]{1,3}"
)
# A number with a short unit: "30s", "10MB", "5xx" -> "<n>s", "<n>MB", "<n>xx".
_NUMBER_UNIT = re.compile(r"\d+(?:[.,]\d+)?([A-Za-z]{1,3})")
# Lists of masked values collapse to one item: "[<email>, <email>]" -> "[<email>]".
_REPEATS = re.compile(
    r"(?P<item><[a-z]+>|\"<[a-z]+>\"|'<[a-z]+>'|“<[a-z]+>”|\{[^{}\[\]]*\})"
    r"(?:\s*,\s*(?P=item))+"
)


def _mask_emails(s: str) -> str:
    parts: list[str] = []
    last = 0
    for m in _EMAIL_DOMAIN.finditer(s):
        start = m.start()
        while start > last and (s[start - 1] in _EMAIL_LOCAL or s[start - 1].isalnum()):
            start -= 1
        if start == m.start():  # no local part: not an address
            continue
        parts.append(s[last:start])
        parts.append("<email>")
        last = m.end()
    if not parts:
        return s
    parts.append(s[last:])
    return "".join(parts)


def _mask_quoted(m: re.Match[str]) -> str:
    key = m.group("key")
    if key is not None:  # "key": "value"
        value = m.group("kval")
        if not _json_key(m):  # prose such as: value "x": "y"
            return f'{_mask_plain(m, key)}{m.group("sep")}"{_masked_text(value)}"'
        if key.lower() not in _NAME_KEYS or not _IDENTIFIER.fullmatch(value):
            value = _masked_text(value)
        return f'"{key}"{m.group("sep")}"{value}"'
    text = m.group("dq")
    if text is not None:
        colon = m.group("colon")
        if colon is not None:
            return m.group() if _json_key(m) else _mask_plain(m, text) + colon
        return _mask_plain(m, text)
    text = m.group("cq")
    if text is not None:
        return m.group() if _names_a_property(m, text) else f"“{_masked_text(text)}”"
    text = m.group("sq")
    return m.group() if _names_a_property(m, text) else f"'{_masked_text(text)}'"


def _mask_plain(m: re.Match[str], text: str) -> str:
    """A double-quoted text outside JSON structure: masked unless it names a property."""
    return f'"{text}"' if _names_a_property(m, text) else f'"{_masked_text(text)}"'


def _json_key(m: re.Match[str]) -> bool:
    """Whether the quoted text at ``m`` opens a JSON member: it follows "{" or ","."""
    s = m.string
    i = m.start() - 1
    while i >= 0 and s[i] == " ":
        i -= 1
    return i >= 0 and s[i] in "{,"


def _names_a_property(m: re.Match[str], text: str) -> bool:
    """Whether a quoted identifier comes right after a word such as "property" or "field"."""
    if not _IDENTIFIER.fullmatch(text):
        return False
    start = m.start()
    return _NAME_BEFORE.search(m.string, max(0, start - 24), start) is not None


def _masked_text(text: str) -> str:
    """What a quoted value becomes: kept when empty or already a placeholder."""
    if not text or _PLACEHOLDER.fullmatch(text):
        return text
    return "<value>"


def _mask_token(m: re.Match[str]) -> str:
    token = m.group()
    if not _DIGIT.search(token):  # the lookahead saw a digit past the token's end
        return token
    if _NUMBER.fullmatch(token):
        return "<n>"
    if _HEX_ID.fullmatch(token):
        return "<id>"
    if _NAME_WITH_DIGIT.fullmatch(token):
        return token
    unit = _NUMBER_UNIT.fullmatch(token)
    if unit is not None:
        return "<n>" + unit.group(1)
    return "<id>"


def fingerprint(code: str, message: str) -> str:
    """The grouping key of a raw app error: ``"code: masked message"``.

    In the message, white space collapsed, in this order: e-mail addresses -> ``<email>``,
    UUIDs -> ``<uuid>``, URLs -> ``<url>``, quoted values -> ``"<value>"`` (keeping the
    quotes; JSON keys, values of name keys such as ``"name": "num_employees"`` and quoted
    names after "property"/"field" are kept), tokens mixing letters and digits -> ``<id>``
    (except names such as ``MMERGE3``), other numbers -> ``<n>``; lists of identical masked
    items collapse to one. The code is categorical and kept (stripped). Masking a
    fingerprint's message again changes nothing.
    """
    s = " ".join(message.split())
    if "@" in s:
        s = _mask_emails(s)
    if "-" in s:
        s = _UUID.sub("<uuid>", s)
    if "://" in s or "www." in s:
        first = min(i for i in (s.find("://"), s.find("www.")) if i >= 0)
        start = s.rfind(" ", 0, first) + 1  # a URL has no space before its "://"
        s = s[:start] + _URL.sub("<url>", s[start:])
    if '"' in s or "'" in s or "“" in s:
        s = _QUOTED.sub(_mask_quoted, s)
    digit = _DIGIT.search(s)
    if digit is not None:
        # Tokens start after white space: only the part from the first digit's word on
        # needs the (slow, position by position) token scan.
        start = s.rfind(" ", 0, digit.start()) + 1
        s = s[:start] + _TOKEN.sub(_mask_token, s[start:])
    if "," in s:
        s = _REPEATS.sub(r"\g<item>", s)
    code = code.strip()
    return f"{code}: {s}" if code else s


def split_fingerprint(fp: str) -> tuple[str, str]:
    """(code, masked message) of a fingerprint: split at the first ": ".

    A code-less error whose message contains ": " is ambiguous; it reads as code + message
    here, and ``Catalog.classify`` falls back to the whole text when that finds nothing.
    """
    code, sep, masked = fp.partition(": ")
    if not sep:
        return "", fp
    return code, masked


# --------------------------------------------------------------------------- catalog

OTHER_CATEGORY = "Other"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an app refused a write, in a support agent's words."""

    category: str
    explanation: str
    fix: str


OTHER_REASON = Reason(
    category=OTHER_CATEGORY,
    explanation=(
        "The app refused the write with an error Health Desk does not know yet; "
        "the raw message is shown as the app sent it."
    ),
    fix="Read the raw error below; if it recurs, add it to the failure catalog.",
)

GENERIC_APP = "*"
_KEYS = frozenset({"app", "code", "match", "category", "explanation", "fix"})
_REQUIRED_TEXT = ("app", "category", "explanation", "fix")
_REASON_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*reason[ \t]*\]\]", re.M)
# classify() results kept before the cache starts over (a guard against unmasked noise).
_CACHE_LIMIT = 100_000


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message names the file, entry and problem."""


@dataclass(frozen=True, slots=True)
class _Entry:
    app: str
    code: re.Pattern[str] | None
    match: re.Pattern[str] | None
    reason: Reason

    def matches(self, code: str, masked: str) -> bool:
        if self.code is not None and self.code.search(code) is None:
            return False
        return self.match is None or self.match.search(masked) is not None


def bundled_catalog() -> Traversable:
    """The catalog shipped with Health Desk."""
    return files("healthdesk.data") / "failure-catalog.toml"


class Catalog:
    """Entries of one or more catalog files, ready to classify fingerprints.

    For an app kind, its own entries are tried first, then the generic ones (app "*");
    within each group, later files come before earlier ones and a file's entries keep
    their order; the first entry that matches wins.
    """

    def __init__(self, entries: Sequence[_Entry] = ()) -> None:
        self._by_app: dict[str, list[_Entry]] = {}
        self._generic: list[_Entry] = []
        for entry in entries:
            if entry.app == GENERIC_APP:
                self._generic.append(entry)
            else:
                self._by_app.setdefault(entry.app, []).append(entry)
        self._cache: dict[tuple[str, str], Reason] = {}

    @classmethod
    def load(cls, paths: Sequence[Traversable | Path] | None = None) -> Catalog:
        """The catalog of ``paths`` (the bundled one when None); later files take priority."""
        if paths is None:
            paths = [bundled_catalog()]
        entries: list[_Entry] = []
        for path in reversed(paths):
            source = str(path)
            try:
                text = path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CatalogError(f"{source}: cannot read the catalog file: {exc}") from exc
            entries.extend(_parse(text, source))
        return cls(entries)

    @classmethod
    def from_text(cls, text: str, *, source: str = "<text>") -> Catalog:
        """The catalog of one file's text; ``source`` names it in errors."""
        return cls(_parse(text, source))

    def __len__(self) -> int:
        return len(self._generic) + sum(len(v) for v in self._by_app.values())

    def _entries(self, app_kind: str) -> list[_Entry]:
        return self._by_app.get(app_kind.strip().lower(), []) + self._generic

    def classify(self, app_kind: str, fingerprint: str) -> Reason:
        """The reason of an error of an app of kind ``app_kind``, or ``OTHER_REASON``."""
        key = (app_kind, fingerprint)
        reason = self._cache.get(key)
        if reason is not None:
            return reason
        reason = self._classify(app_kind, fingerprint)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = reason
        return reason

    def _classify(self, app_kind: str, fp: str) -> Reason:
        entries = self._entries(app_kind)
        code, masked = split_fingerprint(fp)
        for entry in entries:
            if entry.matches(code, masked):
                return entry.reason
        if code:  # maybe a code-less message with ": " in it: try it whole
            for entry in entries:
                if entry.matches("", fp):
                    return entry.reason
        return OTHER_REASON

    def categories(self, app_kind: str) -> list[str]:
        """The distinct categories for ``app_kind`` in classify order, then "Other"."""
        seen = dict.fromkeys(entry.reason.category for entry in self._entries(app_kind))
        seen.setdefault(OTHER_CATEGORY)
        return list(seen)


def _parse(text: str, source: str) -> list[_Entry]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"reason"})
    if unknown:
        raise CatalogError(
            f"{source}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
            "a catalog holds only [[reason]] entries"
        )
    raw = data.get("reason", [])
    if not isinstance(raw, list):
        raise CatalogError(f"{source}: 'reason' must be a list of [[reason]] tables")
    lines = [text.count("\n", 0, m.start()) + 1 for m in _REASON_HEADER.finditer(text)]
    line_of = lines if len(lines) == len(raw) else None
    return [
        _parse_entry(
            item, f"{source}: reason #{i + 1}" + (f" (line {line_of[i]})" if line_of else "")
        )
        for i, item in enumerate(raw)
    ]


def _parse_entry(item: Any, where: str) -> _Entry:
    if not isinstance(item, dict):
        raise CatalogError(f"{where}: must be a table of keys, not {type(item).__name__}")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise CatalogError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(sorted(_KEYS))}"
        )
    for key, value in item.items():
        if not isinstance(value, str):
            raise CatalogError(f"{where}: {key!r} must be a text, not {type(value).__name__}")
    for key in _REQUIRED_TEXT:
        if not item.get(key, "").strip():
            raise CatalogError(f"{where}: missing {key!r}")
    if "code" not in item and "match" not in item:
        raise CatalogError(f"{where}: needs 'code' or 'match' (or both)")
    patterns: dict[str, re.Pattern[str] | None] = {}
    for key in ("code", "match"):
        pattern = item.get(key)
        if pattern is None:
            patterns[key] = None
            continue
        if not pattern:
            raise CatalogError(f"{where}: {key!r} is empty (it would match every error)")
        try:
            patterns[key] = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise CatalogError(f"{where}: invalid regex in {key!r} ({pattern!r}): {exc}") from exc
    return _Entry(
        app=item["app"].strip().lower(),
        code=patterns["code"],
        match=patterns["match"],
        reason=Reason(
            category=item["category"].strip(),
            explanation=item["explanation"].strip(),
            fix=item["fix"].strip(),
        ),
    )
