"""Fingerprints of raw app errors and the failure catalog (healthdesk.core.failures)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from healthdesk.core.failures import (
    OTHER_CATEGORY,
    OTHER_REASON,
    Catalog,
    CatalogError,
    Owner,
    Reason,
    bundled_catalog,
    fingerprint,
    split_fingerprint,
)
from healthdesk.core.fingerprint import MAX_MESSAGE

HUBSPOT_INVALID_LONG = (
    'Property values were not valid: [{"isValid":false,"message":"1234 was not a valid long.",'
    '"error":"INVALID_LONG","name":"num_employees"}]'
)

# ---------------------------------------------------------------------------- fingerprint


def test_code_is_kept_and_stripped() -> None:
    assert fingerprint("  DUPLICATES_DETECTED ", "Use one of these records?") == (
        "DUPLICATES_DETECTED: Use one of these records?"
    )
    # Codes are categorical: digits and case in the code are not masked.
    assert fingerprint("429", "Too Many Requests") == "429: Too Many Requests"
    assert fingerprint("Invalid Resource", "x") == "Invalid Resource: x"


def test_no_code_gives_the_masked_message_alone() -> None:
    assert fingerprint("", "Read timed out") == "Read timed out"
    assert fingerprint("   ", "Existing ID: 3401") == "Existing ID: <n>"


def test_empty_message() -> None:
    assert fingerprint("TIMEOUT", "") == "TIMEOUT: "
    assert fingerprint("", "") == ""


def test_existing_id_messages_share_a_fingerprint() -> None:
    first = fingerprint("CONFLICT", "Contact already exists. Existing ID: 3401")
    second = fingerprint("CONFLICT", "Contact already exists. Existing ID: 9876")
    assert first == second == "CONFLICT: Contact already exists. Existing ID: <n>"


def test_different_errors_do_not_share_a_fingerprint() -> None:
    conflict = fingerprint("CONFLICT", "Contact already exists. Existing ID: 3401")
    company = fingerprint("CONFLICT", "Company already exists. Existing ID: 3401")
    other_code = fingerprint("DUPLICATE", "Contact already exists. Existing ID: 3401")
    assert len({conflict, company, other_code}) == 3
    assert fingerprint("", "Not Found") != fingerprint("", "Too Many Requests")


def test_emails_are_masked() -> None:
    assert fingerprint("Member Exists", "ada@example.com is already a list member.") == (
        "Member Exists: <email> is already a list member."
    )
    # Malformed addresses the app quotes back are masked too.
    assert fingerprint("INVALID_EMAIL_ADDRESS", "Email: invalid email address: bob@@example") == (
        "INVALID_EMAIL_ADDRESS: Email: invalid email address: <email>"
    )
    assert fingerprint("", "From a.b+tag@sub.example.co.uk.") == "From <email>."
    # An "@" without a local part is not an address.
    assert fingerprint("", "mention @team") == "mention @team"


def test_uuids_are_masked() -> None:
    assert fingerprint("", "Record 123e4567-e89b-12d3-a456-426614174000 is gone") == (
        "Record <uuid> is gone"
    )
    assert fingerprint("", "ID 123E4567-E89B-12D3-A456-426614174000.") == "ID <uuid>."


def test_urls_are_masked() -> None:
    message = (
        "This API supports OAuth 2.0 authentication and you can find more details at "
        "https://developers.hubspot.com/docs/methods/auth/oauth-overview"
    )
    assert fingerprint("INVALID_AUTHENTICATION", message) == (
        "INVALID_AUTHENTICATION: This API supports OAuth <n> authentication and you can find "
        "more details at <url>"
    )
    assert fingerprint("", "See www.example.com/help.") == "See <url>."
    # An e-mail inside a URL does not cut it in two.
    assert fingerprint("", "(https://x.io/u?e=ada@example.com)") == "(<url>)"


def test_quoted_values_are_masked_keeping_the_quotes() -> None:
    assert fingerprint("", "Value 'Acme Inc' is too long") == "Value '<value>' is too long"
    assert fingerprint("", 'Value "Acme Inc" is too long') == 'Value "<value>" is too long'
    assert fingerprint("", "Value “Acme Inc” is too long") == "Value “<value>” is too long"
    assert fingerprint("", "Value 'Acme' is too long") == fingerprint("", "Value 'Zed' is too long")
    # Apostrophes are not quotes.
    message = "Your API key may be invalid, or you've attempted to access the wrong datacenter."
    assert fingerprint("API Key Invalid", message) == f"API Key Invalid: {message}"
    assert (
        fingerprint("", "don't use 'x' here, it's wrong") == "don't use '<value>' here, it's wrong"
    )
    # An empty quote says "the value was empty": kept.
    assert fingerprint("", "Value '' is not allowed") == "Value '' is not allowed"


def test_property_names_are_kept_values_masked() -> None:
    assert fingerprint("", 'Property "firstname" does not exist') == (
        'Property "firstname" does not exist'
    )
    assert fingerprint("", 'Invalid value "abc" for field "phone"') == (
        'Invalid value "<value>" for field "phone"'
    )
    assert fingerprint("", "Required fields are missing: [LastName, Company]") == (
        "Required fields are missing: [LastName, Company]"
    )


def test_json_list_keeps_property_names_and_masks_values() -> None:
    assert fingerprint("VALIDATION_ERROR", HUBSPOT_INVALID_LONG) == (
        'VALIDATION_ERROR: Property values were not valid: [{"isValid":false,'
        '"message":"<value> was not a valid long.","error":"INVALID_LONG","name":"num_employees"}]'
    )
    other_value = HUBSPOT_INVALID_LONG.replace("1234", "12.5 million")
    other_property = HUBSPOT_INVALID_LONG.replace("num_employees", "annualrevenue")
    assert fingerprint("VALIDATION_ERROR", other_value) == fingerprint(
        "VALIDATION_ERROR", HUBSPOT_INVALID_LONG
    )
    assert fingerprint("VALIDATION_ERROR", other_property) != fingerprint(
        "VALIDATION_ERROR", HUBSPOT_INVALID_LONG
    )


def test_json_value_of_a_data_key_is_masked_even_if_it_looks_like_a_name() -> None:
    assert fingerprint("", '{"email": "ada", "name": "email"}') == (
        '{"email": "<value>", "name": "email"}'
    )
    # Outside JSON, "x": is prose, not a key.
    assert fingerprint("", 'Invalid value "foo": expected a number') == (
        'Invalid value "<value>": expected a number'
    )


def test_lists_of_masked_values_collapse() -> None:
    assert fingerprint("", "Invalid emails: [ada@example.com, bob@example.org]") == (
        "Invalid emails: [<email>]"
    )
    assert fingerprint("", "ids [1, 22, 333]") == fingerprint("", "ids [4]") == "ids [<n>]"
    assert fingerprint("", "values ['a', 'b']") == "values ['<value>']"
    same_objects = '[{"message":"x"},{"message":"y"}]'
    assert fingerprint("", same_objects) == '[{"message":"<value>"}]'


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("records: 0035g00000XyZabAAB", "records: <id>"),  # Salesforce id
        ("member mc-77 failed", "member <id> failed"),
        ("list a1b2c3d4e5 missing", "list <id> missing"),  # hex
        ("hash 9f86d081884c7d65 bad", "hash <id> bad"),
        ("contact vid 0x1F failed", "contact vid <id> failed"),
    ],
)
def test_ids_are_masked(message: str, expected: str) -> None:
    assert fingerprint("", message) == expected


def test_names_with_a_digit_are_not_ids() -> None:
    assert fingerprint("", "Please enter a complete address for MMERGE3") == (
        "Please enter a complete address for MMERGE3"
    )
    assert fingerprint("", "Bad value for Region_2__c and address_line2") == (
        "Bad value for Region_2__c and address_line2"
    )


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("expired 3 hour(s) ago.", "expired <n> hour(s) ago."),
        ("or 1 records", "or <n> records"),
        ("limit 1,000 reached", "limit <n> reached"),
        ("version 2.0 required", "version <n> required"),
        ("on 2024-05-01", "on <n>"),
        ("took 30s", "took <n>s"),
        ("connect ETIMEDOUT 10.0.0.1:443", "connect ETIMEDOUT <n>:<n>"),
        ("value -5 too low", "value -<n> too low"),
    ],
)
def test_numbers_are_masked(message: str, expected: str) -> None:
    assert fingerprint("", message) == expected


def test_white_space_collapses() -> None:
    assert fingerprint(" X ", "  Too   many\n\trequests  ") == "X: Too many requests"


IDEMPOTENCE_CASES = [
    ("VALIDATION_ERROR", HUBSPOT_INVALID_LONG),
    ("CONFLICT", "Contact already exists. Existing ID: 3401"),
    ("EXPIRED_AUTHENTICATION", "The OAuth token used to make this call expired 3 hour(s) ago."),
    ("Member Exists", "ada@example.com is already a list member. Use PUT to insert or update."),
    ("API Key Invalid", "Your API key may be invalid, or you've attempted to access it."),
    ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records: 0035g"),
    ("", "Record 123e4567-e89b-12d3-a456-426614174000 at https://x.io/a?b=1 'v' “w” \"z\" [1, 2]"),
    ("", 'Property "firstname" and {"field": "MMERGE3", "value": "x 5"} at 10:30, user mc-77'),
    ("", "3401www.example.com/x. 5'quoted' don't v1.2-Property \"p\""),
    ("E", "Email: invalid email address: bob@@example"),
]


@pytest.mark.parametrize(("code", "message"), IDEMPOTENCE_CASES)
def test_fingerprint_is_idempotent(code: str, message: str) -> None:
    fp = fingerprint(code, message)
    masked = split_fingerprint(fp)[1] if code else fp
    assert fingerprint(code, masked) == fp


def test_split_fingerprint() -> None:
    assert split_fingerprint("CONFLICT: Contact already exists. Existing ID: <n>") == (
        "CONFLICT",
        "Contact already exists. Existing ID: <n>",
    )
    assert split_fingerprint("Read timed out") == ("", "Read timed out")
    assert split_fingerprint("TIMEOUT: ") == ("TIMEOUT", "")


# ---------------------------------------------------------------------------- bundled catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


CLASSIFIED = [
    # HubSpot
    ("hubspot", "VALIDATION_ERROR", HUBSPOT_INVALID_LONG, "Invalid field value"),
    (
        "hubspot",
        "VALIDATION_ERROR",
        'Property values were not valid: [{"isValid":false,"message":"Email address ada@@x is '
        'invalid","error":"INVALID_EMAIL","name":"email"}]',
        "Invalid or fake email",
    ),
    (
        "hubspot",
        "CONFLICT",
        "Contact already exists. Existing ID: 3401",
        "Already exists in the app",
    ),
    (
        "hubspot",
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
        "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth",
        "Authentication",
    ),
    (
        "hubspot",
        "EXPIRED_AUTHENTICATION",
        "The OAuth token used to make this call expired 3 hour(s) ago.",
        "Authentication",
    ),
    # Mailchimp
    (
        "mailchimp",
        "Member Exists",
        "ada@example.com is already a list member. Use PUT to insert or update list members.",
        "Already exists in the app",
    ),
    (
        "mailchimp",
        "Invalid Resource",
        "ada@example.com looks fake or invalid, please enter a real email address.",
        "Invalid or fake email",
    ),
    ("mailchimp", "Invalid Resource", "Your merge fields were invalid.", "Invalid field value"),
    (
        "mailchimp",
        "Invalid Resource",
        "Please enter a complete address for MMERGE3",
        "Invalid field value",
    ),
    (
        "mailchimp",
        "Invalid Resource",
        "The resource submitted could not be validated.",
        "Invalid field value",
    ),
    (
        "mailchimp",
        "Member In Compliance State",
        "ada@example.com is in a compliance state due to unsubscribe, bounce, or compliance "
        "review and cannot be subscribed.",
        "Compliance / unsubscribed",
    ),
    (
        "mailchimp",
        "Forgotten Email Not Subscribed",
        "ada@example.com was permanently deleted and cannot be re-imported. The contact must "
        "re-subscribe to get back on the list.",
        "Compliance / unsubscribed",
    ),
    (
        "mailchimp",
        "API Key Invalid",
        "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        "Authentication",
    ),
    # Salesforce
    ("salesforce", "DUPLICATES_DETECTED", "Use one of these records?", "Already exists in the app"),
    (
        "salesforce",
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [LastName]",
        "Required field missing",
    ),
    (
        "salesforce",
        "UNABLE_TO_LOCK_ROW",
        "unable to obtain exclusive access to this record or 1 records: 0035g00000XyZabAAB",
        "Record locked",
    ),
    (
        "salesforce",
        "REQUEST_LIMIT_EXCEEDED",
        "TotalRequests Limit exceeded.",
        "Daily API limit reached",
    ),
    (
        "salesforce",
        "REQUEST_LIMIT_EXCEEDED",
        "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
        "Rate limit",
    ),
    (
        "salesforce",
        "INVALID_EMAIL_ADDRESS",
        "Email: invalid email address: bob@@example",
        "Invalid or fake email",
    ),
    ("salesforce", "INVALID_SESSION_ID", "Session expired or invalid", "Authentication"),
    # Pipedrive
    ("pipedrive", "400", "Person name is required", "Required field missing"),
    ("pipedrive", "402", "Payment required", "Account inactive"),
    # Generic, for any app kind
    ("activecampaign", "401", "Unauthorized", "Authentication"),
    ("activecampaign", "", "Unauthorized", "Authentication"),
    ("activecampaign", "403", "", "User lacks permission"),
    ("activecampaign", "", "Forbidden", "User lacks permission"),
    ("hubspot", "404", "Not Found", "Not found"),
    ("activecampaign", "", "Not Found", "Not found"),
    ("activecampaign", "429", "Too Many Requests", "Rate limit"),
    ("mailchimp", "", "Too Many Requests", "Rate limit"),
    ("activecampaign", "500", "Internal Server Error", "App internal error"),
    ("activecampaign", "502", "Bad Gateway", "Temporary app outage"),
    ("salesforce", "503", "Service Unavailable", "Temporary app outage"),
    ("activecampaign", "504", "Gateway Timeout", "Timeout"),
    ("activecampaign", "", "Internal Server Error", "App internal error"),
    ("activecampaign", "", "Bad Gateway", "Temporary app outage"),
    ("activecampaign", "", "Service Unavailable", "Temporary app outage"),
    ("activecampaign", "", "Gateway Timeout", "Timeout"),
    ("activecampaign", "TIMEOUT", "", "Timeout"),
    ("pipedrive", "ETIMEDOUT", "connect ETIMEDOUT 10.0.0.1:443", "Timeout"),
    ("activecampaign", "", "Read timed out", "Timeout"),
    ("hubspot", "", "The request timed out after 30 seconds", "Timeout"),
]


@pytest.mark.parametrize(("app", "code", "message", "category"), CLASSIFIED)
def test_bundled_catalog_classifies(
    catalog: Catalog, app: str, code: str, message: str, category: str
) -> None:
    reason = catalog.classify(app, fingerprint(code, message))
    assert reason.category == category
    assert reason.explanation
    assert reason.fix
    assert reason != OTHER_REASON


def test_unknown_error_is_other(catalog: Catalog) -> None:
    reason = catalog.classify("hubspot", fingerprint("WEIRD", "Flux capacitor misaligned"))
    assert reason is OTHER_REASON
    assert reason == Reason(
        category="Other",
        explanation=(
            "The app refused the write with an error Health Desk does not know yet; "
            "the raw message is shown as the app sent it."
        ),
        fix="Read the raw error below; if it recurs, add it to the failure catalog.",
    )
    assert OTHER_CATEGORY == "Other"
    assert catalog.classify("nosuchapp", "Something odd happened") is OTHER_REASON


def test_bundled_catalog_explains_specifically(catalog: Catalog) -> None:
    reason = catalog.classify(
        "hubspot", fingerprint("CONFLICT", "Contact already exists. Existing ID: 3401")
    )
    assert "HubSpot already has a contact" in reason.explanation
    assert "avoid duplicates" in reason.fix


def test_every_category_has_a_meaning_a_fix_and_an_owner(catalog: Catalog) -> None:
    categories = catalog.all_categories()
    assert categories[-1].name == OTHER_CATEGORY
    for category in categories:
        assert category.explanation.strip(), category.name
        assert category.fix.strip(), category.name
        assert isinstance(category.owner, Owner), category.name
        assert category.owner.label
    # Every owner is used, and a few categories keep the failure tree readable.
    assert {category.owner for category in categories} == set(Owner)
    assert len(categories) <= 30


def test_every_reason_files_under_a_declared_category(catalog: Catalog) -> None:
    declared = {category.name for category in catalog.all_categories()}
    for app in ("hubspot", "mailchimp", "salesforce", "pipedrive", "nosuchapp"):
        assert set(catalog.categories(app)) <= declared


def test_bundled_catalog_is_the_package_resource() -> None:
    resource = bundled_catalog()
    assert resource.name == "failure-catalog.toml"
    text = resource.read_text(encoding="utf-8")
    assert text.startswith("# Health Desk failure catalog")
    assert len(Catalog.from_text(text)) == len(Catalog.load()) == len(Catalog.load([resource]))
    assert len(Catalog.load()) > 40


def _file_order(app: str) -> list[str]:
    """The categories of the bundled file's reasons for ``app`` then "*", in file order."""
    data = tomllib.loads(bundled_catalog().read_text(encoding="utf-8"))
    own = [r["category"] for r in data["reason"] if r["app"] == app]
    generic = [r["category"] for r in data["reason"] if r["app"] == "*"]
    return list(dict.fromkeys([*own, *generic, OTHER_CATEGORY]))


def test_categories_in_order_then_other(catalog: Catalog) -> None:
    salesforce = catalog.categories("salesforce")
    assert salesforce == _file_order("salesforce")
    assert salesforce[-1] == "Other"
    assert len(salesforce) == len(set(salesforce))
    # An unknown app kind has the generic categories only.
    assert catalog.categories("nosuchapp") == _file_order("nosuchapp")
    assert "Lead already converted" not in catalog.categories("nosuchapp")


# ---------------------------------------------------------------------------- catalog rules

ENTRY = """
[[reason]]
app = "{app}"
{pattern}
category = "{category}"
explanation = "e {category}"
fix = "f {category}"
owner = "transient"
"""


def entry(app: str, category: str, *, code: str = "", match: str = "") -> str:
    lines = []
    if code:
        lines.append(f"code = '{code}'")
    if match:
        lines.append(f"match = '{match}'")
    return ENTRY.format(app=app, pattern="\n".join(lines), category=category)


def test_app_specific_entries_before_generic_ones() -> None:
    text = entry("*", "Generic", match="exists") + entry("hubspot", "Specific", match="exists")
    catalog = Catalog.from_text(text)
    fp = fingerprint("CONFLICT", "Contact already exists")
    assert catalog.classify("hubspot", fp).category == "Specific"
    assert catalog.classify("mailchimp", fp).category == "Generic"
    assert catalog.categories("hubspot") == ["Specific", "Generic", "Other"]
    assert catalog.categories("mailchimp") == ["Generic", "Other"]


def test_first_match_wins_in_file_order() -> None:
    text = entry("hubspot", "First", match="already") + entry("hubspot", "Second", match="exists")
    catalog = Catalog.from_text(text)
    assert catalog.classify("hubspot", "Contact already exists").category == "First"
    assert catalog.classify("hubspot", "Contact exists").category == "Second"


def test_code_and_match_must_both_match() -> None:
    catalog = Catalog.from_text(entry("*", "Both", code="^400$", match="required"))
    assert catalog.classify("x", "400: Name is required").category == "Both"
    assert catalog.classify("x", "422: Name is required") is OTHER_REASON
    assert catalog.classify("x", "400: Name is wrong") is OTHER_REASON


def test_patterns_are_case_insensitive_searches() -> None:
    catalog = Catalog.from_text(entry("*", "Found", code="member exists", match="LIST MEMBER"))
    assert catalog.classify("x", "Member Exists: <email> is already a list member.").category == (
        "Found"
    )


def test_match_searches_the_message_before_the_whole_text() -> None:
    text = entry("*", "Anywhere", match="invalid") + entry(
        "*", "Resource", code="^Invalid Resource$", match="bad"
    )
    catalog = Catalog.from_text(text)
    # "invalid" is only in the code: the entry that matches code + message wins, although
    # it comes later ...
    assert catalog.classify("x", "Invalid Resource: Your merge fields were bad.").category == (
        "Resource"
    )
    assert catalog.classify("x", "Other Code: Your merge fields were invalid.").category == (
        "Anywhere"
    )
    # ... and only when nothing matches that way is the whole fingerprint searched.
    assert catalog.classify("x", "Invalid Resource: Something else.").category == "Anywhere"
    assert catalog.classify("x", "Odd Code: Something else.") is OTHER_REASON


def test_codeless_message_with_a_colon_falls_back_to_the_whole_text() -> None:
    catalog = Catalog.from_text(entry("*", "Values", match="^Property values were not valid"))
    fp = fingerprint("", HUBSPOT_INVALID_LONG)
    assert split_fingerprint(fp)[0] == "Property values were not valid"
    assert catalog.classify("hubspot", fp).category == "Values"


def test_app_kind_is_case_insensitive() -> None:
    catalog = Catalog.from_text(entry("HubSpot", "Specific", match="x"))
    assert catalog.classify(" hubspot ", "x").category == "Specific"
    assert catalog.classify("HUBSPOT", "x").category == "Specific"


def test_classify_caches_per_app_and_fingerprint() -> None:
    catalog = Catalog.from_text(
        entry("hubspot", "Specific", match="x") + entry("*", "Any", match="x")
    )
    first = catalog.classify("hubspot", "x")
    assert catalog.classify("hubspot", "x") is first
    assert catalog.classify("mailchimp", "x").category == "Any"
    assert catalog.classify("hubspot", "x").category == "Specific"


def test_user_file_overrides_and_extends_the_bundled_one(tmp_path: Path) -> None:
    user = tmp_path / "my-catalog.toml"
    user.write_text(
        entry("hubspot", "Merged contact", code="^CONFLICT$")
        + entry("activecampaign", "Bounced", match="bounced"),
        encoding="utf-8",
    )
    fp = fingerprint("CONFLICT", "Contact already exists. Existing ID: 3401")

    overridden = Catalog.load([bundled_catalog(), user])
    assert overridden.classify("hubspot", fp).category == "Merged contact"
    assert overridden.classify("activecampaign", "Contact bounced").category == "Bounced"
    # Everything else still comes from the bundled catalog.
    assert overridden.classify("salesforce", "UNABLE_TO_LOCK_ROW: x").category == "Record locked"
    assert len(overridden) == len(Catalog.load()) + 2

    # The order of the paths decides: the bundled file last wins.
    reversed_order = Catalog.load([user, bundled_catalog()])
    assert reversed_order.classify("hubspot", fp).category == "Already exists in the app"


def test_user_generic_entry_does_not_beat_bundled_app_entry(tmp_path: Path) -> None:
    user = tmp_path / "my-catalog.toml"
    user.write_text(entry("*", "Generic mine", code="^CONFLICT$"), encoding="utf-8")
    catalog = Catalog.load([bundled_catalog(), user])
    fp = fingerprint("CONFLICT", "Contact already exists.")
    assert catalog.classify("hubspot", fp).category == "Already exists in the app"
    assert catalog.classify("pipedrive", fp).category == "Generic mine"


def test_empty_catalogs() -> None:
    assert Catalog.load([]).classify("hubspot", "x") is OTHER_REASON
    assert Catalog.from_text("# nothing yet\n").categories("hubspot") == ["Other"]


# ---------------------------------------------------------------------------- catalog errors

GOOD = entry("*", "Good", match="good")


@pytest.mark.parametrize(
    ("bad_entry", "problem"),
    [
        (
            '[[reason]]\napp = "*"\nmatch = "x"\ncategory = "C"\nexplanation = "e"\nfix = "f"\n'
            'typo = "x"\n',
            "unknown key(s) 'typo'",
        ),
        (
            '[[reason]]\napp = "*"\nmatch = "x"\nexplanation = "e"\nfix = "f"\n',
            "missing 'category'",
        ),
        (
            '[[reason]]\napp = "*"\nmatch = "x"\ncategory = " "\nexplanation = "e"\nfix = "f"\n',
            "missing 'category'",
        ),
        (
            '[[reason]]\nmatch = "x"\ncategory = "C"\nexplanation = "e"\nfix = "f"\n',
            "missing 'app'",
        ),
        (
            '[[reason]]\napp = "*"\nmatch = "x"\ncategory = "C"\nfix = "f"\nowner = "transient"\n',
            "missing 'explanation'",
        ),
        (
            '[[reason]]\napp = "*"\nmatch = "x"\ncategory = "C"\nexplanation = "e"\n'
            'owner = "transient"\n',
            "missing 'fix'",
        ),
        (
            '[[reason]]\napp = "*"\ncategory = "C"\nexplanation = "e"\nfix = "f"\n',
            "needs 'code' or 'match'",
        ),
        (
            '[[reason]]\napp = "*"\nmatch = "(unclosed"\ncategory = "C"\nexplanation = "e"\n'
            'fix = "f"\n',
            "invalid regex in 'match' ('(unclosed')",
        ),
        (
            '[[reason]]\napp = "*"\ncode = "[4"\ncategory = "C"\nexplanation = "e"\nfix = "f"\n',
            "invalid regex in 'code'",
        ),
        (
            '[[reason]]\napp = "*"\ncode = ""\ncategory = "C"\nexplanation = "e"\nfix = "f"\n',
            "'code' is empty",
        ),
        (
            '[[reason]]\napp = "*"\ncode = 401\ncategory = "C"\nexplanation = "e"\nfix = "f"\n',
            "'code' must be a text, not int",
        ),
    ],
)
def test_bad_entry_names_file_entry_line_and_problem(
    tmp_path: Path, bad_entry: str, problem: str
) -> None:
    path = tmp_path / "support.toml"
    path.write_text("# header\n" + GOOD + "\n" + bad_entry, encoding="utf-8")
    bad_line = path.read_text(encoding="utf-8").splitlines().index("[[reason]]", 3) + 1
    with pytest.raises(CatalogError) as error:
        Catalog.load([path])
    message = str(error.value)
    assert message.startswith(f"{path}: reason #2 (line {bad_line}): ")
    assert problem in message
    assert isinstance(error.value, ValueError)


def test_bad_entry_in_text_names_the_source() -> None:
    with pytest.raises(CatalogError, match=r"^mine\.toml: reason #1 \(line 2\): missing 'fix'"):
        Catalog.from_text(
            '\n[[reason]]\napp = "*"\nmatch = "x"\ncategory = "C"\nexplanation = "e"\n'
            'owner = "transient"\n',
            source="mine.toml",
        )


def test_default_source_is_text() -> None:
    with pytest.raises(CatalogError, match=r"^<text>: reason #1 \(line 1\): missing 'app'"):
        Catalog.from_text('[[reason]]\nmatch = "x"\ncategory = "C"\nexplanation = "e"\nfix = "f"\n')


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(GOOD + '\n[[reason]]\napp = "*\n', encoding="utf-8")
    with pytest.raises(CatalogError) as error:
        Catalog.load([path])
    message = str(error.value)
    assert message.startswith(f"{path}: not valid TOML: ")
    bad_line = path.read_text(encoding="utf-8").splitlines().index('app = "*') + 1
    assert f"line {bad_line}" in message


def test_unknown_top_level_key() -> None:
    with pytest.raises(CatalogError, match=r"^x\.toml: unknown top-level key\(s\) 'reasons'"):
        Catalog.from_text('[[reasons]]\napp = "*"\n', source="x.toml")


def test_reason_must_be_a_list_of_tables() -> None:
    with pytest.raises(CatalogError, match=r"^x\.toml: 'reason' must be a list"):
        Catalog.from_text('reason = "oops"\n', source="x.toml")
    with pytest.raises(
        CatalogError, match=r"^x\.toml: reason #2: must be a table of keys, not str"
    ):
        Catalog.from_text(
            'reason = [{app = "*", match = "x", category = "C", explanation = "e", fix = "f"}, '
            '"oops"]\n',
            source="x.toml",
        )


def test_unreadable_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(CatalogError, match=r"nope\.toml: cannot read the catalog file"):
        Catalog.load([missing])
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b"# caf\xe9\n")
    with pytest.raises(CatalogError, match=r"latin1\.toml: cannot read the catalog file"):
        Catalog.load([latin1])


def test_error_in_second_file_names_that_file(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD, encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD + GOOD.replace("match = 'good'", "match = '('"), encoding="utf-8")
    with pytest.raises(CatalogError) as error:
        Catalog.load([good, bad])
    second = bad.read_text(encoding="utf-8").splitlines().index("[[reason]]", 2) + 1
    assert str(error.value).startswith(
        f"{bad}: reason #2 (line {second}): invalid regex in 'match'"
    )


def test_emails_with_apostrophes_and_plus_are_masked_whole() -> None:
    one = fingerprint("X", "Jane.O'Neil@example.co.uk looks fake")
    two = fingerprint("X", "bob+news@example.com looks fake")
    assert one == two == "X: <email> looks fake"


# ------------------------------------------------------------- fingerprints that protect

SF_TOO_LONG = (
    "Billing City: data value too large: Giugliano in Campania, Metropolitan City of Naples "
    "(max length=40)"
)
NGINX_502 = (
    "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway"
    "</h1></center>\n<hr><center>nginx/1.21.6</center>\n</body>\n</html>"
)
CLOUDFLARE_524 = (
    '<!DOCTYPE html>\n<html class="no-js" lang="en-US">\n<head>\n<title>chat.example.com | '
    '524: A timeout occurred</title>\n<meta charset="UTF-8" />\n</head><body>Ray ID: 7f3a</body>'
)


def test_unquoted_customer_values_are_masked_field_names_kept() -> None:
    fp = fingerprint("STRING_TOO_LONG", SF_TOO_LONG)
    assert fp == "STRING_TOO_LONG: Billing City: data value too large: <value> (max length=<n>)"
    assert fp == fingerprint("STRING_TOO_LONG", SF_TOO_LONG.replace("Giugliano in", "Rome,"))
    assert fingerprint(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "Clean Status: bad value for restricted picklist field: Not Compared: [CleanStatus]",
    ) == (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Clean Status: bad value for restricted "
        "picklist field: <value>: [CleanStatus]"
    )
    assert fingerprint("", "twenty was not a valid long.") == "<value> was not a valid long."
    assert fingerprint("", "Invalid MailChimp API key: fhhgg") == (
        "Invalid MailChimp API key: <value>"
    )


def test_the_apps_wording_and_error_codes_are_kept() -> None:
    message = "('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))"
    assert fingerprint("", message) == (
        "('Connection aborted.', ConnectionResetError(<n>, 'Connection reset by peer'))"
    )
    assert fingerprint("", "{ [Error: socket hang up] code: 'ECONNRESET' }") == (
        "{ [Error: socket hang up] code: 'ECONNRESET' }"
    )
    assert fingerprint("", "No such column 'MailingCountryCode' on entity 'Contact'.") == (
        "No such column 'MailingCountryCode' on entity 'Contact'."
    )
    # A value stays a value, even when it reads like words, after "value".
    assert fingerprint("", "Invalid value 'call me later' given") == (
        "Invalid value '<value>' given"
    )
    # JSON: the app's sentences are kept with the values inside them masked.
    assert fingerprint("", '{"detail":"ada@example.com looks fake or invalid"}') == (
        '{"detail":"<email> looks fake or invalid"}'
    )


def test_gateway_pages_become_their_status_and_title() -> None:
    assert fingerprint("502", NGINX_502) == "502: HTML page: 502 Bad Gateway"
    assert fingerprint("524", CLOUDFLARE_524) == "524: HTML page: 524: A timeout occurred"
    other_site = CLOUDFLARE_524.replace("chat.example.com", "api.other.org")
    assert fingerprint("524", other_site) == fingerprint("524", CLOUDFLARE_524)
    assert fingerprint("", "<html><body><h1>Service Unavailable</h1></body></html>") == (
        "HTML page: Service Unavailable"
    )
    assert fingerprint("", "<html><body>down</body></html>") == "HTML page"
    # Tags in a message do not make it a page.
    flow = "The flow failed. <b>An unhandled fault has occurred</b><br>Contact your admin."
    assert fingerprint("", flow) == flow


def test_noise_of_json_responses_is_dropped() -> None:
    body = (
        '{"status":"error","message":"Contact already exists. Existing ID: 6001",'
        '"correlationId":"39b5e83f-bb85-4a01-8b8c-656b8ecc6f32","category":"CONFLICT"}'
    )
    assert fingerprint("CONFLICT", body) == (
        'CONFLICT: {"message":"Contact already exists. Existing ID: <n>","category":"CONFLICT"}'
    )


def test_fingerprint_is_one_bounded_line() -> None:
    long = "Validation failed because " + "the value does not fit and " * 20 + "end."
    fp = fingerprint("E", long)
    masked = split_fingerprint(fp)[1]
    assert len(masked) <= MAX_MESSAGE
    assert masked.endswith("…")
    assert long.startswith(masked[:-1])
    assert long[len(masked) - 1] == " "  # cut at a word
    assert fingerprint("E", long + " more") == fp


@pytest.mark.parametrize(
    ("code", "message"),
    [("502", NGINX_502), ("STRING_TOO_LONG", SF_TOO_LONG), ("524", CLOUDFLARE_524)],
)
def test_reduced_messages_are_idempotent(code: str, message: str) -> None:
    fp = fingerprint(code, message)
    assert fingerprint(code, split_fingerprint(fp)[1]) == fp


# ------------------------------------------------------------------ owners and explanations


def test_every_reason_says_who_acts(catalog: Catalog) -> None:
    cases = {
        ("mailchimp", "Invalid Resource", "ada@x.io looks fake or invalid"): Owner.CUSTOMER_DATA,
        ("salesforce", "INSUFFICIENT_ACCESS", "insufficient access rights"): Owner.CUSTOMER_APP,
        ("hubspot", "EXPIRED_AUTHENTICATION", "token expired"): Owner.CONNECTION_CONFIG,
        ("hubspot", "", "Read timed out"): Owner.TRANSIENT,
        ("pipedrive", "500", "Internal Server Error"): Owner.ENGINEERING,
    }
    for (app, code, message), owner in cases.items():
        reason = catalog.classify(app, fingerprint(code, message))
        assert reason.owner is owner, (app, code, message)
        assert catalog.owner(reason.category) is owner
    assert OTHER_REASON.owner is Owner.ENGINEERING
    assert Owner("transient").label == "Nobody: temporary, it will retry"


KNOWN_MISTAKES = [
    # A Mailchimp sign-up block is not a bad value, and nobody needs to fix it.
    (
        "mailchimp",
        "Invalid Resource",
        "ada@example.com has signed up to a lot of lists very recently; we're not allowing "
        "more signups for now",
        "Too many sign-ups from this address",
        Owner.TRANSIENT,
    ),
    # A missing merge field is not a bad value ...
    (
        "mailchimp",
        "Invalid Resource",
        '{"detail":"Your merge fields were invalid.","errors":[{"field":"LNAME",'
        '"message":"Please enter a value"}]}',
        "Required field missing",
        Owner.CUSTOMER_DATA,
    ),
    # ... and a bad one is.
    (
        "mailchimp",
        "Invalid Resource",
        '{"detail":"Your merge fields were invalid.","errors":[{"field":"ADDRESS",'
        '"message":"Please enter a complete address"}]}',
        "Invalid field value",
        Owner.CUSTOMER_DATA,
    ),
    # The concurrent-request limit passes; the daily allowance is the customer's plan.
    (
        "salesforce",
        "REQUEST_LIMIT_EXCEEDED",
        "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
        "Rate limit",
        Owner.TRANSIENT,
    ),
    (
        "salesforce",
        "REQUEST_LIMIT_EXCEEDED",
        "TotalRequests Limit exceeded.",
        "Daily API limit reached",
        Owner.CUSTOMER_APP,
    ),
    # A wrong audience id is the connection's, not a deleted record.
    (
        "mailchimp",
        "",
        "Invalid MailChimp List ID: 4ad4082529",
        "Wrong audience or list",
        Owner.CONNECTION_CONFIG,
    ),
    # A 500 is not an outage that passes; a 503 is.
    ("hubspot", "500", "internal error", "App internal error", Owner.ENGINEERING),
    ("hubspot", "503", "Service Unavailable", "Temporary app outage", Owner.TRANSIENT),
    # A missing OAuth scope is the connection's grant, not the user's role.
    (
        "hubspot",
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call.",
        "Missing OAuth scope",
        Owner.CONNECTION_CONFIG,
    ),
    (
        "salesforce",
        "",
        "insufficient access rights on object id",
        "User lacks permission",
        Owner.CUSTOMER_APP,
    ),
]


@pytest.mark.parametrize(("app", "code", "message", "category", "owner"), KNOWN_MISTAKES)
def test_known_mistakes_of_the_first_catalog(
    catalog: Catalog, app: str, code: str, message: str, category: str, owner: Owner
) -> None:
    reason = catalog.classify(app, fingerprint(code, message))
    assert (reason.category, reason.owner) == (category, owner)


def test_explanation_names_the_field_when_the_error_does(catalog: Catalog) -> None:
    required = catalog.classify(
        "salesforce",
        fingerprint("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]"),
    )
    assert "“LastName”" in required.explanation
    assert "“LastName”" in required.fix
    merge = catalog.classify(
        "mailchimp",
        fingerprint(
            "Invalid Resource",
            '{"errors":[{"field":"LNAME","message":"Please enter a value"}]}',
        ),
    )
    assert "“LNAME”" in merge.explanation
    too_long = catalog.classify("salesforce", fingerprint("STRING_TOO_LONG", SF_TOO_LONG))
    assert "“Billing City”" in too_long.explanation
    assert "Giugliano" not in too_long.explanation + too_long.fix


def test_explanation_does_not_pretend_to_name_a_field(catalog: Catalog) -> None:
    for app, code, message in [
        ("mailchimp", "Invalid Resource", "Your merge fields were invalid."),
        ("salesforce", "REQUIRED_FIELD_MISSING", "Required fields are missing"),
        (
            "salesforce",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "bad value for restricted picklist field",
        ),
        ("pipedrive", "400", "Something was wrong"),
    ]:
        reason = catalog.classify(app, fingerprint(code, message))
        text = reason.explanation + reason.fix
        assert "{field}" not in text
        assert "“" not in text
        assert "says which" not in text.replace("does not say which", "")


def test_explain_a_pasted_error(catalog: Catalog) -> None:
    with_app = catalog.explain("Required fields are missing: [LastName]", app_kind="Salesforce")
    assert with_app.app_kind == "salesforce"
    assert with_app.category == "Required field missing"
    assert with_app.owner is Owner.CUSTOMER_DATA
    assert with_app.fingerprint == "Required fields are missing: [LastName]"
    # Without an app, the generic entries first, then each app's until one knows it.
    guessed = catalog.explain("cannot reference converted lead")
    assert (guessed.app_kind, guessed.category) == ("salesforce", "Lead already converted")
    generic = catalog.explain("Too Many Requests", code="429")
    assert (generic.app_kind, generic.category) == ("", "Rate limit")
    unknown = catalog.explain("Flux capacitor misaligned", app_kind="hubspot")
    assert unknown.reason is OTHER_REASON
    assert unknown.app_kind == ""


# ------------------------------------------------------------------ categories in the files

CATEGORY = """
[[category]]
name = "Bounced"
owner = "customer_data"
explanation = "The address bounced."
fix = "Correct it."
"""


def test_reasons_inherit_their_declared_category() -> None:
    catalog = Catalog.from_text(
        CATEGORY + '\n[[reason]]\napp = "*"\nmatch = "bounced"\ncategory = "Bounced"\n'
    )
    reason = catalog.classify("x", "Mail bounced")
    assert reason == Reason("Bounced", "The address bounced.", "Correct it.", Owner.CUSTOMER_DATA)
    assert catalog.category("Bounced").owner is Owner.CUSTOMER_DATA
    assert catalog.category("Nope").explanation == OTHER_REASON.explanation


def test_user_file_redeclares_a_category(tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text(
        '[[category]]\nname = "Record locked"\nowner = "customer_app"\n'
        'explanation = "Our org locks records at night."\nfix = "Sync by day."\n',
        encoding="utf-8",
    )
    catalog = Catalog.load([bundled_catalog(), user])
    reason = catalog.classify("activecampaign", "record is locked")
    assert (reason.owner, reason.explanation) == (
        Owner.CUSTOMER_APP,
        "Our org locks records at night.",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[[reason]]\napp = "*"\nmatch = "x"\ncategory = "C"\nexplanation = "e"\nfix = "f"\n',
            "reason #1 (line 1): missing 'owner' (category 'C' is not declared",
        ),
        (
            '[[reason]]\napp = "*"\nmatch = "x"\ncategory = "C"\nexplanation = "e"\nfix = "f"\n'
            'owner = "customer"\n',
            "reason #1 (line 1): owner 'customer' is not one of: customer_data, customer_app, "
            "connection_config, transient, engineering",
        ),
        (
            CATEGORY + '[[reason]]\napp = "*"\nmatch = "x"\ncategory = "Bounced"\n'
            'owner = "transient"\n',
            "reason #1 (line 7): owner 'transient' differs from the owner of category "
            "'Bounced' ('customer_data')",
        ),
        (
            CATEGORY + '[[reason]]\napp = "*"\nmatch = "x"\ncategory = "Bounced"\n'
            'explanation = "The field {field} bounced."\n',
            "reason #1 (line 7): 'explanation' says {field}, but no match names a field",
        ),
        (
            CATEGORY + '[[reason]]\napp = "*"\nmatch = "(?P<field>x)"\ncategory = "Bounced"\n'
            'fix = "Fix {value}."\n',
            "reason #1 (line 7): 'fix' says {value}; the only placeholder is {field}",
        ),
        (
            '[[category]]\nname = "B"\nowner = "transient"\nexplanation = "e"\n',
            "category #1 (line 1): missing 'fix'",
        ),
        (
            '[[category]]\nname = "B"\nowner = "transient"\nexplanation = "e {field}"\nfix = "f"\n',
            "category #1 (line 1): 'explanation' says {field}",
        ),
        (CATEGORY + CATEGORY, "category #2 (line 8): category 'Bounced' is already declared"),
        (
            '[[category]]\nname = "B"\nowner = "transient"\nexplanation = "e"\nfix = "f"\n'
            'match = "x"\n',
            "category #1 (line 1): unknown key(s) 'match'",
        ),
    ],
)
def test_malformed_categories_and_owners_are_refused(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "support.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as error:
        Catalog.load([path])
    assert str(error.value).startswith(f"{path}: {problem}")


def test_the_readme_example_of_a_users_file_works(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    user = tmp_path / "failure-catalog.toml"
    user.write_text(example, encoding="utf-8")
    catalog = Catalog.load([bundled_catalog(), user])
    found = catalog.explain("Contact bounced: EMAIL", app_kind="activecampaign", code="422")
    assert (found.category, found.owner) == ("Bounced", Owner.CUSTOMER_DATA)
    assert found.reason.explanation == "The address in “EMAIL” bounced."
