"""Helpers of the reminder tests: notification rows read straight from the database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskmanager.notifications.kinds import NotificationKind
from taskmanager.notifications.models import Notification


async def notifications_of(
    factory: async_sessionmaker[AsyncSession], task_id: str
) -> list[tuple[str, str, dict[str, Any]]]:
    """(user_id, kind, data) of every reminder (`due_soon`, `reminder`) about a task, in a
    stable order; the `assigned` of creating the task with an assignee is not one."""
    async with factory() as session:
        rows = await session.execute(
            select(Notification.user_id, Notification.kind, Notification.data)
            .where(
                Notification.task_id == uuid.UUID(task_id),
                Notification.kind.in_([NotificationKind.DUE_SOON, NotificationKind.REMINDER]),
            )
            .order_by(Notification.kind, Notification.user_id)
        )
        return [(str(user), kind, data) for user, kind, data in rows.all()]


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    """Poll until `condition` holds (a generous bound for slow shared machines)."""
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)
