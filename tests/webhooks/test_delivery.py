"""Deliveries to a real receiver: signed per Standard Webhooks, in seq order per endpoint,
retried with backoff (and Retry-After), disabled on 410 or after a day of failures."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select, update

from taskmanager.notifications.models import Notification
from taskmanager.webhooks.models import WebhookEndpoint
from tests.helpers import API, ApiClient, Team, create_task, events
from tests.server import RunningServer
from tests.webhooks.conftest import add_webhook
from tests.webhooks.receiver import Receiver, Reply


async def deliveries(client: ApiClient, webhook_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def wait_until(check: Any, timeout: float = 30) -> Any:
    for _ in range(int(timeout / 0.05)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def webhook(client: ApiClient, webhook_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/webhooks/{webhook_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_each_event_is_signed_and_is_the_event_log_json(
    hooks_team: Team, receiver: Receiver
) -> None:
    owner, pid = hooks_team["owner"], hooks_team.project_id
    hook = await add_webhook(owner, pid, receiver, "/signed")
    assert hook["secret"].startswith("whsec_")
    assert "secret" not in await webhook(owner, hook["id"])
    task = await create_task(owner, pid, "Signed")
    [got] = await receiver.wait_for("/signed", 1)
    assert got.verified
    [logged] = [e for e in await events(owner, pid) if e["seq"] == got.seq]
    assert got.body == logged
    assert got.body["name"] == "task.created"
    assert got.body["data"]["id"] == task["id"]
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.headers["webhook-signature"].startswith("v1,")
    [delivery] = await wait_until(lambda: deliveries(owner, hook["id"]))
    assert delivery["status"] == "succeeded"
    assert delivery["response_status"] == 200
    assert delivery["attempts"] == 1
    assert delivery["event_seq"] == got.seq
    assert delivery["message_id"] == got.headers["webhook-id"]
    assert delivery["duration_ms"] >= 0


async def test_a_burst_of_writes_arrives_in_seq_order_per_endpoint(
    hooks_team: Team, receiver: Receiver
) -> None:
    owner, pid = hooks_team["owner"], hooks_team.project_id
    await add_webhook(owner, pid, receiver, "/burst-all")
    await add_webhook(owner, pid, receiver, "/burst-created", events=["task.created"])
    start = max([0, *(e["seq"] for e in await events(owner, pid))])
    # Concurrent writers: the log's seq is the commit order, and so is each endpoint's.
    await asyncio.gather(*(create_task(owner, pid, f"Burst {i}") for i in range(25)))
    got = await receiver.wait_for("/burst-all", 25)
    assert [r.seq for r in got] == list(range(start + 1, start + 26))
    assert all(r.verified for r in got)
    created = await receiver.wait_for("/burst-created", 25)
    assert [r.seq for r in created] == list(range(start + 1, start + 26))


async def test_a_500_is_retried_with_backoff_until_it_succeeds(
    hooks_team: Team, receiver: Receiver
) -> None:
    owner, pid = hooks_team["owner"], hooks_team.project_id
    receiver.answer("/flaky", Reply(500, body=b"try later"), Reply(500))
    hook = await add_webhook(owner, pid, receiver, "/flaky")
    await create_task(owner, pid, "First")
    await create_task(owner, pid, "Second")
    got = await receiver.wait_for("/flaky", 4)
    first, second = got[0].seq, got[3].seq
    # The failing event is tried again before anything after it: order holds.
    assert [r.seq for r in got] == [first, first, first, second]
    assert len({r.headers["webhook-id"] for r in got[:3]}) == 1
    log = await wait_until(lambda: _when_done(owner, hook["id"], 2))
    by_seq = {d["event_seq"]: d for d in log}
    assert by_seq[first]["attempts"] == 3
    assert by_seq[first]["status"] == "succeeded"
    assert by_seq[second]["attempts"] == 1
    assert (await webhook(owner, hook["id"]))["failing_since"] is None


async def _when_done(client: ApiClient, webhook_id: str, count: int) -> list[dict[str, Any]]:
    log = await deliveries(client, webhook_id)
    done = [d for d in log if d["status"] == "succeeded"]
    return log if len(done) >= count else []


async def test_retry_after_is_honoured(hooks_team: Team, receiver: Receiver) -> None:
    owner, pid = hooks_team["owner"], hooks_team.project_id
    receiver.answer("/busy", Reply(429, headers={"Retry-After": "2"}))
    hook = await add_webhook(owner, pid, receiver, "/busy")
    await create_task(owner, pid, "Rate limited")
    [refused] = await receiver.wait_for("/busy", 1)
    [failed] = await wait_until(lambda: deliveries(owner, hook["id"]))
    assert failed["status"] == "failed"
    assert failed["response_status"] == 429
    last = dt.datetime.fromisoformat(failed["last_attempt_at"])
    due = dt.datetime.fromisoformat(failed["next_attempt_at"])
    # The backoff base is 0.2 s here: two seconds is the receiver's word.
    assert dt.timedelta(seconds=1.9) <= due - last <= dt.timedelta(seconds=2.1)
    _, retried = await receiver.wait_for("/busy", 2)
    assert retried.seq == refused.seq
    assert retried.at - refused.at >= 1.9


async def test_a_410_disables_the_endpoint_and_tells_the_admins(
    hooks_team: Team, receiver: Receiver, hooks_server: RunningServer
) -> None:
    owner, pid = hooks_team["owner"], hooks_team.project_id
    receiver.answer("/gone", Reply(410))
    hook = await add_webhook(owner, pid, receiver, "/gone")
    await create_task(owner, pid, "Nobody home")
    await receiver.wait_for("/gone", 1)
    disabled = await wait_until(lambda: _disabled(owner, hook["id"]))
    assert disabled["disabled_reason"] == "gone"
    await create_task(owner, pid, "Not sent")
    rows = await _disabled_notifications(hooks_server, hook["id"])
    assert {r.user_id for r in rows} == {
        uuid.UUID(hooks_team.user_id("owner")),
        uuid.UUID(hooks_team.user_id("admin")),
    }
    # Re-enabling resumes where it stopped: the refused event first, then the next one.
    response = await owner.patch(f"{API}/webhooks/{hook['id']}", json={"enabled": True})
    assert response.status_code == 200, response.text
    assert response.json()["enabled"] is True
    got = await receiver.wait_for("/gone", 3)
    assert got[1].seq == got[0].seq
    assert got[2].seq > got[1].seq


async def _disabled(client: ApiClient, webhook_id: str) -> dict[str, Any] | None:
    body = await webhook(client, webhook_id)
    return None if body["enabled"] else body


async def _disabled_notifications(server: RunningServer, webhook_id: str) -> list[Notification]:
    async with server.resources.session_factory() as db:
        rows = await db.scalars(select(Notification).where(Notification.kind == "webhook_disabled"))
        return [r for r in rows if r.data.get("webhook_id") == webhook_id]


async def test_a_day_of_failures_disables_the_endpoint_and_notifies(
    hooks_team: Team, receiver: Receiver, hooks_server: RunningServer
) -> None:
    owner, pid = hooks_team["owner"], hooks_team.project_id
    receiver.answer("/down", *[Reply(503)] * 3)
    hook = await add_webhook(owner, pid, receiver, "/down")
    await create_task(owner, pid, "Outage")
    await receiver.wait_for("/down", 2)
    # The clock: the run of failures started a day ago (instead of waiting one).
    async with hooks_server.resources.session_factory() as db:
        await db.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == uuid.UUID(hook["id"]))
            .values(failing_since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=24, seconds=1))
        )
        await db.commit()
    disabled = await wait_until(lambda: _disabled(owner, hook["id"]))
    assert disabled["disabled_reason"] == "failing"
    rows = await _disabled_notifications(hooks_server, hook["id"])
    assert len(rows) == 2  # the owner and the admin; not the member or the viewer
    assert all(r.data["reason"] == "failing" for r in rows)


async def test_redelivery_sends_one_delivery_again(hooks_team: Team, receiver: Receiver) -> None:
    owner, pid = hooks_team["owner"], hooks_team.project_id
    hook = await add_webhook(owner, pid, receiver, "/again")
    await create_task(owner, pid, "Once more")
    [first] = await receiver.wait_for("/again", 1)
    [delivery] = await wait_until(lambda: deliveries(owner, hook["id"]))
    response = await owner.post(
        f"{API}/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver"
    )
    assert response.status_code == 202, response.text
    assert response.json()["id"] == delivery["id"]
    _, again = await receiver.wait_for("/again", 2)
    assert again.verified
    assert again.body == first.body
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    [logged] = await wait_until(lambda: _attempts(owner, hook["id"], 2))
    assert logged["status"] == "succeeded"
    unknown = await owner.post(f"{API}/webhooks/{hook['id']}/deliveries/{uuid.uuid4()}/redeliver")
    assert unknown.status_code == 404


async def _attempts(client: ApiClient, webhook_id: str, count: int) -> list[dict[str, Any]]:
    log = await deliveries(client, webhook_id)
    return log if log and log[0]["attempts"] >= count else []


async def test_a_redirect_is_not_followed_and_a_long_answer_is_cut(
    hooks_team: Team, receiver: Receiver
) -> None:
    owner, pid = hooks_team["owner"], hooks_team.project_id
    moved = Reply(307, headers={"Location": receiver.url("/elsewhere")})
    receiver.answer("/moved", moved, moved, moved)
    hook = await add_webhook(owner, pid, receiver, "/moved")
    await create_task(owner, pid, "Redirected")
    [delivery] = await wait_until(lambda: deliveries(owner, hook["id"]))
    assert delivery["status"] == "failed"
    assert delivery["response_status"] == 307
    await receiver.wait_for("/moved", 4)  # retried at the same URL until it answers 200
    assert receiver.on("/elsewhere") == []
    long_answer = "y" * 5000
    receiver.answer("/long", Reply(200, body=long_answer.encode()))
    hook = await add_webhook(owner, pid, receiver, "/long")
    await create_task(owner, pid, "Talkative receiver")
    [delivery] = await wait_until(lambda: deliveries(owner, hook["id"]))
    assert delivery["response_body"] == "y" * 1024, delivery
