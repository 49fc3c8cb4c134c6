"""Retries through the real reference service on 127.0.0.1: POST /v1/connections/{id}/retry,
its token check, its idempotency, and the contacts' way through pending to what the
service says it simulated."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from sqlalchemy import Engine

from healthdesk.core.model import Side, Status
from healthdesk.store.db import open_db
from healthdesk.store.pages import ContactFilter
from healthdesk.store.retries import retry_targets
from healthdesk.sync.client import AuthError, ServiceError, SyncClient
from healthdesk.sync.server import running_service
from healthdesk.sync.simulate import RETRY_SAME_ERROR, RETRY_SUCCESS
from tests.helpers.db import status_of
from tests.sync.test_client import DEMO, TOKEN, backoff, run

CID = "c-hs-mc"


@pytest.fixture
def service() -> Iterator[Any]:
    # No delay of its own: the test says when the service processes the retries.
    with running_service(snapshots=[DEMO], token=TOKEN, retry_delay=None, seed=3) as handle:
        yield handle


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_db(tmp_path / "retry.sqlite3")
    yield engine
    engine.dispose()


def client(service: Any, engine: Engine, token: str | None = TOKEN) -> SyncClient:
    return SyncClient(base_url=service.url, token=token, engine=engine, backoff=backoff())


async def pull(service: Any, engine: Engine) -> None:
    async with client(service, engine) as sync:
        await sync.pull(CID)


def failing_targets(engine: Engine) -> list[tuple[Side, str]]:
    return retry_targets(engine, CID, contact_filter=ContactFilter(Status.FAILING))


def test_a_retry_needs_the_token(service: Any, engine: Engine) -> None:
    run(pull(service, engine))
    target = failing_targets(engine)[0]

    async def without_token() -> None:
        async with client(service, engine, token=None) as sync:
            await sync.retry(CID, [target], key="k-1")

    with pytest.raises(AuthError):
        run(without_token())
    assert service.service.retries_waiting(CID) == 0
    assert service.requests[-1] == f"POST /v1/connections/{CID}/retry [unauthorized]"


def test_the_same_request_twice_queues_once(service: Any, engine: Engine) -> None:
    run(pull(service, engine))
    targets = failing_targets(engine)[:5]
    size = service.service.size(CID)

    async def twice() -> tuple[Any, Any, Any]:
        async with client(service, engine) as sync:
            first = await sync.retry(CID, targets, key="same-key")
            again = await sync.retry(CID, targets, key="same-key")
            other_key = await sync.retry(CID, targets, key="other-key")
            return first, again, other_key

    first, again, other_key = run(twice())
    assert list(first.queued) == targets
    assert not first.replayed
    assert again == first.__class__(**{**_fields(first), "replayed": True})
    # A new key for records that wait already: nothing is queued twice.
    assert other_key.queued == ()
    assert list(other_key.already_queued) == targets
    items = service.service.items(CID, size)
    assert [(i["app"], i["id"], i["outcome"]) for i in items] == [
        (app.value, rid, "queued") for app, rid in targets
    ]

    async def reused() -> None:
        async with client(service, engine) as sync:
            await sync.retry(CID, targets[:2], key="same-key")

    with pytest.raises(ServiceError) as caught:
        run(reused())
    assert caught.value.status == 422
    assert caught.value.code == "idempotency_key_reused"


def _fields(answer: Any) -> dict[str, Any]:
    return {name: getattr(answer, name) for name in answer.__slots__}


def test_unknown_records_are_said_and_not_queued(service: Any, engine: Engine) -> None:
    run(pull(service, engine))
    target = failing_targets(engine)[0]
    in_sync = _a_record_of_status(engine, Status.IN_SYNC)
    wanted = [target, (Side.A, "no-such-record"), in_sync]

    async def ask() -> Any:
        async with client(service, engine) as sync:
            return await sync.retry(CID, wanted, key=str(uuid.uuid4()))

    answer = run(ask())
    assert list(answer.queued) == [target]
    assert list(answer.unknown) == wanted[1:]


def _a_record_of_status(engine: Engine, status: Status) -> tuple[Side, str]:
    with engine.connect() as db:
        app, ext_id = db.exec_driver_sql(
            "SELECT r.app, r.ext_id FROM contacts c JOIN records r ON r.rid = c.rid "
            "WHERE c.connection_id = ? AND c.status = ? ORDER BY c.rid LIMIT 1",
            (CID, status.value),
        ).one()
    return Side(app), ext_id


def test_retried_contacts_go_pending_then_to_what_the_service_simulated(
    service: Any, engine: Engine
) -> None:
    run(pull(service, engine))
    targets = failing_targets(engine)
    assert len(targets) >= 20  # enough for each outcome to happen
    for app, rid in targets:
        assert status_of(engine, app.value, rid, CID) == Status.FAILING

    async def ask() -> Any:
        async with client(service, engine) as sync:
            return await sync.retry(CID, targets, key=str(uuid.uuid4()))

    answer = run(ask())
    assert list(answer.queued) == targets
    run(pull(service, engine))
    for app, rid in targets:
        assert status_of(engine, app.value, rid, CID) == Status.PENDING

    size = service.service.size(CID)
    assert service.service.process_retries(CID) > 0
    outcomes = {
        (item["app"], item["id"]): item["outcome"]
        for item in service.service.items(CID, size)
        if item["type"] == "event"
    }
    assert set(outcomes) == {(app.value, rid) for app, rid in targets}
    # Each way happened (seeded): through, and failing again.
    assert {"failed"} < set(outcomes.values())
    run(pull(service, engine))
    for (app, rid), outcome in outcomes.items():
        expected = Status.FAILING if outcome == "failed" else Status.IN_SYNC
        assert status_of(engine, app, rid, CID) == expected, (app, rid, outcome)
    assert 0 < RETRY_SUCCESS < RETRY_SUCCESS + RETRY_SAME_ERROR < 1


def test_bad_requests_get_their_status(service: Any) -> None:
    url = f"{service.url}/v1/connections/{CID}/retry"
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def post(body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers={**auth, **headers}) as response,
        ):
            return response.status, orjson.loads(await response.read())

    async def all_of_them() -> list[tuple[int, Any]]:
        good = orjson.dumps({"records": [{"app": "a", "id": "1"}]})
        return [
            await post(good, {}),  # no key
            await post(b"not json", {"Idempotency-Key": "k"}),
            await post(orjson.dumps({"records": []}), {"Idempotency-Key": "k"}),
            await post(orjson.dumps({"records": [{"app": "c"}]}), {"Idempotency-Key": "k"}),
            await post(good, {"Idempotency-Key": "has space"}),
        ]

    answers = asyncio.run(all_of_them())
    assert [status for status, _ in answers] == [400] * 5
    assert {body["error"]["code"] for _, body in answers} == {"bad_retry"}
    assert service.service.retries_waiting(CID) == 0


def test_other_routes_still_refuse_a_body(service: Any) -> None:
    async def post_feed() -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{service.url}/v1/connections",
                data=b"x" * 10,
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as response,
        ):
            return response.status

    assert asyncio.run(post_feed()) == 413
