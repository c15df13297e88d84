"""Across `serve` instances on PostgreSQL + Redis: a notification made through one reaches
the user's WebSocket and SSE stream on another. Needs TM_TEST_BACKEND=postgres."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import asyncpg
import orjson
import pytest

from tests import backends
from tests.helpers import API, ApiClient, create_project, create_task, invite
from tests.notifications.test_live import next_notification, next_sse, notification_stream, ready
from tests.processes import RedisProcess, server_env
from tests.realtime.test_processes import same_session, servers
from tests.realtime.wsclient import live

pytestmark = [
    pytest.mark.skipif(
        backends.BACKEND != "postgres", reason="needs TM_TEST_BACKEND=postgres (two instances)"
    ),
    pytest.mark.postgres_only,
    pytest.mark.slow,
]


async def _verify(database_url: str, email: str) -> None:
    """What following the mailed link does (tests/accounts covers the link itself)."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("UPDATE users SET email_verified = true WHERE email = $1", email)
    finally:
        await conn.close()


async def test_notifications_reach_the_user_on_another_instance(
    database_url: str, redis_server: RedisProcess
) -> None:
    async with AsyncExitStack() as stack:
        a, b = await stack.enter_async_context(servers(server_env(database_url, redis_server), 2))
        owner = await stack.enter_async_context(ApiClient(base_url=a.base_url, timeout=30))
        await owner.register()
        user_a = await stack.enter_async_context(ApiClient(base_url=a.base_url, timeout=30))
        await user_a.register()
        await _verify(database_url, user_a.email)
        user_b = await stack.enter_async_context(same_session(user_a, b.base_url))
        project = await create_project(owner, "Across instances")
        pid = str(project["id"])

        # The user's WebSocket is on B and its SSE stream on A; the writes go through A.
        ws = await stack.enter_async_context(live(b.ws_url, user_a))
        await ready(ws)
        lines = await stack.enter_async_context(notification_stream(user_a))
        invitation = await invite(owner, pid, user_a.email, "member")
        frame = await next_notification(ws)
        block = await asyncio.wait_for(next_sse(lines), 5)
        assert frame["kind"] == "invited" and frame["data"]["invitation_id"] == invitation["id"]
        assert orjson.loads(block["data"]) == frame

        accepted = await user_b.post(
            f"{API}/invitations/accept", json={"invitation_id": invitation["id"]}
        )
        assert accepted.status_code == 200, accepted.text
        task = await create_task(owner, pid, "Yours", assignee_id=user_a.user["id"])
        frame = await next_notification(ws)
        block = await asyncio.wait_for(next_sse(lines), 5)
        assert (frame["kind"], frame["task_id"]) == ("assigned", task["id"])
        assert orjson.loads(block["data"]) == frame
        listed = (await user_b.get(f"{API}/notifications", params={"unread": "true"})).json()
        assert {"type": "notification", **listed["items"][0]} == frame
