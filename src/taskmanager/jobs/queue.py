"""Enqueue a job in the caller's transaction: it exists exactly when the change commits."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import exists, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.jobs.models import QUEUED, Job
from taskmanager.uow import UnitOfWork


def _row(kind: str, payload: dict[str, Any], delay: dt.timedelta | None, key: str | None) -> Any:
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "kind": kind,
        "payload": payload,
        "status": QUEUED,
        "run_at": now + (delay or dt.timedelta()),
        "attempts": 0,
        "locked_until": None,
        "last_error": None,
        "created_at": now,
        "key": key,
    }


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    delay: dt.timedelta | None = None,
    key: str | None = None,
) -> bool:
    """Add a job to the current transaction; the local worker is woken after the commit.

    With a `key`, the job is added only if no job with that key is waiting to start (the
    worker clears a job's key when it claims it): "send this user's pending mail", enqueued
    by every notification, stays one job however many pile up before it runs, while one
    enqueued during a run queues the next. Returns whether a job was added.

    The payload is JSON and must hold no secret: jobs that mail a link make their token
    when they run, so the table never holds a usable one.
    """
    row = _row(kind, payload, delay, key)
    if key is None:
        await session.execute(insert(Job).values(row))
        added = True
    else:
        added = await _insert_unless_waiting(session, row)
    uow = UnitOfWork.find(session)
    # A job's own session (jobs/registry.open_session) has no unit of work: what it enqueues
    # waits for the worker's next poll (JOB_POLL_SECONDS), which is running anyway.
    if added and uow is not None and delay is None:
        uow.job_enqueued()
    return added


async def _insert_unless_waiting(session: AsyncSession, row: dict[str, Any]) -> bool:
    # ON CONFLICT DO NOTHING against the partial unique index on waiting keys: two
    # transactions racing to add the same key end with one row, neither with an error (on
    # PostgreSQL the second waits for the first to commit, then does nothing).
    conn = await session.connection()
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(Job).values(row).on_conflict_do_nothing().returning(Job.id)
    return (await session.execute(stmt)).first() is not None


async def schedule_periodic(session: AsyncSession, kind: str, *, delay: dt.timedelta) -> bool:
    """Make sure one job of the periodic `kind` exists, due after `delay` if added now.

    Keyed by the kind, and added only when no job of the kind is queued at all (running
    ones included), so N workers starting at once, or a run finishing while another
    worker starts, still leave exactly one row. Returns whether a job was added.
    """
    row = _row(kind, {}, delay, periodic_key(kind))
    conn = await session.connection()
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    pending = select(Job.id).where(Job.kind == kind, Job.status == QUEUED)
    values = select(*(literal(value, Job.__table__.c[name].type) for name, value in row.items()))
    stmt = (
        dialect_insert(Job)
        .from_select(list(row), values.where(~exists(pending)))
        .on_conflict_do_nothing()
        .returning(Job.id)
    )
    return (await session.execute(stmt)).first() is not None


def periodic_key(kind: str) -> str:
    return f"periodic:{kind}"
