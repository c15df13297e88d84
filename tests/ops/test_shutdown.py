"""SIGTERM on a real `taskmanager serve` while a WebSocket is open and a write is in flight.

The write is made slow by real means: the test holds a PostgreSQL row lock on the project
(asyncpg, its own transaction) so the server's UPDATE waits on it, and lets go only after
the signal. Needs PostgreSQL + Redis (row locks); skipped on the embedded backend.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from contextlib import AsyncExitStack, suppress

import asyncpg
import pytest

from tests import backends
from tests.helpers import API, ApiClient, create_project
from tests.processes import (
    RedisProcess,
    ServerProcess,
    base_env,
    start_server,
    wait_exit,
)
from tests.realtime.test_processes import close_code
from tests.realtime.wsclient import live

pytestmark = [
    pytest.mark.skipif(
        backends.BACKEND != "postgres",
        reason="holds a PostgreSQL row lock to keep a request in flight: needs "
        f"TM_TEST_BACKEND=postgres (this run uses {backends.BACKEND!r})",
    ),
    pytest.mark.postgres_only,
    pytest.mark.slow,
]

GRACE_SECONDS = 15


async def _lock_project(database_url: str, project_id: str) -> asyncpg.Connection:
    """A connection holding `FOR UPDATE` on the project row until it rolls back."""
    conn = await asyncpg.connect(database_url)
    await conn.execute("BEGIN")
    await conn.execute("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", uuid.UUID(project_id))
    return conn


async def _wait_until_blocked(lock: asyncpg.Connection, timeout: float = 10.0) -> None:
    """Until a server connection waits for our lock (pg_stat_activity says so)."""
    async with asyncio.timeout(timeout):
        while not await lock.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'taskmanager' "
            "AND wait_event_type = 'Lock' AND datname = current_database()"
        ):
            await asyncio.sleep(0.02)


async def _wait_for_line(server: ServerProcess, text: str, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while text not in server.log.read_text():
            await asyncio.sleep(0.02)


async def test_sigterm_waits_for_a_locked_write_closes_sockets_1001_and_exits_0(
    database_url: str, redis_server: RedisProcess
) -> None:
    env = base_env(
        database_url=database_url,
        redis_url=redis_server.url,
        log_level="WARNING",
        shutdown_grace_seconds=GRACE_SECONDS,
    )
    server = await start_server(env)
    lock: asyncpg.Connection | None = None
    try:
        async with AsyncExitStack() as stack:
            owner = await stack.enter_async_context(ApiClient(base_url=server.base_url, timeout=60))
            await owner.register()
            pid = str((await create_project(owner, "Shutdown"))["id"])
            ws = await stack.enter_async_context(live(server.ws_url, owner))
            assert (await ws.subscribe(pid))["type"] == "subscribed"

            lock = await _lock_project(database_url, pid)
            in_flight = asyncio.create_task(
                owner.patch(f"{API}/projects/{pid}", json={"name": "renamed during shutdown"})
            )
            await _wait_until_blocked(lock)

            server.proc.send_signal(signal.SIGTERM)
            assert await close_code(ws.ws, timeout=GRACE_SECONDS) == 1001
            # Still waiting for our lock, and the server waits for it in turn.
            assert not in_flight.done()
            assert server.proc.poll() is None
            await lock.execute("ROLLBACK")

            response = await asyncio.wait_for(in_flight, GRACE_SECONDS)
            assert response.status_code == 200, response.text
            assert response.json()["name"] == "renamed during shutdown"
            code = await wait_exit(server.proc, GRACE_SECONDS)
            assert code == 0, f"exit code {code}:\n{server.output()}"
    finally:
        if lock is not None:
            await lock.close()
        if server.proc.poll() is None:
            await server.stop(signal.SIGKILL, timeout=5)


async def test_a_second_signal_exits_at_once(database_url: str, redis_server: RedisProcess) -> None:
    env = base_env(
        database_url=database_url,
        redis_url=redis_server.url,
        log_level="INFO",
        shutdown_grace_seconds=600,  # the first signal alone would wait this long
    )
    server = await start_server(env)
    lock: asyncpg.Connection | None = None
    try:
        async with ApiClient(base_url=server.base_url, timeout=60) as owner:
            await owner.register()
            pid = str((await create_project(owner, "Impatient"))["id"])
            lock = await _lock_project(database_url, pid)
            in_flight = asyncio.create_task(
                owner.patch(f"{API}/projects/{pid}", json={"name": "never"})
            )
            await _wait_until_blocked(lock)
            server.proc.send_signal(signal.SIGTERM)
            await _wait_for_line(server, "shutting down")
            server.proc.send_signal(signal.SIGINT)
            code = await wait_exit(server.proc, 10)
            assert code not in (None, 0), f"exit code {code}:\n{server.output()}"
            with suppress(Exception):
                await in_flight  # the connection was cut: no answer
            assert "second signal" in server.output()
    finally:
        if lock is not None:
            await lock.close()
        if server.proc.poll() is None:
            await server.stop(signal.SIGKILL, timeout=5)
