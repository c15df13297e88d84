"""Connecting costs the same at 10 open connections as at 200: no work grows with them.

A connect (authenticate, lease, subscribe, catch-up), a watchdog round and a lease
renewal round are counted in SQL statements and Redis commands with few and with many
sockets of one user open; the counts must be equal. What grew with the sockets before
(a renewal command per lease) now grows only with distinct users.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from taskmanager.config import Settings
from tests.helpers import ApiClient, create_project
from tests.perf.counting import count_io, settled
from tests.realtime.wsclient import live
from tests.server import RunningServer, run_server

FEW = 10
MANY = 200


async def _cost(running: RunningServer, work: Callable[[], Awaitable[Any]]) -> tuple[int, ...]:
    with count_io(running.resources) as counts:
        await work()
        return await settled(counts)


async def test_connect_watchdog_and_renewal_do_not_grow_with_connections(
    migrated: None, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        realtime_check_interval_seconds=3600,
        event_retention_interval_seconds=0,
        realtime_max_connections_per_user=MANY + 10,
        jobs_in_serve=False,  # the job worker's polls would be counted as the connect's
    )
    async with (
        run_server(settings) as running,
        ApiClient(base_url=running.base_url) as client,
        AsyncExitStack() as sockets,
    ):
        await client.register()
        project_id = (await create_project(client, "Crowded"))["id"]
        hub = running.resources.hub
        limits = running.resources.limits

        async def open_until(count: int) -> None:
            while len(hub.registry.connections) < count:
                ws = await sockets.enter_async_context(live(running.ws_url, client))
                assert (await ws.subscribe(project_id))["type"] == "subscribed"

        async def connect() -> None:
            async with live(running.ws_url, client) as ws:
                assert (await ws.subscribe(project_id))["type"] == "subscribed"
                await asyncio.sleep(0.2)  # the catch-up a subscribe starts is its cost too

        async def renew() -> None:
            await limits.renew_once(running.resources)

        costs: dict[int, list[tuple[int, ...]]] = {}
        for size in (FEW, MANY):
            await open_until(size)
            await connect()  # once untimed: a new pooled connection is not per connect
            costs[size] = [
                await _cost(running, connect),
                await _cost(running, hub.watchdog.check_once),
                await _cost(running, renew),
            ]
        assert len(hub.registry.connections) == MANY
        assert costs[FEW] == costs[MANY], costs
        # One user: a renewal round is one ZADD and one EXPIRE in one round trip.
        assert costs[MANY][2] == (0, 2, 1)
