"""core.compare: the join of two identity streams, the tally of moves, failure changes."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from healthdesk.core.compare import (
    ABSENT,
    comparison,
    failure_changes,
    merge_by_identity,
    tally_moves,
)
from healthdesk.core.model import Side, Status

STATUSES = [status.value for status in Status]


@given(
    st.dictionaries(st.text(max_size=4), st.sampled_from(STATUSES)),
    st.dictionaries(st.text(max_size=4), st.sampled_from(STATUSES)),
)
def test_merge_joins_every_identity_once(old: dict[str, str], new: dict[str, str]) -> None:
    joined = list(merge_by_identity(sorted(old.items()), sorted(new.items())))
    assert [key for key, _o, _n in joined] == sorted(old.keys() | new.keys())
    assert all(o == old.get(k) and n == new.get(k) for k, o, n in joined)


@given(
    st.dictionaries(st.text(max_size=3), st.sampled_from(STATUSES)),
    st.dictionaries(st.text(max_size=3), st.sampled_from(STATUSES)),
)
def test_counts_are_those_of_each_side(old: dict[str, str], new: dict[str, str]) -> None:
    joined = merge_by_identity(sorted(old.items()), sorted(new.items()))
    result = comparison("c", tally_moves((o, n) for _k, o, n in joined))
    assert {s.value: n for s, n in result.before.items() if n} == Counter(old.values())
    assert {s.value: n for s, n in result.after.items() if n} == Counter(new.values())
    assert all(move.from_ != move.to for move in result.changed)
    assert sum(m.count for m in result.moves if m.from_ == ABSENT) == len(new.keys() - old.keys())


def test_failure_changes_keep_only_groups_that_changed_largest_first() -> None:
    before = {(Side.A, "gone"): 3, (Side.B, "same"): 2, (Side.B, "grew"): 1}
    after = {(Side.B, "same"): 2, (Side.B, "grew"): 5, (Side.A, "new"): 1}
    changes = failure_changes(before, after, lambda app, fp: f"{app.value}-{fp}")
    assert [(c.fingerprint, c.before, c.after, c.category) for c in changes] == [
        ("grew", 1, 5, "b-grew"),
        ("gone", 3, 0, "a-gone"),
        ("new", 0, 1, "a-new"),
    ]
