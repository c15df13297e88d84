"""subscribe_all across real `taskmanager serve` processes on PostgreSQL + a private Redis.

A client follows everything on instance A while writes, a join and a leave go through B;
it reconnects to B from its last cursor frame; Redis dies and comes back meanwhile. Its
replica must equal the server's state with every event applied once. Needs
TM_TEST_BACKEND=postgres.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import pytest

from tests import backends
from tests.helpers import API, ApiClient, create_project, create_task
from tests.processes import RedisProcess, bearer, make_token, server_env
from tests.realtime.test_processes import servers
from tests.realtime.wsclient import live
from tests.sync.replica import Replica, server_state, sync_all
from tests.sync.stream import Stream

pytestmark = [
    pytest.mark.skipif(
        backends.BACKEND != "postgres",
        reason="multi-process tests need PostgreSQL + Redis: run with TM_TEST_BACKEND=postgres",
    ),
    pytest.mark.postgres_only,
    pytest.mark.slow,
]
# Instances must share the key that signs cursors (one made per DATA_DIR otherwise).
SECRET = "sync-process-tests-" + "k" * 32


async def verify_in(database_url: str, email: str) -> None:
    """Mark an address verified in a process server's database (the mailed link's work)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE users SET email_verified = true WHERE email = $1", email)
    finally:
        await conn.close()


async def _join(database_url: str, owner: ApiClient, pid: str, member: ApiClient) -> None:
    response = await owner.post(
        f"{API}/projects/{pid}/invitations", json={"email": member.email, "role": "member"}
    )
    assert response.status_code == 201, response.text
    await verify_in(database_url, member.email)
    accepted = await member.post(
        f"{API}/invitations/accept", json={"invitation_id": response.json()["id"]}
    )
    assert accepted.status_code == 200, accepted.text


async def _token_client(stack: AsyncExitStack, session: ApiClient, base_url: str) -> ApiClient:
    secret = await make_token(session)
    client = await stack.enter_async_context(bearer(base_url, secret))
    client.email = session.email
    client.user = session.user
    return client


async def test_follow_everything_across_instances_reconnects_and_a_redis_restart(
    database_url: str, redis_server: RedisProcess
) -> None:
    env = server_env(database_url, redis_server, secret_key=SECRET)
    async with AsyncExitStack() as stack:
        a, b = await stack.enter_async_context(servers(env, 2))
        sessions: dict[str, ApiClient] = {}
        for name in ("owner", "bob"):
            sessions[name] = await stack.enter_async_context(
                ApiClient(base_url=a.base_url, timeout=30)
            )
            await sessions[name].register()
        # Bearer tokens live in PostgreSQL: they outlive the Redis restart below.
        owner_b = await _token_client(stack, sessions["owner"], b.base_url)
        bob_a = await _token_client(stack, sessions["bob"], a.base_url)
        bob_b = bearer(b.base_url, bob_a.headers["Authorization"].removeprefix("Bearer "))
        await stack.enter_async_context(bob_b)
        bob_b.email, bob_b.user = bob_a.email, bob_a.user
        auth = {"Authorization": bob_a.headers["Authorization"]}

        own = await create_project(bob_a, "Bob's")
        shared = await create_project(owner_b, "Shared")
        later = await create_project(owner_b, "Joined during the outage")
        replica = Replica()
        await sync_all(bob_a, replica)

        async with live(a.ws_url, headers=auth) as ws:
            stream = Stream(ws, replica)
            await stream.start(replica.cursor)
            await create_task(bob_b, own["id"], "written on B")
            await _join(database_url, owner_b, shared["id"], bob_b)
            await stream.until(lambda f: f["type"] == "project_added")
            await create_task(owner_b, shared["id"], "after the join, on B")
            await stream.settle(await server_state(bob_a))

        # Offline: writes on both instances, then resume on B from the last cursor frame.
        await create_task(owner_b, shared["id"], "while bob is away")
        await create_task(bob_a, own["id"], "bob, elsewhere")
        async with live(b.ws_url, headers=auth) as ws:
            stream = Stream(ws, replica)
            await stream.start(replica.cursor)
            await stream.settle(await server_state(bob_b))

            await redis_server.kill()
            await create_task(owner_b, shared["id"], "during the outage")
            await _join(database_url, owner_b, later["id"], bob_a)  # no member.added reaches B
            await stream.until(
                lambda f: f["type"] == "project_added" and f["project_id"] == later["id"]
            )
            await redis_server.start()
            await create_task(owner_b, later["id"], "after Redis returned")
            left = await bob_a.delete(f"{API}/projects/{shared['id']}/members/{bob_a.user['id']}")
            assert left.status_code == 204
            await stream.until(lambda f: f["type"] == "project_removed")
            await stream.settle(await server_state(bob_b))

        assert set(replica.projects) == {own["id"], later["id"]}
        # Every event was applied once (Replica fails on a repeat or a gap).
        counted: dict[str, Any] = {}
        for pid, _ in replica.seen:
            counted[pid] = counted.get(pid, 0) + 1
        assert counted[own["id"]] == 2
