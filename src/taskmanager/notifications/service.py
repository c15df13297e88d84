"""Creating notifications: one row per recipient, announced live once the change commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.notifications.emails.schedule import schedule_mails
from taskmanager.notifications.kinds import NotificationKind
from taskmanager.notifications.models import Notification
from taskmanager.notifications.schemas import NotificationRead
from taskmanager.uow import UnitOfWork


def user_channel(user_id: uuid.UUID) -> str:
    """The pub/sub channel every instance listens on for one user's live notifications."""
    return f"user:{user_id}"


async def notify(
    session: AsyncSession,
    *,
    recipients: Iterable[uuid.UUID | None],
    kind: NotificationKind,
    actor_id: uuid.UUID | None,
    project_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> list[NotificationRead]:
    """Notify each recipient once, never the actor (nobody is told of their own actions).

    The rows are part of the caller's transaction; each recipient's live frame
    (`{"type": "notification", ...}`) is published only after it commits, and so is the
    mail job of those who get it by e-mail (emails/schedule.py).
    """
    users = list(dict.fromkeys(r for r in recipients if r is not None and r != actor_id))
    if not users:
        return []
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "kind": kind.value,
            "project_id": project_id,
            "task_id": task_id,
            "actor_id": actor_id,
            "data": data or {},
            "created_at": now,
            "read_at": None,
        }
        for user_id in users
    ]
    # One multi-row INSERT however many recipients (an @mention of a whole team).
    await session.execute(insert(Notification), rows)
    uow = UnitOfWork.of(session)
    reads = []
    for user_id, row in zip(users, rows, strict=True):
        read = NotificationRead.model_validate(row)
        reads.append(read)
        frame = {"type": "notification", **read.model_dump(mode="json")}
        uow.publish_after_commit(user_channel(user_id), orjson.dumps(frame))
    schedule_mails(session, user_ids=users, kind=kind)
    return reads
