"""Redis killed (SIGKILL) and restarted twice while writers and live subscribers run.

Extends tests/realtime/test_processes.py (sequential writes through one outage) with load:
Bearer-token writers on two instances keep writing through the outages and every write
succeeds; cookie-session clients hammer reads and writes at the same time and never get a
2xx while Redis is down (503 problem+json, never a 500); Bearer WebSocket subscribers on
both instances receive every event exactly once and in order, equal to the durable log.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from contextlib import AsyncExitStack, suppress
from typing import Any

import httpx

from tests.faults.conftest import FAULTS
from tests.helpers import API, ApiClient, create_project, events
from tests.processes import (
    RedisProcess,
    ServerProcess,
    bearer,
    make_token,
    server_env,
    start_server,
)
from tests.realtime.wsclient import LiveClient, live

pytestmark = FAULTS

OUTAGES = 2
OUTAGE_SECONDS = 1.5
DELIVERY_SECONDS = 6.0


def _same_session(client: ApiClient, base_url: str) -> ApiClient:
    other = ApiClient(base_url=base_url, timeout=30)
    other.cookies.set("session", client.cookies["session"])
    other.headers["X-CSRF-Token"] = client.headers["X-CSRF-Token"]
    return other


async def _collect(ws: LiveClient, into: list[dict[str, Any]]) -> None:
    while True:
        into.append(await ws.recv(timeout=3600))


async def test_redis_killed_under_load_fails_closed_and_delivers_every_event(
    database_url: str, redis_server: RedisProcess
) -> None:
    env = server_env(database_url, redis_server)
    async with AsyncExitStack() as stack:
        started = await asyncio.gather(start_server(env), start_server(env))
        for s in started:
            stack.push_async_callback(_stop, s)
        a, b = started
        owner = await stack.enter_async_context(ApiClient(base_url=a.base_url, timeout=30))
        await owner.register()
        pid = str((await create_project(owner, "Redis under load"))["id"])
        secret = await make_token(owner)
        auth = {"Authorization": f"Bearer {secret}"}
        received: dict[str, list[dict[str, Any]]] = {}
        collectors = []
        for server in (a, b):
            ws = await stack.enter_async_context(live(server.ws_url, headers=auth))
            assert (await ws.subscribe(pid))["type"] == "subscribed"
            received[server.base_url] = []
            collectors.append(asyncio.create_task(_collect(ws, received[server.base_url])))

        down: list[tuple[float, float]] = []  # (killed, restarting) windows
        stop = asyncio.Event()
        token_statuses: Counter[int] = Counter()
        cookie_log: list[tuple[float, float, int]] = []

        async def token_writer(client: httpx.AsyncClient, name: str) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                response = await client.post(
                    f"{API}/projects/{pid}/tasks", json={"title": f"{name}-{n}"}
                )
                token_statuses[response.status_code] += 1
                assert response.status_code == 201, response.text
                task_id = response.json()["id"]
                patch = await client.patch(f"{API}/tasks/{task_id}", json={"priority": "low"})
                token_statuses[patch.status_code] += 1
                assert patch.status_code == 200, patch.text

        async def cookie_client(client: ApiClient) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                begin = time.monotonic()
                if n % 2:
                    response = await client.get(f"{API}/projects/{pid}/tasks", params={"limit": 1})
                else:
                    response = await client.post(
                        f"{API}/projects/{pid}/tasks", json={"title": f"cookie-{n}"}
                    )
                cookie_log.append((begin, time.monotonic(), response.status_code))
                if response.status_code >= 400:
                    assert response.headers["content-type"].startswith("application/problem+json")
                await asyncio.sleep(0.02)

        writers = [
            asyncio.create_task(
                token_writer(
                    await stack.enter_async_context(bearer(s.base_url, secret)), f"{i}{s.port}"
                )
            )
            for i in range(2)
            for s in (a, b)
        ]
        cookies = [
            asyncio.create_task(
                cookie_client(await stack.enter_async_context(_same_session(owner, s.base_url)))
            )
            for s in (a, b)
        ]
        try:
            for _ in range(OUTAGES):
                await asyncio.sleep(0.8)
                await redis_server.kill()
                killed = time.monotonic()
                await asyncio.sleep(OUTAGE_SECONDS)
                down.append((killed, time.monotonic()))
                await redis_server.start()
            await asyncio.sleep(0.8)
        finally:
            stop.set()
            outcomes = await asyncio.gather(*writers, *cookies, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise AssertionError(
                    f"{outcome!r}\n--- A ---\n{a.output()}\n--- B ---\n{b.output()}"
                ) from outcome

        # Cookie sessions: fail closed while Redis is down, never a 500.
        statuses = Counter(status for _, _, status in cookie_log)
        assert 500 not in statuses, statuses
        during = [
            status
            for begin, end, status in cookie_log
            if any(killed <= begin and end <= back for killed, back in down)
        ]
        assert during and set(during) == {503}, Counter(during)
        # Redis came back empty (no persistence): the session is gone, 401 after.
        assert set(statuses) <= {200, 201, 401, 503}, statuses

        reader = await stack.enter_async_context(bearer(a.base_url, secret))
        log = await events(reader, pid)
        assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
        deadline = time.monotonic() + DELIVERY_SECONDS
        while time.monotonic() < deadline and any(len(r) < len(log) for r in received.values()):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a duplicate would arrive now
        for collector in collectors:
            collector.cancel()
            with suppress(asyncio.CancelledError):
                await collector
        for url, messages in received.items():
            kinds = Counter(m.get("type") for m in messages)
            assert kinds == {"event": len(messages)}, (url, kinds)
            seqs = [m["seq"] for m in messages]
            assert seqs == [e["seq"] for e in log], (url, _gaps(seqs, len(log)))
            assert messages == log
        print(
            f"\n{len(log)} events through {OUTAGES} Redis kills; token writes "
            f"{dict(token_statuses)}; cookie requests {dict(statuses)}"
        )


def _gaps(seqs: list[int], total: int) -> str:
    missing = sorted(set(range(1, total + 1)) - set(seqs))
    dupes = [s for s, n in Counter(seqs).items() if n > 1]
    disorder = sum(1 for x, y in itertools.pairwise(seqs) if y < x)
    return f"missing {missing[:20]}, duplicated {dupes[:20]}, out of order {disorder}"


async def _stop(server: ServerProcess) -> None:
    with suppress(TimeoutError):
        await server.stop(timeout=15)
