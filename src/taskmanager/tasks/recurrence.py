"""Recurring tasks: the next occurrence when one is completed."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.events.rows import append_row_event
from taskmanager.tasks.models import Task, TaskExtras
from taskmanager.tasks.rrules import next_due
from taskmanager.tasks.schemas import TaskRead


async def create_next_occurrence(
    session: AsyncSession, task: Task, *, actor_id: uuid.UUID, position: str
) -> Task | None:
    """When a recurring task is done: its next occurrence (same fields, status todo, the next
    due date, `recurrence_of` pointing back), at most once per task.

    The caller holds the project's write lock, so the check below sees any earlier
    occurrence; the unique index on `recurrence_of` is the backstop."""
    if task.recurrence is None:
        return None
    already = await session.scalar(select(exists().where(Task.recurrence_of == task.id)))
    if already:
        return None
    now = utcnow()
    # Without a due date the series runs from the moment it was completed.
    due = next_due(task.recurrence, task.due_at or now)
    if due is None:
        return None
    following = Task(
        project_id=task.project_id,
        title=task.title,
        description=task.description,
        status="todo",
        priority_rank=task.priority_rank,
        position=position,
        due_at=due,
        # A reminder keeps its distance to the due date ("the morning before").
        remind_at=due - (task.due_at - task.remind_at)
        if task.due_at is not None and task.remind_at is not None
        else None,
        assignee_id=task.assignee_id,
        created_by=actor_id,
        created_at=now,
        updated_at=now,
        version=1,
        parent_id=task.parent_id,
        recurrence=task.recurrence,
        recurrence_of=task.id,
    )
    following.labels = list(task.labels)  # loaded by task_access
    following.extras = TaskExtras.empty()
    session.add(following)
    await append_row_event(
        session, following, name="task.created", actor_id=actor_id, read=TaskRead
    )
    return following
