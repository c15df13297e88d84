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
from taskmanager.jobs.queue import schedule_periodic
from taskmanager.jobs.registry import JobContext, PermanentJobError, lookup, open_session
from taskmanager.kit.background import cancel_and_wait
from taskmanager.state import Resources

logger = logging.getLogger("taskmanager.jobs")

BATCH_SIZE = 10
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0
STOP_GRACE_SECONDS = 5.0
"""How long stop() lets the jobs in flight finish before cutting them off."""


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

    Periodic jobs (catalog.PERIODIC_JOBS) are ordinary rows: a starting worker adds the
    one row of each kind unless it exists, and a run, done or failed, is replaced by the
    next one due an interval later in the same transaction, so the schedule survives
    restarts and N workers run each interval once.
    """

    def __init__(self, resources: Resources, *, rng: random.Random | None = None) -> None:
        self.resources = resources
        self.settings = resources.settings
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._next_count = 0.0  # monotonic time of the next queue-depth count
        self._periodic_scheduled = False
        self._counted_kinds: set[str] = set()
        # Jobs claimed and not finished yet: their leases are released by stop().
        self._holding: set[uuid.UUID] = set()
        catalog.load()
        # kind -> interval, for the periodic kinds this deployment runs (0 turns one off).
        self.periodic: dict[str, dt.timedelta] = {
            kind: dt.timedelta(seconds=seconds)
            for kind, setting in catalog.PERIODIC_JOBS
            if (seconds := float(getattr(self.settings, setting))) > 0
        }

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="job-worker")

    def wake(self) -> None:
        """A job was just committed: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Claim nothing more, let the jobs in flight finish for up to `grace` seconds (a
        mail cut off after it went out but before its job was done is sent again by the
        next claim), then cut off the rest; their leases are given back."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        await asyncio.wait({task}, timeout=grace)
        await cancel_and_wait(task)
        await self._release()

    async def _release(self) -> None:
        """Give back the leases of jobs cut off by stop(), so that another worker (or this
        one restarted) takes them at once rather than after JOB_LEASE_SECONDS: a deploy
        must not hold up a periodic job (reminders) for minutes. If this fails too (the
        database is gone), the leases simply run out."""
        held, self._holding = self._holding, set()
        if not held:
            return
        try:
            async with await open_session(self.resources) as session:
                await session.execute(
                    update(Job)
                    .where(Job.id.in_(held), Job.status == QUEUED)
                    .values(locked_until=None)
                )
                await session.commit()
        except Exception:
            logger.warning("could not release the leases of %d job(s)", len(held), exc_info=True)

    async def _run(self) -> None:
        """Keep up to BATCH_SIZE jobs running, claiming more as soon as one finishes: a slow
        job (a webhook endpoint that takes its full timeout) holds only its own slot, not
        the mail and reminders due behind it. Ends once stop() asks and the jobs in flight
        are done; cancelled, it cancels them (their leases are then given back)."""
        running: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping:
                self._wake.clear()
                free = BATCH_SIZE - len(running)
                claimed = 0
                if free > 0:
                    try:
                        if not self._periodic_scheduled:
                            await self.add_periodic_jobs()
                        jobs = await self._claim(limit=free)
                        claimed = len(jobs)
                        if self._stopping:
                            break  # asked to stop during the claim: stop() hands them back
                        for job in jobs:
                            task = asyncio.create_task(self._execute(job), name="job")
                            running.add(task)
                            task.add_done_callback(running.discard)
                            task.add_done_callback(self._slot_freed)
                        if claimed < free and time.monotonic() >= self._next_count:
                            # Once per poll interval, not after every job that finishes.
                            self._next_count = time.monotonic() + self.settings.job_poll_seconds
                            await self._count()
                    except Exception:
                        logger.exception("job worker round failed; trying again")
                if (free > 0 and claimed == free) or self._stopping:
                    continue  # more may be due at once, or it is time to go
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel
                # that lands as the wake comes in, and stop() would then wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.job_poll_seconds):
                        await self._wake.wait()
            if running:
                await asyncio.wait(running)
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)

    def _slot_freed(self, task: asyncio.Task[None]) -> None:
        self._wake.set()
        if not task.cancelled() and (error := task.exception()) is not None:
            # A handler's own errors are the job's (retried); this is the bookkeeping after
            # it failing (the database went away): the lease runs out and it runs again.
            logger.error("job bookkeeping failed", exc_info=error)

    async def add_periodic_jobs(self) -> None:
        """Add the one job of each periodic kind that has none yet (due at once)."""
        async with await open_session(self.resources) as session:
            for kind in self.periodic:
                await schedule_periodic(session, kind, delay=dt.timedelta())
            await session.commit()
        self._periodic_scheduled = True

    async def run_once(self) -> int:
        """Claim and run one batch of due jobs; returns how many ran."""
        jobs = await self._claim()
        if jobs:
            await asyncio.gather(*(self._execute(job) for job in jobs))
        if len(jobs) < BATCH_SIZE:
            await self._count()
        return len(jobs)

    async def _claim(self, limit: int = BATCH_SIZE) -> list[Claimed]:
        now = utcnow()
        due = select(Job.id).where(
            Job.status == QUEUED,
            Job.run_at <= now,
            or_(Job.locked_until.is_(None), Job.locked_until < now),
        )
        if self._holding:
            # Not one this worker is still running, however long it takes (its lease may
            # have run out): a second copy beside it would race it to finish.
            due = due.where(Job.id.not_in(list(self._holding)))
        due = due.order_by(Job.run_at).limit(limit).with_for_update(skip_locked=True)
        stmt = (
            update(Job)
            .where(Job.id.in_(due.scalar_subquery()))
            .values(
                locked_until=now + dt.timedelta(seconds=self.settings.job_lease_seconds),
                attempts=Job.attempts + 1,
                # A started job no longer dedupes (jobs.queue.enqueue's `key`).
                key=None,
            )
            .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.run_at)
            .execution_options(synchronize_session=False)
        )
        async with await open_session(self.resources) as session:
            rows = (await session.execute(stmt)).all()
            await session.commit()
        claimed = [Claimed(*row) for row in rows]
        self._holding.update(job.id for job in claimed)
        return claimed

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
            await self._finish(job)
        # Not in a `finally`: a job cancelled by stop() stays held, for _release.
        self._holding.discard(job.id)

    async def _finish(self, job: Claimed) -> None:
        """Delete a finished job; a periodic one is replaced by its next run."""
        async with await open_session(self.resources) as session:
            await session.execute(delete(Job).where(Job.id == job.id))
            interval = self.periodic.get(job.kind)
            if interval is not None:
                await schedule_periodic(session, job.kind, delay=interval)
            await session.commit()

    async def _failed(self, job: Claimed, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if job.kind in self.periodic:
            # Its next run is the retry: a sweep that failed is simply done again later.
            JOB_RUNS.labels(job.kind, "failed").inc()
            logger.error(
                "periodic job failed; it runs again after its interval",
                extra={"job_id": str(job.id), "kind": job.kind, "error": error},
            )
            await self._finish(job)
            return
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
            rows = await session.execute(
                select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
            )
            counts = {(str(kind), str(status)): int(n) for kind, status, n in rows.all()}
        # Kinds seen before but gone now must read 0, not their last count.
        self._counted_kinds.update(kind for kind, _ in counts)
        for kind in self._counted_kinds:
            JOBS_QUEUED.labels(kind).set(counts.get((kind, QUEUED), 0))
            JOBS_FAILED_TOTAL.labels(kind).set(counts.get((kind, FAILED), 0))
