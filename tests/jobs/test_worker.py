"""The job worker on a real database: same-transaction enqueue, retries, leases, give-up."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from taskmanager.config import Settings
from taskmanager.db import utcnow
from taskmanager.jobs.models import FAILED, QUEUED, Job
from taskmanager.jobs.queue import enqueue
from taskmanager.jobs.registry import JobContext, PermanentJobError, handler
from taskmanager.jobs.worker import BATCH_SIZE, JobWorker, backoff
from taskmanager.state import Resources
from taskmanager.uow import unit_of_work
from tests import backends
from tests.isolated import clear_jobs, isolated_resources

RAN: list[tuple[str, int]] = []
FAILURES: dict[str, int] = {}


@handler("test.record")
async def _record(context: JobContext, payload: dict[str, Any]) -> None:
    """Fails `fail` times per name (a flaky dependency), then records the run."""
    name = str(payload["name"])
    if FAILURES.get(name, 0) < int(payload.get("fail", 0)):
        FAILURES[name] = FAILURES.get(name, 0) + 1
        raise ConnectionError("dependency down")
    await asyncio.sleep(float(payload.get("sleep", 0)))
    RAN.append((name, context.attempt))


@handler("test.permanent")
async def _permanent(_context: JobContext, _payload: dict[str, Any]) -> None:
    raise PermanentJobError("this address can never work")


@pytest.fixture(scope="module")
async def resources(
    backend: backends.Backend, make_settings: Callable[..., Settings]
) -> AsyncIterator[Resources]:
    async with isolated_resources(backend, make_settings, job_max_attempts=3) as r:
        yield r


@pytest.fixture(autouse=True)
async def _fresh(resources: Resources) -> None:
    await clear_jobs(resources)
    RAN.clear()
    FAILURES.clear()


async def _add(resources: Resources, *, commit: bool = True, **payload: Any) -> None:
    async with resources.session_factory() as session:
        await enqueue(session, "test.record", payload)
        if commit:
            await session.commit()
        else:
            await session.rollback()


async def _jobs(resources: Resources) -> list[Job]:
    async with resources.session_factory() as session:
        return list((await session.scalars(select(Job))).all())


async def _make_due(resources: Resources) -> None:
    async with resources.session_factory() as session:
        await session.execute(update(Job).values(run_at=utcnow()))
        await session.commit()


async def test_a_job_exists_only_if_its_transaction_commits(resources: Resources) -> None:
    await _add(resources, name="rolled back", commit=False)
    await _add(resources, name="committed")
    assert await JobWorker(resources).run_once() == 1
    assert RAN == [("committed", 1)]
    assert await _jobs(resources) == []  # done jobs are deleted


def _runs(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "taskmanager_job_runs_total", {"kind": "test.record", "outcome": outcome}
    )
    return value or 0.0


async def test_a_failing_job_is_retried_later_with_backoff(resources: Resources) -> None:
    retries, done = _runs("retry"), _runs("done")
    await _add(resources, name="flaky", fail=2)
    worker = JobWorker(resources)
    before = utcnow()
    assert await worker.run_once() == 1
    [job] = await _jobs(resources)
    assert (job.status, job.attempts, job.locked_until) == (QUEUED, 1, None)
    assert job.last_error == "ConnectionError: dependency down"
    assert job.run_at >= before + dt.timedelta(seconds=1)  # not due again at once
    assert await worker.run_once() == 0  # nothing due yet
    await _make_due(resources)
    await worker.run_once()
    assert (await _jobs(resources))[0].attempts == 2
    await _make_due(resources)
    await worker.run_once()
    assert RAN == [("flaky", 3)]
    assert await _jobs(resources) == []
    assert (_runs("retry") - retries, _runs("done") - done) == (2, 1)  # in /metrics


async def test_a_job_is_given_up_after_max_attempts_and_kept(resources: Resources) -> None:
    await _add(resources, name="hopeless", fail=99)
    worker = JobWorker(resources)
    for _ in range(3):
        await _make_due(resources)
        await worker.run_once()
    [job] = await _jobs(resources)
    assert (job.status, job.attempts) == (FAILED, 3)
    await _make_due(resources)
    assert await worker.run_once() == 0  # a failed job is never run again
    assert RAN == []


async def test_permanent_errors_and_unknown_kinds_give_up_at_once(resources: Resources) -> None:
    async with resources.session_factory() as session:
        await enqueue(session, "test.permanent", {})
        await enqueue(session, "test.no-such-kind", {})
        await session.commit()
    await JobWorker(resources).run_once()
    jobs = await _jobs(resources)
    assert sorted((j.status, j.attempts) for j in jobs) == [(FAILED, 1), (FAILED, 1)]
    assert any("no handler" in (j.last_error or "") for j in jobs)


async def test_a_dead_workers_job_is_taken_again_after_its_lease(resources: Resources) -> None:
    await _add(resources, name="orphan")
    dead = JobWorker(resources)
    claimed = await dead._claim()  # claimed, then the worker "dies" before running it
    assert len(claimed) == 1
    other = JobWorker(resources)
    assert await other.run_once() == 0  # the lease still holds: nobody runs it twice
    async with resources.session_factory() as session:
        await session.execute(update(Job).values(locked_until=utcnow() - dt.timedelta(seconds=1)))
        await session.commit()
    assert await other.run_once() == 1
    assert RAN == [("orphan", 2)]  # the second attempt


async def test_concurrent_workers_run_each_job_once(resources: Resources) -> None:
    for i in range(3 * BATCH_SIZE):
        await _add(resources, name=f"job {i}", sleep=0.01)
    workers = [JobWorker(resources) for _ in range(3)]
    while await _jobs(resources):
        await asyncio.gather(*(w.run_once() for w in workers))
    names = [name for name, _ in RAN]
    assert sorted(names) == sorted(f"job {i}" for i in range(3 * BATCH_SIZE))


async def test_the_running_worker_is_woken_by_a_commit(resources: Resources) -> None:
    worker = JobWorker(resources)
    resources.jobs = worker
    worker.start()
    try:
        async with unit_of_work(resources) as uow:
            await enqueue(uow.session, "test.record", {"name": "prompt"})
        for _ in range(100):
            if RAN:
                break
            await asyncio.sleep(0.01)
        assert RAN == [("prompt", 1)]
    finally:
        await worker.stop()
        resources.jobs = None


@asynccontextmanager
async def _running(resources: Resources) -> AsyncIterator[JobWorker]:
    """A started worker without periodic jobs, woken by commits; stopped at the end."""
    worker = JobWorker(resources)
    worker.periodic = {}
    resources.jobs = worker
    worker.start()
    try:
        yield worker
    finally:
        await worker.stop(grace=0.1)
        resources.jobs = None


async def _until(condition: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.02)


async def _claimed_once(resources: Resources) -> bool:
    return [job.attempts for job in await _jobs(resources)] == [1]


async def _ran() -> bool:
    return bool(RAN)


async def test_a_slow_job_holds_only_its_own_slot(resources: Resources) -> None:
    """A webhook endpoint taking its full timeout must not hold up the mail due behind it."""
    await _add(resources, name="slow", sleep=5)
    async with _running(resources):
        await _until(lambda: _claimed_once(resources))  # the slow one is claimed and running
        async with unit_of_work(resources) as uow:
            await enqueue(uow.session, "test.record", {"name": "quick"})
        await _until(_ran, timeout=4)
        assert RAN == [("quick", 1)]  # done while the slow one still runs


async def test_a_running_job_is_not_started_again_beside_itself(resources: Resources) -> None:
    """Its lease ran out while it still runs (a slow endpoint): the worker running it
    must not claim it again and run a second copy next to the first."""
    await _add(resources, name="long", sleep=1.5)
    async with _running(resources) as worker:
        await _until(lambda: _claimed_once(resources))
        async with resources.session_factory() as session:
            expired = utcnow() - dt.timedelta(seconds=1)
            await session.execute(update(Job).values(locked_until=expired))
            await session.commit()
        worker.wake()
        await _until(_ran)
        await asyncio.sleep(0.3)
        assert RAN == [("long", 1)]
        assert await _jobs(resources) == []


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    delays = [backoff(n, rng).total_seconds() for n in range(1, 16)]
    assert 1 <= delays[0] <= 2
    assert 16 <= delays[4] <= 32
    assert all(1800 <= d <= 3600 for d in delays[-3:])
    assert len({backoff(3, rng) for _ in range(5)}) > 1  # jittered
