"""Prints the failure catalog's recognition rate on the corpus at the end of a run."""

from __future__ import annotations

import pytest

#: Set by tests/core/test_failure_corpus.py: the lines of its recognition report.
CORPUS_REPORT = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(CORPUS_REPORT, None)
    if lines:
        terminalreporter.write_sep("-", "failure catalog on the corpus of real errors")
        for line in lines:
            terminalreporter.write_line(line)
