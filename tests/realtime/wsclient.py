"""A small real WebSocket client for tests (the `websockets` library over TCP)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.helpers import ApiClient


class LiveClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        body: dict[str, Any] = orjson.loads(raw)
        return body

    async def subscribe(self, project_id: str, after_seq: int | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "subscribe", "project_id": project_id}
        if after_seq is not None:
            message["after_seq"] = after_seq
        await self.send(message)
        return await self.recv()

    async def events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < count:
            message = await self.recv(timeout)
            if message["type"] == "event":
                out.append(message)
        return out

    async def nothing_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.ws.recv(), seconds)
        except TimeoutError:
            return True
        return False


def cookie_headers(client: ApiClient, origin: str | None = None) -> dict[str, str]:
    cookie = client.cookies.get("session")
    headers = {"Cookie": f"session={cookie}"}
    if origin is not None:
        headers["Origin"] = origin
    return headers


@asynccontextmanager
async def live(
    ws_url: str, client: ApiClient | None = None, *, headers: dict[str, str] | None = None
) -> AsyncIterator[LiveClient]:
    all_headers = dict(headers or {})
    if client is not None:
        all_headers.update(cookie_headers(client))
    async with connect(f"{ws_url}/api/v1/ws", additional_headers=all_headers, open_timeout=5) as ws:
        yield LiveClient(ws)
