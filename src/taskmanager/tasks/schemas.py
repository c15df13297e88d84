"""Request and response bodies of tasks."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from taskmanager.kit.examples import (
    CREATED_AT,
    LABEL_ID,
    OTHER_TASK_ID,
    OTHER_USER_ID,
    PROJECT_ID,
    RELATION_ID,
    TASK_ID,
    UPDATED_AT,
    USER_ID,
    examples,
)
from taskmanager.kit.schemas import StrictModel, UTCDateTimeIn, reject_null
from taskmanager.tasks.rrules import check_rule

TaskStatus = Literal["todo", "in_progress", "done"]
Priority = Literal["none", "low", "medium", "high", "urgent"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=20000)]
LabelIds = Annotated[list[uuid.UUID], Field(max_length=50)]
Recurrence = Annotated[
    str,
    Field(
        min_length=1,
        max_length=500,
        description="An RFC 5545 RRULE value such as `FREQ=WEEKLY;BYDAY=MO`: when the task "
        "becomes done, its next occurrence is created (due on the rule's next date).",
    ),
    AfterValidator(check_rule),
]
ParentId = Annotated[
    uuid.UUID | None,
    Field(description="Make it a subtask of this task (same project, not itself a subtask)."),
]
RemindAt = Annotated[
    UTCDateTimeIn,
    Field(
        description="When to remind the assignee and the task's watchers (a `reminder` "
        "notification, sent once per date; a new date reminds again). Not sent once the task "
        "is done."
    ),
]
RelationKind = Literal["blocks", "relates_to", "duplicates"]
# Kinds as seen from a task: the target of `blocks` is `blocked_by`, and so on.
RelationView = Literal["blocks", "blocked_by", "relates_to", "duplicates", "duplicated_by"]

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
    remind_at: RemindAt | None = None
    assignee_id: uuid.UUID | None = None
    label_ids: LabelIds = Field(default_factory=list)
    parent_id: ParentId = None
    recurrence: Recurrence | None = None

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "title": "Write the release notes",
                "description": "Cover the new board and the API tokens.",
                "priority": "high",
                "due_at": "2026-03-06T17:00:00+01:00",
                "remind_at": "2026-03-06T09:00:00+01:00",
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
    remind_at: RemindAt | None = None
    assignee_id: uuid.UUID | None = None
    label_ids: LabelIds | None = None
    parent_id: ParentId = None
    recurrence: Recurrence | None = None

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


class SubtaskCounts(BaseModel):
    total: int
    done: int


class RelationCreate(StrictModel):
    kind: RelationKind
    task_id: uuid.UUID = Field(description="The other task, in the same project")

    model_config = ConfigDict(
        json_schema_extra=examples({"kind": "blocks", "task_id": OTHER_TASK_ID})
    )


class RelationRead(BaseModel):
    """A relation as seen from one of its tasks (`task_id` is the other one)."""

    model_config = ConfigDict(
        json_schema_extra=examples({"id": RELATION_ID, "kind": "blocks", "task_id": OTHER_TASK_ID})
    )

    id: uuid.UUID
    kind: RelationView
    task_id: uuid.UUID


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
                "remind_at": "2026-03-06T08:00:00Z",
                "assignee_id": OTHER_USER_ID,
                "labels": [{"id": LABEL_ID, "name": "docs", "color": "#1f77b4"}],
                "created_by": USER_ID,
                "created_at": CREATED_AT,
                "updated_at": UPDATED_AT,
                "version": 3,
                "parent_id": None,
                "subtask_counts": {"total": 3, "done": 1},
                "relations": [{"id": RELATION_ID, "kind": "blocked_by", "task_id": OTHER_TASK_ID}],
                "recurrence": None,
                "recurrence_of": None,
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
    remind_at: dt.datetime | None
    assignee_id: uuid.UUID | None
    labels: list[TaskLabel]
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    parent_id: uuid.UUID | None
    subtask_counts: SubtaskCounts
    relations: list[RelationRead]
    recurrence: str | None
    recurrence_of: uuid.UUID | None
