"""HTTP routes of comments."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from taskmanager.auth.deps import CurrentUser
from taskmanager.comments import service
from taskmanager.comments.schemas import CommentCreate, CommentRead, CommentUpdate
from taskmanager.db import SessionDep
from taskmanager.kit.pagination import Page, PageDep
from taskmanager.kit.responses import AUTHENTICATED, JSON_BODY, problems

router = APIRouter(tags=["comments"], responses=problems(*AUTHENTICATED))


@router.get(
    "/tasks/{task_id}/comments",
    summary="A task's comments, oldest first",
    responses=problems(404, 422),
)
async def list_comments(
    task_id: uuid.UUID,
    principal: CurrentUser,
    db: SessionDep,
    page: PageDep,
) -> Page[CommentRead]:
    comments, next_cursor = await service.list_comments(
        db, task_id=task_id, user_id=principal.id, page=page
    )
    return Page(items=[CommentRead.model_validate(c) for c in comments], next_cursor=next_cursor)


@router.post(
    "/tasks/{task_id}/comments",
    status_code=status.HTTP_201_CREATED,
    summary="Comment on a task (member+)",
    responses=problems(*JSON_BODY, 403, 404, 409),
)
async def create_comment(
    task_id: uuid.UUID, body: CommentCreate, principal: CurrentUser, db: SessionDep
) -> CommentRead:
    comment = await service.create_comment(db, task_id=task_id, user_id=principal.id, data=body)
    return CommentRead.model_validate(comment)


@router.patch(
    "/comments/{comment_id}",
    summary="Edit your own comment",
    responses=problems(*JSON_BODY, 403, 404, 409),
)
async def update_comment(
    comment_id: uuid.UUID, body: CommentUpdate, principal: CurrentUser, db: SessionDep
) -> CommentRead:
    comment = await service.update_comment(
        db, comment_id=comment_id, user_id=principal.id, data=body
    )
    return CommentRead.model_validate(comment)


@router.delete(
    "/comments/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete your own comment (admins and the owner may delete any)",
    responses=problems(403, 404, 409, 422),
)
async def delete_comment(comment_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> None:
    await service.delete_comment(db, comment_id=comment_id, user_id=principal.id)
