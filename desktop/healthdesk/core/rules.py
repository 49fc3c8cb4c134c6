"""Rules: whether a record of one app matches the rules of its side, and why (or why not).

The contract: README, "What each status means" (rules). A record of app X matches when at least
one rule from X holds for it; a rule holds when all of its conditions hold (an empty list
always holds); a side with no rule never matches. Every comparison of text is
case-insensitive (`str.casefold`) and ignores surrounding white space, on both the field
and the condition's value.

`compile_side` is the hot path (once per record on imports of a million records): it
normalizes the condition values once and returns a predicate built from small closures.
`explain` evaluates the very same closures, so an explanation always agrees with `matches`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from healthdesk.core.model import Condition, Op, Rule

__all__ = [
    "ConditionResult",
    "Explanation",
    "Predicate",
    "RuleResult",
    "compile_side",
    "describe_condition",
    "describe_rule",
    "explain",
    "field_text",
    "field_value",
    "matches",
]

#: `(name, email, fields) -> bool`: whether a record matches.
Predicate = Callable[[str, str, Mapping[str, Any]], bool]

_Test = Callable[[Any], bool]

_OPEN = "\u201c"  # left double quotation mark
_CLOSE = "\u201d"  # right double quotation mark


# --------------------------------------------------------------------------- field values


def field_value(name: str, email: str, fields: Mapping[str, Any], field: str) -> Any:
    """The value a condition on `field` reads: `name`, `email` or a key of `fields`.

    A missing field is None.
    """
    if field == "name":
        return name
    if field == "email":
        return email
    return fields.get(field)


def field_text(value: Any) -> str:
    """The field as text (not yet stripped nor case-folded).

    None is ""; a bool is "true"/"false"; an integral float is written without ".0"; a
    list is its items' texts joined with ", "; a dict is compact JSON.
    """
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(float(value))
    if isinstance(value, list | tuple):
        return ", ".join([field_text(item) for item in value])
    if isinstance(value, Mapping):
        return json.dumps(
            dict(value), separators=(",", ":"), ensure_ascii=False, default=field_text
        )
    return str(value)


def _norm(value: Any) -> str:
    """The field's text as compared: stripped and case-folded."""
    if type(value) is str:
        return value.strip().casefold()
    return field_text(value).strip().casefold()


def _norm_values(value: str | tuple[str, ...] | None) -> frozenset[str]:
    """A list condition value, each entry normalized (a single text is a one-entry list)."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({_norm(value)})
    return frozenset(_norm(entry) for entry in value)


def _is_empty(value: Any) -> bool:
    """Missing, None, "" (after strip), [] or {}."""
    if value is None:
        return True
    if type(value) is str:
        return not value.strip()
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | Mapping):
        return len(value) == 0
    return False


def _has_tag(value: Any, tag: str) -> bool:
    """Whether the field holds `tag` (normalized); a non-empty scalar is a one-item list."""
    if isinstance(value, list | tuple):
        for item in value:  # noqa: SIM110 - a loop: no generator per call (hot path)
            if _norm(item) == tag:
                return True
        return False
    if _is_empty(value):
        return False
    return _norm(value) == tag


# --------------------------------------------------------------------------- compiling


def _test(condition: Condition) -> _Test:
    """A closure `field value -> bool` for one condition, its value normalized once."""
    op = condition.op
    if op is Op.IS_EMPTY:
        return _is_empty
    if op is Op.IS_NOT_EMPTY:

        def is_not_empty(v: Any) -> bool:
            return not _is_empty(v)

        return is_not_empty
    if op is Op.IN or op is Op.NOT_IN:
        options = _norm_values(condition.value)
        if op is Op.IN:

            def is_in(v: Any) -> bool:
                if type(v) is str:
                    return v.strip().casefold() in options
                return _norm(v) in options

            return is_in

        def not_in(v: Any) -> bool:
            if type(v) is str:
                return v.strip().casefold() not in options
            return _norm(v) not in options

        return not_in

    target = _norm(condition.value)
    if op is Op.EQUALS:

        def equals(v: Any) -> bool:
            if type(v) is str:
                return v.strip().casefold() == target
            return _norm(v) == target

        return equals
    if op is Op.NOT_EQUALS:

        def not_equals(v: Any) -> bool:
            if type(v) is str:
                return v.strip().casefold() != target
            return _norm(v) != target

        return not_equals
    if op is Op.CONTAINS:

        def contains(v: Any) -> bool:
            if type(v) is str:
                return target in v.strip().casefold()
            return target in _norm(v)

        return contains
    if op is Op.NOT_CONTAINS:

        def not_contains(v: Any) -> bool:
            if type(v) is str:
                return target not in v.strip().casefold()
            return target not in _norm(v)

        return not_contains
    if op is Op.STARTS_WITH:

        def starts_with(v: Any) -> bool:
            if type(v) is str:
                return v.strip().casefold().startswith(target)
            return _norm(v).startswith(target)

        return starts_with
    if op is Op.ENDS_WITH:

        def ends_with(v: Any) -> bool:
            if type(v) is str:
                return v.strip().casefold().endswith(target)
            return _norm(v).endswith(target)

        return ends_with
    if op is Op.HAS_TAG:

        def has_tag(v: Any) -> bool:
            return _has_tag(v, target)

        return has_tag
    if op is Op.LACKS_TAG:

        def lacks_tag(v: Any) -> bool:
            return not _has_tag(v, target)

        return lacks_tag
    raise ValueError(f"unknown condition op: {op!r}")  # the feed parser rejects these


def _compile_condition(condition: Condition) -> Predicate:
    """A closure `(name, email, fields) -> bool` for one condition."""
    test = _test(condition)
    key = condition.field
    if key == "name":

        def on_name(name: str, email: str, fields: Mapping[str, Any]) -> bool:
            return test(name)

        return on_name
    if key == "email":

        def on_email(name: str, email: str, fields: Mapping[str, Any]) -> bool:
            return test(email)

        return on_email

    def on_field(name: str, email: str, fields: Mapping[str, Any]) -> bool:
        return test(fields.get(key))

    return on_field


def _always(name: str, email: str, fields: Mapping[str, Any]) -> bool:
    return True


def _never(name: str, email: str, fields: Mapping[str, Any]) -> bool:
    return False


def _all_of(conditions: Sequence[Predicate]) -> Predicate:
    """A rule: all of its conditions hold (none: always)."""
    if not conditions:
        return _always
    if len(conditions) == 1:
        return conditions[0]
    if len(conditions) == 2:
        first, second = conditions

        def both(name: str, email: str, fields: Mapping[str, Any]) -> bool:
            return first(name, email, fields) and second(name, email, fields)

        return both
    preds = tuple(conditions)

    def every(name: str, email: str, fields: Mapping[str, Any]) -> bool:
        for pred in preds:  # noqa: SIM110 - a loop: no generator per call (hot path)
            if not pred(name, email, fields):
                return False
        return True

    return every


def _any_of(rules: Sequence[Predicate]) -> Predicate:
    """A side: at least one of its rules holds (none: never)."""
    if not rules:
        return _never
    if _always in rules:
        return _always
    if len(rules) == 1:
        return rules[0]
    if len(rules) == 2:
        first, second = rules

        def either(name: str, email: str, fields: Mapping[str, Any]) -> bool:
            return first(name, email, fields) or second(name, email, fields)

        return either
    preds = tuple(rules)

    def some(name: str, email: str, fields: Mapping[str, Any]) -> bool:
        for pred in preds:  # noqa: SIM110 - a loop: no generator per call (hot path)
            if pred(name, email, fields):
                return True
        return False

    return some


def compile_side(rules: Sequence[Rule]) -> Predicate:
    """A fast predicate `(name, email, fields) -> bool`: whether one of `rules` holds.

    With no rules it always returns False: a side with no rule from it never matches.
    The caller passes the rules of one side (e.g. `Settings.rules_of(side)`).
    """
    return _any_of([_all_of([_compile_condition(c) for c in rule.conditions]) for rule in rules])


def matches(rules: Sequence[Rule], name: str, email: str, fields: Mapping[str, Any]) -> bool:
    """Whether one of `rules` holds for the record: `compile_side(rules)(name, email, fields)`."""
    return compile_side(rules)(name, email, fields)


# --------------------------------------------------------------------------- explaining


def _quote(text: str) -> str:
    return f"{_OPEN}{text}{_CLOSE}"


def _quote_list(value: str | tuple[str, ...] | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _quote(value.strip())
    return ", ".join(_quote(entry.strip()) for entry in value)


def _text_value(value: str | tuple[str, ...] | None) -> str:
    return field_text(value).strip()


def _humanize(field: str) -> str:
    return field.replace("_", " ").replace("-", " ")


def _needs(condition: Condition) -> str:
    """What a condition needs, after "needs": "lifecycle stage equal to “customer”"."""
    field = _humanize(condition.field)
    op = condition.op
    value = _quote(_text_value(condition.value))
    phrases: dict[Op, str] = {
        Op.EQUALS: f"{field} equal to {value}",
        Op.NOT_EQUALS: f"{field} not equal to {value}",
        Op.CONTAINS: f"{field} to contain {value}",
        Op.NOT_CONTAINS: f"{field} not to contain {value}",
        Op.STARTS_WITH: f"{field} to start with {value}",
        Op.ENDS_WITH: f"{field} to end with {value}",
        Op.IS_EMPTY: f"{field} to be empty",
        Op.IS_NOT_EMPTY: f"{field} not to be empty",
        Op.HAS_TAG: f"{field} to include {value}",
        Op.LACKS_TAG: f"{field} not to include {value}",
    }
    if op is Op.IN:
        return f"{field} to be one of {_quote_list(condition.value)}"
    if op is Op.NOT_IN:
        return f"{field} to be none of {_quote_list(condition.value)}"
    return phrases[op]


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """One condition of a rule, evaluated: whether it holds and the field's shown text."""

    condition: Condition
    holds: bool
    actual: str  # the field's value as shown text (stripped), "" when empty

    def why_not(self) -> str:
        """“lifecycle stage equal to “customer”, but it is “lead”” (for a failing one)."""
        shown = _quote(self.actual) if self.actual else "empty"
        text = f"{_needs(self.condition)}, but it is {shown}"
        value = self.condition.value
        if isinstance(value, str) and self.actual and _norm(self.actual) == _norm(value):
            # "not equal to “Partner”, but it is “partner”" reads as a contradiction.
            text += " (case and surrounding spaces are ignored)"
        return text


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: Rule
    holds: bool
    conditions: tuple[ConditionResult, ...]

    @property
    def first_failing(self) -> ConditionResult | None:
        for result in self.conditions:
            if not result.holds:
                return result
        return None


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a record matches the rules of its side, or why not: each rule, each condition."""

    matches: bool
    rules: tuple[RuleResult, ...]

    def sentence(self, app_name: str) -> str:
        """The one-sentence "why" a support agent reads."""
        if not self.rules:
            return f"No rule syncs contacts from {app_name}."
        if self.matches:
            first = next(result for result in self.rules if result.holds)
            return f"Matches rule {first.rule.id} from {app_name}."
        reasons: list[str] = []
        for result in self.rules:
            failing = result.first_failing
            if failing is not None:
                reasons.append(f"rule {result.rule.id} needs {failing.why_not()}")
        return f"No rule from {app_name} matches: {'; '.join(reasons)}."


def explain(rules: Sequence[Rule], name: str, email: str, fields: Mapping[str, Any]) -> Explanation:
    """Evaluate every condition of every rule (no short cut), with the fields' shown texts.

    Uses the same compiled closures as `compile_side`, so `explain(...).matches` always
    equals `matches(...)`.
    """
    rule_results: list[RuleResult] = []
    for rule in rules:
        condition_results = tuple(
            ConditionResult(
                condition=condition,
                holds=_compile_condition(condition)(name, email, fields),
                actual=field_text(field_value(name, email, fields, condition.field)).strip(),
            )
            for condition in rule.conditions
        )
        holds = all(result.holds for result in condition_results)
        rule_results.append(RuleResult(rule=rule, holds=holds, conditions=condition_results))
    return Explanation(
        matches=any(result.holds for result in rule_results), rules=tuple(rule_results)
    )


# --------------------------------------------------------------------------- describing


def _plural(field: str) -> bool:
    """Whether a list field reads as a plural ("tags", "lists"): "tags include “vip”"."""
    return field.endswith("s") and not field.endswith("ss")


def describe_condition(condition: Condition) -> str:
    """Words for the UI: "lifecycle stage is “customer”"."""
    field = _humanize(condition.field)
    op = condition.op
    if op is Op.IS_EMPTY:
        return f"{field} is empty"
    if op is Op.IS_NOT_EMPTY:
        return f"{field} is not empty"
    if op is Op.IN:
        return f"{field} is one of {_quote_list(condition.value)}"
    if op is Op.NOT_IN:
        return f"{field} is none of {_quote_list(condition.value)}"
    value = _quote(_text_value(condition.value))
    if op is Op.HAS_TAG:
        verb = "include" if _plural(field) else "includes"
        return f"{field} {verb} {value}"
    if op is Op.LACKS_TAG:
        verb = "do not include" if _plural(field) else "does not include"
        return f"{field} {verb} {value}"
    words = {
        Op.EQUALS: "is",
        Op.NOT_EQUALS: "is not",
        Op.CONTAINS: "contains",
        Op.NOT_CONTAINS: "does not contain",
        Op.STARTS_WITH: "starts with",
        Op.ENDS_WITH: "ends with",
    }
    return f"{field} {words[op]} {value}"


def describe_rule(rule: Rule, app_name: str) -> str:
    """Words for the UI: "HubSpot contacts where lifecycle stage is “customer” and tags
    include “vip”"; a rule with no conditions: "All HubSpot contacts"."""
    if not rule.conditions:
        return f"All {app_name} contacts"
    where = " and ".join(describe_condition(condition) for condition in rule.conditions)
    return f"{app_name} contacts where {where}"
