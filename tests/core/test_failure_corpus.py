"""The failure catalog measured on a corpus of real error messages (tests/data).

Each line of ``failure_corpus.jsonl`` is one error an app returned to an API client, copied
verbatim from a public source (an issue, an SDK's fixture, the app's documentation) named
in ``source``, with the category a support agent would file it under. The corpus is data,
not catalog: entries are added when a new real message is found, never made up, and the
catalog must keep recognising at least ``THRESHOLD`` of them, under the right category.
The rates by app are printed at the end of the test run.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from healthdesk.core.failures import OTHER_CATEGORY, Catalog, fingerprint
from healthdesk.core.fingerprint import MAX_MESSAGE
from tests.core.conftest import CORPUS_REPORT

CORPUS = Path(__file__).parent.parent / "data" / "failure_corpus.jsonl"
THRESHOLD = 0.95
APP_KINDS = {"hubspot", "mailchimp", "salesforce", "pipedrive", "http"}
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+\.[\w.-]+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


@dataclass(frozen=True)
class Sample:
    app: str
    code: str
    message: str
    category: str
    source: str


def _load() -> list[Sample]:
    samples = []
    with CORPUS.open(encoding="utf-8") as lines:
        for line in lines:
            data = json.loads(line)
            data.pop("note", None)
            samples.append(Sample(**data))
    return samples


SAMPLES = _load()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def _rate(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.1f}%)"


def test_corpus_is_real_errors_of_every_app_kind(catalog: Catalog) -> None:
    assert len(SAMPLES) >= 150
    assert {sample.app for sample in SAMPLES} == APP_KINDS
    declared = {category.name for category in catalog.all_categories()}
    for sample in SAMPLES:
        assert sample.message.strip(), sample
        assert sample.source.startswith("https://"), sample
        assert sample.category in declared, sample


def test_catalog_recognises_the_corpus(catalog: Catalog, request: pytest.FixtureRequest) -> None:
    total: Counter[str] = Counter()
    recognised: Counter[str] = Counter()
    right: Counter[str] = Counter()
    misses = []
    for sample in SAMPLES:
        reason = catalog.classify(sample.app, fingerprint(sample.code, sample.message))
        total[sample.app] += 1
        recognised[sample.app] += reason.category != OTHER_CATEGORY
        right[sample.app] += reason.category == sample.category
        if reason.category != sample.category:
            misses.append(f"{sample.source}: {reason.category!r}, expected {sample.category!r}")
    report = [
        f"{app:<11} recognised {_rate(recognised[app], total[app]):<16} "
        f"right category {_rate(right[app], total[app])}"
        for app in sorted(total)
    ]
    all_total = sum(total.values())
    report.append(
        f"{'all':<11} recognised {_rate(sum(recognised.values()), all_total):<16} "
        f"right category {_rate(sum(right.values()), all_total)}"
    )
    request.config.stash[CORPUS_REPORT] = report
    assert sum(recognised.values()) >= THRESHOLD * all_total, "\n".join(report)
    assert sum(right.values()) >= THRESHOLD * all_total, "\n".join(report + misses)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"{s.app}-{s.code or 'nocode'}")
def test_fingerprint_protects_and_fits_one_line(sample: Sample) -> None:
    fp = fingerprint(sample.code, sample.message)
    assert "\n" not in fp
    assert len(fp) <= len(" ".join(sample.code.split())) + 2 + MAX_MESSAGE
    assert _EMAIL.search(fp) is None
    assert _UUID.search(fp) is None
