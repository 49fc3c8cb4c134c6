"""What a contact search compares: folded text with its word starts marked.

A search matches a contact when its folded query is contained in one of the contact's
fields (the name, email and app id of each of its records), each folded the same way:

- **case**: Unicode case folding (``str.casefold``: "Straße" finds "STRASSE");
- **accents**: compatibility decomposition (NFKD) with the combining marks dropped, so
  "Zoë", "zoe" and "ZOE" find one another, and "é" finds "e";
- **control and format characters** (tabs, newlines, bidirectional overrides) count as
  spaces.

A contact's *search text* (`document`) is its distinct folded fields, each between two
`FIELD` characters, with `WORD` before every word start: the first letter or digit of a
field and every one that follows a character that is neither. The query is marked the
same way (`Pattern`), so that "contains" and "starts a word" are both plain substring
tests of the one text, which SQLite answers in C (``instr``) and an FTS5 trigram index
narrows down. No query can match across two fields: it never holds `FIELD`.

This module decides nothing about storage; store.search_index keeps the texts and the
index, and store.queries.find ranks with `Pattern`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = ["FIELD", "WORD", "Pattern", "document", "fold"]

#: Between two fields of a search text, and twice at its end (so that every character of
#: a field is followed by at least two more: the first of every trigram).
FIELD: Final = "\x1f"
#: Before each word start of a search text.
WORD: Final = "\x02"

_ASCII_CONTROLS = dict.fromkeys((*range(32), 127), " ")
# A position followed by a letter or digit and not preceded by one (or at the start).
_WORD_START = re.compile(r"(?<![^\W_])(?=[^\W_])")


def fold(text: str) -> str:
    """`text` as search compares it: case-folded, accents dropped, controls as spaces."""
    if text.isascii():
        return (text if text.isprintable() else text.translate(_ASCII_CONTROLS)).lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    category = unicodedata.category
    folded = "".join(
        " " if category(char)[0] == "C" else char
        for char in decomposed
        if not unicodedata.combining(char)
    )
    # Folding a decomposed letter may compose nothing new, but casefold after NFKD can
    # differ (e.g. a compatibility character that decomposes to capitals).
    return folded.casefold()


def _marked(folded: str) -> str:
    if folded.isalnum():  # one word (most app ids): no need for the expression
        return WORD + folded
    return _WORD_START.sub(WORD, folded)


def document(fields: Iterable[str | None]) -> str:
    """The search text of a contact with these fields (None and empty ones left out;
    a repeated field, as a pair's shared name or email, kept once)."""
    given: set[str] = set()
    seen: list[str] = []
    for field in fields:
        if field and field not in given:
            given.add(field)
            marked = _marked(fold(field))
            if marked.strip(" ") and marked not in seen:
                seen.append(marked)
    return FIELD + FIELD.join(seen) + FIELD * (2 if seen else 1)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A query, folded and marked like a search text.

    `contains`: in a search text exactly when the folded query is in one of its fields.
    `word_start`: in it exactly when that happens at the start of a word (a whole field
    equal to the query included); None when the query does not begin with a letter or
    digit: it never starts a word.
    """

    text: str
    contains: str
    word_start: str | None

    @classmethod
    def of(cls, query: str) -> Pattern | None:
        """The pattern of `query`; None when it holds nothing to search for."""
        folded = fold(query.strip()).strip(" ")
        if not folded:
            return None
        marked = _marked(folded)
        if marked.startswith(WORD):
            return cls(folded, marked[1:], marked)
        return cls(folded, marked, None)

    def rank(self, text: str) -> int | None:
        """0 when the query starts a word of the search text `text`, 1 when it is
        elsewhere in it, None when it is not in it (as store.queries.find ranks)."""
        if self.word_start is not None and self.word_start in text:
            return 0
        return 1 if self.contains in text else None
