"""The unit of work: events are published after the commit, in seq order, never on rollback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from fastapi import APIRouter
from redis.asyncio import Redis
from sqlalchemy import select

from taskmanager.app import create_app
from taskmanager.config import Settings
from taskmanager.db import SessionDep
from taskmanager.errors import Conflict
from taskmanager.events.service import append_event
from taskmanager.membership.models import Project
from taskmanager.uow import NoUnitOfWork, UnitOfWork, unit_of_work
from tests.helpers import Team, assert_problem, events
from tests.server import RunningServer, run_server


@asynccontextmanager
async def _subscribed(redis: Redis, channel: str) -> AsyncIterator[Any]:
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    try:
        yield pubsub
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def _received(pubsub: Any, *, within: float) -> list[dict[str, Any]]:
    """Every message that arrives within `within` seconds, decoded."""
    out: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + within
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        message = await pubsub.get_message(timeout=min(left, 0.1))
        if message is not None:
            out.append(orjson.loads(message["data"]))
    return out


async def _latest_seq(server: RunningServer, project_id: str) -> int | None:
    async with server.resources.session_factory() as session:
        return await session.scalar(
            select(Project.event_seq).where(Project.id == uuid.UUID(project_id))
        )


async def test_publishes_after_commit_in_seq_order(server: RunningServer, team: Team) -> None:
    pid = uuid.UUID(team.project_id)
    before = await _latest_seq(server, team.project_id) or 0
    async with _subscribed(server.resources.redis, f"project:{pid}") as pubsub:
        async with unit_of_work(server.resources) as uow:
            for i in range(3):
                await append_event(
                    uow.session,
                    project_id=pid,
                    name="task.deleted",
                    actor_id=None,
                    data={"id": f"t{i}"},
                )
            # Queued, not sent: a subscriber must never hear of an uncommitted event.
            assert await _received(pubsub, within=0.3) == []
        published = await _received(pubsub, within=1.0)
    assert [m["seq"] for m in published] == [before + 1, before + 2, before + 3]
    assert [m["data"]["id"] for m in published] == ["t0", "t1", "t2"]
    assert published == (await events(team["viewer"], team.project_id, after_seq=before))


async def _append_then_fail(server: RunningServer, project_id: uuid.UUID) -> None:
    async with unit_of_work(server.resources) as uow:
        await append_event(
            uow.session, project_id=project_id, name="task.deleted", actor_id=None, data={}
        )
        raise LookupError("boom")


async def test_rolled_back_unit_publishes_nothing(server: RunningServer, team: Team) -> None:
    pid = uuid.UUID(team.project_id)
    before = await _latest_seq(server, team.project_id)
    async with _subscribed(server.resources.redis, f"project:{pid}") as pubsub:
        with pytest.raises(LookupError, match="boom"):
            await _append_then_fail(server, pid)
        assert await _received(pubsub, within=0.5) == []
    assert await _latest_seq(server, team.project_id) == before


async def test_a_session_without_a_unit_of_work_cannot_append(
    server: RunningServer, team: Team
) -> None:
    before = await _latest_seq(server, team.project_id)
    async with server.resources.session_factory() as session:
        with pytest.raises(NoUnitOfWork, match="no publisher"):
            await append_event(
                session,
                project_id=uuid.UUID(team.project_id),
                name="task.deleted",
                actor_id=None,
                data={},
            )
        await session.commit()
    # Refused before anything was written: no seq taken, no row.
    assert await _latest_seq(server, team.project_id) == before
    assert [e["seq"] for e in await events(team["viewer"], team.project_id)][-1] == before


def _app_with_a_failing_route(settings: Settings) -> Any:
    """The real app plus one route that appends an event and then fails, like a service
    that raises after its write: the request's session dependency must roll it back."""
    app = create_app(settings)
    router = APIRouter()

    @router.post("/test/append/{project_id}")
    async def append(project_id: uuid.UUID, db: SessionDep, fail: bool = False) -> dict[str, int]:
        event = await append_event(
            db, project_id=project_id, name="task.deleted", actor_id=None, data={"id": "x"}
        )
        if fail:
            raise Conflict("Failed after the event was appended.")
        return {"seq": event.seq}

    app.include_router(router)
    # Ahead of the static board mounted at "/", which would otherwise answer the path.
    app.router.routes.insert(0, app.router.routes.pop())
    return app


async def test_a_failed_request_publishes_nothing(
    server: RunningServer, team: Team, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    before = await _latest_seq(server, team.project_id) or 0
    url = f"/test/append/{team.project_id}"
    async with (
        run_server(settings, app=_app_with_a_failing_route(settings)) as other,
        httpx.AsyncClient(base_url=other.base_url, timeout=30) as client,
        _subscribed(other.resources.redis, f"project:{team.project_id}") as pubsub,
    ):
        failed = await client.post(url, params={"fail": "true"})
        assert_problem(failed, 409)
        assert await _received(pubsub, within=0.5) == []
        done = await client.post(url)
        assert done.status_code == 200, done.text
        # The failed request took no seq: the next one is the very next number.
        assert done.json() == {"seq": before + 1}
        [published] = await _received(pubsub, within=1.0)
    assert published["seq"] == before + 1
    assert [e["seq"] for e in await events(team["viewer"], team.project_id)][-1] == before + 1


async def test_before_commit_work_runs_once_per_key_inside_the_transaction(
    server: RunningServer, team: Team
) -> None:
    """`call_before_commit` work is part of the transaction (its writes commit with it, and
    a rollback drops the callback), and a key asked for twice runs once."""
    pid = uuid.UUID(team.project_id)
    ran: list[str] = []

    def register(session: Any, name: str) -> None:
        async def rename() -> None:
            ran.append(name)
            project = await session.get(Project, pid)
            project.name = name

        UnitOfWork.of(session).call_before_commit("rename", rename)

    async with unit_of_work(server.resources) as uow:
        register(uow.session, "Renamed first")
        register(uow.session, "Renamed twice")  # same key: the first one stays
        assert ran == []
    assert ran == ["Renamed first"]

    async def failing_write() -> None:
        async with unit_of_work(server.resources) as uow:
            register(uow.session, "Never")
            raise RuntimeError("the write fails")

    with pytest.raises(RuntimeError):
        await failing_write()
    assert ran == ["Renamed first"]
    async with server.resources.session_factory() as session:
        assert (await session.get(Project, pid)).name == "Renamed first"  # type: ignore[union-attr]
