"""Request and response bodies of projects and members, and ProjectView (what services return)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from taskmanager.kit.examples import (
    CREATED_AT,
    OTHER_USER_ID,
    PROJECT_ID,
    UPDATED_AT,
    examples,
)
from taskmanager.kit.schemas import StrictModel, reject_null
from taskmanager.membership.access import Role
from taskmanager.membership.models import Membership, Project

ProjectName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ProjectDescription = Annotated[str, Field(max_length=2000)]
AssignableRole = Literal["admin", "member", "viewer"]


class ProjectCreate(StrictModel):
    name: ProjectName
    description: ProjectDescription = ""

    model_config = ConfigDict(
        json_schema_extra=examples({"name": "Launch", "description": "Everything for the launch"})
    )


class ProjectUpdate(StrictModel):
    name: ProjectName | None = None
    description: ProjectDescription | None = None
    # Strict: pydantic would take 0, 0.0 or "no" for false.
    archived: StrictBool | None = Field(
        default=None, description="Archived projects are read-only until unarchived."
    )

    _not_null = field_validator("name", "description", "archived")(reject_null)

    model_config = ConfigDict(json_schema_extra=examples({"name": "Launch v2"}, {"archived": True}))


class Progress(BaseModel):
    todo: int = 0
    in_progress: int = 0
    done: int = 0


@dataclass(frozen=True, slots=True)
class ProjectView:
    """What the project services return: the row plus what is not on it, the caller's role
    and the task counts. Routers render it with `ProjectRead.of`."""

    project: Project
    role: Role
    progress: Progress


class ProjectRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "id": PROJECT_ID,
                "name": "Launch",
                "description": "Everything for the launch",
                "archived": False,
                "role": "owner",
                "progress": {"todo": 3, "in_progress": 1, "done": 2},
                "created_at": CREATED_AT,
                "updated_at": UPDATED_AT,
            }
        )
    )

    id: uuid.UUID
    name: str
    description: str
    archived: bool
    role: Role = Field(description="The caller's role in this project")
    progress: Progress
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, view: ProjectView) -> ProjectRead:
        project = view.project
        return cls(
            id=project.id,
            name=project.name,
            description=project.description,
            archived=project.archived,
            role=view.role,
            progress=view.progress,
            created_at=project.created_at,
            updated_at=project.updated_at,
        )


class UserSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str


class MemberRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "user": {
                    "id": OTHER_USER_ID,
                    "email": "grace@example.com",
                    "display_name": "Grace",
                },
                "role": "member",
            }
        )
    )

    user: UserSummary
    role: Role

    @classmethod
    def of(cls, membership: Membership) -> MemberRead:
        """The member as the API shows it; `membership.user` must be loaded."""
        return cls(user=UserSummary.model_validate(membership.user), role=Role(membership.role))


class MemberUpdate(StrictModel):
    role: AssignableRole

    model_config = ConfigDict(json_schema_extra=examples({"role": "admin"}))


class OwnershipTransfer(StrictModel):
    user_id: uuid.UUID

    model_config = ConfigDict(json_schema_extra=examples({"user_id": OTHER_USER_ID}))
