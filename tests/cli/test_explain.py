"""`healthdesk explain MESSAGE [--app KIND] [--code CODE] [--json]`, through its output."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from healthdesk.core.failures import Catalog, Owner, fingerprint
from tests.cli.conftest import Run
from tests.cli.test_cli import assert_error, user_catalog

REQUIRED = "Required fields are missing: [LastName]"
GATEWAY_PAGE = (
    "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad "
    "Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>"
)


def test_text_names_category_owner_fingerprint_meaning_and_fix(run: Run) -> None:
    result = run("explain", REQUIRED, "--app", "salesforce", "--code", "REQUIRED_FIELD_MISSING")

    assert result.code == 0, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0] == "Category     Required field missing (recognised as a salesforce error)"
    assert lines[1] == f"Owner        {Owner.CUSTOMER_DATA.label} [customer_data]"
    assert lines[2] == f"Fingerprint  {fingerprint('REQUIRED_FIELD_MISSING', REQUIRED)}"
    meaning = result.out.split("Meaning\n")[1].split("Fix\n")[0]
    assert "“LastName”" in meaning
    assert "“LastName”" in result.out.split("Fix\n")[1]
    assert all(len(line) <= 88 for line in lines[4:])


def test_json_is_one_object_with_the_same_facts(run: Run) -> None:
    result = run("explain", REQUIRED, "--app", "Salesforce", "--json")

    assert result.code == 0, result.err
    data = json.loads(result.out)
    reason = Catalog.load().explain(REQUIRED, app_kind="salesforce").reason
    assert data == {
        "recognized": True,
        "app_kind": "salesforce",
        "code": None,
        "fingerprint": REQUIRED,
        "category": reason.category,
        "owner": reason.owner.value,
        "owner_label": reason.owner.label,
        "explanation": reason.explanation,
        "fix": reason.fix,
    }


def test_without_an_app_the_first_that_recognises_it(run: Run) -> None:
    data = json.loads(run("explain", "cannot reference converted lead", "--json").out)
    assert (data["app_kind"], data["category"], data["owner"]) == (
        "salesforce",
        "Lead already converted",
        "connection_config",
    )
    generic = json.loads(run("explain", "Connection reset by peer", "--json").out)
    assert (generic["app_kind"], generic["category"], generic["owner"]) == (
        None,
        "Network error",
        "transient",
    )
    assert generic["fingerprint"] == "Connection reset by peer"


def test_an_unknown_error_is_other_for_the_engineers(run: Run) -> None:
    result = run("explain", "Flux capacitor misaligned", "--app", "hubspot")

    assert result.code == 0
    assert result.out.startswith(
        "Category     Other (no entry of the catalog recognises this error)\n"
    )
    assert "[engineering]" in result.out


def test_a_pasted_gateway_page_reads_from_stdin(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(GATEWAY_PAGE))
    data = json.loads(run("explain", "-", "--code", "502", "--json").out)

    assert data["fingerprint"] == "502: HTML page: 502 Bad Gateway"
    assert data["category"] == "Temporary app outage"
    assert data["owner"] == "transient"


def test_customer_values_stay_out_of_the_fingerprint(run: Run) -> None:
    message = "ada.lovelace@example.com looks fake or invalid, please enter a real email address."
    data = json.loads(run("explain", message, "--app", "mailchimp", "--json").out)

    assert "ada.lovelace" not in data["fingerprint"]
    assert data["category"] == "Invalid or fake email"


def test_the_users_catalog_is_used(run: Run, isolated_home: Path) -> None:
    user_catalog(
        isolated_home,
        '[[category]]\nname = "Flux"\nowner = "engineering"\nexplanation = "Ours."\n'
        'fix = "Call us."\n\n[[reason]]\napp = "hubspot"\nmatch = "flux"\ncategory = "Flux"\n',
    )
    data = json.loads(run("explain", "Flux capacitor", "--app", "hubspot", "--json").out)
    assert (data["category"], data["explanation"]) == ("Flux", "Ours.")


@pytest.mark.parametrize("message", ["", "   "])
def test_an_empty_message_is_one_error_line(run: Run, message: str) -> None:
    assert_error(run("explain", message), "MESSAGE")


def test_a_missing_message_is_a_usage_error(run: Run) -> None:
    assert_error(run("explain"), "MESSAGE")


def test_a_broken_user_catalog_is_one_error_line(run: Run, isolated_home: Path) -> None:
    path = user_catalog(isolated_home, '[[reason]]\napp = "x"\nmatch = "y"\ncategory = "Z"\n')
    assert_error(run("explain", "y"), str(path), "missing 'owner'")
