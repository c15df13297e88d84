"""Dedupe keys and periodic jobs on a real database: one waiting job per key, one row per
periodic kind across workers and restarts, the next run queued when one ends."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from taskmanager.config import Settings
from taskmanager.db import create_engine, create_session_factory, utcnow
from taskmanager.jobs.models import QUEUED, Job
from taskmanager.jobs.queue import enqueue, periodic_key
from taskmanager.jobs.registry import JobContext, handler, open_session
from taskmanager.jobs.worker import JobWorker
from taskmanager.state import Resources
from tests import backends
from tests.isolated import clear_jobs, isolated_resources

TICKED: list[str] = []
DURING_RUN: list[bool] = []
SLOW_RUNS: list[int] = []
BRIEF: list[str] = []
HOUR = dt.timedelta(hours=1)


@handler("test.tick")
async def _tick(context: JobContext, _payload: dict[str, Any]) -> None:
    TICKED.append(context.job_id)


@handler("test.tick-fails")
async def _tick_fails(_context: JobContext, _payload: dict[str, Any]) -> None:
    raise ConnectionError("dependency down")


@handler("test.keyed")
async def _keyed(context: JobContext, payload: dict[str, Any]) -> None:
    """Enqueues its own key while it runs: that must queue the next job, not vanish."""
    if payload.get("again"):
        async with await open_session(context.resources) as session:
            DURING_RUN.append(await enqueue(session, "test.keyed", {}, key="user:1"))
            await session.commit()


@handler("test.slow")
async def _slow(context: JobContext, _payload: dict[str, Any]) -> None:
    """The first run hangs until cancelled (a deploy stops the worker); later ones finish."""
    SLOW_RUNS.append(context.attempt)
    if context.attempt == 1:
        await asyncio.Event().wait()


@handler("test.brief")
async def _brief(context: JobContext, _payload: dict[str, Any]) -> None:
    """Sends something that cannot be taken back (a mail), in a moment."""
    BRIEF.append("started")
    await asyncio.sleep(0.3)
    BRIEF.append("sent")


@pytest.fixture(scope="module")
async def resources(
    backend: backends.Backend, make_settings: Callable[..., Settings]
) -> AsyncIterator[Resources]:
    async with isolated_resources(backend, make_settings, reminder_sweep_seconds=0) as r:
        yield r


@pytest.fixture(autouse=True)
async def _fresh(resources: Resources) -> None:
    await clear_jobs(resources)
    TICKED.clear()
    DURING_RUN.clear()
    SLOW_RUNS.clear()
    BRIEF.clear()


async def _jobs(resources: Resources, kind: str | None = None) -> list[Job]:
    async with resources.session_factory() as session:
        query = select(Job).order_by(Job.created_at)
        if kind is not None:
            query = query.where(Job.kind == kind)
        return list((await session.scalars(query)).all())


async def _make_due(resources: Resources) -> None:
    async with resources.session_factory() as session:
        await session.execute(update(Job).values(run_at=utcnow()))
        await session.commit()


async def _enqueue(resources: Resources, key: str | None, *, commit: bool = True) -> bool:
    async with await open_session(resources) as session:
        added = await enqueue(session, "test.keyed", {}, key=key)
        if commit:
            await session.commit()
        else:
            await session.rollback()
        return added


def _ticker(resources: Resources, kind: str = "test.tick") -> JobWorker:
    """A worker whose only periodic job is `kind`, hourly."""
    worker = JobWorker(resources)
    worker.periodic = {kind: HOUR}
    return worker


async def test_a_key_that_is_waiting_is_not_queued_again(resources: Resources) -> None:
    assert await _enqueue(resources, "user:1", commit=False)  # rolled back: holds nothing
    assert await _enqueue(resources, "user:1")
    assert not await _enqueue(resources, "user:1")
    assert await _enqueue(resources, "user:2")
    assert await _enqueue(resources, None)
    assert await _enqueue(resources, None)  # no key, no dedupe
    assert sorted(str(j.key) for j in await _jobs(resources)) == [
        "None",
        "None",
        "user:1",
        "user:2",
    ]


async def test_racing_enqueues_of_one_key_leave_one_job(resources: Resources) -> None:
    async def add() -> bool:
        async with await open_session(resources) as session:
            added = await enqueue(session, "test.keyed", {}, key="race")
            await asyncio.sleep(0.05)  # both transactions are open at once (PostgreSQL)
            await session.commit()
            return added

    results = await asyncio.gather(*(add() for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert len(await _jobs(resources)) == 1


async def test_a_key_enqueued_while_its_job_runs_queues_the_next(resources: Resources) -> None:
    async with await open_session(resources) as session:
        await enqueue(session, "test.keyed", {"again": True}, key="user:1")
        await session.commit()
    assert await JobWorker(resources).run_once() == 1
    assert DURING_RUN == [True]  # the running job had given its key up
    [job] = await _jobs(resources)
    assert (job.key, job.payload) == ("user:1", {})


async def test_workers_starting_together_add_one_row_per_periodic_kind(
    resources: Resources,
) -> None:
    # Separate engines: as many processes starting at the same moment.
    engines = [create_engine(resources.settings) for _ in range(3)]
    try:
        workers = []
        for engine in engines:
            other = Resources(
                settings=resources.settings,
                engine=engine,
                session_factory=create_session_factory(engine),
                redis=resources.redis,
            )
            workers.append(_ticker(other))
        await asyncio.gather(*(w.add_periodic_jobs() for w in workers))
    finally:
        for engine in engines:
            await engine.dispose()
    [job] = await _jobs(resources)
    assert (job.kind, job.key, job.status) == ("test.tick", periodic_key("test.tick"), QUEUED)


async def test_a_run_queues_the_next_and_the_schedule_survives_a_restart(
    resources: Resources,
) -> None:
    worker = _ticker(resources)
    await worker.add_periodic_jobs()
    [first] = await _jobs(resources)
    assert await worker.run_once() == 1
    assert [str(first.id)] == TICKED
    [second] = await _jobs(resources)
    assert second.id != first.id
    assert second.run_at >= utcnow() + HOUR - dt.timedelta(minutes=1)
    assert (second.attempts, second.key) == (0, periodic_key("test.tick"))
    assert await worker.run_once() == 0  # not due for an hour

    restarted = _ticker(resources)  # a new process: the row is still there
    await restarted.add_periodic_jobs()
    assert [j.id for j in await _jobs(resources)] == [second.id]
    await _make_due(resources)
    assert await restarted.run_once() == 1
    assert [str(first.id), str(second.id)] == TICKED
    assert len(await _jobs(resources, "test.tick")) == 1
    queued = REGISTRY.get_sample_value("taskmanager_jobs_queued", {"kind": "test.tick"})
    assert queued == 1.0  # queue depth by kind, in /metrics


async def test_a_periodic_job_is_not_added_while_one_runs(resources: Resources) -> None:
    worker = _ticker(resources)
    await worker.add_periodic_jobs()
    claimed = await worker._claim()  # running: its key is cleared, the row is still queued
    assert len(claimed) == 1
    await _ticker(resources).add_periodic_jobs()  # another worker starts
    assert len(await _jobs(resources)) == 1


async def test_a_failed_periodic_run_is_followed_by_the_next_not_retried(
    resources: Resources,
) -> None:
    failed = REGISTRY.get_sample_value(
        "taskmanager_job_runs_total", {"kind": "test.tick-fails", "outcome": "failed"}
    )
    worker = _ticker(resources, "test.tick-fails")
    await worker.add_periodic_jobs()
    assert await worker.run_once() == 1
    [job] = await _jobs(resources)
    assert (job.status, job.attempts, job.last_error) == (QUEUED, 0, None)
    assert job.run_at >= utcnow() + HOUR - dt.timedelta(minutes=1)
    after = REGISTRY.get_sample_value(
        "taskmanager_job_runs_total", {"kind": "test.tick-fails", "outcome": "failed"}
    )
    assert (after or 0) - (failed or 0) == 1


async def test_stopping_a_worker_hands_its_running_jobs_back(resources: Resources) -> None:
    async with await open_session(resources) as session:
        await enqueue(session, "test.slow", {})
        await session.commit()
    worker = _ticker(resources)
    worker.periodic = {}
    worker.start()
    async with asyncio.timeout(30):
        while not SLOW_RUNS:
            await asyncio.sleep(0.01)
    await worker.stop(grace=0.1)  # mid-job, as on SIGTERM, and the job outlasts the grace
    [job] = await _jobs(resources)
    assert (job.status, job.locked_until, job.attempts) == (QUEUED, None, 1)
    assert await JobWorker(resources).run_once() == 1  # no lease to wait for
    assert SLOW_RUNS == [1, 2]
    assert await _jobs(resources) == []


async def test_stopping_a_worker_lets_a_job_in_flight_finish(resources: Resources) -> None:
    """A deploy stops the worker while a mail is going out: cut off after sending but
    before its job was done, the mail would go out twice."""
    async with await open_session(resources) as session:
        await enqueue(session, "test.brief", {})
        await session.commit()
    worker = _ticker(resources)
    worker.periodic = {}
    worker.start()
    async with asyncio.timeout(30):
        while not BRIEF:
            await asyncio.sleep(0.01)
    await worker.stop()
    assert BRIEF == ["started", "sent"]
    assert await _jobs(resources) == []  # done, not handed back to run again
    assert await JobWorker(resources).run_once() == 0


async def test_stopping_a_worker_as_it_is_woken_still_stops_it(resources: Resources) -> None:
    """A write commits (waking the worker) just as a deploy stops it: the stop must not be
    lost, or shutdown waits forever (asyncio.wait_for on Python 3.11 could swallow it)."""
    for yields in range(40):
        worker = _ticker(resources)
        worker.periodic = {}
        worker.start()
        await asyncio.sleep(0.05)  # waiting for a wake-up or the next poll
        worker.wake()
        for _ in range(yields % 4):
            await asyncio.sleep(0)
        async with asyncio.timeout(10):  # the stop grace is 5 s; nothing runs here
            await worker.stop()
        assert not worker.running


def test_intervals_come_from_settings_and_zero_turns_one_off(
    make_settings: Callable[..., Settings],
) -> None:
    on = Resources(
        settings=make_settings(reminder_sweep_seconds=5),
        engine=None,  # type: ignore[arg-type]
        session_factory=None,  # type: ignore[arg-type]
        redis=None,  # type: ignore[arg-type]
    )
    assert JobWorker(on).periodic["reminders.sweep"] == dt.timedelta(seconds=5)
    on.settings = make_settings(reminder_sweep_seconds=0)
    assert "reminders.sweep" not in JobWorker(on).periodic
