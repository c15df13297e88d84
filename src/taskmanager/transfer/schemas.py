"""The files import reads: our export format and the parts of a Trello board export it uses."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from taskmanager.kit.schemas import UTCDateTimeIn
from taskmanager.labels.schemas import Color, LabelName
from taskmanager.projects.schemas import ProjectDescription, ProjectName
from taskmanager.tasks.schemas import (
    Description,
    Priority,
    Recurrence,
    RelationKind,
    TaskStatus,
    Title,
)

EXPORT_FORMAT = "taskmanager.project/1"


class _File(BaseModel):
    # Unknown keys are ignored: exports from later versions, or Trello's hundreds of fields.
    model_config = ConfigDict(extra="ignore")


class ExportedProject(_File):
    name: ProjectName
    description: ProjectDescription = ""


class ExportedLabel(_File):
    id: uuid.UUID
    name: LabelName
    color: Color


class ExportedTask(_File):
    id: uuid.UUID
    title: Title
    description: Description = ""
    status: TaskStatus = "todo"
    priority: Priority = "none"
    due_at: UTCDateTimeIn | None = None
    remind_at: UTCDateTimeIn | None = None
    parent_id: uuid.UUID | None = None
    recurrence: Recurrence | None = None
    label_ids: Annotated[list[uuid.UUID], Field(max_length=50)] = Field(default_factory=list)


class ExportedRelation(_File):
    kind: RelationKind
    source_id: uuid.UUID
    target_id: uuid.UUID


class ExportedComment(_File):
    task_id: uuid.UUID
    body: Annotated[str, Field(min_length=1, max_length=10000)]
    created_at: UTCDateTimeIn | None = None


class ProjectFile(_File):
    """What GET /projects/{id}/export writes and POST /projects/import reads back."""

    format: Literal["taskmanager.project/1"]
    project: ExportedProject
    labels: list[ExportedLabel] = Field(default_factory=list)
    tasks: list[ExportedTask] = Field(default_factory=list)
    relations: list[ExportedRelation] = Field(default_factory=list)
    comments: list[ExportedComment] = Field(default_factory=list)


# --- Trello (Board menu -> Print, export and share -> Export as JSON) ---


class TrelloList(_File):
    id: str
    name: str
    closed: bool = False
    pos: float = 0


class TrelloLabel(_File):
    id: str
    name: str | None = ""
    color: str | None = None


class TrelloCard(_File):
    # Field names are Trello's.
    id: str
    name: str
    idList: str
    desc: str = ""
    closed: bool = False
    pos: float = 0
    due: dt.datetime | None = None
    idLabels: list[str] = Field(default_factory=list)


class TrelloCheckItem(_File):
    name: str
    state: str = "incomplete"
    pos: float = 0


class TrelloChecklist(_File):
    id: str
    idCard: str
    checkItems: list[TrelloCheckItem] = Field(default_factory=list)


class TrelloCommentCard(_File):
    id: str


class TrelloCommentData(_File):
    text: str
    card: TrelloCommentCard


class TrelloAction(_File):
    type: str
    date: dt.datetime | None = None
    data: dict[str, object] = Field(default_factory=dict)


class TrelloBoard(_File):
    name: str
    desc: str = ""
    lists: list[TrelloList]
    cards: list[TrelloCard]
    labels: list[TrelloLabel] = Field(default_factory=list)
    checklists: list[TrelloChecklist] = Field(default_factory=list)
    actions: list[TrelloAction] = Field(default_factory=list)
