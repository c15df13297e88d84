"""Watching a task: any member who can see it (viewers too) may follow its comments."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.membership.models import Membership
from taskmanager.notifications import watches
from taskmanager.tasks.models import Task
from taskmanager.tasks.service import TaskNotFound


async def _visible(session: AsyncSession, task_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """TaskNotFound unless the caller is a member (any role) of the task's project."""
    found = await session.scalar(
        select(Task.id)
        .join(
            Membership,
            (Membership.project_id == Task.project_id) & (Membership.user_id == user_id),
        )
        .where(Task.id == task_id)
    )
    if found is None:
        raise TaskNotFound()


async def is_watching(session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    await _visible(session, task_id, user_id)
    return await watches.is_watching(session, task_id=task_id, user_id=user_id)


async def watch(session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await _visible(session, task_id, user_id)
    await watches.watch(session, task_id=task_id, user_id=user_id)


async def unwatch(session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await _visible(session, task_id, user_id)
    await watches.unwatch(session, task_id=task_id, user_id=user_id)
