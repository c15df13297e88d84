"""Notification payloads, over HTTP and as live frames."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict

from taskmanager.kit.examples import (
    COMMENT_ID,
    CREATED_AT,
    OTHER_USER_ID,
    PROJECT_ID,
    TASK_ID,
    examples,
)
from taskmanager.notifications.kinds import NotificationKind

NOTIFICATION_ID = "2d4f6a8c-1e3b-4d5f-a7c9-0b2d4f6a8c1e"


class NotificationRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra=examples(
            {
                "id": NOTIFICATION_ID,
                "kind": "mentioned",
                "project_id": PROJECT_ID,
                "task_id": TASK_ID,
                "actor_id": OTHER_USER_ID,
                "data": {
                    "title": "Write the launch post",
                    "comment_id": COMMENT_ID,
                    "excerpt": "@Alice can you review the draft?",
                    "in": "comment",
                },
                "created_at": CREATED_AT,
                "read_at": None,
            }
        ),
    )

    id: uuid.UUID
    kind: NotificationKind
    project_id: uuid.UUID | None
    task_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    data: dict[str, Any]
    created_at: dt.datetime
    read_at: dt.datetime | None


class UnreadCount(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples({"unread": 3}))

    unread: int


class ReadAll(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples({"read": 3}))

    read: int


class WatchState(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples({"watching": True}))

    watching: bool
