"""Enqueue a job in the caller's transaction: it exists exactly when the change commits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.jobs.models import Job
from taskmanager.uow import UnitOfWork


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    delay: dt.timedelta | None = None,
) -> Job:
    """Add a job to the current transaction; the local worker is woken after the commit.

    The payload is JSON and must hold no secret: jobs that mail a link make their token
    when they run, so the table never holds a usable one.
    """
    job = Job(kind=kind, payload=payload, run_at=utcnow() + (delay or dt.timedelta()))
    session.add(job)
    await session.flush()
    uow = UnitOfWork.find(session)
    # A job's own session (jobs/registry.open_session) has no unit of work: what it enqueues
    # waits for the worker's next poll (JOB_POLL_SECONDS), which is running anyway.
    if uow is not None and delay is None:
        uow.job_enqueued()
    return job
