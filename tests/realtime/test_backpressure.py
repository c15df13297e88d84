"""A client that stops reading is closed with 1013; the others keep their pace."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time

import pytest
from prometheus_client import REGISTRY

from tests.conftest import StartServer
from tests.helpers import API, ApiClient, create_project, create_task
from tests.realtime.wsclient import live

# A slow reader is told from a fast one by timing: run outside the xdist part.
pytestmark = pytest.mark.serial


def _stalled_socket(base_url: str, cookie: str, project_id: str) -> socket.socket:
    """A raw WebSocket client with a tiny receive buffer that never reads after subscribing."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /api/v1/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Cookie: session={cookie}\r\n\r\n"
        ).encode()
    )
    response = sock.recv(4096)
    assert b" 101 " in response.split(b"\r\n", 1)[0], response
    payload = f'{{"type":"subscribe","project_id":"{project_id}"}}'.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    return sock


def _slow_consumers_closed() -> float:
    return REGISTRY.get_sample_value("taskmanager_realtime_slow_consumers_closed_total") or 0.0


async def test_slow_client_closed_1013_fast_one_unaffected(start_server: StartServer) -> None:
    running = await start_server(realtime_send_queue_size=8)
    closed_before = _slow_consumers_closed()
    async with ApiClient(base_url=running.base_url) as owner:
        await owner.register()
        project = await create_project(owner, "busy")
        stalled = await asyncio.to_thread(
            _stalled_socket, running.base_url, str(owner.cookies.get("session")), project["id"]
        )
        try:
            async with live(running.ws_url, owner) as fast:
                await fast.subscribe(project["id"])
                await asyncio.sleep(0.2)
                big = "x" * 20_000  # large events fill the stalled client's buffers sooner
                latencies: list[float] = []
                writes = 0
                extra_after_close = 5
                while writes < 400 and extra_after_close > 0:
                    started = time.monotonic()
                    await create_task(owner, project["id"], f"t{writes}", description=big)
                    [event] = await fast.events(1)
                    latencies.append(time.monotonic() - started)
                    assert event["data"]["title"] == f"t{writes}"
                    writes += 1
                    if _slow_consumers_closed() > closed_before:
                        extra_after_close -= 1
                assert _slow_consumers_closed() == closed_before + 1
                # The fast client got every event, in time, before and after the close.
                assert max(latencies) < 2.0
                assert len(running.resources.hub.registry.connections) == 1
        finally:
            stalled.close()

    async with ApiClient(base_url=running.base_url) as check:
        await check.login(owner.email)
        url = f"{API}/projects/{project['id']}/events"
        tail = (await check.get(url, params={"after_seq": writes - 1})).json()["items"]
    assert [e["seq"] for e in tail] == [writes]  # every write made it into the log
