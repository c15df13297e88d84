"""HTTP routes of the caller's own notifications (watching a task is under tasks/)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from taskmanager.auth.deps import CurrentUser
from taskmanager.db import SessionDep
from taskmanager.kit.pagination import Page, PageDep
from taskmanager.kit.responses import AUTHENTICATED, problems
from taskmanager.notifications import inbox
from taskmanager.notifications.schemas import NotificationRead, ReadAll, UnreadCount

router = APIRouter(tags=["notifications"], responses=problems(*AUTHENTICATED))


@router.get(
    "/notifications",
    summary="Your notifications, newest first",
    responses=problems(422),
)
async def list_notifications(
    principal: CurrentUser,
    db: SessionDep,
    page: PageDep,
    unread: Annotated[bool, Query(description="Only those not read yet")] = False,
) -> Page[NotificationRead]:
    rows, next_cursor = await inbox.list_notifications(
        db, user_id=principal.id, unread=unread, page=page
    )
    return Page(items=[NotificationRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/notifications/unread-count", summary="How many of your notifications are unread")
async def unread_count(principal: CurrentUser, db: SessionDep) -> UnreadCount:
    return UnreadCount(unread=await inbox.unread_count(db, user_id=principal.id))


@router.post(
    "/notifications/read-all",
    summary="Mark all your notifications read",
    responses=problems(403, 409),
)
async def read_all(principal: CurrentUser, db: SessionDep) -> ReadAll:
    return ReadAll(read=await inbox.mark_all_read(db, user_id=principal.id))


@router.post(
    "/notifications/{notification_id}/read",
    summary="Mark one of your notifications read (idempotent)",
    responses=problems(403, 404, 409, 422),
)
async def read_one(
    notification_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> NotificationRead:
    row = await inbox.mark_read(db, notification_id=notification_id, user_id=principal.id)
    return NotificationRead.model_validate(row)
