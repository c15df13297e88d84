"""The event as the API and the real-time channels carry it (contract: docs/realtime.md)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from taskmanager.kit.examples import PROJECT_ID, TASK_ID, UPDATED_AT, USER_ID, examples

MAX_SEQ = 2**63 - 1
"""The largest seq the BIGINT column holds: a larger resume point is a 422, not a driver error."""

EventName = Literal[
    "project.updated",
    "project.deleted",
    "member.added",
    "member.updated",
    "member.removed",
    "task.created",
    "task.updated",
    "task.moved",
    "task.deleted",
    "label.created",
    "label.updated",
    "label.deleted",
    "comment.created",
    "comment.updated",
    "comment.deleted",
    "attachment.created",
    "attachment.deleted",
]


_EVENT = {
    "type": "event",
    "project_id": PROJECT_ID,
    "seq": 42,
    "name": "task.updated",
    "actor_id": USER_ID,
    "request_id": "3f6c0a9b8e7d4c21",
    "at": UPDATED_AT,
    "data": {"id": TASK_ID, "title": "Write the release notes", "status": "in_progress"},
}


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra=examples(_EVENT))

    type: Literal["event"] = "event"
    project_id: uuid.UUID
    seq: int
    name: EventName
    actor_id: uuid.UUID | None
    request_id: str | None
    at: dt.datetime
    data: dict[str, Any]


class EventPage(BaseModel):
    model_config = ConfigDict(json_schema_extra=examples({"items": [_EVENT], "next_cursor": "42"}))

    items: list[EventRead]
    next_cursor: str | None
