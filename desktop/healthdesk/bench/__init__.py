"""`healthdesk bench`: the performance figures of issue 8, measured in one process tree.

Each figure is measured in a child process of its own (`bench.child`), so that its peak
memory is its own; the ratios compare figures of the same run on the same machine. A
suite (`bench.imports`: import, re-import, pull) is a function that returns `Figure`s;
`SUITES` lists them in the order they run, and a later suite (the window's first rows,
search, summary, timeline) adds itself there as more rows of the same table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure: `value` in `unit`, with its target in words and whether it
    holds (None when the figure has no target and is shown for reference)."""

    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class BenchContext:
    """What every suite of a run shares: the size, the seed and a work folder."""

    contacts: int
    seed: int
    work: Path
    #: progress(text): one line for the person waiting (stderr).
    say: Callable[[str], None] = field(default=lambda _text: None)
    #: A team store (postgresql:// URL) the bench may empty: bench.team measures it.
    team_store: str | None = None


Suite = Callable[[BenchContext], list[Figure]]


def suites() -> dict[str, Suite]:
    """The suites, by name, in the order they run."""
    from healthdesk.bench.imports import import_suite
    from healthdesk.bench.search import search_suite
    from healthdesk.bench.team import team_suite
    from healthdesk.bench.whatif import whatif_suite
    from healthdesk.bench.window import window_suite

    return {
        "import": import_suite,
        "window": window_suite,
        "search": search_suite,
        "whatif": whatif_suite,
        "team": team_suite,
    }
