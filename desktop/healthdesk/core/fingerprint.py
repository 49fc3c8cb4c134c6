"""Fingerprints of raw app errors: the key that groups failures, safe to show and store.

A destination app's raw error (code + message) is kept whole elsewhere; a fingerprint is
what groups it with its repeats, so it must drop everything that differs between two
occurrences of the same error, and must not carry the customer's data into the failure
tree, the summary or an export. What it keeps and what it masks:

- kept: the error code, field and property names, error codes quoted in the message and
  the app's own wording, including quoted phrases (``'Connection reset by peer'``);
- masked: e-mail addresses (``<email>``), UUIDs (``<uuid>``), URLs (``<url>``), ids
  (``<id>``), numbers (``<n>``) and values that came from the customer's record
  (``<value>``): quoted values, and the unquoted values of the messages that embed one in
  a known place ("Billing City: data value too large: <value> (max length=<n>)");
- an HTML error page (a gateway's 502, a Cloudflare 524...) becomes ``HTML page: <title>``
  with the status the title names;
- the result is one line, at most ``MAX_MESSAGE`` characters of message (cut at a word,
  marked with "…").

Masking a fingerprint's message again changes nothing, so a stored fingerprint can be
matched by patterns written against fingerprints. ``FINGERPRINT_VERSION`` changes whenever
these rules change; a store that keeps fingerprints compares it with the one it computed
them with.

Pure Python: no Qt, no SQL. ``fingerprint`` runs once per failed event (millions on a big
import), so each step first checks cheaply whether it can apply.
"""

from __future__ import annotations

import html
import re

__all__ = ["FINGERPRINT_VERSION", "MAX_MESSAGE", "fingerprint", "split_fingerprint"]

#: Bumped whenever the masking rules change (stored fingerprints are then recomputed).
FINGERPRINT_VERSION = 2
#: The longest masked message a fingerprint keeps (the code comes on top).
MAX_MESSAGE = 160

# E-mail addresses, lenient on purpose: an app rejecting "bob@@example" quotes it back and
# it must be masked too, and logs that star out letters ("jo***@gm***.com") still are
# addresses. A local part is required, so "@mentions" are left alone. The regex finds the
# "@" and its domain (a fast literal search); the local part is walked back from the "@"
# by _mask_emails (a regex starting with it would try every position).
_EMAIL_DOMAIN = re.compile(r"@+[\w*-]+(?:\.[\w*-]+)*")
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

# An HTML document rather than a message: what gateways and CDNs answer in front of an app.
# Tags inside a message ("<b>…</b><br>" in a Salesforce flow error) do not make it a page.
_HTML_PAGE = re.compile(r"<(?:!doctype\s+html|html[\s>]|head[\s>]|title>)", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")
_TITLE_MAX = 80
# What _html_title makes of a page: masked again, it stays as it is.
_REDUCED_PAGE = re.compile(rf"HTML page(?:: [^<>]{{1,{_TITLE_MAX}}})?")

# Values an app writes unquoted in a known place of its message. Each pattern's "v" group
# is the customer's value; the text around it is the app's wording and is kept.
_VALUE_SLOTS = re.compile(
    # Salesforce STRING_TOO_LONG: "Billing City: data value too large: Rome (max length=40)"
    r"data value too large: (?P<v1>.+?)(?= ?\(max length)"
    # Salesforce restricted picklists: "Status: bad value for restricted picklist field: X"
    r"|bad value for restricted picklist field: (?P<v2>.+?)(?=: \[|$)"
    # Salesforce INVALID_EMAIL_ADDRESS when the value is no address at all: "…address: XX"
    r"|invalid email address: (?P<v3>[^\s<>]+)"
    # HubSpot property validation: "twenty was not a valid long.", "x was not one of…";
    # the value starts after a quote or the start and never crosses a quote or a bracket.
    r"|(?:^|(?<=[\"'“]))(?P<v4>[^\"'“”\[\]{}<>]+?)"
    r"(?= (?:was|is) not (?:a valid|one of the allowed))"
    # An API key echoed back ("Invalid MailChimp API key: 1a2b…"): a secret, never kept.
    r"|\bAPI[ _-]?key: (?P<v5>[^\s<>]+)",
    re.I,
)

# Words one of _VALUE_SLOTS needs, lower-cased: a cheap test before the regex.
_SLOT_HINTS = ("too large", "picklist", "email address:", "not a valid", "not one of", "key:")

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
        "category",
        "title",
        "errortype",
        "policyname",
        "status",
        "statuscode",
    }
)
# Keys whose values are the app's own sentences: kept, with the values inside masked.
_MESSAGE_KEYS = frozenset(
    {
        "message",
        "detail",
        "error",
        "error_info",
        "description",
        "localizederrormessage",
        "msg",
        "title",
    }
)
# A quoted text right after one of these words names a thing: 'Property "firstname" does
# not exist' keeps "firstname", "code: 'ECONNRESET'" keeps the code.
_NAME_BEFORE = re.compile(
    r"(?:\b(?:property|properties|field|fields|column|parameter|attribute|merge tag|tag|"
    r"entity|object|sobject)\s*|\b(?:code|errno|error|name|type|syscall)\s*[:=]\s*)$",
    re.I,
)
# A quoted text right after "value" is a value, whatever it looks like.
_VALUE_BEFORE = re.compile(r"\bvalues?\s*[:=]?\s*$", re.I)
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.\-]{0,63}")
# An error code quoted in a message: "ECONNRESET", "UND_ERR_SOCKET", "INVALID_LONG".
_ERROR_CODE = re.compile(r"E[A-Z]{4,}|[A-Z][A-Z0-9]*_[A-Z0-9_]+")
# The app's own wording: two or more words of lower-case letters after a first word that
# may be capitalised, with a sentence's punctuation ("Connection reset by peer",
# "Connection aborted."). A customer's value with capitals or digits ("Acme Inc",
# "New York", "Flat 3") does not read like this.
_PHRASE = re.compile(r"[A-Za-z][a-z]*(?:[ -][a-z]+)+[.!?]?")
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
_ELLIPSIS = "…"
# JSON members that only identify a response or repeat its HTTP status ("instance": a
# UUID, "correlationId", "status": 400, "success": false): dropped once their values are
# masked, so that a one-line fingerprint has room for what the app says.
_NOISE_KEYS = r"\"(?:type|instance|correlationId|requestId|status|success|data|additional_data)\""
_NOISE_VALUE = r"(?:\"(?:<[a-z]+>|error)\"|<[a-z]+>|true|false|null)"
_NOISE_MEMBER = re.compile(rf"{_NOISE_KEYS}\s*:\s*{_NOISE_VALUE}\s*,\s*")
_NOISE_LAST = re.compile(rf",\s*{_NOISE_KEYS}\s*:\s*{_NOISE_VALUE}(?=\s*[}}\]])")
# A JSON "\u00e1" escape left in a message that was JSON inside JSON.
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


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


def _html_title(s: str) -> str | None:
    """``HTML page: <title>`` for an HTML document, None for a message."""
    if _HTML_PAGE.search(s) is None:
        return None
    found = _TITLE.search(s) or _H1.search(s)
    if found is None:
        return "HTML page"
    title = " ".join(html.unescape(_TAG.sub(" ", found.group(1))).split())
    # Cloudflare names the site first: "api.example.com | 524: A timeout occurred".
    title = _mask_identities(title.rpartition(" | ")[2])[:_TITLE_MAX].strip()
    return f"HTML page: {title}" if title else "HTML page"


def _mask_identities(s: str) -> str:
    """E-mail addresses, UUIDs and URLs masked: what identifies a person or a record."""
    if "@" in s:
        s = _mask_emails(s)
    if "-" in s:
        s = _UUID.sub("<uuid>", s)
    if "://" in s or "www." in s:
        first = min(i for i in (s.find("://"), s.find("www.")) if i >= 0)
        start = s.rfind(" ", 0, first) + 1  # a URL has no space before its "://"
        s = s[:start] + _URL.sub("<url>", s[start:])
    return s


def _mask_slot(m: re.Match[str]) -> str:
    text = m.group()
    for name, value in m.groupdict().items():
        if value is not None:
            if _PLACEHOLDER.fullmatch(value.strip()):
                return text
            start, end = m.span(name)
            offset = m.start()
            return text[: start - offset] + "<value>" + text[end - offset :]
    return text


def _mask_quoted(m: re.Match[str]) -> str:
    key = m.group("key")
    if key is not None:  # "key": "value"
        value = m.group("kval")
        if not _json_key(m):  # prose such as: value "x": "y"
            return f'{_mask_plain(m, key)}{m.group("sep")}"{_masked_text(value)}"'
        lowered = key.lower()
        if lowered in _MESSAGE_KEYS and " " in value.strip():
            value = _mask_quotes(_mask_slots(value))
        elif lowered not in _NAME_KEYS or not _IDENTIFIER.fullmatch(value):
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
        return m.group() if _kept(m, text) else f"“{_masked_text(text)}”"
    text = m.group("sq")
    return m.group() if _kept(m, text) else f"'{_masked_text(text)}'"


def _mask_plain(m: re.Match[str], text: str) -> str:
    """A double-quoted text outside JSON structure: masked unless it is kept."""
    return f'"{text}"' if _kept(m, text) else f'"{_masked_text(text)}"'


def _json_key(m: re.Match[str]) -> bool:
    """Whether the quoted text at ``m`` opens a JSON member: it follows "{" or ","."""
    s = m.string
    i = m.start() - 1
    while i >= 0 and s[i] == " ":
        i -= 1
    return i >= 0 and s[i] in "{,"


def _kept(m: re.Match[str], text: str) -> bool:
    """Whether a quoted text is the app's (a name, a code, a phrase), not a value."""
    start = m.start()
    before = m.string[max(0, start - 24) : start]
    if _VALUE_BEFORE.search(before):
        return False
    if _IDENTIFIER.fullmatch(text) and _NAME_BEFORE.search(before):
        return True
    return _ERROR_CODE.fullmatch(text) is not None or _PHRASE.fullmatch(text) is not None


def _masked_text(text: str) -> str:
    """What a quoted value becomes: kept when empty or already a placeholder."""
    if not text or _PLACEHOLDER.fullmatch(text):
        return text
    return "<value>"


def _mask_slots(s: str) -> str:
    # The slots' regex is the slowest step; most messages have none of its anchors.
    lowered = s.lower()
    if any(hint in lowered for hint in _SLOT_HINTS):
        return _VALUE_SLOTS.sub(_mask_slot, s)
    return s


def _mask_quotes(s: str) -> str:
    if '"' in s or "'" in s or "“" in s:
        return _QUOTED.sub(_mask_quoted, s)
    return s


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


def _bounded(s: str) -> str:
    """``s`` cut to ``MAX_MESSAGE`` characters at a word, "…" marking the cut."""
    if len(s) <= MAX_MESSAGE:
        return s
    cut = s.rfind(" ", 0, MAX_MESSAGE)
    if cut < MAX_MESSAGE // 2:
        cut = MAX_MESSAGE - 1
    return s[:cut].rstrip() + _ELLIPSIS


def fingerprint(code: str, message: str) -> str:
    """The grouping key of a raw app error: ``"code: masked message"``.

    See the module's docstring for what is kept and masked. The code is categorical and
    kept (stripped, white space collapsed); with no code the fingerprint is the masked
    message alone.
    """
    s = " ".join(message.split())
    if "\\u" in s:
        s = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), s)
    page = _html_title(s) if "<" in s else None
    if page is not None:
        s = page
    elif s.startswith("HTML page") and _REDUCED_PAGE.fullmatch(s):
        s = _mask_identities(s)
    else:
        s = _mask_identities(s)
        s = _mask_slots(s)
        s = _mask_quotes(s)
        digit = _DIGIT.search(s)
        if digit is not None:
            # Tokens start after white space: only the part from the first digit's word on
            # needs the (slow, position by position) token scan.
            start = s.rfind(" ", 0, digit.start()) + 1
            s = s[:start] + _TOKEN.sub(_mask_token, s[start:])
        if "," in s:
            s = _REPEATS.sub(r"\g<item>", s)
        if '":' in s:
            s = _NOISE_LAST.sub("", _NOISE_MEMBER.sub("", s))
    s = _bounded(s)
    code = " ".join(code.split())
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
