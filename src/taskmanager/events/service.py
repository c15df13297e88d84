"""Append to, read and prune the per-project event log (publishing is the unit of work's)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, insert, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.events.models import Event
from taskmanager.events.schemas import EventName, EventRead
from taskmanager.jobs.queue import enqueue
from taskmanager.logs import request_id_var
from taskmanager.membership.models import Project
from taskmanager.uow import UnitOfWork

WEBHOOK_DELIVERY_JOB = "webhooks.deliver"
"""The job that sends a project's new events to its webhooks (handled in taskmanager.webhooks):
a write in a project with enabled endpoints enqueues it, in its own transaction."""

_WEBHOOKS_WOKEN = "taskmanager.webhooks_woken"


def channel(project_id: uuid.UUID) -> str:
    return f"project:{project_id}"


def event_to_message(event: Event | EventRead) -> bytes:
    """The contract's JSON for one event, serialised once (pub/sub, WebSocket, SSE)."""
    read = event if isinstance(event, EventRead) else EventRead.model_validate(event)
    return orjson.dumps(read.model_dump(mode="json"))


async def append_event(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    name: EventName,
    actor_id: uuid.UUID | None,
    data: dict[str, Any],
) -> Event:
    """Add the project's next event in the current transaction; publish it after commit.

    The message is queued on the session's unit of work (taskmanager.uow), which publishes
    it once the transaction has committed; a session without one raises NoUnitOfWork
    before anything is written.

    The seq comes from `UPDATE projects SET event_seq = event_seq + 1 ... RETURNING`: the row
    lock it takes is held until commit, so concurrent writers of one project get consecutive
    seqs in commit order (no gaps, no reordering), which makes seq a safe resume cursor.
    """
    uow = UnitOfWork.of(session)
    values = {
        "project_id": project_id,
        "name": name,
        "actor_id": actor_id,
        "request_id": request_id_var.get(),
        "at": utcnow(),
        "data": data,
    }
    await session.flush()  # the caller's pending rows first, as session.add + flush did
    if session.get_bind().dialect.name == "postgresql":
        params = {f"{_PARAM}{key}": value for key, value in values.items()}
        row = (await session.execute(_APPEND_POSTGRES, params)).first()
    else:
        bump = _bump(Project.id == project_id).execution_options(synchronize_session=False)
        row = (await session.execute(bump)).first()
        if row is not None:
            await session.execute(insert(Event).values(seq=row[0], **values))
    if row is None:
        raise LookupError(f"project {project_id} does not exist")
    seq, webhooks = row
    transaction = session.get_transaction()
    if webhooks and session.info.get(_WEBHOOKS_WOKEN) is not transaction:
        # Durable with the event: a crash after the commit still delivers. Once per
        # transaction; the job sends everything after each endpoint's cursor. Keyed per
        # project: a burst of writes leaves one waiting job, not one per write.
        session.info[_WEBHOOKS_WOKEN] = transaction
        await enqueue(
            session,
            WEBHOOK_DELIVERY_JOB,
            {"project_id": str(project_id)},
            key=f"webhooks:{project_id}",
        )
    event = Event(seq=seq, **values)  # not added: the row is written; this carries the message
    uow.publish_after_commit(channel(project_id), event_to_message(event))
    return event


def _bump(where: Any) -> Any:
    """UPDATE projects SET event_seq = event_seq + 1 RETURNING the seq and the number of
    enabled webhooks (a project without any pays nothing more for them)."""
    return (
        update(Project)
        .where(where)
        .values(event_seq=Project.event_seq + 1)
        .returning(Project.event_seq, Project.webhook_count)
    )


_FIELDS = ("project_id", "name", "actor_id", "request_id", "at", "data")
# Bound parameter names: prefixed, because a parameter named like a column of `projects`
# (`name`) would silently join the UPDATE's SET clause.
_PARAM = "ev_"


def _append_postgres() -> Any:
    """The bump and the INSERT as one statement, built once with bound parameters (building
    it per call was a sizeable share of a write's CPU): one round trip fewer while the
    project row is locked; the bump is a data-modifying CTE the INSERT reads its seq from
    (SQLite has no DML in WITH)."""
    columns = Event.__table__.c
    bumped = _bump(Project.id == bindparam(f"{_PARAM}project_id")).cte("bump")
    row = [bindparam(f"{_PARAM}{key}", type_=columns[key].type).label(key) for key in _FIELDS]
    inserted = (
        insert(Event)
        .from_select([*_FIELDS, "seq"], select(*row, bumped.c.event_seq).select_from(bumped))
        .returning(Event.seq)
        .cte("inserted")
    )
    return select(inserted.c.seq, bumped.c.webhook_count).select_from(inserted.join(bumped, true()))


_APPEND_POSTGRES = _append_postgres()


async def read_events(
    session: AsyncSession, *, project_id: uuid.UUID, after_seq: int, limit: int
) -> list[Event]:
    stmt = (
        select(Event)
        .where(Event.project_id == project_id, Event.seq > after_seq)
        .order_by(Event.seq)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def prune_batch(
    session: AsyncSession, *, older_than: dt.datetime, keep_latest: int, limit: int
) -> int:
    """Delete at most `limit` events older than `older_than`, except each project's latest
    `keep_latest`; returns how many. Seqs are gap-free from 1, so "the latest N" is
    `seq > projects.event_seq - N`.

    Bounded so a large backlog is pruned in many short transactions, not one long one.
    SKIP LOCKED (PostgreSQL; SQLite has no row locks) passes over rows another transaction
    holds, e.g. a project being deleted, instead of waiting on them or deadlocking.
    """
    victims = (
        select(Event.project_id, Event.seq)
        .join(Project, Project.id == Event.project_id)
        .where(Event.at < older_than, Event.seq <= Project.event_seq - keep_latest)
        .limit(limit)
        .with_for_update(of=Event, skip_locked=True)
    )
    result = await session.execute(
        delete(Event)
        .where(tuple_(Event.project_id, Event.seq).in_(victims))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
