"""Once-only reminders with real `taskmanager` processes: across a restart (both backends)
and across two `serve` instances plus a separate `worker` on PostgreSQL + Redis, where the
periodic sweep is also one job row that survives the restart."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskmanager.config import Settings
from taskmanager.db import create_engine, create_session_factory, utcnow
from taskmanager.jobs.models import Job
from taskmanager.reminders.jobs import REMINDER_SWEEP
from tests import backends
from tests.helpers import ApiClient, create_project, create_task
from tests.processes import (
    TASKMANAGER,
    base_env,
    bearer,
    make_token,
    migrated_database,
    running_redis,
    running_server,
    server_env,
    wait_exit,
)
from tests.reminders.conftest import notifications_of, wait_until

FAST = {"reminder_sweep_seconds": 0.1, "job_poll_seconds": 0.05}
postgres_only = pytest.mark.skipif(
    backends.BACKEND != "postgres", reason="several instances need PostgreSQL + Redis"
)


@asynccontextmanager
async def database_of(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the servers' database, to read what they wrote."""
    engine = create_engine(settings)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def running_worker(env: Mapping[str, str]) -> AsyncIterator[subprocess.Popen[bytes]]:
    """`taskmanager worker` for the duration of the block, stopped with SIGTERM."""
    proc = subprocess.Popen(
        [TASKMANAGER, "worker"],
        env=dict(env),
        cwd=tempfile.mkdtemp(prefix="tm-worker-"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        if await wait_exit(proc, timeout=30) is None:
            proc.kill()
            proc.wait()


async def owner_on(base_url: str) -> tuple[ApiClient, str]:
    """A registered user with a project of their own, on one server."""
    client = ApiClient(base_url=base_url, timeout=30)
    await client.register()
    project = await create_project(client, "Reminders")
    return client, str(project["id"])


async def due_task(client: ApiClient, project_id: str, title: str, assignee: str) -> dict[str, Any]:
    """A task with both reminders due now: remind_at a minute ago (caught up) and due in
    an hour (inside the due_soon day). Assigned to its creator: reminders come from no one,
    so nobody is left out as the actor."""
    now = utcnow()
    return await create_task(
        client,
        project_id,
        title,
        assignee_id=assignee,
        remind_at=(now - dt.timedelta(minutes=1)).isoformat(),
        due_at=(now + dt.timedelta(hours=1)).isoformat(),
    )


async def kinds_sent(factory: async_sessionmaker[AsyncSession], task: dict[str, Any]) -> list[str]:
    return [kind for _, kind, _ in await notifications_of(factory, task["id"])]


async def wait_both_sent(
    factory: async_sessionmaker[AsyncSession], tasks: list[dict[str, Any]]
) -> None:
    async def all_sent() -> bool:
        for task in tasks:
            if sorted(set(await kinds_sent(factory, task))) != ["due_soon", "reminder"]:
                return False
        return True

    await wait_until(all_sent)


async def sweep_jobs(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as session:
        count = await session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == REMINDER_SWEEP)
        )
        return int(count or 0)


async def test_each_reminder_is_sent_once_across_a_restart(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with AsyncExitStack() as stack:
        if backends.BACKEND == "postgres":
            url = await stack.enter_async_context(migrated_database())
            redis = await stack.enter_async_context(running_redis())
            env = server_env(url, redis, **FAST)
            settings = make_settings(database_url=url)
        else:
            env = base_env(data_dir=str(tmp_path), log_level="WARNING", **FAST)
            settings = make_settings(database_url=None, redis_url=None, data_dir=tmp_path)
        async with running_server(env) as first:
            client, pid = await owner_on(first.base_url)
            me = str(client.user["id"])
            token = await make_token(client)  # sessions may not outlive the process
            before = await due_task(client, pid, "Before the restart", me)
            factory = await stack.enter_async_context(database_of(settings))
            await wait_both_sent(factory, [before])
            await client.aclose()
        async with running_server(env) as second, bearer(second.base_url, token) as client:
            after = await due_task(client, pid, "After the restart", me)
            await wait_both_sent(factory, [after])  # the restarted worker's sweeps ran
        assert sorted(await kinds_sent(factory, before)) == ["due_soon", "reminder"]
        assert sorted(await kinds_sent(factory, after)) == ["due_soon", "reminder"]
        assert await sweep_jobs(factory) == 1


@postgres_only
async def test_two_instances_and_a_worker_send_each_reminder_once(
    make_settings: Callable[..., Settings],
) -> None:
    async with migrated_database() as url, running_redis() as redis:
        env = server_env(url, redis, **FAST)
        settings = make_settings(database_url=url)
        async with (
            database_of(settings) as factory,
            running_server(env) as first,
            running_server(env) as second,
            running_worker(env),
        ):
            client, pid = await owner_on(first.base_url)
            me = str(client.user["id"])
            token = await make_token(client)
            async with bearer(second.base_url, token) as other:
                tasks = [await due_task(client, pid, f"On the first {i}", me) for i in range(10)]
                tasks += [await due_task(other, pid, f"On the second {i}", me) for i in range(10)]
                await wait_both_sent(factory, tasks)
                # A later batch proves more sweeps ran after the first had sent everything.
                later = [await due_task(other, pid, f"Later {i}", me) for i in range(3)]
                await wait_both_sent(factory, later)
            await client.aclose()
            for task in tasks + later:
                assert sorted(await kinds_sent(factory, task)) == ["due_soon", "reminder"]
            assert await sweep_jobs(factory) == 1  # one periodic row for three workers

        # Everything stopped, then one instance again: the same single row goes on.
        async with database_of(settings) as factory, running_server(env) as again:
            async with bearer(again.base_url, token) as client:
                last = await due_task(client, pid, "After all restarted", me)
                await wait_both_sent(factory, [last])
            assert sorted(await kinds_sent(factory, last)) == ["due_soon", "reminder"]
            assert await sweep_jobs(factory) == 1
