"""The reminder sweep: finds due reminders, records each once, notifies for those recorded."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, delete, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.membership.models import Membership, Project
from taskmanager.notifications.kinds import NotificationKind
from taskmanager.notifications.models import TaskWatch
from taskmanager.notifications.service import notify
from taskmanager.reminders.models import TaskReminderSent
from taskmanager.tasks.models import Task

DUE_SOON_BEFORE = dt.timedelta(hours=24)
"""`due_soon` goes out this long before a task's due date."""
CATCH_UP = dt.timedelta(hours=24)
"""A reminder whose moment passed while nothing ran (downtime) is still sent if it is at
most this late; older ones are dropped, a stale reminder being worse than none."""
KEEP_SENT = DUE_SOON_BEFORE + CATCH_UP
"""Sent records whose date is older than this can no longer match a candidate."""
BATCH = 500


@dataclass(frozen=True, slots=True)
class Due:
    task_id: uuid.UUID
    project_id: uuid.UUID
    kind: NotificationKind
    # The task's date the reminder is for (due_at or remind_at): part of the once-only key,
    # so a changed date is a new reminder.
    at: dt.datetime
    title: str
    assignee_id: uuid.UUID | None


def _not_sent(kind: NotificationKind, column: Any) -> Any:
    return ~exists().where(
        TaskReminderSent.task_id == Task.id,
        TaskReminderSent.kind == kind.value,
        TaskReminderSent.at == column,
    )


def _candidates(kind: NotificationKind, column: Any, *conditions: Any) -> Select[Any]:
    return (
        select(Task.id, Task.project_id, column, Task.title, Task.assignee_id)
        .join(Project, Project.id == Task.project_id)
        # An archived project is read-only: nobody could act on its reminders.
        .where(Task.status != "done", ~Project.archived, _not_sent(kind, column), *conditions)
        .order_by(column)
        .limit(BATCH)
    )


async def due_reminders(session: AsyncSession, *, now: dt.datetime) -> list[Due]:
    """Reminders due at `now` and not sent yet (at most BATCH of each kind).

    Both are range scans on an index of the date: `due_soon` for due dates in the next
    DUE_SOON_BEFORE (its moment, a day before, has come and is at most CATCH_UP old),
    `reminder` for remind_at in the last CATCH_UP.
    """
    found: list[Due] = []
    due_soon = _candidates(
        NotificationKind.DUE_SOON,
        Task.due_at,
        Task.assignee_id.is_not(None),
        Task.due_at > now + DUE_SOON_BEFORE - CATCH_UP,
        Task.due_at <= now + DUE_SOON_BEFORE,
    )
    reminder = _candidates(
        NotificationKind.REMINDER,
        Task.remind_at,
        Task.remind_at > now - CATCH_UP,
        Task.remind_at <= now,
    )
    for kind, stmt in (
        (NotificationKind.DUE_SOON, due_soon),
        (NotificationKind.REMINDER, reminder),
    ):
        for task_id, project_id, at, title, assignee_id in (await session.execute(stmt)).all():
            found.append(Due(task_id, project_id, kind, at, title, assignee_id))
    return found


async def _record(session: AsyncSession, due: list[Due], *, now: dt.datetime) -> list[Due]:
    """Insert the sent records; the ones another sweep inserted first are left out."""
    rows = [{"task_id": d.task_id, "kind": d.kind.value, "at": d.at, "sent_at": now} for d in due]
    conn = await session.connection()
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        dialect_insert(TaskReminderSent)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(TaskReminderSent.task_id, TaskReminderSent.kind)
    )
    inserted = {(task_id, kind) for task_id, kind in (await session.execute(stmt)).all()}
    return [d for d in due if (d.task_id, d.kind.value) in inserted]


async def _watchers(
    session: AsyncSession, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each task's watchers who are still members of its project."""
    if not task_ids:
        return {}
    rows = await session.execute(
        select(TaskWatch.task_id, TaskWatch.user_id)
        .join(Task, Task.id == TaskWatch.task_id)
        .join(
            Membership,
            and_(Membership.project_id == Task.project_id, Membership.user_id == TaskWatch.user_id),
        )
        .where(TaskWatch.task_id.in_(task_ids))
        .order_by(TaskWatch.task_id, TaskWatch.created_at)
    )
    watchers: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for task_id, user_id in rows.all():
        watchers[task_id].append(user_id)
    return watchers


async def send_due_reminders(session: AsyncSession, *, now: dt.datetime) -> int:
    """Send what is due at `now`, each (task, kind, date) once; returns how many were due
    (BATCH or more: call again, in a new transaction, for the rest)."""
    due = await due_reminders(session, now=now)
    if not due:
        return 0
    sent = await _record(session, due, now=now)
    watchers = await _watchers(
        session, [d.task_id for d in sent if d.kind is NotificationKind.REMINDER]
    )
    for d in sent:
        field = "due_at" if d.kind is NotificationKind.DUE_SOON else "remind_at"
        recipients = [d.assignee_id]
        if d.kind is NotificationKind.REMINDER:
            recipients += watchers.get(d.task_id, [])
        await notify(
            session,
            recipients=recipients,
            kind=d.kind,
            actor_id=None,
            project_id=d.project_id,
            task_id=d.task_id,
            data={"title": d.title, field: d.at.astimezone(dt.UTC).isoformat()},
        )
    return len(due)


async def prune_sent(session: AsyncSession, *, now: dt.datetime) -> None:
    """Forget sent records no sweep can match any more (their date is too far past)."""
    await session.execute(delete(TaskReminderSent).where(TaskReminderSent.at < now - KEEP_SENT))
