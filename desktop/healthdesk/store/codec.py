"""Domain objects to and from the columns that store them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from healthdesk.core.model import (
    App,
    Condition,
    Connection,
    Direction,
    LockedBy,
    Op,
    Phase,
    Rule,
    Settings,
    Side,
    SyncState,
)


def rules_to_json(rules: Sequence[Rule]) -> str:
    """Rules as canonical JSON text (the feed's shape): equal rules give equal text."""
    return orjson.dumps(
        [
            {
                "id": rule.id,
                "from": rule.side.value,
                "all": [
                    {
                        "field": cond.field,
                        "op": cond.op.value,
                        "value": list(cond.value) if isinstance(cond.value, tuple) else cond.value,
                    }
                    for cond in rule.conditions
                ],
            }
            for rule in rules
        ]
    ).decode()


def rules_from_json(text: str) -> tuple[Rule, ...]:
    rules = []
    for raw in orjson.loads(text):
        conditions = []
        for cond in raw["all"]:
            value = cond["value"]
            conditions.append(
                Condition(
                    field=cond["field"],
                    op=Op(cond["op"]),
                    value=tuple(value) if isinstance(value, list) else value,
                )
            )
        rules.append(Rule(id=raw["id"], side=Side(raw["from"]), conditions=tuple(conditions)))
    return tuple(rules)


def settings_from_row(direction: str, avoid_duplicates: Any, rules_json: str) -> Settings:
    return Settings(
        direction=Direction(direction),
        avoid_duplicates=bool(avoid_duplicates),
        rules=rules_from_json(rules_json),
    )


#: The columns of `connections` that `connection_from_row` reads, in order.
CONNECTION_COLUMNS = (
    "id, name, app_a_name, app_a_kind, app_b_name, app_b_kind, direction, avoid_duplicates, "
    "rules_json, state_phase, state_app, locked_by_id, locked_by_name, state_message"
)


def connection_from_row(row: Sequence[Any]) -> Connection:
    (
        connection_id,
        name,
        a_name,
        a_kind,
        b_name,
        b_kind,
        direction,
        avoid,
        rules_json,
        phase,
        app,
        locked_id,
        locked_name,
        message,
    ) = row
    return Connection(
        id=connection_id,
        name=name,
        app_a=App(name=a_name, kind=a_kind),
        app_b=App(name=b_name, kind=b_kind),
        settings=settings_from_row(direction, avoid, rules_json),
        state=SyncState(
            phase=Phase(phase),
            app=Side(app) if app else None,
            locked_by=LockedBy(id=locked_id, name=locked_name or "") if locked_id else None,
            message=message,
        ),
    )
