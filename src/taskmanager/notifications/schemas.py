"""Notification payloads, over HTTP and as live frames."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict

from taskmanager.notifications.kinds import NotificationKind


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: NotificationKind
    project_id: uuid.UUID | None
    task_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    data: dict[str, Any]
    created_at: dt.datetime
    read_at: dt.datetime | None
