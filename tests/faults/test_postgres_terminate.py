"""PostgreSQL connections terminated under load: clean 503s, quick recovery, nothing lost.

Several writers create tasks through one `taskmanager serve` while every backend of this
module's own database is terminated (`pg_terminate_backend`) a few times. Every answer is
201 or a 503 problem, never a 500 and never a hang; the pool serves again within 5 s of
the last termination; every 201 is in the database with its task.created event.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import AsyncExitStack

import asyncpg
import httpx

from tests import backends
from tests.faults.conftest import FAULTS, check_log_consistency
from tests.helpers import API, ApiClient, assert_problem, create_project
from tests.processes import RedisProcess, bearer, make_token, running_server, server_env

pytestmark = FAULTS

WRITERS = 8
TERMINATIONS = 4
REQUEST_TIMEOUT = 15.0  # a hang would show up as a timeout; answers come far sooner
RECOVERY_SECONDS = 5.0


async def terminate_backends(database_url: str) -> int:
    """Kill every connection to this test's database (and only this one)."""
    name = database_url.rpartition("/")[2]
    conn = await asyncpg.connect(backends.PG_ADMIN_URL)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        return len(rows)
    finally:
        await conn.close()


async def test_terminated_connections_give_503_and_lose_no_committed_write(
    database_url: str, redis_server: RedisProcess
) -> None:
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            running_server(server_env(database_url, redis_server))
        )
        owner = await stack.enter_async_context(ApiClient(base_url=server.base_url, timeout=30))
        await owner.register()
        pid = str((await create_project(owner, "Terminated"))["id"])
        secret = await make_token(owner)
        clients = [
            await stack.enter_async_context(bearer(server.base_url, secret, REQUEST_TIMEOUT))
            for _ in range(WRITERS)
        ]
        created: list[str] = []
        statuses: Counter[int] = Counter()
        slowest = 0.0
        stop = asyncio.Event()

        async def writer(index: int, client: httpx.AsyncClient) -> None:
            nonlocal slowest
            n = 0
            while not stop.is_set():
                n += 1
                started = time.monotonic()
                response = await client.post(
                    f"{API}/projects/{pid}/tasks", json={"title": f"w{index}-{n}"}
                )
                slowest = max(slowest, time.monotonic() - started)
                statuses[response.status_code] += 1
                if response.status_code == 201:
                    created.append(response.json()["id"])
                else:
                    assert_problem(response, 503)
                    await asyncio.sleep(0.02)
                # Reads too: a list query may be the one whose connection dies.
                if n % 3 == 0:
                    listed = await client.get(f"{API}/projects/{pid}/tasks", params={"limit": 5})
                    statuses[listed.status_code] += 1
                    if listed.status_code != 200:
                        assert_problem(listed, 503)

        writers = [asyncio.create_task(writer(i, c)) for i, c in enumerate(clients)]
        killed = 0
        try:
            await asyncio.sleep(0.5)
            for _ in range(TERMINATIONS):
                killed += await terminate_backends(database_url)
                await asyncio.sleep(0.6)
            last_kill = time.monotonic()
            killed += await terminate_backends(database_url)
            # Recovery: the first successful write after the last termination.
            recovered_after = None
            probe = clients[0]
            while time.monotonic() - last_kill < RECOVERY_SECONDS:
                response = await probe.post(f"{API}/projects/{pid}/tasks", json={"title": "probe"})
                statuses[response.status_code] += 1
                if response.status_code == 201:
                    created.append(response.json()["id"])
                    recovered_after = time.monotonic() - last_kill
                    break
                assert_problem(response, 503)
                await asyncio.sleep(0.05)
            assert recovered_after is not None, (
                f"no successful write within {RECOVERY_SECONDS}s of the last termination: "
                f"{dict(statuses)}\n{server.output()}"
            )
            await asyncio.sleep(0.5)  # and the load keeps succeeding
        finally:
            stop.set()
            outcomes = await asyncio.gather(*writers, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise AssertionError(
                    f"a writer failed: {outcome!r}; statuses {dict(statuses)}\n{server.output()}"
                ) from outcome
        assert set(statuses) <= {200, 201, 503}, f"{dict(statuses)}\n{server.output()}"
        assert statuses[201] > 0 and killed > 0
        assert slowest < REQUEST_TIMEOUT
        health = await owner.get("/health")
        assert health.status_code == 200, health.text

    conn = await asyncpg.connect(database_url)
    try:
        stored = {str(r["id"]) for r in await conn.fetch("SELECT id FROM tasks")}
    finally:
        await conn.close()
    missing = set(created) - stored
    assert not missing, f"{len(missing)} task(s) answered 201 but not in the database"
    counts = await check_log_consistency(database_url)
    assert counts["tasks"] >= len(created)
    print(
        f"\n{killed} backend(s) terminated; statuses {dict(statuses)}; recovered "
        f"{recovered_after:.2f}s after the last termination; slowest request {slowest:.2f}s"
    )
