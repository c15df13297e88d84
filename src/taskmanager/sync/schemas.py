"""The body of GET /sync (rendered straight to JSON by the router; these models document it)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from taskmanager.events.schemas import EventRead
from taskmanager.kit.examples import (
    CREATED_AT,
    LABEL_ID,
    OTHER_USER_ID,
    PROJECT_ID,
    UPDATED_AT,
    examples,
)
from taskmanager.labels.schemas import LabelRead
from taskmanager.projects.schemas import MemberRead, ProjectRead
from taskmanager.tasks.schemas import TaskRead

SYNC_CURSOR = "eNpjYGBgYmBgZGBgYGJkYGBiYGBiZGBgYGRgYGBgYGBgYGBgAAA.Qm9vdHN0cmFwcGVk"


class SyncMember(MemberRead):
    project_id: uuid.UUID


class SyncSnapshot(BaseModel):
    """Rows of the projects being snapshotted, as their GET endpoints return them."""

    projects: list[ProjectRead]
    members: list[SyncMember]
    labels: list[LabelRead]
    tasks: list[TaskRead]


class SyncProjects(BaseModel):
    added: list[uuid.UUID] = Field(
        description="Projects that appear whole in this response's snapshot (joined, or "
        "re-joined: drop what you had of them first)"
    )
    removed: list[uuid.UUID] = Field(
        description="Projects you no longer see (left, removed, deleted): drop them"
    )


class SyncRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "events": [],
                "snapshot": {
                    "projects": [],
                    "members": [
                        {
                            "project_id": PROJECT_ID,
                            "user": {
                                "id": OTHER_USER_ID,
                                "email": "grace@example.com",
                                "display_name": "Grace",
                            },
                            "role": "member",
                        }
                    ],
                    "labels": [
                        {
                            "id": LABEL_ID,
                            "project_id": PROJECT_ID,
                            "name": "docs",
                            "color": "#1f77b4",
                            "created_at": CREATED_AT,
                            "updated_at": UPDATED_AT,
                        }
                    ],
                    "tasks": [],
                },
                "cursor": SYNC_CURSOR,
                "has_more": True,
                "projects": {"added": [PROJECT_ID], "removed": []},
            }
        )
    )

    events: list[EventRead] = Field(
        description="Events after the cursor: per project in seq order, no gaps, no repeats"
    )
    snapshot: SyncSnapshot | None = Field(
        description="Rows of projects appearing whole (a bootstrap, or projects joined "
        "since the cursor); null when there are none"
    )
    cursor: str = Field(description="Pass as `cursor` next time (opaque, signed)")
    has_more: bool = Field(description="Call again at once: more is waiting")
    projects: SyncProjects
