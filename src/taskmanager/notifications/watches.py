"""The per-task watch list: who hears of every comment on a task (the caller checks access)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.notifications.models import TaskWatch


async def watch(session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Idempotent, also when two requests race: the second insert does nothing."""
    dialect = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        dialect(TaskWatch)
        .values(task_id=task_id, user_id=user_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["task_id", "user_id"])
    )


async def unwatch(session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await session.execute(
        delete(TaskWatch).where(TaskWatch.task_id == task_id, TaskWatch.user_id == user_id)
    )


async def is_watching(session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return bool(
        await session.scalar(
            select(exists().where(TaskWatch.task_id == task_id, TaskWatch.user_id == user_id))
        )
    )
