"""A real uvicorn server on a free loopback port, running inside the test event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from taskmanager.app import create_app
from taskmanager.config import Settings
from taskmanager.state import Resources


@dataclass
class RunningServer:
    base_url: str
    server: uvicorn.Server
    settings: Settings

    @property
    def resources(self) -> Resources:
        state: dict[str, Any] = self.server.lifespan.state
        resources: Resources = state["resources"]
        return resources

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")


# Running servers by base URL: lets test helpers reach a server's database for setup
# that a browser would do by mail (see helpers.verify_email).
RUNNING: dict[str, RunningServer] = {}


@asynccontextmanager
async def run_server(
    settings: Settings, app: FastAPI | None = None
) -> AsyncIterator[RunningServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app or create_app(settings),
        lifespan="on",
        log_config=None,
        access_log=False,
        ws="websockets-sansio",
        # As `taskmanager serve`: no permessage-deflate, so fan-outs take the direct path.
        ws_per_message_deflate=False,
        server_header=False,
        proxy_headers=False,  # as `taskmanager serve`: FORWARDED_ALLOW_IPS is the app's
        ws_max_size=settings.ws_max_message_bytes,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited during start-up")
        await asyncio.sleep(0.01)
    running = RunningServer(base_url=f"http://127.0.0.1:{port}", server=server, settings=settings)
    RUNNING[running.base_url] = running
    try:
        yield running
    finally:
        RUNNING.pop(running.base_url, None)
        server.should_exit = True
        await task
        sock.close()
