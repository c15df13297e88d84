"""Request and response bodies of tasks."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from taskmanager.kit.examples import (
    CREATED_AT,
    LABEL_ID,
    OTHER_TASK_ID,
    OTHER_USER_ID,
    PROJECT_ID,
    TASK_ID,
    UPDATED_AT,
    USER_ID,
    examples,
)
from taskmanager.kit.schemas import StrictModel, UTCDateTimeIn, reject_null

TaskStatus = Literal["todo", "in_progress", "done"]
Priority = Literal["none", "low", "medium", "high", "urgent"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=20000)]
LabelIds = Annotated[list[uuid.UUID], Field(max_length=50)]

TaskSort = Literal[
    "position",
    "-position",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "due_at",
    "-due_at",
    "priority",
    "-priority",
]


class TaskCreate(StrictModel):
    title: Title
    description: Description = ""
    status: TaskStatus = "todo"
    priority: Priority = "none"
    due_at: UTCDateTimeIn | None = None
    assignee_id: uuid.UUID | None = None
    label_ids: LabelIds = Field(default_factory=list)

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "title": "Write the release notes",
                "description": "Cover the new board and the API tokens.",
                "priority": "high",
                "due_at": "2026-03-06T17:00:00+01:00",
                "assignee_id": OTHER_USER_ID,
                "label_ids": [LABEL_ID],
            }
        )
    )


class TaskUpdate(StrictModel):
    """Any subset of the task's editable fields. `position` changes only through /move."""

    title: Title | None = None
    description: Description | None = None
    status: TaskStatus | None = Field(
        default=None, description="Changing it puts the task at the end of the new column."
    )
    priority: Priority | None = None
    due_at: UTCDateTimeIn | None = None
    assignee_id: uuid.UUID | None = None
    label_ids: LabelIds | None = None

    _not_null = field_validator("title", "description", "status", "priority", "label_ids")(
        reject_null
    )

    model_config = ConfigDict(
        json_schema_extra=examples({"status": "in_progress", "assignee_id": USER_ID})
    )


class TaskMove(StrictModel):
    status: TaskStatus | None = Field(default=None, description="Target column; default: current")
    before_id: uuid.UUID | None = Field(
        default=None, description="Place the task right before this task of the target column"
    )
    after_id: uuid.UUID | None = Field(
        default=None, description="Place the task right after this task of the target column"
    )

    model_config = ConfigDict(
        json_schema_extra=examples({"status": "done", "after_id": OTHER_TASK_ID})
    )


class TaskLabel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    color: str


class TaskRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra=examples(
            {
                "id": TASK_ID,
                "project_id": PROJECT_ID,
                "title": "Write the release notes",
                "description": "Cover the new board and the API tokens.",
                "status": "in_progress",
                "priority": "high",
                "position": "a1",
                "due_at": "2026-03-06T16:00:00Z",
                "assignee_id": OTHER_USER_ID,
                "labels": [{"id": LABEL_ID, "name": "docs", "color": "#1f77b4"}],
                "created_by": USER_ID,
                "created_at": CREATED_AT,
                "updated_at": UPDATED_AT,
                "version": 3,
            }
        ),
    )

    id: uuid.UUID
    project_id: uuid.UUID
    title: str
    description: str
    status: TaskStatus
    priority: Priority
    position: str
    due_at: dt.datetime | None
    assignee_id: uuid.UUID | None
    labels: list[TaskLabel]
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
