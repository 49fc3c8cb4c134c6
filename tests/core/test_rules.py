"""Rules: matching, explanation and description (README, "What each status means": rules)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import pytest

from healthdesk.core.model import Condition, Op, Rule, Side
from healthdesk.core.rules import (
    ConditionResult,
    Explanation,
    RuleResult,
    compile_side,
    describe_condition,
    describe_rule,
    explain,
    field_text,
    field_value,
    matches,
)

Q = "\u201c{}\u201d"  # “…”


def q(text: str) -> str:
    return Q.format(text)


def holds(
    op: Op,
    value: str | tuple[str, ...] | None,
    field: Any,
    *,
    missing: bool = False,
) -> bool:
    """Whether the one condition `f <op> value` holds for a record whose field f is `field`."""
    fields: dict[str, Any] = {} if missing else {"f": field}
    rule = Rule("r", Side.A, (Condition("f", op, value),))
    result = matches([rule], "Ann", "ann@example.com", fields)
    # The compiled predicate and the explanation must agree on every single case.
    assert compile_side([rule])("Ann", "ann@example.com", fields) is result
    assert explain([rule], "Ann", "ann@example.com", fields).matches is result
    return result


# --------------------------------------------------------------------------- field values


def test_field_value_reads_name_email_and_fields() -> None:
    fields = {"name": "shadowed", "city": "Oslo"}
    assert field_value("Ann", "ann@x.io", fields, "name") == "Ann"
    assert field_value("Ann", "ann@x.io", fields, "email") == "ann@x.io"
    assert field_value("Ann", "ann@x.io", fields, "city") == "Oslo"
    assert field_value("Ann", "ann@x.io", fields, "missing") is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("  Hello ", "  Hello "),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-7, "-7"),
        (3.0, "3"),
        (-2.0, "-2"),
        (3.5, "3.5"),
        (["a", "B", 1, 2.0, True, None], "a, B, 1, 2, true, "),
        ([], ""),
        ({"k": [1, "é"]}, '{"k":[1,"é"]}'),
        ({}, "{}"),
    ],
)
def test_field_text(value: Any, text: str) -> None:
    assert field_text(value) == text


# --------------------------------------------------------------------------- each op


@pytest.mark.parametrize(
    ("op", "value", "field", "expected"),
    [
        # equals / not_equals: case- and white-space-insensitive on both sides
        (Op.EQUALS, "customer", "customer", True),
        (Op.EQUALS, "customer", "  CUSTOMER\t", True),
        (Op.EQUALS, " Customer ", "customer", True),
        (Op.EQUALS, "customer", "lead", False),
        (Op.EQUALS, "customer", "customers", False),
        (Op.EQUALS, "", "", True),
        (Op.EQUALS, "", "   ", True),
        (Op.EQUALS, "", None, True),
        (Op.EQUALS, "STRASSE", "straße", True),  # casefold, not lower
        (Op.EQUALS, "Straße", "STRASSE", True),
        (Op.HAS_TAG, "STRASSE", ["Straße"], True),
        (Op.NOT_EQUALS, "customer", "lead", True),
        (Op.NOT_EQUALS, "customer", " Customer", False),
        (Op.NOT_EQUALS, "customer", None, True),
        (Op.NOT_EQUALS, "customer", "", True),
        # contains / not_contains
        (Op.CONTAINS, "acme", "ann@ACME.com", True),
        (Op.CONTAINS, " acme ", "ann@acme.com", True),
        (Op.CONTAINS, "acme", "ann@example.com", False),
        (Op.CONTAINS, "x", None, False),
        (Op.NOT_CONTAINS, "acme", "ann@example.com", True),
        (Op.NOT_CONTAINS, "acme", "ann@Acme.com", False),
        (Op.NOT_CONTAINS, "acme", None, True),
        # starts_with / ends_with (the field is stripped first)
        (Op.STARTS_WITH, "ann", "  Anna", True),
        (Op.STARTS_WITH, "ann", "Joanna", False),
        (Op.STARTS_WITH, "x", None, False),
        (Op.ENDS_WITH, "@acme.com", "ann@ACME.COM  ", True),
        (Op.ENDS_WITH, "@acme.com", "ann@acme.com.evil", False),
        (Op.ENDS_WITH, "x", None, False),
        # is_empty / is_not_empty
        (Op.IS_EMPTY, None, None, True),
        (Op.IS_EMPTY, None, "", True),
        (Op.IS_EMPTY, None, " \t\n", True),
        (Op.IS_EMPTY, None, [], True),
        (Op.IS_EMPTY, None, {}, True),
        (Op.IS_EMPTY, None, "x", False),
        (Op.IS_EMPTY, None, ["x"], False),
        (Op.IS_EMPTY, None, 0, False),
        (Op.IS_EMPTY, None, False, False),
        (Op.IS_NOT_EMPTY, None, "x", True),
        (Op.IS_NOT_EMPTY, None, ["x"], True),
        (Op.IS_NOT_EMPTY, None, 0, True),
        (Op.IS_NOT_EMPTY, None, None, False),
        (Op.IS_NOT_EMPTY, None, "  ", False),
        (Op.IS_NOT_EMPTY, None, [], False),
        # in / not_in: each list entry normalized too
        (Op.IN, ("US", " ca "), "us", True),
        (Op.IN, ("US", " ca "), " CA ", True),
        (Op.IN, ("US", "CA"), "DE", False),
        (Op.IN, ("US", "CA"), None, False),
        (Op.IN, ("US", ""), None, True),
        (Op.IN, ("1", "2"), 2, True),
        (Op.IN, ("1", "2"), 2.0, True),
        (Op.NOT_IN, ("US", "CA"), "DE", True),
        (Op.NOT_IN, ("US", "CA"), "Us", False),
        (Op.NOT_IN, ("US", "CA"), None, True),
        # has_tag / lacks_tag
        (Op.HAS_TAG, "vip", ["a", " VIP "], True),
        (Op.HAS_TAG, " Vip", ["vip"], True),
        (Op.HAS_TAG, "vip", ["a", "vips"], False),
        (Op.HAS_TAG, "vip", [], False),
        (Op.HAS_TAG, "vip", None, False),
        (Op.HAS_TAG, "vip", "VIP", True),  # a non-empty scalar is a one-item list
        (Op.HAS_TAG, "vip", "vip, gold", False),  # ... not split on commas
        (Op.HAS_TAG, "7", [7, 8], True),
        (Op.HAS_TAG, "7", 7, True),
        (Op.HAS_TAG, "", "", False),  # an empty field holds no tags
        (Op.LACKS_TAG, "vip", ["a", "b"], True),
        (Op.LACKS_TAG, "vip", ["a", "Vip"], False),
        (Op.LACKS_TAG, "vip", None, True),
        (Op.LACKS_TAG, "vip", [], True),
        (Op.LACKS_TAG, "vip", " vip ", False),
    ],
)
def test_op(op: Op, value: str | tuple[str, ...] | None, field: Any, expected: bool) -> None:
    assert holds(op, value, field) is expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        (Op.EQUALS, "x", False),
        (Op.EQUALS, "", True),
        (Op.NOT_EQUALS, "x", True),
        (Op.CONTAINS, "x", False),
        (Op.NOT_CONTAINS, "x", True),
        (Op.STARTS_WITH, "x", False),
        (Op.ENDS_WITH, "x", False),
        (Op.IS_EMPTY, None, True),
        (Op.IS_NOT_EMPTY, None, False),
        (Op.IN, ("x", "y"), False),
        (Op.NOT_IN, ("x", "y"), True),
        (Op.HAS_TAG, "x", False),
        (Op.LACKS_TAG, "x", True),
    ],
)
def test_missing_field_is_empty(
    op: Op, value: str | tuple[str, ...] | None, expected: bool
) -> None:
    assert holds(op, value, None, missing=True) is expected


@pytest.mark.parametrize(
    ("op", "value", "field", "expected"),
    [
        (Op.EQUALS, "true", True, True),
        (Op.EQUALS, "TRUE", True, True),
        (Op.EQUALS, "false", False, True),
        (Op.EQUALS, "true", False, False),
        (Op.EQUALS, "3", 3, True),
        (Op.EQUALS, "3", 3.0, True),
        (Op.EQUALS, "3.0", 3.0, False),
        (Op.EQUALS, "3.5", 3.5, True),
        (Op.EQUALS, "0", 0, True),
        (Op.STARTS_WITH, "12", 1234, True),
        (Op.CONTAINS, "b, c", ["a", "B", "c"], True),  # a list as text: joined with ", "
        (Op.EQUALS, "a, b", ["A", "b"], True),
        (Op.EQUALS, "", [], True),
        (Op.CONTAINS, '"k":1', {"k": 1}, True),  # a dict as text: compact JSON
    ],
)
def test_numbers_bools_and_lists_as_text(op: Op, value: str, field: Any, expected: bool) -> None:
    assert holds(op, value, field) is expected


@pytest.mark.parametrize("op", [Op.EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH])
def test_negations_are_exact(op: Op) -> None:
    negation = {
        Op.EQUALS: Op.NOT_EQUALS,
        Op.CONTAINS: Op.NOT_CONTAINS,
    }.get(op)
    for field in ["Ann", "", None, "  ann  ", ["ann"], 0, True]:
        for value in ["ann", "", "n", "x"]:
            result = holds(op, value, field)
            if negation is not None:
                assert holds(negation, value, field) is (not result)


def test_name_and_email_fields() -> None:
    by_email = Rule("r", Side.B, (Condition("email", Op.ENDS_WITH, "@ACME.com"),))
    by_name = Rule("r", Side.B, (Condition("name", Op.STARTS_WITH, "ann"),))
    assert matches([by_email], "Bob", " bob@acme.com ", {}) is True
    assert matches([by_email], "Bob", "bob@other.com", {"email": "x@acme.com"}) is False
    assert matches([by_name], "Anna Smith", "", {}) is True
    assert matches([by_name], "Bob", "", {"name": "Ann"}) is False


# --------------------------------------------------------------------------- rules and sides

CUSTOMER = Condition("lifecycle_stage", Op.EQUALS, "customer")
VIP = Condition("tags", Op.HAS_TAG, "vip")
ACME = Condition("email", Op.ENDS_WITH, "@acme.com")


def test_no_rules_never_matches() -> None:
    predicate = compile_side([])
    assert predicate("Ann", "ann@acme.com", {}) is False
    assert predicate("", "", {"anything": "x"}) is False
    assert matches([], "Ann", "ann@acme.com", {"tags": ["vip"]}) is False


def test_rule_without_conditions_always_matches() -> None:
    everyone = Rule("all", Side.A)
    assert matches([everyone], "", "", {}) is True
    assert matches([Rule("r1", Side.A, (CUSTOMER,)), everyone], "", "", {}) is True
    assert compile_side([everyone])("Ann", "ann@x.io", {"tags": None}) is True


def test_all_conditions_of_a_rule_must_hold() -> None:
    rule = Rule("r1", Side.A, (CUSTOMER, VIP, ACME))
    good = {"lifecycle_stage": "Customer", "tags": ["vip"]}
    assert matches([rule], "Ann", "ann@acme.com", good) is True
    assert matches([rule], "Ann", "ann@other.com", good) is False
    assert matches([rule], "Ann", "ann@acme.com", {**good, "tags": ["gold"]}) is False
    assert matches([rule], "Ann", "ann@acme.com", {**good, "lifecycle_stage": "lead"}) is False
    two = Rule("r2", Side.A, (CUSTOMER, VIP))
    assert matches([two], "Ann", "ann@acme.com", good) is True
    assert matches([two], "Ann", "ann@acme.com", {"tags": ["vip"]}) is False


def test_any_rule_of_several_matches() -> None:
    rules = [
        Rule("r1", Side.A, (CUSTOMER, VIP)),
        Rule("r2", Side.A, (ACME,)),
        Rule("r3", Side.A, (Condition("country", Op.IN, ("NO", "SE")),)),
    ]
    predicate = compile_side(rules)
    assert predicate("Ann", "ann@acme.com", {}) is True  # r2
    assert predicate("Ann", "ann@x.io", {"lifecycle_stage": "customer", "tags": "VIP"}) is True
    assert predicate("Ann", "ann@x.io", {"country": " se "}) is True  # r3
    assert predicate("Ann", "ann@x.io", {"lifecycle_stage": "customer", "country": "DK"}) is False
    assert predicate("Ann", "ann@x.io", {}) is False


def test_compiled_predicate_is_reusable() -> None:
    predicate = compile_side([Rule("r1", Side.A, (CUSTOMER,))])
    results = [predicate("", "", {"lifecycle_stage": v}) for v in ["customer", "lead"] * 3]
    assert results == [True, False] * 3


# --------------------------------------------------------------------------- explanation


def test_explain_structure() -> None:
    rule = Rule("r1", Side.A, (CUSTOMER, VIP))
    result = explain([rule], "Ann", "ann@x.io", {"lifecycle_stage": " Lead ", "tags": ["a", "b"]})
    assert result == Explanation(
        matches=False,
        rules=(
            RuleResult(
                rule=rule,
                holds=False,
                conditions=(
                    ConditionResult(condition=CUSTOMER, holds=False, actual="Lead"),
                    ConditionResult(condition=VIP, holds=False, actual="a, b"),
                ),
            ),
        ),
    )


def test_sentence_no_rules() -> None:
    assert explain([], "Ann", "ann@x.io", {}).sentence("HubSpot") == (
        "No rule syncs contacts from HubSpot."
    )


def test_sentence_one_failing_rule() -> None:
    rule = Rule("r1", Side.A, (Condition("lifecycle stage", Op.EQUALS, "customer"),))
    explanation = explain([rule], "Ann", "ann@x.io", {"lifecycle stage": "lead"})
    assert explanation.sentence("HubSpot") == (
        f"No rule from HubSpot matches: rule r1 needs lifecycle stage equal to {q('customer')},"
        f" but it is {q('lead')}."
    )


def test_sentence_several_failing_rules_name_the_first_failing_condition() -> None:
    rules = [
        Rule("r1", Side.A, (VIP, CUSTOMER)),
        Rule("r2", Side.A, (CUSTOMER, ACME)),
        Rule("r3", Side.A, (Condition("country", Op.IN, ("NO", "SE")),)),
    ]
    fields = {"lifecycle_stage": "customer", "tags": ["a", "b"]}
    explanation = explain(rules, "Ann", "ann@x.io", fields)
    assert explanation.matches is False
    assert explanation.sentence("HubSpot") == (
        "No rule from HubSpot matches: "
        f"rule r1 needs tags to include {q('vip')}, but it is {q('a, b')}; "
        f"rule r2 needs email to end with {q('@acme.com')}, but it is {q('ann@x.io')}; "
        f"rule r3 needs country to be one of {q('NO')}, {q('SE')}, but it is empty."
    )


@pytest.mark.parametrize(
    ("condition", "fields", "why"),
    [
        (
            Condition("f", Op.NOT_EQUALS, "x"),
            {"f": "X"},
            f"f not equal to {q('x')}, but it is {q('X')}"
            " (case and surrounding spaces are ignored)",
        ),
        (Condition("f", Op.CONTAINS, "x"), {}, f"f to contain {q('x')}, but it is empty"),
        (
            Condition("f", Op.NOT_CONTAINS, "x"),
            {"f": "axe"},
            f"f not to contain {q('x')}, but it is {q('axe')}",
        ),
        (
            Condition("f", Op.STARTS_WITH, "x"),
            {"f": "a"},
            f"f to start with {q('x')}, but it is {q('a')}",
        ),
        (Condition("f", Op.IS_EMPTY), {"f": [1, 2.0]}, f"f to be empty, but it is {q('1, 2')}"),
        (Condition("f", Op.IS_NOT_EMPTY), {"f": "  "}, "f not to be empty, but it is empty"),
        (
            Condition("f", Op.NOT_IN, ("a", "b")),
            {"f": "A"},
            f"f to be none of {q('a')}, {q('b')}, but it is {q('A')}",
        ),
        (
            Condition("f", Op.LACKS_TAG, "vip"),
            {"f": ["VIP"]},
            f"f not to include {q('vip')}, but it is {q('VIP')}"
            " (case and surrounding spaces are ignored)",
        ),
        (
            Condition("is_paid", Op.EQUALS, "true"),
            {"is_paid": False},
            f"is paid equal to {q('true')}, but it is {q('false')}",
        ),
    ],
)
def test_sentence_per_op(condition: Condition, fields: Mapping[str, Any], why: str) -> None:
    explanation = explain([Rule("r9", Side.B, (condition,))], "Ann", "ann@x.io", fields)
    assert (
        explanation.sentence("Mailchimp") == f"No rule from Mailchimp matches: rule r9 needs {why}."
    )


def test_sentence_match_names_the_first_matching_rule() -> None:
    rules = [Rule("r1", Side.B, (CUSTOMER,)), Rule("r2", Side.B, (VIP,)), Rule("r3", Side.B)]
    explanation = explain(rules, "Ann", "ann@x.io", {"tags": "vip"})
    assert explanation.matches is True
    assert [r.holds for r in explanation.rules] == [False, True, True]
    assert explanation.sentence("Mailchimp") == "Matches rule r2 from Mailchimp."


def _random_value(rng: random.Random) -> Any:
    words = ["vip", " VIP ", "Customer", "lead", "", "  ", "ann@acme.com", "3", "a, b"]
    kind = rng.randrange(8)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 3, -1, 3.0, 2.5])
    if kind == 3:
        return [rng.choice([*words, 3, None]) for _ in range(rng.randrange(4))]
    if kind == 4:
        return rng.choice([{}, {"k": "v"}])
    return rng.choice(words)


def _random_condition(rng: random.Random) -> Condition:
    field = rng.choice(["name", "email", "f", "g", "missing"])
    op = rng.choice(list(Op))
    texts = ["vip", "customer", "", "ann", "acme.com", "3", "a, b", "true", "{}"]
    value: str | tuple[str, ...] | None
    if op in (Op.IS_EMPTY, Op.IS_NOT_EMPTY):
        value = None
    elif op in (Op.IN, Op.NOT_IN):
        value = tuple(rng.choice(texts).upper() for _ in range(rng.randrange(1, 4)))
    else:
        value = rng.choice(texts) + rng.choice(["", " "])
    return Condition(field, op, value)


def test_explanation_is_consistent_with_matches() -> None:
    rng = random.Random(20240601)
    seen = {True: 0, False: 0}
    for _ in range(3000):
        rules = [
            Rule(
                f"r{i}",
                Side.A,
                tuple(_random_condition(rng) for _ in range(rng.randrange(4))),
            )
            for i in range(rng.randrange(4))
        ]
        name = rng.choice(["Ann", " ann ", "", "Customer"])
        email = rng.choice(["ann@acme.com", "", "VIP"])
        fields = {"f": _random_value(rng), "g": _random_value(rng)}
        expected = matches(rules, name, email, fields)
        assert compile_side(rules)(name, email, fields) is expected
        explanation = explain(rules, name, email, fields)
        assert explanation.matches is expected
        assert len(explanation.rules) == len(rules)
        for rule_result in explanation.rules:
            assert rule_result.holds is all(c.holds for c in rule_result.conditions)
            assert rule_result.holds is matches([rule_result.rule], name, email, fields)
            for c in rule_result.conditions:
                single = Rule("x", Side.A, (c.condition,))
                assert c.holds is matches([single], name, email, fields)
        sentence = explanation.sentence("HubSpot")
        if not rules:
            assert sentence == "No rule syncs contacts from HubSpot."
        elif expected:
            assert sentence.startswith("Matches rule r")
        else:
            assert sentence.startswith("No rule from HubSpot matches: rule r0 needs ")
            assert sentence.count("; ") >= len(rules) - 1
        seen[expected] += 1
    assert seen[True] > 300
    assert seen[False] > 300


# --------------------------------------------------------------------------- descriptions


def test_describe_rule() -> None:
    rule = Rule("r1", Side.A, (Condition("lifecycle_stage", Op.EQUALS, "customer"), VIP))
    assert describe_rule(rule, "HubSpot") == (
        f"HubSpot contacts where lifecycle stage is {q('customer')} and tags include {q('vip')}"
    )
    assert describe_rule(Rule("r2", Side.B), "Mailchimp") == "All Mailchimp contacts"
    assert describe_rule(Rule("r3", Side.B, (ACME,)), "Mailchimp") == (
        f"Mailchimp contacts where email ends with {q('@acme.com')}"
    )


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        (
            Condition("lifecycle_stage", Op.EQUALS, "customer"),
            f"lifecycle stage is {q('customer')}",
        ),
        (Condition("lifecyclestage", Op.NOT_EQUALS, "lead"), f"lifecyclestage is not {q('lead')}"),
        (Condition("job-title", Op.CONTAINS, "CEO"), f"job title contains {q('CEO')}"),
        (Condition("email", Op.NOT_CONTAINS, "test"), f"email does not contain {q('test')}"),
        (Condition("name", Op.STARTS_WITH, "Dr"), f"name starts with {q('Dr')}"),
        (Condition("email", Op.ENDS_WITH, "@acme.com"), f"email ends with {q('@acme.com')}"),
        (Condition("phone", Op.IS_EMPTY), "phone is empty"),
        (Condition("phone", Op.IS_NOT_EMPTY), "phone is not empty"),
        (Condition("country", Op.IN, ("NO", "SE")), f"country is one of {q('NO')}, {q('SE')}"),
        (Condition("country", Op.NOT_IN, ("DK",)), f"country is none of {q('DK')}"),
        (Condition("tags", Op.HAS_TAG, "vip"), f"tags include {q('vip')}"),
        (Condition("tags", Op.LACKS_TAG, "spam"), f"tags do not include {q('spam')}"),
        (Condition("segment", Op.HAS_TAG, "vip"), f"segment includes {q('vip')}"),
        (Condition("segment", Op.LACKS_TAG, "vip"), f"segment does not include {q('vip')}"),
    ],
)
def test_describe_condition(condition: Condition, words: str) -> None:
    assert describe_condition(condition) == words


def test_every_op_is_described_and_explained() -> None:
    for op in Op:
        value: str | tuple[str, ...] | None = (
            None
            if op in (Op.IS_EMPTY, Op.IS_NOT_EMPTY)
            else ("x",)
            if op in (Op.IN, Op.NOT_IN)
            else "x"
        )
        condition = Condition("f", op, value)
        assert describe_condition(condition).startswith("f ")
        explanation = explain([Rule("r", Side.A, (condition,))], "", "", {})
        assert explanation.sentence("App").endswith(".")
