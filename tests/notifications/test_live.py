"""Live notifications: every WebSocket and SSE stream of the user, with no subscribe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson

from tests.helpers import API, ApiClient, Team, assert_problem, create_task
from tests.notifications.helpers import unread
from tests.realtime.wsclient import LiveClient, live
from tests.server import RunningServer


async def ready(ws: LiveClient) -> None:
    """A pong means the server is past joining the user's channel (it does that first)."""
    await ws.send({"type": "ping"})
    assert await ws.recv() == {"type": "pong"}


async def next_notification(ws: LiveClient, timeout: float = 5.0) -> dict[str, Any]:
    while True:
        message = await ws.recv(timeout)
        if message["type"] == "notification":
            return message


async def test_every_websocket_of_the_user_gets_it(server: RunningServer, named_team: Team) -> None:
    team = named_team
    async with (
        live(server.ws_url, team["admin"]) as first,
        live(server.ws_url, team["admin"]) as second,
        live(server.ws_url, team["viewer"]) as bystander,
    ):
        for ws in (first, second, bystander):
            await ready(ws)
        task = await create_task(
            team["member"], team.project_id, "Live", assignee_id=team.user_id("admin")
        )
        frames = [await next_notification(ws) for ws in (first, second)]
        [stored] = await unread(team["admin"])
        assert frames == [{"type": "notification", **stored}] * 2
        assert stored["task_id"] == task["id"] and stored["kind"] == "assigned"
        assert await bystander.nothing_within(0.3)


async def test_with_project_events_on_one_socket(server: RunningServer, named_team: Team) -> None:
    team = named_team
    async with live(server.ws_url, team["admin"]) as ws:
        subscribed = await ws.subscribe(team.project_id)
        assert subscribed["type"] == "subscribed"
        task = await create_task(
            team["member"], team.project_id, "Both", assignee_id=team.user_id("admin")
        )
        got = [await ws.recv(), await ws.recv()]
        assert sorted(m["type"] for m in got) == ["event", "notification"]
        assert {m["data"]["id"] if m["type"] == "event" else m["task_id"] for m in got} == {
            task["id"]
        }


async def test_subscribed_while_connected_only(server: RunningServer, named_team: Team) -> None:
    team = named_team
    channels = server.resources.hub.users
    admin_id = team.user_id("admin")
    async with live(server.ws_url, team["admin"]) as ws:
        await ready(ws)
        assert str(admin_id) in {str(u) for u in channels.users}
    # The last connection gone, the process stops listening to the user's channel ...
    for _ in range(100):
        if f"user:{admin_id}" not in channels._requested:
            break
        await asyncio.sleep(0.05)
    assert f"user:{admin_id}" not in channels._requested
    assert all(str(u) != admin_id for u in channels.users)
    # ... and listens again for the next one.
    async with live(server.ws_url, team["admin"]) as ws:
        await ready(ws)
        await create_task(team["owner"], team.project_id, "Again", assignee_id=admin_id)
        assert (await next_notification(ws))["data"] == {"title": "Again"}


@asynccontextmanager
async def notification_stream(client: ApiClient) -> AsyncIterator[AsyncIterator[str]]:
    async with client.stream("GET", f"{API}/notifications/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        assert (await anext(lines)).startswith("retry:")
        assert await anext(lines) == ": listening"  # joined: what follows reaches us
        yield lines


async def next_sse(lines: AsyncIterator[str]) -> dict[str, str]:
    """The next SSE event's fields (comment lines, i.e. heartbeats, skipped)."""
    fields: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if fields:
                return fields
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    raise AssertionError("the stream ended")


async def test_sse_stream(server: RunningServer, named_team: Team) -> None:
    team = named_team
    async with notification_stream(team["member"]) as lines:
        task = await create_task(team["owner"], team.project_id, "Streamed")
        response = await team["admin"].post(
            f"{API}/tasks/{task['id']}/comments", json={"body": "@Mia over to you"}
        )
        assert response.status_code == 201
        block = await asyncio.wait_for(next_sse(lines), 5)
    assert block["event"] == "notification"
    [stored] = await unread(team["member"])
    assert orjson.loads(block["data"]) == {"type": "notification", **stored}
    assert stored["kind"] == "mentioned"
    assert_problem(await team["anonymous"].get(f"{API}/notifications/stream"), 401)
