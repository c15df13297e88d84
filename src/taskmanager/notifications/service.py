"""Creating notifications: one row per recipient, announced live once the change commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.kit.user_channel import user_channel
from taskmanager.notifications.emails.schedule import schedule_mails
from taskmanager.notifications.kinds import NotificationKind
from taskmanager.notifications.models import Notification
from taskmanager.notifications.schemas import NotificationRead
from taskmanager.uow import UnitOfWork


@dataclass(slots=True)
class Notice:
    """One kind of notification to some recipients, as part of one change."""

    kind: NotificationKind
    recipients: Iterable[uuid.UUID | None]
    data: dict[str, Any] = field(default_factory=dict)


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
    return await notify_each(
        session,
        [Notice(kind, recipients, data or {})],
        actor_id=actor_id,
        project_id=project_id,
        task_id=task_id,
    )


async def notify_each(
    session: AsyncSession,
    notices: Sequence[Notice],
    *,
    actor_id: uuid.UUID | None,
    project_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
) -> list[NotificationRead]:
    """Several kinds for one change, in one INSERT: each person gets at most one
    notification per change, of the first notice that names them (so list the most
    specific first: assigned, then mentioned, then commented), and the actor none."""
    now = utcnow()
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    for notice in notices:
        for user_id in notice.recipients:
            if user_id is None or user_id == actor_id or user_id in rows:
                continue
            rows[user_id] = {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "kind": notice.kind.value,
                "project_id": project_id,
                "task_id": task_id,
                "actor_id": actor_id,
                "data": notice.data,
                "created_at": now,
                "read_at": None,
            }
    if not rows:
        return []
    # One multi-row INSERT however many recipients (an @mention of a whole team).
    await session.execute(insert(Notification), list(rows.values()))
    uow = UnitOfWork.of(session)
    reads = []
    for user_id, row in rows.items():
        read = NotificationRead.model_validate(row)
        reads.append(read)
        publish_live(uow, user_id, read)
        schedule_mails(session, user_ids=[user_id], kind=read.kind)
    return reads


def publish_live(uow: UnitOfWork, user_id: uuid.UUID, read: NotificationRead) -> None:
    """Queue the user's live frame, published once the transaction commits."""
    frame = {"type": "notification", **read.model_dump(mode="json")}
    uow.publish_after_commit(user_channel(user_id), orjson.dumps(frame))
