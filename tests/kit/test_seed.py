"""`taskmanager seed`: demo data through the services, safe to run twice, visible over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
from sqlalchemy import func, select

from taskmanager.comments.models import Comment
from taskmanager.config import Settings
from taskmanager.events.models import Event
from taskmanager.membership.models import Project
from taskmanager.seed import DEMO_PASSWORD, PROJECTS, seed
from taskmanager.tasks.models import Task
from tests.helpers import API, ApiClient
from tests.server import RunningServer


async def _counts(server: RunningServer) -> tuple[int, int, int, int]:
    async with server.resources.session_factory() as session:
        return (
            await session.scalar(select(func.count()).select_from(Project)) or 0,
            await session.scalar(select(func.count()).select_from(Task)) or 0,
            await session.scalar(select(func.count()).select_from(Comment)) or 0,
            await session.scalar(select(func.count()).select_from(Event)) or 0,
        )


async def _logged(server: RunningServer) -> list[tuple[str, int]]:
    async with server.resources.session_factory() as session:
        rows = await session.execute(select(Event.project_id, Event.seq).order_by(Event.seq))
        return [(str(pid), seq) for pid, seq in rows]


async def test_seed_twice(
    server: RunningServer,
    make_settings: Callable[..., Settings],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The seed writes through the same unit of work as a request: every logged event is
    # published after its commit, in seq order, so a running server shows it live.
    pubsub = server.resources.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe("project:*")
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    await seed(make_settings(), redis=server.resources.redis)
    logged = await _logged(server)
    seeded = {project_id for project_id, _ in logged}
    published: list[tuple[str, int]] = []
    while len(published) < len(logged):
        message = await pubsub.get_message(timeout=2)
        assert message is not None, f"{len(published)} of {len(logged)} events published"
        body = orjson.loads(message["data"])
        # Pub/sub spans Redis databases: other test runs on this server publish too.
        if body["project_id"] in seeded:
            published.append((body["project_id"], body["seq"]))
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert sorted(published) == sorted(logged)
    for project_id in seeded:
        seqs = [seq for pid, seq in published if pid == project_id]
        assert seqs == list(range(1, len(seqs) + 1))
    first = await _counts(server)
    assert first[0] == 2
    assert first[1] == sum(len(p.tasks) for p in PROJECTS) >= 24
    assert first[2] > 0 and first[3] > first[1]
    await seed(make_settings())
    assert await _counts(server) == first
    err = capsys.readouterr().err
    assert "exists, leaving it alone" in err and "created" in err
    async with ApiClient(base_url=server.base_url) as c:
        await c.login("ada@example.com", DEMO_PASSWORD)
        page = (await c.get(f"{API}/projects")).json()
        assert {p["name"] for p in page["items"]} == {p.name for p in PROJECTS}
        pid = next(p["id"] for p in page["items"] if p["role"] == "owner")
        tasks = (await c.get(f"{API}/projects/{pid}/tasks", params={"limit": 100})).json()["items"]
        assert any(t["labels"] for t in tasks)
