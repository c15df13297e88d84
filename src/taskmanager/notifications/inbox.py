"""A user's own notifications: the list (newest first), unread count, marking read."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.errors import NotFound
from taskmanager.kit.pagination import PageRequest, SortSpec, paginate
from taskmanager.notifications.models import Notification

NEWEST_FIRST = SortSpec(
    "-created_at",
    "created_at",
    Notification.created_at,
    Notification.id,
    "datetime",
    descending=True,
)


class NotificationNotFound(NotFound):
    code = "notification_not_found"

    def __init__(self) -> None:
        super().__init__("Notification not found.")


async def list_notifications(
    session: AsyncSession, *, user_id: uuid.UUID, unread: bool, page: PageRequest
) -> tuple[list[Notification], str | None]:
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    # The filter is part of the scope: a cursor of the unread list is refused by the full one.
    scope = f"notifications:{user_id}:{'unread' if unread else 'all'}"
    return await paginate(session, stmt, sort=NEWEST_FIRST, scope=scope, page=page)


async def unread_count(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_read(
    session: AsyncSession, *, notification_id: uuid.UUID, user_id: uuid.UUID
) -> Notification:
    """Idempotent: a notification read before keeps its first `read_at`. Another user's
    is a 404, like a missing one."""
    notification = await session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
    )
    if notification is None:
        raise NotificationNotFound()
    if notification.read_at is None:
        notification.read_at = utcnow()
        await session.flush()
    return notification


async def mark_all_read(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    """Mark every unread notification of the user read; returns how many were."""
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)
