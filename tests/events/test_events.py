"""The event log: reading it, its shape, publishing after commit, pruning."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from taskmanager.events.models import Event
from taskmanager.events.retention import RetentionJob
from taskmanager.events.service import event_to_message
from taskmanager.membership.models import Project
from taskmanager.uow import RedisPublisher
from tests.helpers import (
    API,
    MEMBERS_READ,
    Team,
    assert_problem,
    create_task,
    events,
    expect_statuses,
)
from tests.server import RunningServer

CONTRACT_NAMES = {
    "project.updated",
    "project.deleted",
    "member.added",
    "member.updated",
    "member.removed",
    "task.created",
    "task.updated",
    "task.moved",
    "task.deleted",
    "label.created",
    "label.updated",
    "label.deleted",
    "comment.created",
    "comment.updated",
    "comment.deleted",
}
EVENT_KEYS = {"type", "project_id", "seq", "name", "actor_id", "request_id", "at", "data"}


async def test_read_pages_and_shape(team: Team) -> None:
    pid = team.project_id
    for i in range(5):
        await create_task(team["member"], pid, f"t{i}")
    url = f"{API}/projects/{pid}/events"
    page = (await team["viewer"].get(url, params={"limit": 3})).json()
    assert [e["seq"] for e in page["items"]] == [1, 2, 3]  # three member.added first
    assert page["next_cursor"] == "3"
    nxt = (
        await team["viewer"].get(url, params={"after_seq": page["next_cursor"], "limit": 100})
    ).json()
    assert [e["seq"] for e in nxt["items"]] == [4, 5, 6, 7, 8]
    assert nxt["next_cursor"] is None
    for event in page["items"] + nxt["items"]:
        assert set(event) == EVENT_KEYS
        assert event["type"] == "event" and event["project_id"] == pid
        assert event["at"].endswith("Z")
    beyond = (await team["viewer"].get(url, params={"after_seq": 1000})).json()
    assert beyond == {"items": [], "next_cursor": None}


async def test_roles_and_validation(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/events"
    await expect_statuses(
        team,
        MEMBERS_READ,
        lambda c, _r: c.get(url),
    )
    for params, field in (
        ({"after_seq": -1}, "after_seq"),
        ({"after_seq": "x"}, "after_seq"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
    ):
        assert_problem(await team["viewer"].get(url, params=params), 422, field=field)
    assert_problem(await team["viewer"].get(f"{API}/projects/zzz/events"), 422, field="project_id")


async def test_after_seq_beyond_the_seq_column_is_422(team: Team) -> None:
    # Found by schemathesis: a seq past BIGINT reached the driver (SQLite OverflowError: 500).
    url = f"{API}/projects/{team.project_id}/events"
    largest = 2**63 - 1
    page = await team["viewer"].get(url, params={"after_seq": largest})
    assert page.json() == {"items": [], "next_cursor": None}
    too_big = await team["viewer"].get(url, params={"after_seq": largest + 1})
    assert_problem(too_big, 422, field="after_seq")


async def test_every_contract_event_name(team: Team, server: RunningServer) -> None:
    pid = team.project_id
    owner, member = team["owner"], team["member"]
    label = (
        await member.post(f"{API}/projects/{pid}/labels", json={"name": "l", "color": "#123456"})
    ).json()
    await member.patch(f"{API}/labels/{label['id']}", json={"name": "l2"})
    task = await create_task(member, pid, label_ids=[label["id"]])
    await member.patch(f"{API}/tasks/{task['id']}", json={"title": "u"})
    await member.post(f"{API}/tasks/{task['id']}/move", json={"status": "done"})
    comment = (await member.post(f"{API}/tasks/{task['id']}/comments", json={"body": "b"})).json()
    await member.patch(f"{API}/comments/{comment['id']}", json={"body": "b2"})
    await member.delete(f"{API}/comments/{comment['id']}")
    await member.delete(f"{API}/labels/{label['id']}")
    await member.delete(f"{API}/tasks/{task['id']}")
    await owner.patch(
        f"{API}/projects/{pid}/members/{team.user_id('member')}", json={"role": "viewer"}
    )
    await owner.delete(f"{API}/projects/{pid}/members/{team.user_id('viewer')}")
    await owner.patch(f"{API}/projects/{pid}", json={"name": "n"})
    log = await events(owner, pid)
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert {e["name"] for e in log} == CONTRACT_NAMES - {"project.deleted"}

    pubsub = server.resources.redis.pubsub()
    await pubsub.subscribe(f"project:{pid}")
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    assert (
        await owner.delete(f"{API}/projects/{pid}", headers={"X-Request-ID": "bye"})
    ).status_code == 204
    message = await _next_message(pubsub)
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    published = orjson.loads(message)
    assert published["name"] == "project.deleted"
    assert published["seq"] == log[-1]["seq"] + 1
    assert published["request_id"] == "bye"
    assert published["data"] == {"id": pid}


async def _next_message(pubsub: Any) -> bytes:
    for _ in range(50):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            data: bytes = message["data"]
            return data
        await asyncio.sleep(0.01)
    raise AssertionError("nothing published")


async def test_published_message_equals_logged_event(team: Team, server: RunningServer) -> None:
    pid = team.project_id
    pubsub = server.resources.redis.pubsub()
    await pubsub.subscribe(f"project:{pid}")
    await pubsub.get_message(timeout=1)
    await create_task(team["member"], pid, "published")
    message = await _next_message(pubsub)
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    logged = (await events(team["owner"], pid))[-1]
    assert orjson.loads(message) == logged
    assert set(orjson.loads(message)) == EVENT_KEYS


class _BrokenPipeline:
    async def __aenter__(self) -> _BrokenPipeline:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None

    def publish(self, *args: object) -> None:
        return None

    async def execute(self) -> None:
        raise ConnectionError("redis is down")


class _BrokenRedis:
    def pipeline(self, transaction: bool = True) -> _BrokenPipeline:
        return _BrokenPipeline()


async def test_publish_failure_is_swallowed(caplog: pytest.LogCaptureFixture) -> None:
    await RedisPublisher(_BrokenRedis()).publish([("project:x", b"{}")])  # type: ignore[arg-type]
    assert any("publishing 1 event(s) failed" in r.getMessage() for r in caplog.records)


def _retention(server: RunningServer, *, keep_latest: int) -> RetentionJob:
    """The real retention job, for one round by hand: 30 days, the latest `keep_latest` kept."""
    settings = server.resources.settings.model_copy(
        update={"event_retention_days": 30, "event_retention_min_events": keep_latest}
    )
    return RetentionJob(dataclasses.replace(server.resources, settings=settings))


async def test_prune_keeps_recent_and_latest(team: Team, server: RunningServer) -> None:
    pid = uuid.UUID(team.project_id)
    for i in range(6):
        await create_task(team["member"], team.project_id, f"t{i}")  # seqs 4..9 after 3 adds
    factory = server.resources.session_factory
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    async with factory() as session, session.begin():
        for event in (
            await session.scalars(select(Event).where(Event.project_id == pid, Event.seq <= 7))
        ).all():
            event.at = old
    # keep_latest=5 protects seqs 5..9, so of the old 1..7 only 1..4 may go.
    assert await _retention(server, keep_latest=5).run_round() == 4
    async with factory() as session:
        seqs = list(
            (
                await session.scalars(
                    select(Event.seq).where(Event.project_id == pid).order_by(Event.seq)
                )
            ).all()
        )
        assert seqs == [5, 6, 7, 8, 9]
        assert await session.scalar(select(Project.event_seq).where(Project.id == pid)) == 9
    assert await _retention(server, keep_latest=0).run_round() == 3
    log = await events(team["viewer"], team.project_id)
    assert [e["seq"] for e in log] == [8, 9]
    # The seq keeps counting after a prune: no reuse.
    await create_task(team["member"], team.project_id, "after prune")
    assert (await events(team["viewer"], team.project_id, after_seq=9))[0]["seq"] == 10


def test_event_to_message_shape() -> None:
    event = Event(
        project_id=uuid.uuid4(),
        seq=3,
        name="task.deleted",
        actor_id=None,
        request_id="r",
        at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        data={"id": "x"},
    )
    decoded = orjson.loads(event_to_message(event))
    assert decoded == {
        "type": "event",
        "project_id": str(event.project_id),
        "seq": 3,
        "name": "task.deleted",
        "actor_id": None,
        "request_id": "r",
        "at": "2026-01-01T00:00:00Z",
        "data": {"id": "x"},
    }
