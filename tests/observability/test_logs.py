"""A real `taskmanager serve` at LOG_LEVEL=DEBUG through a flow full of secrets: its output
is JSON lines with request ids, and not one secret appears in it. Both backends."""

from __future__ import annotations

import asyncio
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests import backends
from tests.helpers import API, ApiClient, create_project, unique_email
from tests.processes import base_env, migrate, running_redis, running_server
from tests.realtime.wsclient import live

pytestmark = pytest.mark.slow

FIRST_PASSWORD = "first secret passphrase 7391"
SECOND_PASSWORD = "second secret passphrase 8420"
WRONG_PASSWORD = "wrong secret passphrase 5068"


@pytest.fixture(scope="module")
async def server_env(backend: backends.Backend) -> AsyncIterator[dict[str, str]]:
    """Settings for a real server on this run's backend (a private database and Redis)."""
    if backend.is_postgres:
        url = await backends.create_database()
        try:
            async with running_redis() as redis:
                env = base_env(database_url=url, redis_url=redis.url, log_level="DEBUG")
                await asyncio.to_thread(migrate, env)
                yield env
        finally:
            await backends.drop_database(url)
    else:
        with tempfile.TemporaryDirectory(prefix="tm-logs-") as data_dir:
            yield base_env(data_dir=data_dir, log_level="DEBUG")


async def _flow(base_url: str, ws_url: str) -> list[str]:
    """Register, log in, make a token, use it (HTTP and WebSocket), change the password,
    fail a login: every secret that crossed the wire, as the client saw it."""
    secrets = [FIRST_PASSWORD, SECOND_PASSWORD, WRONG_PASSWORD]
    email = unique_email("logs")
    async with ApiClient(base_url=base_url, timeout=30) as client:
        registered = await client.register(email, password=FIRST_PASSWORD)
        secrets += [registered["csrf_token"], str(client.cookies["session"])]
        await client.post(f"{API}/auth/logout")
        logged_in = await client.login(email, password=FIRST_PASSWORD)
        secrets += [logged_in["csrf_token"], str(client.cookies["session"])]
        project = await create_project(client, "Secrets stay out of logs")
        response = await client.post(f"{API}/auth/tokens", json={"name": "logs test"})
        assert response.status_code == 201, response.text
        token = response.json()["token"]
        secrets.append(token)
        async with ApiClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as bearer:
            assert (await bearer.get(f"{API}/projects")).status_code == 200
            # A bad token's value must stay out too.
            bad = {"Authorization": f"Bearer {token[:-4]}zzzz"}
            assert (await bearer.get(f"{API}/projects", headers=bad)).status_code == 401
            secrets.append(f"{token[:-4]}zzzz")
        async with live(ws_url, headers={"Authorization": f"Bearer {token}"}) as ws:
            assert (await ws.subscribe(project["id"]))["type"] == "subscribed"
        async with live(ws_url, client) as ws:  # and by cookie
            assert (await ws.subscribe(project["id"]))["type"] == "subscribed"
        response = await client.patch(
            f"{API}/auth/me/password",
            json={"current_password": FIRST_PASSWORD, "new_password": SECOND_PASSWORD},
        )
        assert response.status_code == 200, response.text
        secrets += [response.json()["csrf_token"], str(client.cookies["session"])]
    async with ApiClient(base_url=base_url, timeout=30) as stranger:
        response = await stranger.post(
            f"{API}/auth/login", json={"email": email, "password": WRONG_PASSWORD}
        )
        assert response.status_code == 401, response.text
    return secrets


async def test_debug_logs_are_json_with_request_ids_and_no_secrets(
    server_env: dict[str, str],
) -> None:
    async with running_server(server_env) as server:
        secrets = await _flow(server.base_url, server.ws_url)
        assert await server.stop(signal.SIGTERM) == 0
        output = Path(server.log).read_text()

    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) > 20, output
    entries: list[dict[str, Any]] = []
    for line in lines:
        try:
            entries.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
    leaked = [s for s in secrets if s in output]
    assert not leaked, f"{len(leaked)} secret(s) in the logs"
    # Nor their URL- or JSON-escaped forms (a space becomes + or %20).
    for secret in secrets:
        for form in (secret.replace(" ", "+"), secret.replace(" ", "%20")):
            assert form not in output

    requests = [e for e in entries if e.get("logger") == "taskmanager.access"]
    http = [e for e in requests if e["msg"] == "request"]
    assert {e["route"] for e in http} >= {
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/tokens",
        "/api/v1/auth/me/password",
        "/api/v1/projects",
    }
    for entry in requests:
        assert entry.get("request_id"), entry
        assert "route" in entry, entry
        assert entry["msg"] == "websocket connect" or "duration_ms" in entry, entry
    failed_login = [e for e in http if e["route"] == "/api/v1/auth/login" and e["status"] == 401]
    assert failed_login and failed_login[0]["user_id"] is None
    authenticated = [e for e in http if e["route"] == "/api/v1/projects" and e["status"] < 400]
    assert all(e["user_id"] for e in authenticated), authenticated

    connects = [e for e in requests if e["msg"] == "websocket connect"]
    disconnects = [e for e in requests if e["msg"] == "websocket disconnect"]
    assert len(connects) == len(disconnects) == 2, requests
    for entry in disconnects:
        assert entry["route"] == "/api/v1/ws"
        assert entry["close_code"] == 1000  # the client said goodbye
        assert entry["user_id"]
