"""The job worker: claims due jobs with a lease, runs their handlers, retries with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from taskmanager.db import utcnow
from taskmanager.jobs import catalog
from taskmanager.jobs.metrics import (
    JOB_DURATION,
    JOB_LATENCY,
    JOB_RUNS,
    JOBS_FAILED_TOTAL,
    JOBS_QUEUED,
)
from taskmanager.jobs.models import FAILED, QUEUED, Job
from taskmanager.jobs.registry import JobContext, PermanentJobError, lookup, open_session
from taskmanager.kit.background import cancel_and_wait
from taskmanager.state import Resources

logger = logging.getLogger("taskmanager.jobs")

BATCH_SIZE = 10
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0


def backoff(attempts: int, rng: random.Random) -> dt.timedelta:
    """Exponential backoff with "equal jitter": between half and all of base * 2^(n-1)
    (capped), so retries of jobs that failed together (a mail server outage) spread out."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


@dataclass(frozen=True, slots=True)
class Claimed:
    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempts: int
    run_at: dt.datetime


class JobWorker:
    """Runs jobs until stopped. Any number of workers may share one database.

    A claim is one UPDATE of up to BATCH_SIZE due rows whose lease is free, setting a new
    lease; on PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED, so concurrent workers
    never wait for or take each other's rows. SQLite (the embedded mode, one process) has
    a single writer anyway. A worker that dies mid-job leaves its lease to run out, and the
    job is claimed again: at least once, never twice at the same time while leases hold.
    """

    def __init__(self, resources: Resources, *, rng: random.Random | None = None) -> None:
        self.resources = resources
        self.settings = resources.settings
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        catalog.load()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="job-worker")

    def wake(self) -> None:
        """A job was just committed: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        # A job cut off here keeps its lease and is taken again once the lease runs out.
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                ran = await self.run_once()
            except Exception:
                logger.exception("job worker round failed; trying again")
                ran = 0
            if ran < BATCH_SIZE:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.job_poll_seconds)

    async def run_once(self) -> int:
        """Claim and run one batch of due jobs; returns how many ran."""
        jobs = await self._claim()
        if jobs:
            await asyncio.gather(*(self._execute(job) for job in jobs))
        if len(jobs) < BATCH_SIZE:
            await self._count()
        return len(jobs)

    async def _claim(self) -> list[Claimed]:
        now = utcnow()
        due = (
            select(Job.id)
            .where(
                Job.status == QUEUED,
                Job.run_at <= now,
                or_(Job.locked_until.is_(None), Job.locked_until < now),
            )
            .order_by(Job.run_at)
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(Job)
            .where(Job.id.in_(due.scalar_subquery()))
            .values(
                locked_until=now + dt.timedelta(seconds=self.settings.job_lease_seconds),
                attempts=Job.attempts + 1,
            )
            .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.run_at)
            .execution_options(synchronize_session=False)
        )
        async with await open_session(self.resources) as session:
            rows = (await session.execute(stmt)).all()
            await session.commit()
        return [Claimed(*row) for row in rows]

    async def _execute(self, job: Claimed) -> None:
        started = time.monotonic()
        JOB_LATENCY.labels(job.kind).observe(max(0.0, (utcnow() - job.run_at).total_seconds()))
        handler = lookup(job.kind)
        try:
            if handler is None:
                raise PermanentJobError(f"no handler for job kind {job.kind!r}")
            context = JobContext(resources=self.resources, job_id=str(job.id), attempt=job.attempts)
            await handler(context, job.payload)
        except Exception as exc:
            JOB_DURATION.labels(job.kind).observe(time.monotonic() - started)
            await self._failed(job, exc)
        else:
            JOB_DURATION.labels(job.kind).observe(time.monotonic() - started)
            JOB_RUNS.labels(job.kind, "done").inc()
            async with await open_session(self.resources) as session:
                await session.execute(delete(Job).where(Job.id == job.id))
                await session.commit()

    async def _failed(self, job: Claimed, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        give_up = (
            isinstance(exc, PermanentJobError) or job.attempts >= self.settings.job_max_attempts
        )
        values: dict[str, Any] = {"locked_until": None, "last_error": error}
        if give_up:
            values["status"] = FAILED
            JOB_RUNS.labels(job.kind, "failed").inc()
            logger.error(
                "job given up after %d attempt(s)",
                job.attempts,
                extra={"job_id": str(job.id), "kind": job.kind, "error": error},
            )
        else:
            values["run_at"] = utcnow() + backoff(job.attempts, self._rng)
            JOB_RUNS.labels(job.kind, "retry").inc()
            logger.warning(
                "job failed; retrying later",
                extra={"job_id": str(job.id), "kind": job.kind, "error": error},
            )
        async with await open_session(self.resources) as session:
            await session.execute(update(Job).where(Job.id == job.id).values(**values))
            await session.commit()

    async def _count(self) -> None:
        async with self.resources.session_factory() as session:
            rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
            counts: dict[str, int] = {str(row[0]): int(row[1]) for row in rows.all()}
        JOBS_QUEUED.set(counts.get(QUEUED, 0))
        JOBS_FAILED_TOTAL.set(counts.get(FAILED, 0))
