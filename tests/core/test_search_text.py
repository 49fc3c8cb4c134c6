"""What a search compares: folding, word starts, and a contact's search text."""

from __future__ import annotations

from healthdesk.core.search_text import FIELD, WORD, Pattern, document, fold


def test_fold_ignores_case_accents_and_controls() -> None:
    assert fold("STRASSE") == fold("Straße") == "strasse"
    assert fold("Zoë") == fold("ZOE") == "zoe"
    assert fold("José Ñúñez") == "jose nunez"
    assert fold("ﬁne ①") == "fine 1"
    assert fold("a\tb\u202ec\x00d") == "a b c d"
    assert fold("Dąbrowski Øre") == "dabrowski øre"  # ø has no decomposition: kept


def test_a_search_text_marks_word_starts_between_field_separators() -> None:
    text = document(["Ann-Marie Lee", "ann.lee@example.com", None, "", "Ann-Marie Lee", "42"])
    fields = text.split(FIELD)
    assert fields[0] == ""
    assert fields[-2:] == ["", ""]
    assert fields[1:-2] == [
        f"{WORD}ann-{WORD}marie {WORD}lee",
        f"{WORD}ann.{WORD}lee@{WORD}example.{WORD}com",
        f"{WORD}42",
    ]


def test_a_pattern_is_contained_exactly_where_the_folded_query_is() -> None:
    text = document(["Joanne Smith", "alannagy@example.com", "mc_7731"])
    ann = Pattern.of("ANN")
    assert ann is not None
    assert ann.rank(text) == 1  # in "joanne" and "alannagy", at no word start
    assert ann.rank(document(["Zed Ann"])) == 0
    assert ann.rank(document(["Anne"])) == 0
    assert ann.rank(document(["A. Nn"])) is None
    spaced = Pattern.of("e sm")
    assert spaced is not None
    assert spaced.rank(text) == 1
    at = Pattern.of("@example")
    assert at is not None
    assert at.word_start is None
    assert at.rank(text) == 1
    digits = Pattern.of("7731")
    assert digits is not None
    assert digits.rank(text) == 0  # "_" is neither a letter nor a digit: "7731" starts a word
    assert Pattern.of("  \t ") is None
    assert Pattern.of("\u202e") is None
