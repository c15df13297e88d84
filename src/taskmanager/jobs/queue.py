"""Enqueue a job in the caller's transaction: it exists exactly when the change commits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import after_commit, utcnow
from taskmanager.jobs.models import Job
from taskmanager.state import Resources


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
    resources: Resources | None = session.info.get("resources")
    job = Job(kind=kind, payload=payload, run_at=utcnow() + (delay or dt.timedelta()))
    session.add(job)
    await session.flush()
    worker = resources.jobs if resources is not None else None
    if worker is not None and delay is None:

        async def wake() -> None:
            worker.wake()

        after_commit(session, wake)
    return job
