"""The event as the API and the real-time channels carry it (contract, DESIGN.md section 4)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

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
]


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    type: Literal["event"] = "event"
    project_id: uuid.UUID
    seq: int
    name: EventName
    actor_id: uuid.UUID | None
    request_id: str | None
    at: dt.datetime
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventRead]
    next_cursor: str | None
