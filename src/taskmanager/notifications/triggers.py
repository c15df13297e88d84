"""Who is notified of a change to a task, a comment or an invitation, in the change's
transaction: nothing more for a write that notifies nobody, else one INSERT (and at most
one SELECT: of the members a comment or a new @mention may concern, or an invitation's
inviter's name)."""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy import exists, false, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.auth.models import User
from taskmanager.db import utcnow
from taskmanager.membership.models import Membership
from taskmanager.notifications import mentions
from taskmanager.notifications.kinds import NotificationKind as Kind
from taskmanager.notifications.models import Notification, TaskWatch
from taskmanager.notifications.schemas import NotificationRead
from taskmanager.notifications.service import Notice, notify_each, publish_live
from taskmanager.uow import UnitOfWork

EXCERPT_CHARS = 200


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


class SavedTask(Protocol):
    """What task_saved reads of a task (notifications do not import tasks/)."""

    id: uuid.UUID
    project_id: uuid.UUID
    title: str
    assignee_id: uuid.UUID | None
    description: str


async def task_saved(
    session: AsyncSession,
    task: SavedTask,
    *,
    actor_id: uuid.UUID,
    was_assignee: uuid.UUID | None = None,
    was_description: str | None = None,
) -> None:
    """A task was created (no `was_*`) or changed. Its assignee is told if new (already
    checked to be a member); only @mentions `was_description` did not have yet are told."""
    data = {"title": task.title}
    notices = []
    if task.assignee_id not in (None, was_assignee, actor_id):
        notices.append(Notice(Kind.ASSIGNED, [task.assignee_id], data))
    new = mentions.parse(task.description) - mentions.parse(was_description)
    if new:
        named = await mentions.resolve(session, project_id=task.project_id, mentions=new)
        notices.append(Notice(Kind.MENTIONED, named, {**data, "in": "description"}))
    if notices:
        await notify_each(
            session, notices, actor_id=actor_id, project_id=task.project_id, task_id=task.id
        )


async def comment_created(
    session: AsyncSession,
    *,
    actor_id: uuid.UUID,
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    title: str,
    created_by: uuid.UUID | None,
    assignee_id: uuid.UUID | None,
    comment_id: uuid.UUID,
    body: str,
) -> None:
    """`mentioned` to the members the body names, else `commented` to the task's creator,
    assignee and watchers: one SELECT finds all of them among the project's current
    members (so a watcher who has left is not told), one INSERT tells them."""
    said = mentions.parse(body)
    involved = [u for u in (created_by, assignee_id) if u is not None]
    follows = or_(
        Membership.user_id.in_(involved) if involved else false(),
        exists().where(TaskWatch.task_id == task_id, TaskWatch.user_id == Membership.user_id),
    )
    rows = (
        await session.execute(
            select(User.id, User.email, User.display_name, follows.label("follows"))
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.project_id == project_id,
                Membership.user_id != actor_id,
                or_(follows, mentions.mention_filter(said)),
            )
        )
    ).all()
    if not rows:
        return
    data = {"title": title, "comment_id": str(comment_id), "excerpt": _excerpt(body)}
    named = mentions.named(said, [(r[0], r[1], r[2]) for r in rows]) if said else set()
    await notify_each(
        session,
        [
            Notice(Kind.MENTIONED, named, {**data, "in": "comment"}),
            Notice(Kind.COMMENTED, [r[0] for r in rows if r[3]], data),
        ],
        actor_id=actor_id,
        project_id=project_id,
        task_id=task_id,
    )


async def invited(
    session: AsyncSession,
    *,
    actor_id: uuid.UUID,
    project_id: uuid.UUID,
    project_name: str,
    invitation_id: uuid.UUID,
    email: str,
    role: str,
) -> None:
    """Tell the account with this (verified) address, if there is one, of its invitation.

    One INSERT ... SELECT: whether the address has an account is never looked up apart,
    so the invitation's answer and its cost are the same either way."""
    now = utcnow()
    notification_id = uuid.uuid4()
    # Named here: the invitee shares no project with the inviter yet, so a client has no
    # member list to find the name of `actor_id` in.
    actor_name = await session.scalar(select(User.display_name).where(User.id == actor_id))
    data = {
        "project_name": project_name,
        "invitation_id": str(invitation_id),
        "role": role,
        "actor_name": actor_name,
    }
    table = Notification.__table__.c
    source = select(
        literal(notification_id, table.id.type),
        User.id,
        literal(Kind.INVITED.value, table.kind.type),
        literal(project_id, table.project_id.type),
        literal(actor_id, table.actor_id.type),
        literal(data, table.data.type),
        literal(now, table.created_at.type),
    ).where(User.email == email, User.email_verified, User.id != actor_id)
    user_id = await session.scalar(
        insert(Notification)
        .from_select(
            ["id", "user_id", "kind", "project_id", "actor_id", "data", "created_at"], source
        )
        .returning(Notification.user_id)
    )
    if user_id is None:
        return
    read = NotificationRead(
        id=notification_id,
        kind=Kind.INVITED,
        project_id=project_id,
        task_id=None,
        actor_id=actor_id,
        data=data,
        created_at=now,
        read_at=None,
    )
    publish_live(UnitOfWork.of(session), user_id, read)
