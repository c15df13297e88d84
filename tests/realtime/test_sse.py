"""Server-Sent Events: live events with id/event lines, Last-Event-ID resume, access rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from tests.conftest import StartServer
from tests.helpers import API, ApiClient, Team, assert_problem, create_task, team, team_users
from tests.server import RunningServer

__all__ = ["team", "team_users"]


async def _read_events(lines: AsyncIterator[str], count: int) -> list[dict[str, str]]:
    """Parse `count` SSE events (comments and control events skipped)."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if "id" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            current[field] = value
    return events


async def test_stream_live_and_resume(server: RunningServer, team: Team) -> None:
    viewer = team["viewer"]
    url = f"{API}/projects/{team.project_id}/stream"
    async with viewer.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        first_line = await anext(lines)  # the stream is open before we write
        assert first_line.startswith("retry:")
        task = await create_task(team["member"], team.project_id, "streamed")
        [event] = await asyncio.wait_for(_read_events(lines, 1), 5)
    assert event["event"] == "task.created"
    assert '"task.created"' in event["data"]
    assert task["id"] in event["data"]
    seen = int(event["id"])

    for i in range(2):
        await create_task(team["member"], team.project_id, f"while away {i}")
    async with viewer.stream("GET", url, headers={"Last-Event-ID": str(seen)}) as response:
        resumed = await asyncio.wait_for(_read_events(response.aiter_lines(), 2), 5)
    assert [int(e["id"]) for e in resumed] == [seen + 1, seen + 2]


async def test_stream_access_rules(server: RunningServer, team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/stream"
    assert_problem(await team["outsider"].get(url), 404)
    assert_problem(await team["anonymous"].get(url), 401)
    bad = await team["viewer"].get(url, headers={"Last-Event-ID": "abc"})
    assert_problem(bad, 422)
    assert_problem(await team["viewer"].get(f"{API}/projects/not-a-uuid/stream"), 422)


async def test_resume_point_out_of_range_is_422(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/stream"
    viewer = team["viewer"]
    # "²" passes str.isdigit() but not int(): it used to be a 500.
    superscript = await viewer.get(url, headers={b"Last-Event-ID": "²".encode("latin-1")})
    assert_problem(superscript, 422, field="Last-Event-ID")
    past_bigint = str(2**63)
    assert_problem(await viewer.get(url, headers={"Last-Event-ID": past_bigint}), 422)
    assert_problem(await viewer.get(url, params={"after_seq": past_bigint}), 422, field="after_seq")


async def test_heartbeat_comment_when_idle(start_server: StartServer) -> None:
    running = await start_server(sse_heartbeat_seconds=0.2)
    async with ApiClient(base_url=running.base_url) as c:
        await c.register()
        project = (await c.post(f"{API}/projects", json={"name": "quiet"})).json()
        async with c.stream("GET", f"{API}/projects/{project['id']}/stream") as response:
            lines = response.aiter_lines()
            seen: list[str] = []
            async with asyncio.timeout(3):
                async for line in lines:
                    seen.append(line)
                    if line == ": keep-alive":
                        break
    assert ": keep-alive" in seen


async def test_stream_ends_when_project_is_deleted(server: RunningServer) -> None:
    async with ApiClient(base_url=server.base_url) as owner:
        await owner.register()
        project = (await owner.post(f"{API}/projects", json={"name": "doomed"})).json()
        url = f"{API}/projects/{project['id']}/stream"
        async with owner.stream("GET", url) as response:
            lines = response.aiter_lines()
            await anext(lines)
            assert (await owner.delete(f"{API}/projects/{project['id']}")).status_code == 204
            rest: list[str] = []
            async with asyncio.timeout(3):
                rest = [line async for line in lines]  # ends: the server closed the stream
    assert "event: project.deleted" in rest
    assert "event: error" in rest


async def test_stream_is_not_cached(server: RunningServer, team: Team) -> None:
    async with team["viewer"].stream("GET", f"{API}/projects/{team.project_id}/stream") as r:
        assert r.headers["cache-control"] == "no-cache"
        assert isinstance(r, httpx.Response)
