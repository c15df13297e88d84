"""Caps on live connections: per user and per process, WebSocket and SSE counted together."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from taskmanager.config import Settings
from tests import backends
from tests.conftest import StartServer
from tests.helpers import API, ApiClient, assert_problem, create_project
from tests.observability.scrape import scrape, value
from tests.realtime.wsclient import LiveClient, cookie_headers, live
from tests.server import RunningServer, run_server

REFUSED = "taskmanager_realtime_connections_refused_total"


@asynccontextmanager
async def stream(client: ApiClient, project_id: str) -> AsyncIterator[httpx.Response]:
    async with client.stream("GET", f"{API}/projects/{project_id}/stream") as response:
        # Held for the whole block: a dropped line iterator would close the stream.
        lines = response.aiter_lines()
        if response.status_code == 200:
            assert (await anext(lines)).startswith("retry:")  # it is live
        else:
            await response.aread()
        yield response


async def assert_refused(ws: LiveClient, scope: str) -> None:
    """The socket gets an error naming the cap, then close code 4429."""
    reply = await ws.recv()
    assert reply["type"] == "error"
    assert reply["code"] == "too_many_connections"
    assert reply["retry_after"] >= 1
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4429
    assert scope in closed.value.rcvd.reason


async def test_caps_per_user_and_per_process(start_server: StartServer) -> None:
    running = await start_server(realtime_max_connections_per_user=2, realtime_max_connections=3)
    async with AsyncExitStack() as stack:
        ada = await stack.enter_async_context(ApiClient(base_url=running.base_url, timeout=30))
        bob = await stack.enter_async_context(ApiClient(base_url=running.base_url, timeout=30))
        for user in (ada, bob):
            await user.register()
        ada_project = (await create_project(ada, "Ada's"))["id"]
        bob_project = (await create_project(bob, "Bob's"))["id"]
        before = await scrape(ada)

        # Ada: one WebSocket and one SSE stream are her two; a third of either is refused.
        first = await stack.enter_async_context(live(running.ws_url, ada))
        assert (await first.subscribe(ada_project))["type"] == "subscribed"
        await stack.enter_async_context(stream(ada, ada_project))
        async with live(running.ws_url, ada) as third:
            await assert_refused(third, "per_user")
        async with stream(ada, ada_project) as refused:
            body = assert_problem(refused, 429)
            assert body["code"] == "too_many_connections"
            assert refused.headers["Retry-After"] == "30"

        # Bob takes the process's last place; then even his first extra one is refused.
        bob_ws = await stack.enter_async_context(live(running.ws_url, bob))
        assert (await bob_ws.subscribe(bob_project))["type"] == "subscribed"
        async with live(running.ws_url, bob) as over:
            await assert_refused(over, "per_process")
        async with stream(bob, bob_project) as refused:
            assert_problem(refused, 429)
            assert refused.headers["Retry-After"] == "5"

        # The refused ones hold nothing, and the live ones still work.
        await first.send({"type": "ping"})
        assert (await first.recv())["type"] == "pong"
        after = await scrape(ada)
        for transport, scope, count in (
            ("websocket", "per_user", 1),
            ("sse", "per_user", 1),
            ("websocket", "per_process", 1),
            ("sse", "per_process", 1),
        ):
            labels = {"transport": transport, "reason": scope}
            assert value(after, REFUSED, **labels) - value(before, REFUSED, **labels) == count

    # Everything closed: the places are free again, for both transports.
    await wait_until_free(running, ada, bob)
    async with AsyncExitStack() as stack:
        ada = await stack.enter_async_context(ApiClient(base_url=running.base_url, timeout=30))
        await ada.register()
        project = (await create_project(ada, "Again"))["id"]
        for _ in range(2):
            ws = await stack.enter_async_context(live(running.ws_url, ada))
            assert (await ws.subscribe(project))["type"] == "subscribed"
        async with live(running.ws_url, ada) as third:
            await assert_refused(third, "per_user")


async def test_bearer_and_cookie_connections_share_the_user_cap(
    start_server: StartServer,
) -> None:
    running = await start_server(realtime_max_connections_per_user=1)
    async with ApiClient(base_url=running.base_url, timeout=30) as ada:
        await ada.register()
        token = (await ada.post(f"{API}/auth/tokens", json={"name": "script"})).json()["token"]
        async with live(running.ws_url, headers=cookie_headers(ada)) as ws:
            await ws.send({"type": "ping"})
            assert (await ws.recv())["type"] == "pong"
            bearer = {"Authorization": f"Bearer {token}"}
            async with live(running.ws_url, headers=bearer) as second:
                await assert_refused(second, "per_user")
    await wait_until_free(running, ada)


async def wait_until_free(running: RunningServer, *users: ApiClient) -> None:
    """Closed connections are released as the server notices them (a moment after), in
    this process and in Redis (only these users' leases: other tests share the Redis)."""
    limits = running.resources.limits
    keys = [f"live:{user.user['id']}" for user in users]
    for _ in range(100):
        leases = [key for key in keys if await running.resources.redis.exists(key)]
        if limits.total == 0 and not limits.by_user and not leases:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"live connections were not released: {limits.total}, {leases}")


async def test_leases_of_other_instances_count_until_they_lapse(
    start_server: StartServer,
) -> None:
    """Another instance's connection is a lease in Redis; a dead instance's lease lapses."""
    running = await start_server(realtime_max_connections_per_user=2)
    redis = running.resources.redis
    async with ApiClient(base_url=running.base_url, timeout=30) as ada:
        me = await ada.register()
        key = f"live:{me['id']}"
        await redis.zadd(key, {"other-instance": time.time() + 60})  # live elsewhere
        async with live(running.ws_url, ada) as ws:
            await ws.send({"type": "ping"})
            assert (await ws.recv())["type"] == "pong"
            async with live(running.ws_url, ada) as third:
                await assert_refused(third, "per_user")
        # The other instance died: its lease is not renewed, and once lapsed it frees up.
        await redis.zadd(key, {"other-instance": time.time() - 1})
        async with live(running.ws_url, ada) as one, live(running.ws_url, ada) as two:
            for ws in (one, two):
                await ws.send({"type": "ping"})
                assert (await ws.recv())["type"] == "pong"
            members = await redis.zrange(key, 0, -1)
            assert len(members) == 2 and b"other-instance" not in members
            assert await redis.ttl(key) > 0  # the key itself expires too
    await wait_until_free(running, ada)


@pytest.mark.skipif(
    backends.BACKEND != "postgres",
    reason="two instances share a cap only through a real Redis: TM_TEST_BACKEND=postgres",
)
async def test_the_per_user_cap_holds_across_instances(start_server: StartServer) -> None:
    one = await start_server(realtime_max_connections_per_user=1)
    two = await start_server(realtime_max_connections_per_user=1)
    async with ApiClient(base_url=one.base_url, timeout=30) as ada:
        await ada.register()
        project = (await create_project(ada, "Shared cap"))["id"]
        async with live(one.ws_url, ada) as first:
            assert (await first.subscribe(project))["type"] == "subscribed"
            async with live(two.ws_url, ada) as second:
                await assert_refused(second, "per_user")
            async with ada.stream("GET", f"{two.base_url}{API}/projects/{project}/stream") as sse:
                await sse.aread()
                assert_problem(sse, 429)
        await wait_until_free(one, ada)
        async with live(two.ws_url, ada) as again:  # freed on one: welcome on two
            assert (await again.subscribe(project))["type"] == "subscribed"
    await wait_until_free(two, ada)


@pytest.mark.skipif(
    backends.BACKEND != "postgres",
    reason="a lease outlives its process only in a real Redis: TM_TEST_BACKEND=postgres",
)
async def test_a_stopping_instance_gives_back_the_leases_it_still_holds(
    start_server: StartServer, make_settings: Callable[..., Settings]
) -> None:
    """A connection whose close never ran (a stream still draining at shutdown) must not
    count against its user on the other instances for a minute after a restart."""
    other = await start_server(realtime_max_connections_per_user=1)
    async with run_server(make_settings(realtime_max_connections_per_user=1)) as stopping:
        async with ApiClient(base_url=stopping.base_url, timeout=30) as ada:
            me = await ada.register()
        user_id = uuid.UUID(me["id"])
        resources = stopping.resources
        await resources.limits.acquire(resources, user_id, transport="sse")
        assert await other.resources.redis.zcard(f"live:{user_id}") == 1
    assert await other.resources.redis.zcard(f"live:{user_id}") == 0
    async with live(other.ws_url, ada) as ws:  # welcome at once, not a minute later
        await ws.send({"type": "ping"})
        assert (await ws.recv())["type"] == "pong"
