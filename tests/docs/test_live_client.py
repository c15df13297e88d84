"""docs/examples/live_client.py against real servers: it survives losing its server.

The client talks to a small TCP forwarder (a stand-in for the load balancer). The server
behind it is stopped mid-stream, events are written while nothing serves the client, and
a fresh server on the same database takes over: the client must end up with every event
of the project's log exactly once, in seq order.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.conftest import StartServer
from tests.helpers import API, ApiClient, create_project, create_task
from tests.server import RunningServer

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "live_client.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("live_client_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses/annotations look the module up by name
    spec.loader.exec_module(module)
    return module


class Forwarder:
    """Accepts on a fixed port and pipes each connection to the current backend port."""

    def __init__(self) -> None:
        self.backend_port: int | None = None
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            if self.backend_port is None:
                return
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend_port)
            except OSError:
                return  # nothing serves: the client sees the connection drop and retries
            self.writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()  # one side ended: end the other too, like a proxy does

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        for writer in self.writers:
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        await self.server.wait_closed()


async def wait_for_seq(client: Any, project_id: str, seq: int) -> None:
    """Until the client has handed over `seq` (bounded, so a bug fails instead of hanging)."""
    async with asyncio.timeout(30):
        while (client.last_seq.get(project_id) or 0) < seq:
            await asyncio.sleep(0.02)


async def wait_until_down(running: RunningServer) -> None:
    """Until the server refuses connections and has let go of every live client."""
    async with asyncio.timeout(30):
        while True:
            try:
                _, writer = await asyncio.open_connection(*running.base_url[7:].split(":"))
            except OSError:
                if not running.resources.hub.registry.connections:
                    return
            else:
                writer.close()
                await writer.wait_closed()
            await asyncio.sleep(0.02)


async def latest_seq(owner: ApiClient, project_id: str) -> int:
    log = await full_log(owner, project_id)
    return int(log[-1]["seq"]) if log else 0


async def full_log(owner: ApiClient, project_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (
            await owner.get(
                f"{API}/projects/{project_id}/events", params={"after_seq": after, "limit": 100}
            )
        ).json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        after = int(page["next_cursor"])


async def test_reconnects_and_resumes_without_gaps_or_repeats(
    server: RunningServer, client: ApiClient, start_server: StartServer
) -> None:
    live_client = load_example()
    await client.register()
    project_id = (await create_project(client, "Live client"))["id"]
    token = (await client.post(f"{API}/auth/tokens", json={"name": "live"})).json()["token"]

    forwarder = Forwarder()
    port = await forwarder.start()
    # A short check interval: in the embedded mode each server has its own Redis stand-in,
    # so events written through `server` reach this one by its database check.
    first = await start_server(realtime_check_interval_seconds=0.2)
    forwarder.backend_port = int(first.base_url.rsplit(":", 1)[1])

    received: list[dict[str, Any]] = []
    follower = live_client.LiveClient(
        f"http://127.0.0.1:{port}",
        token,
        {project_id: 0},
        received.append,
        min_backoff=0.05,
        max_backoff=0.5,
    )
    running = asyncio.create_task(follower.run())
    try:
        for i in range(5):
            await create_task(client, project_id, f"before {i}")
        await wait_for_seq(follower, project_id, await latest_seq(client, project_id))
        assert follower.connections == 1

        # The server goes away mid-stream; writes go on through the other instance.
        forwarder.backend_port = None
        first.server.should_exit = True
        await wait_until_down(first)
        for i in range(5):
            await create_task(client, project_id, f"while down {i}")

        second = await start_server(realtime_check_interval_seconds=0.2)
        forwarder.backend_port = int(second.base_url.rsplit(":", 1)[1])
        for i in range(5):
            await create_task(client, project_id, f"after {i}")
        await wait_for_seq(follower, project_id, await latest_seq(client, project_id))
    finally:
        follower.stop()
        await running
        await forwarder.close()

    assert follower.connections >= 2, "the client should have reconnected"
    log = await full_log(client, project_id)
    assert [(e["seq"], e["name"]) for e in received] == [(e["seq"], e["name"]) for e in log]
    assert [e["seq"] for e in received] == list(range(1, len(log) + 1))
    titles = [e["data"]["title"] for e in received if e["name"] == "task.created"]
    assert titles == [f"{when} {i}" for when in ("before", "while down", "after") for i in range(5)]
