"""core.safe_text: what a terminal, a sentence or a spreadsheet gets of customer text."""

from __future__ import annotations

import pytest

from healthdesk.core.safe_text import (
    FSI,
    PDI,
    escape_controls,
    isolate,
    json_safe,
    mask_emails,
    neutralize_cell,
    one_line,
    terminal_text,
)

ESC = "\x1b"
RLO = "\u202e"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Ada Lovelace", "Ada Lovelace"),
        (f"{ESC}[31mRed{ESC}[0m", "\\x1b[31mRed\\x1b[0m"),
        ("ring\x07", "ring\\x07"),
        ("line\r\nforged: ok", "line\\r\\nforged: ok"),
        ("tab\there", "tab\\there"),
        ("del\x7f c1\x9b", "del\\x7f c1\\x9b"),
        ("para\u2028graph", "para\\u2028graph"),
        ("José Núñez", "José Núñez"),
    ],
)
def test_escape_controls_keeps_one_visible_line(text: str, shown: str) -> None:
    assert escape_controls(text) == shown


def test_isolate_wraps_only_text_that_can_reorder() -> None:
    assert isolate("plain") == "plain"
    assert isolate(f"{RLO}evil") == f"{FSI}{RLO}evil{PDI}"
    assert isolate("שלום") == f"{FSI}שלום{PDI}"


def test_isolate_drops_a_stray_pdi_and_closes_what_the_value_opened() -> None:
    # A stray PDI would close our isolate early; an opened isolate is closed for it.
    assert isolate(f"{PDI}{RLO}x") == f"{FSI}{RLO}x{PDI}"
    assert isolate(f"\u2067x{RLO}") == f"{FSI}\u2067x{RLO}{PDI}{PDI}"


def test_terminal_text_and_one_line() -> None:
    assert terminal_text(f"{RLO}a\nb") == f"{FSI}{RLO}a\\nb{PDI}"
    long = "x" * 600
    assert one_line(long, limit=100) == "x" * 99 + "…"
    assert "\n" not in one_line(f"bad\r\n{ESC}]0;title\x07")


def test_json_safe_escapes_what_json_leaves_raw_and_keeps_the_data() -> None:
    import orjson

    data = {"name": f"{RLO}x\x9b\x7f\u2028"}
    text = json_safe(orjson.dumps(data).decode())
    assert text.isascii()
    assert orjson.loads(text) == data


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ('\uff1dHYPERLINK("x")', '\'\uff1dHYPERLINK("x")'),
        ("\uff0b1", "'\uff0b1"),
        ("\uff0d1", "'\uff0d1"),
        ("\uff20SUM(A1)", "'\uff20SUM(A1)"),
        ("  =1+1", "'  =1+1"),
        (" \t=1", "' \t=1"),
        ("\u3000=1", "'\u3000=1"),
        ("a=b", "a=b"),
        (f"{ESC}[2J", "\\x1b[2J"),
        ("two\nlines", "two\nlines"),
    ],
)
def test_neutralize_cell(cell: str, safe: str) -> None:
    assert neutralize_cell(cell) == safe


def test_mask_emails_keeps_the_first_letter_and_the_domain() -> None:
    text = "ada.lovelace@example.com looks fake; <bob@x.io>, not an email: a@b"
    assert mask_emails(text) == "a…@example.com looks fake; <b…@x.io>, not an email: a@b"
