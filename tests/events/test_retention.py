"""The retention job in a real server: what it prunes and keeps, resume after it, locking."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text, update

from taskmanager.config import Settings
from taskmanager.events.models import Event
from taskmanager.events.retention import LOCK_KEY, RetentionJob
from tests import backends
from tests.conftest import StartServer
from tests.helpers import (
    API,
    ApiClient,
    Team,
    create_project,
    create_task,
    events,
    team,
    team_users,
)
from tests.realtime.wsclient import live
from tests.server import RunningServer, run_server

__all__ = ["team", "team_users"]

# A round every ~50 ms, two events per batch: every round exercises the batching.
FAST: dict[str, Any] = {"event_retention_interval_seconds": 0.05, "event_retention_batch_size": 2}
postgres_only = pytest.mark.skipif(
    backends.BACKEND != "postgres", reason="advisory locks: PostgreSQL only"
)


def job(running: RunningServer) -> RetentionJob:
    return running.resources.retention


async def wait_for(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(30):
        while not condition():
            await asyncio.sleep(0.02)


async def rounds_done(running: RunningServer, count: int = 1) -> None:
    """Wait for `count` more completed rounds (one in progress may predate the caller's data)."""
    retention = job(running)
    target = retention.done + count + 1
    await wait_for(lambda: retention.done >= target)


async def backdate(server: RunningServer, project_id: str, up_to_seq: int | None = None) -> None:
    """Make a project's events (up to a seq) 40 days old: real rows, really old."""
    stmt = update(Event).where(Event.project_id == uuid.UUID(project_id))
    if up_to_seq is not None:
        stmt = stmt.where(Event.seq <= up_to_seq)
    async with server.resources.session_factory() as session, session.begin():
        await session.execute(stmt.values(at=dt.datetime.now(dt.UTC) - dt.timedelta(days=40)))


async def stored_seqs(server: RunningServer, project_id: str) -> list[int]:
    async with server.resources.session_factory() as session:
        query = select(Event.seq).where(Event.project_id == uuid.UUID(project_id))
        return list((await session.scalars(query.order_by(Event.seq))).all())


async def project_with_events(owner: ApiClient, count: int) -> str:
    """A project of the owner alone whose log holds seqs 1..count."""
    project_id: str = (await create_project(owner, "Retention"))["id"]
    for i in range(count):
        await create_task(owner, project_id, f"t{i}")
    return project_id


async def test_prunes_old_events_and_keeps_recent_and_minimum(
    server: RunningServer, team: Team, start_server: StartServer
) -> None:
    owner = team["owner"]
    recent = team.project_id  # 3 member.added + 9 tasks: seqs 1..12
    for i in range(9):
        await create_task(owner, recent, f"t{i}")
    await backdate(server, recent, up_to_seq=6)
    minimum = await project_with_events(owner, 6)
    await backdate(server, minimum)
    small = await project_with_events(owner, 3)
    await backdate(server, small)

    pruner = await start_server(event_retention_min_events=4, **FAST)
    await rounds_done(pruner)

    assert await stored_seqs(server, recent) == [7, 8, 9, 10, 11, 12]  # 7, 8: too recent
    assert await stored_seqs(server, minimum) == [3, 4, 5, 6]  # old, but the latest 4
    assert await stored_seqs(server, small) == [1, 2, 3]  # fewer than the minimum
    assert job(pruner).pruned == 6 + 2
    assert job(pruner).failures == 0

    # The HTTP log starts at the first kept seq, pages without gaps and ends where it did.
    viewer = team["viewer"]
    url = f"{API}/projects/{recent}/events"
    pages, cursor = [], "0"
    while cursor is not None:
        page = (await viewer.get(url, params={"after_seq": cursor, "limit": 2})).json()
        pages.append([e["seq"] for e in page["items"]])
        cursor = page["next_cursor"]
    assert pages == [[7, 8], [9, 10], [11, 12], []]
    assert [e["seq"] for e in await events(viewer, recent, after_seq=3)] == [7, 8, 9, 10, 11, 12]
    assert await events(viewer, recent, after_seq=12) == []
    await create_task(owner, recent, "after the prune")  # seqs are never reused
    assert [e["seq"] for e in await events(viewer, recent, after_seq=12)] == [13]


async def test_resume_from_a_pruned_seq_gets_resync_required(
    server: RunningServer, team: Team, start_server: StartServer
) -> None:
    owner = team["owner"]
    pid = team.project_id
    for i in range(5):
        await create_task(owner, pid, f"t{i}")  # seqs 1..8
    await backdate(server, pid)
    pruner = await start_server(event_retention_min_events=3, **FAST)
    await rounds_done(pruner)
    assert await stored_seqs(server, pid) == [6, 7, 8]

    async with live(server.ws_url, team["viewer"]) as ws:
        for pruned_point in (0, 1, 4):
            reply = await ws.subscribe(pid, after_seq=pruned_point)
            assert reply == {"type": "resync_required", "project_id": pid, "seq": 8}
        # Seq 5 is gone but everything after it is kept: that resume needs no resync.
        assert (await ws.subscribe(pid, after_seq=5))["type"] == "subscribed"
        assert [e["seq"] for e in await ws.events(3)] == [6, 7, 8]

    url = f"{API}/projects/{pid}/stream"
    async with team["viewer"].stream("GET", url, headers={"Last-Event-ID": "2"}) as response:
        lines = [line async for line in response.aiter_lines()]  # the server ends the stream
    assert lines[0] == "event: resync_required"
    assert orjson.loads(lines[1].removeprefix("data: ")) == {
        "type": "resync_required",
        "project_id": pid,
        "seq": 8,
    }


async def test_a_failing_round_does_not_stop_the_job(
    server: RunningServer, team: Team, start_server: StartServer
) -> None:
    pid = await project_with_events(team["owner"], 4)
    await backdate(server, pid)
    pruner = await start_server(event_retention_min_events=1, **FAST)
    await rounds_done(pruner)
    assert await stored_seqs(server, pid) == [4]

    await create_task(team["owner"], pid, "more")
    await backdate(server, pid)
    retention = job(pruner)
    failures = retention.failures
    async with server.resources.engine.begin() as conn:  # a real database error, every round
        await conn.execute(text("ALTER TABLE events RENAME TO events_away"))
    try:
        await wait_for(lambda: retention.failures >= failures + 2)
        assert retention.running
        async with ApiClient(base_url=pruner.base_url, timeout=30) as probe:
            assert (await probe.get("/health/live")).status_code == 200
    finally:
        async with server.resources.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE events_away RENAME TO events"))
    await rounds_done(pruner)
    assert await stored_seqs(server, pid) == [5]


async def test_disabled_by_zero_and_stopped_at_shutdown(
    migrated: None, make_settings: Callable[..., Settings]
) -> None:
    async with run_server(make_settings(event_retention_interval_seconds=0)) as idle:
        assert not job(idle).running
    others = retention_tasks()  # e.g. the session server's own job
    async with run_server(make_settings(**FAST)) as busy:
        await rounds_done(busy)
        assert job(busy).running
        [ours] = retention_tasks() - others
    assert ours.cancelled()  # cancelled and awaited by the lifespan, not left behind
    assert not job(busy).running


def retention_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t.get_name() == "event-retention"}


@postgres_only
async def test_round_is_skipped_while_another_instance_holds_the_lock(
    server: RunningServer, team: Team, start_server: StartServer
) -> None:
    pid = await project_with_events(team["owner"], 4)
    await backdate(server, pid)
    async with server.resources.engine.connect() as other_instance:
        await other_instance.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        try:
            pruner = await start_server(event_retention_min_events=0, **FAST)
            await wait_for(lambda: job(pruner).skipped >= 2)
            assert await stored_seqs(server, pid) == [1, 2, 3, 4]
            assert job(pruner).pruned == 0
        finally:
            await other_instance.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
    await rounds_done(pruner)
    assert await stored_seqs(server, pid) == []
    assert job(pruner).pruned >= 4  # other tests' old events may go too (minimum 0)


@postgres_only
async def test_two_instances_share_the_work_without_errors(
    server: RunningServer, team: Team, start_server: StartServer
) -> None:
    pid = team.project_id
    first = await start_server(event_retention_min_events=5, **FAST)
    second = await start_server(event_retention_min_events=5, **FAST)
    for i in range(40):  # with the team's 3 member.added: seqs 1..43, 38 to prune
        await create_task(team["owner"], pid, f"t{i}")
    # Whatever older tests left to prune is gone before the count starts.
    await rounds_done(first)
    await rounds_done(second)
    before_rows, before_pruned = await count_events(server), pruned_by(first, second)
    await backdate(server, pid)
    await wait_for(lambda: pruned_by(first, second) - before_pruned >= 38)
    await rounds_done(first)
    await rounds_done(second)
    assert await stored_seqs(server, pid) == list(range(39, 44))
    # Each event was deleted once (the rowcounts add up), and no round failed (no deadlock).
    assert (
        pruned_by(first, second) - before_pruned == 38 == before_rows - await count_events(server)
    )
    assert job(first).failures == job(second).failures == 0


def pruned_by(*servers: RunningServer) -> int:
    return sum(job(s).pruned for s in servers)


async def count_events(server: RunningServer) -> int:
    async with server.resources.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(Event)) or 0)
