"""Session listing and revocation, idle and absolute timeouts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tests.conftest import StartServer
from tests.helpers import ApiClient, assert_problem


async def test_list_and_revoke_sessions(make_client: Callable[[], ApiClient]) -> None:
    laptop, phone = make_client(), make_client()
    await laptop.register()
    await phone.login(laptop.email)
    sessions = (await laptop.get("/api/v1/auth/sessions")).json()
    assert len(sessions) == 2
    assert [s["current"] for s in sessions] == [True, False]
    assert all(len(s["id"]) == 32 for s in sessions)
    # The listed id is not the cookie secret.
    assert laptop.cookies.get("session") not in {s["id"] for s in sessions}
    revoke = await laptop.delete(f"/api/v1/auth/sessions/{sessions[1]['id']}")
    assert revoke.status_code == 204
    assert_problem(await phone.get("/api/v1/auth/me"), 401)
    assert (await laptop.get("/api/v1/auth/me")).status_code == 200
    assert_problem(await laptop.delete(f"/api/v1/auth/sessions/{sessions[1]['id']}"), 404)
    assert_problem(await laptop.delete("/api/v1/auth/sessions/not-a-session"), 422)


async def test_cannot_revoke_someone_elses_session(make_client: Callable[[], ApiClient]) -> None:
    alice, bob = make_client(), make_client()
    await alice.register()
    await bob.register()
    bob_session = (await bob.get("/api/v1/auth/sessions")).json()[0]["id"]
    assert_problem(await alice.delete(f"/api/v1/auth/sessions/{bob_session}"), 404)
    assert (await bob.get("/api/v1/auth/me")).status_code == 200


async def test_idle_timeout(start_server: StartServer) -> None:
    running = await start_server(
        session_idle_timeout_seconds=2, session_absolute_timeout_seconds=60
    )
    async with ApiClient(base_url=running.base_url) as c:
        await c.register()
        for _ in range(3):  # use keeps it alive past the idle timeout
            await asyncio.sleep(1)
            assert (await c.get("/api/v1/auth/me")).status_code == 200
        await asyncio.sleep(3.1)
        assert_problem(await c.get("/api/v1/auth/me"), 401)


async def test_absolute_timeout(start_server: StartServer) -> None:
    running = await start_server(
        session_idle_timeout_seconds=60, session_absolute_timeout_seconds=3
    )
    async with ApiClient(base_url=running.base_url) as c:
        await c.register()
        logged_in = time.monotonic()
        assert (await c.get("/api/v1/auth/me")).status_code == 200
        await asyncio.sleep(1)
        assert (await c.get("/api/v1/auth/me")).status_code == 200
        await asyncio.sleep(max(0.0, logged_in + 3.2 - time.monotonic()))
        # Used a moment ago, but three seconds after login: over.
        assert_problem(await c.get("/api/v1/auth/me"), 401)
