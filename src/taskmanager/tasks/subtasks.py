"""Subtasks: one level under a task of the same project, deleted with their parent."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from taskmanager.errors import ValidationFailed
from taskmanager.events.rows import delete_row
from taskmanager.tasks.models import Task, TaskRelation

_FIELD = ("body", "parent_id")


async def check_parent(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    task_id: uuid.UUID | None = None,
) -> None:
    """422 unless `parent_id` may parent the task (`task_id`, None while creating it)."""
    if parent_id is None:
        return
    if parent_id == task_id:
        raise ValidationFailed.field(_FIELD, "A task cannot be its own parent.")
    parent = (
        await session.execute(select(Task.project_id, Task.parent_id).where(Task.id == parent_id))
    ).first()
    if parent is None or parent.project_id != project_id:
        raise ValidationFailed.field(_FIELD, "The parent must be a task of the same project.")
    if parent.parent_id is not None:
        raise ValidationFailed.field(
            _FIELD, "Subtasks are one level deep: the parent is itself a subtask."
        )
    if task_id is not None and await session.scalar(
        select(exists().where(Task.parent_id == task_id))
    ):
        raise ValidationFailed.field(
            _FIELD, "A task with subtasks cannot become a subtask (one level only)."
        )


async def delete_task_row(session: AsyncSession, task: Task, *, actor_id: uuid.UUID) -> None:
    """Delete one task row with its `task.deleted` event (the ids the contract names)."""
    await delete_row(
        session,
        task,
        name="task.deleted",
        actor_id=actor_id,
        data={"id": str(task.id), "project_id": str(task.project_id)},
    )


async def delete_subtasks(session: AsyncSession, task: Task, *, actor_id: uuid.UUID) -> list[Task]:
    """Delete the task's subtasks, each with its own `task.deleted` event, and return the
    surviving tasks related to the task or a subtask (their relations go with them)."""
    children = list(
        (
            await session.scalars(
                select(Task).where(Task.parent_id == task.id).order_by(Task.position, Task.id)
            )
        ).all()
    )
    doomed = [task.id, *(child.id for child in children)]
    ends = select(TaskRelation.source_id, TaskRelation.target_id).where(
        or_(TaskRelation.source_id.in_(doomed), TaskRelation.target_id.in_(doomed))
    )
    other_ids = {end for row in await session.execute(ends) for end in row} - set(doomed)
    for child in children:
        await delete_task_row(session, child, actor_id=actor_id)
    if not other_ids:
        return []
    return list(
        (
            await session.scalars(
                select(Task)
                .where(Task.id.in_(other_ids))
                .options(selectinload(Task.labels))
                .order_by(Task.id)
            )
        ).all()
    )
