"""Every step of the README's "What each status means", alone and in combination, on the
engine itself."""

from __future__ import annotations

import pytest

from healthdesk.core.health import Decision, RecordFacts, decide, normalize_email
from healthdesk.core.model import Direction, Reason, Settings, Side, Status

TWO_WAY = Settings(direction=Direction.TWO_WAY, avoid_duplicates=True, rules=())
A_TO_B = Settings(direction=Direction.A_TO_B, avoid_duplicates=True, rules=())
B_TO_A = Settings(direction=Direction.B_TO_A, avoid_duplicates=True, rules=())
NO_AVOID = Settings(direction=Direction.TWO_WAY, avoid_duplicates=False, rules=())

_keys = iter(range(1, 1_000_000))


def rec(
    app: str = "a",
    *,
    email: str = "x@example.com",
    matches: bool = True,
    created: str = "2026-01-01T00:00:00.000Z",
    rid: str | None = None,
    deleted: bool = False,
    write: tuple[int, bool] | None = None,
) -> RecordFacts:
    key = next(_keys)
    return RecordFacts(
        key=key,
        app=Side(app),
        id=rid or f"id{key}",
        email=normalize_email(email),
        created_at=created,
        matches=matches,
        deleted=deleted,
        last_write_seq=write[0] if write else None,
        last_write_failed=write[1] if write else False,
    )


def run(
    settings: Settings,
    records: list[RecordFacts],
    pairs: list[tuple[RecordFacts, RecordFacts]] = (),
) -> dict[int, Decision]:
    """Decisions by the key of each record they concern."""
    result: dict[int, Decision] = {}
    for decision in decide(settings, records, [(a.key, b.key) for a, b in pairs]):
        for key in (decision.a, decision.b):
            if key is not None:
                assert key not in result, "a record is in two contacts"
                result[key] = decision
    return result


def test_normalize_email() -> None:
    assert normalize_email("  Ada@Example.COM ") == "ada@example.com"
    assert normalize_email("   ") == ""
    assert normalize_email(None) == ""


# -- mapped pairs ----------------------------------------------------------------------------


def test_pair_in_sync() -> None:
    a, b = rec("a"), rec("b")
    d = run(TWO_WAY, [a, b], [(a, b)])[a.key]
    assert (d.status, d.reason, d.a, d.b, d.anchor) == (Status.IN_SYNC, None, a.key, b.key, a.key)


def test_pair_excluded_when_neither_matches() -> None:
    a, b = rec("a", matches=False), rec("b", matches=False)
    d = run(TWO_WAY, [a, b], [(a, b)])[a.key]
    assert (d.status, d.reason) == (Status.EXCLUDED, Reason.NO_RULE_MATCH)


@pytest.mark.parametrize(("a_matches", "b_matches"), [(True, False), (False, True)])
def test_two_way_pair_stays_in_sync_when_one_side_matches(a_matches: bool, b_matches: bool) -> None:
    a, b = rec("a", matches=a_matches), rec("b", matches=b_matches)
    assert run(TWO_WAY, [a, b], [(a, b)])[a.key].status is Status.IN_SYNC


@pytest.mark.parametrize(
    ("settings", "a_matches", "b_matches", "expected"),
    [
        (A_TO_B, True, False, Status.IN_SYNC),
        (A_TO_B, False, True, Status.EXCLUDED),  # only the source side's rules count
        (B_TO_A, False, True, Status.IN_SYNC),
        (B_TO_A, True, False, Status.EXCLUDED),
    ],
)
def test_one_way_pair_counts_only_the_source_rules(
    settings: Settings, a_matches: bool, b_matches: bool, expected: Status
) -> None:
    a, b = rec("a", matches=a_matches), rec("b", matches=b_matches)
    assert run(settings, [a, b], [(a, b)])[a.key].status is expected


def test_pair_failing_when_latest_write_of_either_failed() -> None:
    a, b = rec("a", write=(3, False)), rec("b", write=(7, True))
    d = run(TWO_WAY, [a, b], [(a, b)])[a.key]
    assert (d.status, d.failure_seq) == (Status.FAILING, 7)


def test_pair_back_in_sync_after_a_later_successful_write() -> None:
    a, b = rec("a", write=(9, False)), rec("b", write=(7, True))
    assert run(TWO_WAY, [a, b], [(a, b)])[a.key].status is Status.IN_SYNC


def test_pair_with_only_a_failure_on_one_side() -> None:
    a, b = rec("a", write=(4, True)), rec("b")
    d = run(TWO_WAY, [a, b], [(a, b)])[a.key]
    assert (d.status, d.failure_seq) == (Status.FAILING, 4)


def test_excluded_wins_over_failing_for_a_pair() -> None:
    a, b = rec("a", matches=False, write=(4, True)), rec("b", matches=False)
    assert run(TWO_WAY, [a, b], [(a, b)])[a.key].status is Status.EXCLUDED


@pytest.mark.parametrize("which", ["a", "b"])
def test_pair_with_a_deleted_record_keeps_its_status_and_is_flagged(which: str) -> None:
    a, b = rec("a", deleted=which == "a"), rec("b", deleted=which == "b")
    d = run(TWO_WAY, [a, b], [(a, b)])[a.key]
    assert (d.status, d.opposite_deleted) == (Status.IN_SYNC, True)
    failing_a, failing_b = rec("a", deleted=True, write=(2, True)), rec("b")
    d = run(TWO_WAY, [failing_a, failing_b], [(failing_a, failing_b)])[failing_a.key]
    assert (d.status, d.opposite_deleted) == (Status.FAILING, True)


def test_pair_is_never_a_duplicate_nor_excluded_for_lack_of_email() -> None:
    a, b = rec("a", email=""), rec("b", email="")
    other = rec("a", email="", created="2025-01-01T00:00:00.000Z")
    result = run(TWO_WAY, [a, b, other], [(a, b)])
    assert result[a.key].status is Status.IN_SYNC
    assert result[other.key].reason is Reason.NO_EMAIL


# -- unmapped records ------------------------------------------------------------------------


def test_single_excluded_no_rule_match_before_no_email() -> None:
    r = rec(email="", matches=False)
    d = run(TWO_WAY, [r])[r.key]
    assert (d.status, d.reason, d.a, d.b) == (Status.EXCLUDED, Reason.NO_RULE_MATCH, r.key, None)


def test_single_no_email_only_with_avoid_duplicates() -> None:
    r = rec(email="  ")
    assert run(TWO_WAY, [r])[r.key].reason is Reason.NO_EMAIL
    r2 = rec(email="")
    assert run(NO_AVOID, [r2])[r2.key].status is Status.PENDING


def test_duplicate_of_the_earliest_unmapped_record() -> None:
    first = rec(email="Ada@Example.com ", created="2026-01-01T00:00:00.000Z")
    second = rec(email=" ada@example.com", created="2026-01-02T00:00:00.000Z")
    third = rec(email="ADA@EXAMPLE.COM", created="2026-01-03T00:00:00.000Z")
    result = run(TWO_WAY, [third, second, first])
    assert result[first.key].status is Status.PENDING
    for dup in (second, third):
        assert (result[dup.key].status, result[dup.key].duplicate_of) == (
            Status.DUPLICATE,
            first.key,
        )


def test_duplicate_tie_on_created_at_broken_by_id() -> None:
    x = rec(rid="200", created="2026-01-01T00:00:00.000Z")
    y = rec(rid="100", created="2026-01-01T00:00:00.000Z")
    result = run(TWO_WAY, [x, y])
    assert result[y.key].status is Status.PENDING
    assert result[x.key].duplicate_of == y.key


def test_mapped_record_is_the_original_even_if_later() -> None:
    a = rec("a", created="2026-06-01T00:00:00.000Z")
    b = rec("b")
    early = rec("a", created="2026-01-01T00:00:00.000Z")
    result = run(TWO_WAY, [a, b, early], [(a, b)])
    assert result[a.key].status is Status.IN_SYNC
    assert (result[early.key].status, result[early.key].duplicate_of) == (Status.DUPLICATE, a.key)


def test_earliest_mapped_record_is_the_original_among_several() -> None:
    a1, b1 = rec("a", created="2026-03-01T00:00:00.000Z"), rec("b", email="p@x.com")
    a2, b2 = rec("a", created="2026-02-01T00:00:00.000Z"), rec("b", email="q@x.com")
    single = rec("a", created="2026-01-01T00:00:00.000Z")
    result = run(TWO_WAY, [a1, b1, a2, b2, single], [(a1, b1), (a2, b2)])
    assert result[single.key].duplicate_of == a2.key


def test_duplicates_are_per_app() -> None:
    in_a, in_b = rec("a"), rec("b")
    result = run(TWO_WAY, [in_a, in_b])
    assert result[in_a.key].status is Status.PENDING
    assert result[in_b.key].status is Status.PENDING


def test_excluded_records_are_neither_originals_nor_duplicates() -> None:
    excluded = rec(matches=False, created="2025-01-01T00:00:00.000Z")
    kept = rec(created="2026-01-01T00:00:00.000Z")
    result = run(TWO_WAY, [excluded, kept])
    assert result[excluded.key].status is Status.EXCLUDED
    assert result[kept.key].status is Status.PENDING


def test_no_duplicates_without_avoid_duplicates() -> None:
    x, y = rec(), rec()
    result = run(NO_AVOID, [x, y])
    assert {result[x.key].status, result[y.key].status} == {Status.PENDING}


def test_duplicate_wins_over_failing_and_the_original_can_fail() -> None:
    original = rec(created="2026-01-01T00:00:00.000Z", write=(5, True))
    dup = rec(created="2026-01-02T00:00:00.000Z", write=(6, True))
    result = run(TWO_WAY, [original, dup])
    assert (result[original.key].status, result[original.key].failure_seq) == (Status.FAILING, 5)
    assert result[dup.key].status is Status.DUPLICATE


def test_single_failing_then_pending_after_success() -> None:
    failing = rec(write=(5, True))
    assert run(TWO_WAY, [failing])[failing.key].status is Status.FAILING
    fixed = rec(write=(5, False))
    assert run(TWO_WAY, [fixed])[fixed.key].status is Status.PENDING


def test_pending_when_nothing_happened_yet() -> None:
    r = rec()
    d = run(TWO_WAY, [r])[r.key]
    assert (d.status, d.reason, d.duplicate_of, d.failure_seq) == (Status.PENDING, None, None, None)


def test_b_record_single_is_stored_under_b() -> None:
    r = rec("b")
    d = run(TWO_WAY, [r])[r.key]
    assert (d.a, d.b, d.anchor) == (None, r.key, r.key)


# -- hiding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("settings", "hidden"), [(A_TO_B, "b"), (B_TO_A, "a")])
def test_one_way_hides_unmapped_target_records(settings: Settings, hidden: str) -> None:
    shown_app = "a" if hidden == "b" else "b"
    target_only = rec(hidden)
    source_only = rec(shown_app)
    a, b = rec("a", email="p@x.com"), rec("b", email="p@x.com")
    result = run(settings, [target_only, source_only, a, b], [(a, b)])
    assert target_only.key not in result
    assert result[source_only.key].status is Status.PENDING
    assert result[a.key].status is Status.IN_SYNC  # mapped pairs are shown both ways


def test_deleted_unmapped_records_are_hidden_and_never_originals() -> None:
    gone = rec(deleted=True, created="2025-01-01T00:00:00.000Z")
    kept = rec(created="2026-01-01T00:00:00.000Z")
    result = run(TWO_WAY, [gone, kept])
    assert gone.key not in result
    assert result[kept.key].status is Status.PENDING


# -- the whole -----------------------------------------------------------------------------------


def test_every_visible_contact_has_exactly_one_status() -> None:
    a, b = rec("a", email="m@x.com"), rec("b", email="m@x.com")
    records = [
        a,
        b,
        rec("a", email="m@x.com", created="2026-05-01T00:00:00.000Z"),  # duplicate of a
        rec("a", email="", matches=True),  # no email
        rec("a", matches=False),  # no rule match
        rec("b", email="f@x.com", write=(9, True)),  # failing
        rec("b", email="p@x.com"),  # pending
        rec("b", deleted=True),  # hidden
    ]
    decisions = list(decide(TWO_WAY, records, [(a.key, b.key)]))
    statuses = sorted(d.status.value for d in decisions)
    assert statuses == sorted(
        ["in_sync", "duplicate", "excluded", "excluded", "failing", "pending"]
    )
    covered = [k for d in decisions for k in (d.a, d.b) if k is not None]
    assert len(covered) == len(set(covered)) == len(records) - 1


def queued(app: str = "a", *, seq: int, **keywords: object) -> RecordFacts:
    """A record whose latest write is a retry the service queued (README: pending)."""
    record = rec(app, **keywords)  # type: ignore[arg-type]
    record.last_write_seq = seq
    record.last_write_queued = True
    return record


def test_a_pair_whose_latest_write_is_a_queued_retry_is_pending() -> None:
    a, b = queued("a", seq=9), rec("b", write=(5, True))
    decided = run(TWO_WAY, [a, b], [(a, b)])
    assert decided[a.key].status is Status.PENDING
    assert decided[a.key].failure_seq is None


def test_a_write_after_the_queued_retry_decides_the_pair_again() -> None:
    a, b = queued("a", seq=9), rec("b", write=(12, True))
    assert run(TWO_WAY, [a, b], [(a, b)])[a.key].status is Status.FAILING
    a, b = queued("a", seq=9), rec("b", write=(12, False))
    assert run(TWO_WAY, [a, b], [(a, b)])[a.key].status is Status.IN_SYNC


def test_a_queued_retry_does_not_unexclude_a_pair() -> None:
    a, b = queued("a", seq=9, matches=False), rec("b", matches=False)
    assert run(TWO_WAY, [a, b], [(a, b)])[a.key].status is Status.EXCLUDED


def test_an_unmapped_record_with_a_queued_retry_is_pending() -> None:
    single = queued("a", seq=4)
    assert run(TWO_WAY, [single])[single.key].status is Status.PENDING
