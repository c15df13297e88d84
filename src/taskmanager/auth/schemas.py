"""Request and response bodies of the auth API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from taskmanager.auth.passwords import MAX_LENGTH, MIN_LENGTH

Password = Annotated[str, Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class StrictModel(BaseModel):
    """Unknown fields are an error, so a client cannot set what it should not."""

    model_config = ConfigDict(extra="forbid")


class UserCreate(StrictModel):
    email: EmailStr = Field(max_length=320)
    password: Password
    display_name: DisplayName

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "password": "correct horse battery",
                    "display_name": "Ada",
                }
            ]
        }
    )


class LoginRequest(StrictModel):
    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]


class PasswordChange(StrictModel):
    current_password: Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]
    new_password: Password


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str
    created_at: dt.datetime


class AuthRead(UserRead):
    """The user plus the CSRF token bound to the new session."""

    csrf_token: str


class SessionRead(BaseModel):
    id: str
    created_at: dt.datetime
    last_used_at: dt.datetime
    expires_at: dt.datetime
    user_agent: str
    ip: str
    current: bool


class TokenCreate(StrictModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenCreated(TokenRead):
    """Returned once, at creation: the only time the secret is visible."""

    token: str
