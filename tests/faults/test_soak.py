"""A soak: sustained mixed load with live subscribers against a real server process.

Writers create, patch, move, list, comment and delete on two projects for TM_SOAK_SECONDS
(30 by default, as in CI; `make soak` runs it for minutes) while WebSocket subscribers
follow them.
Zero 5xx, every subscriber gets every event of its projects once and in order (equal to
GET /events), and the server's memory is flat: RSS at the end is within 30 % of RSS after
the warm-up (a quarter of the run, at least 10 s).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx

from tests.faults.conftest import FAULTS
from tests.helpers import API, ApiClient, create_project, events
from tests.processes import RedisProcess, bearer, make_token, running_server, server_env
from tests.realtime.wsclient import LiveClient, live

pytestmark = FAULTS

SOAK_SECONDS = float(os.environ.get("TM_SOAK_SECONDS", "30"))
WRITERS = 6
MAX_RSS_GROWTH = 0.30


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class Load:
    def __init__(self, projects: list[str]) -> None:
        self.projects = projects
        self.statuses: Counter[int] = Counter()
        self.requests = 0
        self.stop = asyncio.Event()

    def record(self, response: httpx.Response, *ok: int) -> None:
        self.requests += 1
        self.statuses[response.status_code] += 1
        assert response.status_code < 500, f"{response.request.url}: {response.text}"
        assert response.status_code in ok, f"{response.request.url}: {response.text}"

    async def worker(self, client: httpx.AsyncClient, seed: int) -> None:
        rng = random.Random(seed)
        mine: dict[str, list[str]] = {pid: [] for pid in self.projects}
        while not self.stop.is_set():
            pid = rng.choice(self.projects)
            tasks = mine[pid]
            op = rng.random()
            if op < 0.3 or len(tasks) < 3:
                response = await client.post(
                    f"{API}/projects/{pid}/tasks",
                    json={"title": f"soak {rng.randrange(10**9)}", "description": "x" * 200},
                )
                self.record(response, 201)
                tasks.append(response.json()["id"])
            elif op < 0.45:
                response = await client.patch(
                    f"{API}/tasks/{rng.choice(tasks)}",
                    json={"title": f"renamed {rng.randrange(10**9)}", "priority": "medium"},
                )
                self.record(response, 200)
            elif op < 0.6:
                response = await client.post(
                    f"{API}/tasks/{rng.choice(tasks)}/move",
                    json={"status": rng.choice(["todo", "in_progress", "done"])},
                )
                self.record(response, 200)
            elif op < 0.75:
                response = await client.get(
                    f"{API}/projects/{pid}/tasks",
                    params={"limit": 20, "status": rng.choice(["todo", "done"])},
                )
                self.record(response, 200)
            elif op < 0.9:
                response = await client.post(
                    f"{API}/tasks/{rng.choice(tasks)}/comments", json={"body": "soak comment"}
                )
                self.record(response, 201)
            else:
                victim = tasks.pop(rng.randrange(len(tasks)))
                self.record(await client.delete(f"{API}/tasks/{victim}"), 204)


async def _collect(ws: LiveClient, into: list[dict[str, Any]]) -> None:
    while True:
        into.append(await ws.recv(timeout=3600))


async def test_soak_mixed_load_with_subscribers(
    database_url: str, redis_server: RedisProcess
) -> None:
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            running_server(server_env(database_url, redis_server))
        )
        owner = await stack.enter_async_context(ApiClient(base_url=server.base_url, timeout=30))
        await owner.register()
        projects = [str((await create_project(owner, f"Soak {i}"))["id"]) for i in range(2)]
        secret = await make_token(owner)
        auth = {"Authorization": f"Bearer {secret}"}
        # Two follow both projects (one of them by session cookie), one follows the first.
        follows = [(projects, auth), (projects, None), (projects[:1], auth)]
        received: list[list[dict[str, Any]]] = []
        collectors = []
        for followed, headers in follows:
            ws = await stack.enter_async_context(
                live(server.ws_url, None if headers else owner, headers=headers)
            )
            for pid in followed:
                assert (await ws.subscribe(pid))["type"] == "subscribed"
            received.append([])
            collectors.append(asyncio.create_task(_collect(ws, received[-1])))

        load = Load(projects)
        clients = [
            await stack.enter_async_context(bearer(server.base_url, secret)) for _ in range(WRITERS)
        ]
        workers = [asyncio.create_task(load.worker(c, i)) for i, c in enumerate(clients)]
        started = time.monotonic()
        warm_up = max(10.0, SOAK_SECONDS / 4)
        baseline = 0
        peak = 0
        try:
            while (elapsed := time.monotonic() - started) < SOAK_SECONDS:
                await asyncio.sleep(1.0)
                for worker in workers:
                    if worker.done():
                        worker.result()  # raises the worker's failure
                rss = rss_kib(server.proc.pid)
                if elapsed >= warm_up and not baseline:
                    baseline = rss
                peak = max(peak, rss)
            final = rss_kib(server.proc.pid)
        finally:
            load.stop.set()
            await asyncio.gather(*workers)
        duration = time.monotonic() - started

        logs = {pid: await events(owner, pid) for pid in projects}
        total = sum(len(log) for log in logs.values())
        deadline = time.monotonic() + 10
        expected_counts = [sum(len(logs[pid]) for pid in followed) for followed, _ in follows]
        while time.monotonic() < deadline and any(
            len(r) < n for r, n in zip(received, expected_counts, strict=True)
        ):
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        for collector in collectors:
            collector.cancel()
        await asyncio.gather(*collectors, return_exceptions=True)
        for (followed, _), messages in zip(follows, received, strict=True):
            assert all(m["type"] == "event" for m in messages), Counter(m["type"] for m in messages)
            for pid in followed:
                mine = [m for m in messages if m["project_id"] == pid]
                assert [m["seq"] for m in mine] == [e["seq"] for e in logs[pid]]
                assert mine == logs[pid]

        assert not any(s >= 500 for s in load.statuses), load.statuses
        assert baseline, "the run was shorter than its warm-up"
        print(
            f"\nsoak {duration:.0f}s: {load.requests} requests ({load.requests / duration:.0f}/s) "
            f"{dict(load.statuses)}, {total} events to {len(follows)} subscribers; RSS after "
            f"warm-up {baseline / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, end "
            f"{final / 1024:.1f} MiB ({(final - baseline) / baseline:+.1%})"
        )
        assert final <= baseline * (1 + MAX_RSS_GROWTH), (
            f"RSS grew from {baseline} KiB after warm-up to {final} KiB"
        )
