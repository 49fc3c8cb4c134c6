"""The summary's shapes: the JSON object, the readable table and the sync state in words."""

from __future__ import annotations

import json

import pytest

from healthdesk.core.failures import Catalog, Owner
from healthdesk.core.model import (
    App,
    Connection,
    Direction,
    LockedBy,
    Outcome,
    Phase,
    Reason,
    Settings,
    Side,
    Status,
    SyncState,
)
from healthdesk.reports.summary import state_text, summary_dict, summary_json, summary_text
from healthdesk.store.queries import FailureGroup, Summary


def make_connection(
    state: SyncState | None = None,
    *,
    direction: Direction = Direction.TWO_WAY,
    avoid_duplicates: bool = True,
) -> Connection:
    return Connection(
        id="c-1",
        name="HubSpot ⇄ Mailchimp",
        app_a=App("HubSpot", "hubspot"),
        app_b=App("Mailchimp", "mailchimp"),
        settings=Settings(direction=direction, avoid_duplicates=avoid_duplicates, rules=()),
        state=state or SyncState(Phase.ACTIVE),
    )


def make_summary(connection: Connection) -> Summary:
    return Summary(
        connection=connection,
        counts={
            Status.IN_SYNC: 1200,
            Status.EXCLUDED: 30,
            Status.DUPLICATE: 4,
            Status.FAILING: 7,
            Status.PENDING: 0,
        },
        excluded={Reason.NO_RULE_MATCH: 25, Reason.NO_EMAIL: 5},
        actions={
            Side.A: {Outcome.CREATED: 3, Outcome.UPDATED: 9},
            Side.B: {Outcome.CREATED: 1500, Outcome.UPDATED: 44},
        },
        failures=[
            FailureGroup(Side.B, "Invalid or fake email", "<email> looks fake", 5),
            FailureGroup(Side.A, "Other", "CONFLICT: exists <n>", 2),
        ],
    )


LOCKED = SyncState(Phase.LOCKED, locked_by=LockedBy("c-9", "Salesforce → HubSpot"))


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (SyncState(Phase.SCANNING, app=Side.A), "Scanning HubSpot"),
        (SyncState(Phase.SCANNING, app=Side.B), "Scanning Mailchimp"),
        (SyncState(Phase.SCANNING), "Scanning"),
        (SyncState(Phase.SYNCING, app=Side.B), "Syncing Mailchimp"),
        (SyncState(Phase.SYNCING), "Syncing"),
        (SyncState(Phase.ACTIVE), "Active and listening for changes"),
        (SyncState(Phase.PAUSED), "Paused"),
        (LOCKED, "Waiting for Salesforce → HubSpot (c-9) to finish"),
        (
            SyncState(Phase.LOCKED, locked_by=LockedBy("c-9", "")),
            "Waiting for connection c-9 to finish",
        ),
        (SyncState(Phase.LOCKED), "Waiting for another connection to finish"),
        (
            SyncState(Phase.ERROR, message="The HubSpot login has expired."),
            "Error: The HubSpot login has expired.",
        ),
        (SyncState(Phase.ERROR), "Error"),
    ],
)
def test_state_text(state: SyncState, text: str):
    assert state_text(make_connection(state)) == text


def test_every_phase_has_a_text():
    for phase in Phase:
        assert state_text(make_connection(SyncState(phase)))


def test_summary_text_shows_the_locked_state_and_the_counts():
    text = summary_text(make_summary(make_connection(LOCKED)))
    lines = text.splitlines()

    assert lines[0] == "HubSpot ⇄ Mailchimp [c-1]"
    assert lines[1] == "  HubSpot ⇄ Mailchimp, Avoid Duplicates on"
    assert lines[2] == "  State: Waiting for Salesforce → HubSpot (c-9) to finish"
    assert "  Contacts          1,241" in lines
    assert "  In sync           1,200" in lines
    assert "  Excluded             30   (no rule match 25, no email 5)" in lines
    assert "  Duplicates            4" in lines
    assert "  Failing               7" in lines
    assert "  Pending               0" in lines
    assert "    HubSpot                     3 created        9 updated" in lines
    assert "    Mailchimp               1,500 created       44 updated" in lines
    assert "  Failure reasons" in lines
    failures = lines[lines.index("  Failure reasons") + 1 :]
    assert failures == [
        "          5  Mailchimp · Invalid or fake email · <email> looks fake",
        "          2  HubSpot · Other · CONFLICT: exists <n>",
    ]


def test_summary_text_one_way_without_failures():
    summary = make_summary(make_connection(direction=Direction.A_TO_B, avoid_duplicates=False))
    summary.failures = []

    text = summary_text(summary)

    assert "  HubSpot → Mailchimp, Avoid Duplicates off" in text.splitlines()
    assert "State: Active and listening for changes" in text
    assert "Failure reasons" not in text


CATALOG = Catalog.load()


def test_summary_dict_shape():
    data = summary_dict(make_summary(make_connection(LOCKED)), catalog=CATALOG)

    assert data["connection"]["id"] == "c-1"
    assert data["connection"]["direction"] == "two_way"
    assert data["connection"]["state"] == {
        "phase": "locked",
        "app": None,
        "locked_by": {"id": "c-9", "name": "Salesforce → HubSpot"},
        "message": None,
    }
    assert data["counts"] == {
        "in_sync": 1200,
        "excluded": 30,
        "duplicate": 4,
        "failing": 7,
        "pending": 0,
    }
    assert data["total"] == 1241
    assert data["excluded"] == {"no_rule_match": 25, "no_email": 5}
    assert data["actions"] == {
        "a": {"created": 3, "updated": 9},
        "b": {"created": 1500, "updated": 44},
    }
    assert data["failures"] == [
        {
            "app": "b",
            "category": "Invalid or fake email",
            "owner": CATALOG.owner("Invalid or fake email").value,
            "fingerprint": "<email> looks fake",
            "count": 5,
        },
        {
            "app": "a",
            "category": "Other",
            "owner": "engineering",
            "fingerprint": "CONFLICT: exists <n>",
            "count": 2,
        },
    ]
    # Who acts is the category's owner: the customer fixes a bad address.
    assert data["failures"][0]["owner"] == Owner.CUSTOMER_DATA.value


def test_summary_json_is_the_dict():
    summary = make_summary(make_connection(SyncState(Phase.SCANNING, app=Side.B, message="step 2")))

    data = json.loads(summary_json(summary, catalog=CATALOG))

    assert data == summary_dict(summary, catalog=CATALOG)
    assert data["connection"]["state"] == {
        "phase": "scanning",
        "app": "b",
        "locked_by": None,
        "message": "step 2",
    }
