"""Real `taskmanager serve` processes on PostgreSQL + a private redis-server.

Several instances sharing the backends, Redis killed and restarted mid-run, SIGTERM with
live connections open, and `--workers`. Needs TM_TEST_BACKEND=postgres.
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from tests import backends
from tests.helpers import API, ApiClient, assert_problem, create_project, create_task, events
from tests.processes import (
    RedisProcess,
    ServerProcess,
    base_env,
    bearer,
    free_port,
    make_token,
    run_command,
    server_env,
    start_server,
    wait_exit,
)
from tests.realtime.wsclient import LiveClient, live

SKIP_REASON = (
    "multi-process real-time tests need PostgreSQL + Redis: run with TM_TEST_BACKEND=postgres "
    f"(this run uses {backends.BACKEND!r})"
)
pytestmark = [
    pytest.mark.skipif(backends.BACKEND != "postgres", reason=SKIP_REASON),
    pytest.mark.postgres_only,
    pytest.mark.slow,
]

GRACE_SECONDS = 10.0  # SHUTDOWN_GRACE_SECONDS default


# --- fixtures and helpers -----------------------------------------------------------------


@asynccontextmanager
async def servers(
    env: dict[str, str], count: int, workers: int = 1
) -> AsyncIterator[list[ServerProcess]]:
    """`count` instances started in parallel, SIGTERMed (then killed) at the end."""
    started = await asyncio.gather(
        *(start_server(env, workers=workers) for _ in range(count)), return_exceptions=True
    )
    running = [s for s in started if isinstance(s, ServerProcess)]
    try:
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        yield running
    finally:
        for server in running:
            with suppress(TimeoutError):
                await server.stop(timeout=GRACE_SECONDS + 5)


def same_session(client: ApiClient, base_url: str) -> ApiClient:
    """A client for another instance carrying `client`'s session cookie and CSRF token."""
    other = ApiClient(base_url=base_url, timeout=30)
    other.cookies.set("session", client.cookies["session"])
    other.headers["X-CSRF-Token"] = client.headers["X-CSRF-Token"]
    return other


class SseReader:
    """Parses a streaming `text/event-stream` response into blocks of fields, in a task."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.blocks: asyncio.Queue[dict[str, str] | None] = asyncio.Queue()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line == "":
                    if fields:
                        await self.blocks.put(fields)
                    fields = {}
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                key = name or "comment"
                fields[key] = f"{fields[key]}\n{value}" if key in fields else value
        finally:
            await self.blocks.put(None)

    async def next_event(self, timeout: float) -> dict[str, str]:
        """The next block with an `event:` field (comments and heartbeats are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            block = await asyncio.wait_for(self.blocks.get(), deadline - time.monotonic())
            assert block is not None, "the SSE stream ended"
            if "event" in block:
                return block

    async def subscribed(self, timeout: float = 5.0) -> int:
        block = await asyncio.wait_for(self.blocks.get(), timeout)
        assert block is not None and block.get("comment", "").startswith("subscribed seq="), block
        return int(block["comment"].partition("=")[2])

    async def ended(self, timeout: float) -> list[dict[str, str]]:
        """Wait for the stream's end; an unclean end (no final chunk) raises here."""
        await asyncio.wait_for(self.task, timeout)
        rest: list[dict[str, str]] = []
        while (block := self.blocks.get_nowait()) is not None:
            rest.append(block)
        return rest


@asynccontextmanager
async def sse(client: httpx.AsyncClient, project_id: str) -> AsyncIterator[SseReader]:
    async with client.stream(
        "GET", f"{API}/projects/{project_id}/stream", headers={"Accept": "text/event-stream"}
    ) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = SseReader(response)
        try:
            yield reader
        finally:
            reader.task.cancel()
            with suppress(asyncio.CancelledError, httpx.HTTPError):
                await reader.task


async def close_code(ws: ClientConnection, timeout: float) -> int | None:
    """Read (and drop) messages until the server closes the socket; its close code."""

    async def drain() -> None:
        with suppress(ConnectionClosed):
            while True:
                await ws.recv()

    await asyncio.wait_for(drain(), timeout)
    return ws.close_code


# --- 1. two instances share the work through PostgreSQL + Redis ------------------------


async def test_a_write_through_one_instance_reaches_clients_of_the_other(
    database_url: str, redis_server: RedisProcess
) -> None:
    async with AsyncExitStack() as stack:
        a, b = await stack.enter_async_context(servers(server_env(database_url, redis_server), 2))
        owner_a = await stack.enter_async_context(ApiClient(base_url=a.base_url, timeout=30))
        await owner_a.register()
        owner_b = await stack.enter_async_context(same_session(owner_a, b.base_url))
        project = await create_project(owner_a, "Across instances")
        pid = str(project["id"])

        # WebSocket on B (the session made on A is in the shared Redis), write through A.
        async with live(b.ws_url, owner_a) as ws:
            subscribed = await ws.subscribe(pid)
            assert subscribed["type"] == "subscribed", subscribed
            started = time.monotonic()
            task = await create_task(owner_a, pid, "Made on A")
            [event] = await ws.events(1, timeout=2.0)
            latency = time.monotonic() - started
            assert latency < 2.0
            assert event["name"] == "task.created"
            assert event["seq"] == subscribed["seq"] + 1
            assert event["project_id"] == pid
            assert event["data"] == task
            assert await ws.nothing_within(0.3)

        # SSE on A, write through B.
        async with sse(owner_a, pid) as stream:
            seq = await stream.subscribed()
            assert seq == event["seq"]
            task_b = await create_task(owner_b, pid, "Made on B")
            block = await stream.next_event(timeout=2.0)
            assert block["id"] == str(seq + 1)
            assert block["event"] == "task.created"
            assert f'"id":"{task_b["id"]}"' in block["data"]
        log = await events(owner_a, pid)
        assert [e["seq"] for e in log] == list(range(1, seq + 2))


# --- 2. Redis dies and comes back ---------------------------------------------------------


async def test_redis_outage_fails_closed_and_loses_no_event(
    database_url: str, redis_server: RedisProcess
) -> None:
    async with AsyncExitStack() as stack:
        a, b = await stack.enter_async_context(servers(server_env(database_url, redis_server), 2))
        owner = await stack.enter_async_context(ApiClient(base_url=a.base_url, timeout=30))
        await owner.register()
        owner_b = await stack.enter_async_context(same_session(owner, b.base_url))
        project = await create_project(owner, "Outage")
        pid = str(project["id"])
        secret = await make_token(owner)
        token_a = await stack.enter_async_context(bearer(a.base_url, secret))
        token_b = await stack.enter_async_context(bearer(b.base_url, secret))
        ws = await stack.enter_async_context(
            live(b.ws_url, headers={"Authorization": f"Bearer {secret}"})
        )
        subscribed = await ws.subscribe(pid)
        assert subscribed["type"] == "subscribed", subscribed
        base = subscribed["seq"]
        received: list[tuple[float, dict[str, Any]]] = []
        collector = asyncio.create_task(_collect(ws, received))

        async def write(client: httpx.AsyncClient, title: str) -> dict[str, Any]:
            response = await client.post(f"{API}/projects/{pid}/tasks", json={"title": title})
            assert response.status_code == 201, response.text
            task: dict[str, Any] = response.json()
            return task

        first = await write(token_a, "before 1")
        await write(token_b, "before 2")

        await redis_server.kill()
        down_at = time.monotonic()
        for client in (owner, owner_b):  # cookie sessions cannot be checked: 503, never open
            assert_problem(await client.get(f"{API}/projects"), 503)
            assert_problem(await client.get(f"{API}/projects/{pid}/tasks"), 503)
            assert_problem(
                await client.post(f"{API}/projects/{pid}/tasks", json={"title": "no"}), 503
            )
        for server in (a, b):
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as anonymous:
                assert (await anonymous.get("/health")).status_code == 503
        for i in range(3):  # tokens live in PostgreSQL: writes go on
            await write(token_a, f"during A{i}")
            await write(token_b, f"during B{i}")
        response = await token_a.patch(
            f"{API}/tasks/{first['id']}", json={"title": "renamed while Redis is down"}
        )
        assert response.status_code == 200, response.text
        outage_writes = time.monotonic() - down_at
        # A cookie-authenticated socket cannot be checked either: told so, then closed.
        async with live(a.ws_url, owner) as refused:
            reply = await refused.recv()
            assert reply["type"] == "error" and reply["code"] == "unavailable", reply
            assert await close_code(refused.ws, timeout=5) == 1011
        # Stay down long enough for the subscribers' reconnect loop to back off a few times.
        await asyncio.sleep(max(0.0, 2.5 - (time.monotonic() - down_at)))

        await redis_server.start()
        back_at = time.monotonic()
        await write(token_b, "after 1")
        await write(token_a, "after 2")

        log = await events(token_a, pid, after_seq=base)
        expected = [e["seq"] for e in log]
        assert expected == list(range(base + 1, base + 1 + 2 + 6 + 1 + 2))
        deadline = back_at + 5.0
        while len(received) < len(log) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # anything extra (a duplicate) would arrive now
        collector.cancel()
        with suppress(asyncio.CancelledError):
            await collector
        assert ws.ws.state is State.OPEN, "the subscriber was disconnected"
        messages = [m for _, m in received]
        assert [m.get("type") for m in messages] == ["event"] * len(messages), messages
        assert [m["seq"] for m in messages] == expected
        assert messages == log
        last_arrival = max(t for t, _ in received)
        assert last_arrival - back_at < 5.0

        # Redis came back empty (no persistence): the old cookie session is gone -> 401.
        assert_problem(await owner.get(f"{API}/projects"), 401)
        for server in (a, b):
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as anonymous:
                assert (await anonymous.get("/health")).status_code == 200
        during = sum(1 for t, _ in received if t < back_at)
        print(
            f"\noutage writes took {outage_writes:.2f}s; {during} event(s) delivered while "
            f"Redis was down; the last {last_arrival - back_at:+.2f}s after it returned"
        )


async def _collect(ws: LiveClient, into: list[tuple[float, dict[str, Any]]]) -> None:
    while True:
        message = await ws.recv(timeout=3600)
        into.append((time.monotonic(), message))


# --- 3. SIGTERM with live connections open ------------------------------------------------


async def test_sigterm_closes_sockets_with_1001_ends_streams_and_exits_0(
    database_url: str, redis_server: RedisProcess
) -> None:
    """Live connections end at once (1001 / end of stream); an in-flight write finishes."""
    server = await start_server(server_env(database_url, redis_server))
    signalled = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b'{"title": "in flight'
        await signalled.wait()
        await asyncio.sleep(0.5)
        yield b' at shutdown"}'

    try:
        async with AsyncExitStack() as stack:
            owner = await stack.enter_async_context(ApiClient(base_url=server.base_url, timeout=30))
            await owner.register()
            pid = str((await create_project(owner, "Shutdown"))["id"])
            writer = await stack.enter_async_context(same_session(owner, server.base_url))
            assert (await writer.get(f"{API}/projects/{pid}")).status_code == 200  # keep-alive
            ws = await stack.enter_async_context(live(server.ws_url, owner))
            assert (await ws.subscribe(pid))["type"] == "subscribed"
            stream = await stack.enter_async_context(sse(owner, pid))
            await stream.subscribed()
            in_flight = asyncio.create_task(
                writer.post(
                    f"{API}/projects/{pid}/tasks",
                    content=slow_body(),
                    headers={"Content-Type": "application/json"},
                )
            )
            await asyncio.sleep(0.5)  # its head and first chunk are in; the body is not done

            sent_at = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            signalled.set()
            code = await close_code(ws.ws, timeout=GRACE_SECONDS)
            closed_after = time.monotonic() - sent_at
            assert code == 1001, f"close code {code}:\n{server.output()}"
            leftovers = await stream.ended(timeout=GRACE_SECONDS)
            assert all("event" not in block for block in leftovers), leftovers
            response = await asyncio.wait_for(in_flight, GRACE_SECONDS)
            assert response.status_code == 201, response.text
            assert response.json()["title"] == "in flight at shutdown"
            exit_code = await wait_exit(server.proc, GRACE_SECONDS + 2)
            exited_after = time.monotonic() - sent_at
            assert exit_code == 0, f"exit code {exit_code}:\n{server.output()}"
            assert exited_after < GRACE_SECONDS
            print(f"\nWebSocket closed {closed_after:.2f}s, process exited {exited_after:.2f}s")
    finally:
        if server.proc.poll() is None:
            await server.stop(signal.SIGKILL, timeout=5)


# --- 4. --workers -------------------------------------------------------------------------


async def test_workers_share_one_port_and_deliver_events(
    database_url: str, redis_server: RedisProcess
) -> None:
    async with servers(server_env(database_url, redis_server), 1, workers=2) as [server]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as anonymous:
            health = await anonymous.get("/health")
            assert health.status_code == 200, health.text
        async with ApiClient(base_url=server.base_url, timeout=30) as owner:
            await owner.register()
            project = await create_project(owner, "Workers")
            pid = str(project["id"])
            async with live(server.ws_url, owner) as ws:
                subscribed = await ws.subscribe(pid)
                base = subscribed["seq"]
                # A new TCP connection per write: the kernel spreads them over both workers.
                for i in range(6):
                    response = await owner.post(
                        f"{API}/projects/{pid}/tasks",
                        json={"title": f"w{i}"},
                        headers={"Connection": "close"},
                    )
                    assert response.status_code == 201, response.text
                received = await ws.events(6, timeout=3.0)
                assert [e["seq"] for e in received] == list(range(base + 1, base + 7))
                assert [e["data"]["title"] for e in received] == [f"w{i}" for i in range(6)]
                assert await ws.nothing_within(0.5)
        code = await server.stop(timeout=GRACE_SECONDS + 5)
        assert code == 0, f"exit code {code}:\n{server.output()}"


async def test_embedded_mode_refuses_several_workers() -> None:
    with tempfile.TemporaryDirectory(prefix="tm-embedded-") as data_dir:
        env = base_env(log_level="WARNING", data_dir=data_dir)
        result = await asyncio.to_thread(
            run_command,
            ["serve", "--host", "127.0.0.1", "--port", str(free_port()), "--workers", "2"],
            env,
            20.0,
        )
    assert result.returncode == 2, result.stderr
    assert "--workers" in result.stderr
    assert "DATABASE_URL" in result.stderr and "REDIS_URL" in result.stderr
