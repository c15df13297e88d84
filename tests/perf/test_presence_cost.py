"""A presence change costs the same with 5 subscribers as with 100: one write, one publish,
one read of the project's presence per instance, and one frame built; never a Redis
round trip or a statement per subscriber."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack

from taskmanager.config import Settings
from tests.helpers import ApiClient, create_project, create_task
from tests.perf.counting import count_io, settled
from tests.realtime.wsclient import LiveClient, live
from tests.server import run_server

FEW = 5
MANY = 100
# The sweep of lapsed entries runs every second whatever happens: not a change's cost.
SWEEP = {"ZRANGEBYSCORE", "ZREMRANGEBYSCORE"}


async def _frame(ws: LiveClient) -> dict[str, object]:
    while True:
        message = await ws.recv()
        if message["type"] == "presence":
            return message


async def test_a_presence_change_does_not_cost_per_subscriber(
    migrated: None, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        realtime_check_interval_seconds=3600,
        event_retention_interval_seconds=0,
        realtime_max_connections_per_user=MANY + 10,
        presence_max_messages=1000,
        jobs_in_serve=False,
    )
    async with (
        run_server(settings) as running,
        ApiClient(base_url=running.base_url) as client,
        AsyncExitStack() as sockets,
    ):
        await client.register()
        project_id = (await create_project(client, "Watched"))["id"]
        tasks = [(await create_task(client, project_id, f"Task {i}"))["id"] for i in range(2)]
        announcer = await sockets.enter_async_context(live(running.ws_url, client))
        assert (await announcer.subscribe(project_id))["type"] == "subscribed"
        await announcer.send({"type": "presence", "project_id": project_id, "state": "viewing"})
        await _frame(announcer)  # the first one also looks up the display name
        watchers: list[LiveClient] = []
        costs: dict[int, list[str]] = {}
        for size, task_id in ((FEW, tasks[0]), (MANY, tasks[1])):
            while len(watchers) < size:
                ws = await sockets.enter_async_context(live(running.ws_url, client))
                assert (await ws.subscribe(project_id))["type"] == "subscribed"
                watchers.append(ws)
            with count_io(running.resources) as quiet:
                await settled(quiet)  # the subscribes' catch-ups are not the change's cost
            with count_io(running.resources) as counts:
                await announcer.send(
                    {
                        "type": "presence",
                        "project_id": project_id,
                        "state": "editing",
                        "task_id": task_id,
                    }
                )
                await _frame(announcer)
                frames = await asyncio.gather(*(_frame(ws) for ws in watchers))
                await settled(counts)
            assert all(f == frames[0] for f in frames)
            costs[size] = sorted(c for c in counts.redis if c not in SWEEP) + sorted(counts.sql)
        assert costs[FEW] == costs[MANY], costs
        # Write (HSET, ZADD, EXPIRE in one MULTI), one PUBLISH, one HGETALL; one statement
        # (the task is the project's; the display name was looked up once per socket).
        redis = costs[MANY][:5]
        statements = [s for s in costs[MANY][5:] if s != "BEGIN"]  # SQLite's own BEGIN
        assert redis == ["EXPIRE", "HGETALL", "HSET", "PUBLISH", "ZADD"], costs[MANY]
        assert len(statements) == 1, statements
        assert statements[0].startswith("SELECT tasks.project_id FROM tasks WHERE"), statements
