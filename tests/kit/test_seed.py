"""`taskmanager seed`: demo data through the services, safe to run twice, visible over HTTP."""

from __future__ import annotations

from collections.abc import Callable

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


async def test_seed_twice(
    server: RunningServer,
    make_settings: Callable[..., Settings],
    capsys: pytest.CaptureFixture[str],
) -> None:
    await seed(make_settings())
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
