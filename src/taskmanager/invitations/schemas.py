"""Bodies of the invitation routes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from taskmanager.accounts.schemas import TOKEN_EXAMPLE, Token
from taskmanager.kit.examples import CREATED_AT, PROJECT_ID, USER_ID, examples
from taskmanager.kit.schemas import StrictModel
from taskmanager.projects.schemas import AssignableRole

INVITATION_ID = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
InvitationStatus = Literal["pending", "accepted", "declined", "revoked", "expired"]


class InvitationCreate(StrictModel):
    email: EmailStr = Field(max_length=320)
    role: AssignableRole = "member"

    model_config = ConfigDict(
        json_schema_extra=examples({"email": "grace@example.com", "role": "member"})
    )


class InvitationRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "id": INVITATION_ID,
                "project_id": PROJECT_ID,
                "project_name": "Launch",
                "email": "grace@example.com",
                "role": "member",
                "status": "pending",
                "invited_by": USER_ID,
                "expires_at": "2026-03-09T09:15:00Z",
                "created_at": CREATED_AT,
            }
        )
    )

    id: uuid.UUID
    project_id: uuid.UUID
    project_name: str
    email: str
    role: AssignableRole
    status: InvitationStatus
    invited_by: uuid.UUID | None
    expires_at: dt.datetime
    created_at: dt.datetime


class InvitationAccept(StrictModel):
    """Either the token from the mailed link or the id from GET /invitations."""

    token: Token | None = None
    invitation_id: uuid.UUID | None = None

    model_config = ConfigDict(
        json_schema_extra=examples({"token": TOKEN_EXAMPLE}, {"invitation_id": INVITATION_ID})
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.token is None) == (self.invitation_id is None):
            raise ValueError("send exactly one of token and invitation_id")
        return self
