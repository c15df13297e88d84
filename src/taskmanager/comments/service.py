"""Comments: members write, authors edit and delete their own, admins delete any."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.comments.models import Comment
from taskmanager.comments.schemas import CommentCreate, CommentRead, CommentUpdate
from taskmanager.db import utcnow
from taskmanager.errors import Forbidden, NotFound
from taskmanager.events.rows import append_row_event, delete_row
from taskmanager.kit.pagination import PageRequest, SortSpec, paginate
from taskmanager.membership.access import Role, row_access
from taskmanager.notifications import triggers
from taskmanager.tasks.service import get_task, task_access

COMMENT_SORT = SortSpec("created_at", "created_at", Comment.created_at, Comment.id, "datetime")


class CommentNotFound(NotFound):
    code = "comment_not_found"

    def __init__(self) -> None:
        super().__init__("Comment not found.")


async def create_comment(
    session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID, data: CommentCreate
) -> Comment:
    task, _ = await task_access(
        session, task_id=task_id, user_id=user_id, minimum=Role.member, write=True
    )
    now = utcnow()
    comment = Comment(
        task_id=task.id,
        project_id=task.project_id,
        author_id=user_id,
        body=data.body,
        created_at=now,
        updated_at=now,
    )
    session.add(comment)
    await append_row_event(
        session, comment, name="comment.created", actor_id=user_id, read=CommentRead
    )
    await triggers.comment_created(
        session,
        actor_id=user_id,
        project_id=task.project_id,
        task_id=task.id,
        title=task.title,
        created_by=task.created_by,
        assignee_id=task.assignee_id,
        comment_id=comment.id,
        body=comment.body,
    )
    return comment


async def list_comments(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    user_id: uuid.UUID,
    page: PageRequest,
) -> tuple[list[Comment], str | None]:
    await get_task(session, task_id=task_id, user_id=user_id)
    stmt = select(Comment).where(Comment.task_id == task_id)
    return await paginate(session, stmt, sort=COMMENT_SORT, scope=f"comments:{task_id}", page=page)


async def _comment_for_write(
    session: AsyncSession, comment_id: uuid.UUID, user_id: uuid.UUID, *, deleting: bool
) -> Comment:
    comment, access = await row_access(
        session,
        model=Comment,
        row_id=comment_id,
        user_id=user_id,
        not_found=CommentNotFound,
        minimum=Role.member,
        write=True,
    )
    if comment.author_id != user_id and not (deleting and access.role.rank >= Role.admin.rank):
        raise Forbidden(
            "Only the author may delete this comment (or an admin or the owner)."
            if deleting
            else "Only the author may edit this comment."
        )
    return comment


async def update_comment(
    session: AsyncSession, *, comment_id: uuid.UUID, user_id: uuid.UUID, data: CommentUpdate
) -> Comment:
    comment = await _comment_for_write(session, comment_id, user_id, deleting=False)
    if comment.body == data.body:
        return comment
    comment.body = data.body
    comment.updated_at = utcnow()
    await append_row_event(
        session, comment, name="comment.updated", actor_id=user_id, read=CommentRead
    )
    return comment


async def delete_comment(
    session: AsyncSession, *, comment_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    comment = await _comment_for_write(session, comment_id, user_id, deleting=True)
    await delete_row(
        session,
        comment,
        name="comment.deleted",
        actor_id=user_id,
        data={"id": str(comment.id), "task_id": str(comment.task_id)},
    )
