"""/health reports the database and Redis; /health/live answers without them."""

from __future__ import annotations

import socket

import httpx

from tests.conftest import StartServer
from tests.helpers import assert_problem
from tests.server import RunningServer


async def test_health_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["database"]["latency_ms"] >= 0


async def test_live(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_health_503_when_redis_unreachable(start_server: StartServer) -> None:
    running = await start_server(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    async with httpx.AsyncClient(base_url=running.base_url) as c:
        response = await c.get("/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["redis"]["status"] == "unavailable"
        assert body["checks"]["database"]["status"] == "ok"
        # Liveness does not depend on Redis.
        assert (await c.get("/health/live")).status_code == 200
        # Cookie sessions cannot be checked without Redis: fail closed with 503, not 401/200.
        c.cookies.set("session", "x" * 43)
        assert_problem(await c.get("/api/v1/auth/me"), 503)


async def test_no_server_banner(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as c:
        response = await c.get("/health/live")
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
