"""Failure reasons: the catalog that turns an app's raw error into a reason people act on.

A destination app's raw error (code + message) is kept whole elsewhere; its **fingerprint**
(``healthdesk.core.fingerprint``) is the grouping key. The **catalog** (TOML data files that
support staff extend without code: ``data/failure-catalog.toml``, then the user's own file)
maps fingerprints, per app kind, to a **category** and, for each category, who acts
(its ``Owner``), what it means and how to fix it. The README's section on the failure
catalog documents the file format for the people who write it.

Contract of the catalog:

- ``[[category]]`` tables declare a category: ``name``, ``owner`` (one of ``Owner``),
  ``explanation`` and ``fix``. Every category has all four; "Other" (what no entry matches)
  is built in.
- ``[[reason]]`` entries match fingerprints of an app kind (``app``; ``"*"`` for any) by
  ``code`` and/or ``match`` (regexes searched in the code and in the masked message) and
  name a ``category``. An entry may give its own ``explanation`` and ``fix``, more precise
  than the category's, for the errors it matches. An entry naming a category that no file
  declares declares it, and then must give ``owner``, ``explanation`` and ``fix``.
- When the ``match`` regex has a group named ``field``, the entry's explanation and fix may
  say ``{field}``: it becomes the field's name as the raw error gives it, in quotes. Texts
  that do not capture a field do not say which field it is.
- A malformed file is refused whole with the file, the entry, its line and the problem.

Pure Python: no Qt, no SQL. ``Catalog.classify`` caches per distinct (app kind, fingerprint).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from healthdesk.core.fingerprint import fingerprint, split_fingerprint

__all__ = [
    "GENERIC_APP",
    "OTHER_CATEGORY",
    "OTHER_REASON",
    "Catalog",
    "CatalogError",
    "Category",
    "Explanation",
    "Owner",
    "Reason",
    "bundled_catalog",
    "fingerprint",
    "split_fingerprint",
]


class Owner(StrEnum):
    """Who acts on a failure; agents sort a ticket by this first."""

    #: The customer, in the contact's data (a bad e-mail, a missing required value).
    CUSTOMER_DATA = "customer_data"
    #: The customer, in an app's settings or plan (permissions, limits, automations).
    CUSTOMER_APP = "customer_app"
    #: The connection's configuration (its login, field mapping, audience, rules).
    CONNECTION_CONFIG = "connection_config"
    #: Nobody: the failure is temporary and the write is retried.
    TRANSIENT = "transient"
    #: The sync service's engineers.
    ENGINEERING = "engineering"

    @property
    def label(self) -> str:
        """The owner in a support agent's words."""
        return _OWNER_LABELS[self]

    @property
    def short_label(self) -> str:
        """The owner in a word or two, for a narrow column."""
        return _OWNER_SHORT_LABELS[self]


_OWNER_SHORT_LABELS = {
    "customer_data": "Customer data",
    "customer_app": "Customer's app",
    "connection_config": "Connection",
    "transient": "Temporary",
    "engineering": "Engineers",
}
_OWNER_LABELS = {
    Owner.CUSTOMER_DATA: "Customer: the contact's data",
    Owner.CUSTOMER_APP: "Customer: app settings or plan",
    Owner.CONNECTION_CONFIG: "Connection configuration",
    Owner.TRANSIENT: "Nobody: temporary, it will retry",
    Owner.ENGINEERING: "Sync service engineers",
}


@dataclass(frozen=True, slots=True)
class Category:
    """A category of failures: who acts, what it means, how to fix it."""

    name: str
    owner: Owner
    explanation: str
    fix: str


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an app refused a write, in a support agent's words, and who acts on it."""

    category: str
    explanation: str
    fix: str
    owner: Owner = Owner.ENGINEERING


@dataclass(frozen=True, slots=True)
class Explanation:
    """A raw error explained: what ``healthdesk explain`` prints.

    ``app_kind`` is the app kind whose entries recognised the error (the one asked for, or,
    when none was given, the first that recognises it), "" when none did.
    """

    app_kind: str
    fingerprint: str
    reason: Reason

    @property
    def category(self) -> str:
        return self.reason.category

    @property
    def owner(self) -> Owner:
        return self.reason.owner


OTHER_CATEGORY = "Other"
OTHER_REASON = Reason(
    category=OTHER_CATEGORY,
    explanation=(
        "The app refused the write with an error Health Desk does not know yet; "
        "the raw message is shown as the app sent it."
    ),
    fix="Read the raw error below; if it recurs, add it to the failure catalog.",
    owner=Owner.ENGINEERING,
)

GENERIC_APP = "*"
_REASON_KEYS = frozenset({"app", "code", "match", "category", "explanation", "fix", "owner"})
_CATEGORY_KEYS = frozenset({"name", "owner", "explanation", "fix"})
_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*(reason|category)[ \t]*\]\]", re.M)
_FIELD = "{field}"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# classify() results kept before the cache starts over (a guard against unmasked noise).
_CACHE_LIMIT = 100_000


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message names the file, entry and problem."""


@dataclass(frozen=True, slots=True)
class _Entry:
    app: str
    code: re.Pattern[str] | None
    match: re.Pattern[str] | None
    category: str
    explanation: str | None
    fix: str | None
    owner: Owner | None
    where: str

    def search(self, code: str, masked: str) -> re.Match[str] | bool | None:
        """The match on the message (True when matched by code alone), or None/False."""
        if self.code is not None and self.code.search(code) is None:
            return None
        if self.match is None:
            return True
        return self.match.search(masked)


@dataclass(frozen=True, slots=True)
class _Rule:
    """An entry with its category resolved: what classify() walks."""

    entry: _Entry
    reason: Reason
    fills: bool  # the reason's texts say {field}
    general: Reason  # the category's own texts: for a match that names no field


def bundled_catalog() -> Traversable:
    """The catalog shipped with Health Desk."""
    return files("healthdesk.data") / "failure-catalog.toml"


class Catalog:
    """Categories and entries of one or more catalog files, ready to classify fingerprints.

    For an app kind, its own entries are tried first, then the generic ones (app "*");
    within each group, later files come before earlier ones and a file's entries keep
    their order; the first entry that matches wins. A later file may declare a category
    again to change its owner, explanation or fix.
    """

    def __init__(self, entries: Sequence[_Entry] = (), categories: Sequence[Category] = ()):
        self._categories: dict[str, Category] = {}
        for category in categories:
            self._categories[category.name] = category
        rules = _resolve(entries, self._categories)
        self._by_app: dict[str, list[_Rule]] = {}
        self._generic: list[_Rule] = []
        for rule in rules:
            if rule.entry.app == GENERIC_APP:
                self._generic.append(rule)
            else:
                self._by_app.setdefault(rule.entry.app, []).append(rule)
        self._cache: dict[tuple[str, str], Reason] = {}

    @classmethod
    def load(cls, paths: Sequence[Traversable | Path] | None = None) -> Catalog:
        """The catalog of ``paths`` (the bundled one when None); later files take priority."""
        if paths is None:
            paths = [bundled_catalog()]
        entries: list[_Entry] = []
        categories: list[Category] = []
        for path in paths:
            source = str(path)
            try:
                text = path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CatalogError(f"{source}: cannot read the catalog file: {exc}") from exc
            file_entries, file_categories = _parse(text, source)
            entries[:0] = file_entries  # a later file's entries come first
            categories.extend(file_categories)
        return cls(entries, categories)

    @classmethod
    def from_text(cls, text: str, *, source: str = "<text>") -> Catalog:
        """The catalog of one file's text; ``source`` names it in errors."""
        entries, categories = _parse(text, source)
        return cls(entries, categories)

    def __len__(self) -> int:
        return len(self._generic) + sum(len(v) for v in self._by_app.values())

    @property
    def app_kinds(self) -> list[str]:
        """The app kinds that have entries of their own, sorted."""
        return sorted(self._by_app)

    def _rules(self, app_kind: str) -> list[_Rule]:
        return self._by_app.get(app_kind.strip().lower(), []) + self._generic

    def classify(self, app_kind: str, fingerprint: str) -> Reason:
        """The reason of an error of an app of kind ``app_kind``, or ``OTHER_REASON``."""
        key = (app_kind, fingerprint)
        reason = self._cache.get(key)
        if reason is not None:
            return reason
        reason = self._classify(app_kind, fingerprint) or OTHER_REASON
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = reason
        return reason

    def _classify(self, app_kind: str, fp: str) -> Reason | None:
        rules = self._rules(app_kind)
        code, masked = split_fingerprint(fp)
        attempts = [(code, masked)]
        if code:  # maybe a code-less message with ": " in it: try it whole
            attempts.append(("", fp))
        for attempt_code, attempt_masked in attempts:
            for rule in rules:
                found = rule.entry.search(attempt_code, attempt_masked)
                if found:
                    return _filled(rule, found)
        return None

    def explain(self, message: str, *, app_kind: str = "", code: str = "") -> Explanation:
        """A raw error (as an agent pastes it from a ticket) explained.

        With an ``app_kind``, that app's entries then the generic ones; without, the
        generic ones, then each app kind's in turn until one recognises the error.
        """
        fp = fingerprint(code, message)
        kind = app_kind.strip().lower()
        if kind:
            reason = self.classify(kind, fp)
            return Explanation(kind if reason is not OTHER_REASON else "", fp, reason)
        for candidate in ["", *self.app_kinds]:
            reason = self.classify(candidate, fp)
            if reason is not OTHER_REASON:
                return Explanation(candidate, fp, reason)
        return Explanation("", fp, OTHER_REASON)

    def categories(self, app_kind: str) -> list[str]:
        """The distinct categories for ``app_kind`` in classify order, then "Other"."""
        seen = dict.fromkeys(rule.reason.category for rule in self._rules(app_kind))
        seen.setdefault(OTHER_CATEGORY)
        return list(seen)

    def category(self, name: str) -> Category:
        """A category's owner and general meaning and fix (those of "Other" when unknown).

        For a node that stands for many errors of a category; one error's own ``Reason``
        may say more (the field it names).
        """
        found = self._categories.get(name)
        if found is not None:
            return found
        return Category(
            name=name,
            owner=OTHER_REASON.owner,
            explanation=OTHER_REASON.explanation,
            fix=OTHER_REASON.fix,
        )

    def all_categories(self) -> list[Category]:
        """Every category the catalog knows, "Other" last."""
        return [*self._categories.values(), self.category(OTHER_CATEGORY)]

    def owner(self, category: str) -> Owner:
        """Who acts on failures of ``category``."""
        return self.category(category).owner


def _filled(rule: _Rule, found: re.Match[str] | bool) -> Reason:
    if not rule.fills:
        return rule.reason
    field = found.group("field") if isinstance(found, re.Match) else None
    if not field:
        return rule.general  # the group is optional in this match: say no field
    name = f"“{field.strip()}”"
    return replace(
        rule.reason,
        explanation=rule.reason.explanation.replace(_FIELD, name),
        fix=rule.reason.fix.replace(_FIELD, name),
    )


def _resolve(entries: Iterable[_Entry], categories: dict[str, Category]) -> list[_Rule]:
    """Each entry's reason; categories that no [[category]] declares are declared here."""
    rules: list[_Rule] = []
    for entry in entries:
        category = categories.get(entry.category)
        if category is None:
            for key in ("owner", "explanation", "fix"):
                if getattr(entry, key) is None:
                    raise CatalogError(
                        f"{entry.where}: missing {key!r} (category {entry.category!r} is not "
                        "declared by a [[category]] table, so the entry must give owner, "
                        "explanation and fix)"
                    )
            assert entry.owner is not None
            assert entry.explanation is not None
            assert entry.fix is not None
            category = Category(entry.category, entry.owner, entry.explanation, entry.fix)
            categories[entry.category] = category
        elif entry.owner is not None and entry.owner is not category.owner:
            raise CatalogError(
                f"{entry.where}: owner {entry.owner.value!r} differs from the owner of "
                f"category {entry.category!r} ({category.owner.value!r}); the owner belongs "
                "to the category"
            )
        reason = Reason(
            category=category.name,
            explanation=entry.explanation or category.explanation,
            fix=entry.fix or category.fix,
            owner=category.owner,
        )
        fills = _FIELD in reason.explanation or _FIELD in reason.fix
        general = Reason(category.name, category.explanation, category.fix, category.owner)
        rules.append(_Rule(entry, reason, fills, general))
    return rules


def _parse(text: str, source: str) -> tuple[list[_Entry], list[Category]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"reason", "category"})
    if unknown:
        raise CatalogError(
            f"{source}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
            "a catalog holds only [[category]] and [[reason]] tables"
        )
    headers: dict[str, list[int]] = {"reason": [], "category": []}
    for m in _HEADER.finditer(text):
        headers[m.group(1)].append(text.count("\n", 0, m.start()) + 1)

    def places(kind: str) -> list[str]:
        raw = data.get(kind, [])
        if not isinstance(raw, list):
            raise CatalogError(f"{source}: {kind!r} must be a list of [[{kind}]] tables")
        lines = headers[kind] if len(headers[kind]) == len(raw) else None
        return [
            f"{source}: {kind} #{i + 1}" + (f" (line {lines[i]})" if lines else "")
            for i in range(len(raw))
        ]

    categories = [
        _parse_category(item, where)
        for item, where in zip(data.get("category", []), places("category"), strict=True)
    ]
    names: dict[str, str] = {}
    for category, where in zip(categories, places("category"), strict=True):
        if category.name in names:
            raise CatalogError(
                f"{where}: category {category.name!r} is already declared ({names[category.name]})"
            )
        names[category.name] = where
    entries = [
        _parse_entry(item, where)
        for item, where in zip(data.get("reason", []), places("reason"), strict=True)
    ]
    return entries, categories


def _texts(item: Any, where: str, allowed: frozenset[str]) -> dict[str, str]:
    if not isinstance(item, dict):
        raise CatalogError(f"{where}: must be a table of keys, not {type(item).__name__}")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise CatalogError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(sorted(allowed))}"
        )
    for key, value in item.items():
        if not isinstance(value, str):
            raise CatalogError(f"{where}: {key!r} must be a text, not {type(value).__name__}")
    return item


def _owner(value: str, where: str) -> Owner:
    try:
        return Owner(value.strip())
    except ValueError:
        choices = ", ".join(owner.value for owner in Owner)
        raise CatalogError(f"{where}: owner {value!r} is not one of: {choices}") from None


def _check_placeholders(text: str, key: str, where: str, *, field: bool) -> str:
    for m in _PLACEHOLDER.finditer(text):
        if m.group() != _FIELD:
            raise CatalogError(
                f"{where}: {key!r} says {m.group()}; the only placeholder is {{field}}"
            )
        if not field:
            raise CatalogError(
                f"{where}: {key!r} says {{field}}, but no match names a field (a match regex "
                "with a group named 'field', as in (?P<field>\\w+))"
            )
    return text.strip()


def _parse_category(item: Any, where: str) -> Category:
    item = _texts(item, where, _CATEGORY_KEYS)
    for key in ("name", "owner", "explanation", "fix"):
        if not item.get(key, "").strip():
            raise CatalogError(f"{where}: missing {key!r}")
    return Category(
        name=item["name"].strip(),
        owner=_owner(item["owner"], where),
        explanation=_check_placeholders(item["explanation"], "explanation", where, field=False),
        fix=_check_placeholders(item["fix"], "fix", where, field=False),
    )


def _parse_entry(item: Any, where: str) -> _Entry:
    item = _texts(item, where, _REASON_KEYS)
    for key in ("app", "category"):
        if not item.get(key, "").strip():
            raise CatalogError(f"{where}: missing {key!r}")
    if "code" not in item and "match" not in item:
        raise CatalogError(f"{where}: needs 'code' or 'match' (or both)")
    patterns: dict[str, re.Pattern[str] | None] = {}
    for key in ("code", "match"):
        pattern = item.get(key)
        if pattern is None:
            patterns[key] = None
            continue
        if not pattern:
            raise CatalogError(f"{where}: {key!r} is empty (it would match every error)")
        try:
            patterns[key] = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise CatalogError(f"{where}: invalid regex in {key!r} ({pattern!r}): {exc}") from exc
    match = patterns["match"]
    names_field = match is not None and "field" in match.groupindex
    texts: dict[str, str | None] = {}
    for key in ("explanation", "fix"):
        value = item.get(key)
        if value is not None and not value.strip():
            raise CatalogError(f"{where}: {key!r} is empty")
        texts[key] = (
            None if value is None else _check_placeholders(value, key, where, field=names_field)
        )
    owner = item.get("owner")
    return _Entry(
        app=item["app"].strip().lower(),
        code=patterns["code"],
        match=match,
        category=item["category"].strip(),
        explanation=texts["explanation"],
        fix=texts["fix"],
        owner=None if owner is None else _owner(owner, where),
        where=where,
    )
