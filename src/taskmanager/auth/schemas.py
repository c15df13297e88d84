"""Request and response bodies of the auth API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictInt,
    StringConstraints,
)

from taskmanager.auth.passwords import MAX_LENGTH, MIN_LENGTH
from taskmanager.kit.examples import CREATED_AT, TOKEN_ID, UPDATED_AT, USER_ID, examples
from taskmanager.kit.schemas import StrictModel


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be only whitespace")
    return value


Password = Annotated[
    str, Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH), AfterValidator(_not_blank)
]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class UserCreate(StrictModel):
    email: EmailStr = Field(max_length=320)
    password: Password
    display_name: DisplayName

    model_config = ConfigDict(
        json_schema_extra=examples(
            {"email": "ada@example.com", "password": "correct horse battery", "display_name": "Ada"}
        )
    )


class LoginRequest(StrictModel):
    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]

    model_config = ConfigDict(
        json_schema_extra=examples(
            {"email": "ada@example.com", "password": "correct horse battery"}
        )
    )


class PasswordChange(StrictModel):
    current_password: Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]
    new_password: Password

    model_config = ConfigDict(
        json_schema_extra=examples(
            {"current_password": "correct horse battery", "new_password": "a longer passphrase 42"}
        )
    )


_USER = {
    "id": USER_ID,
    "email": "ada@example.com",
    "display_name": "Ada",
    "email_verified": True,
    "created_at": CREATED_AT,
}


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra=examples(_USER))

    id: uuid.UUID
    email: str
    display_name: str
    email_verified: bool
    created_at: dt.datetime


class AuthRead(UserRead):
    """The user plus the CSRF token bound to the new session."""

    model_config = ConfigDict(
        json_schema_extra=examples(_USER | {"csrf_token": "pQ8vJ3kR0xWm2YzT5nB7cD9eF1gH4iK6lM"})
    )

    csrf_token: str


class SessionRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "id": "4f9a0c2e7b1d4e8fa3c6b9d2e5f8a1c4",
                "created_at": CREATED_AT,
                "last_used_at": UPDATED_AT,
                "expires_at": "2026-03-09T09:15:00Z",
                "user_agent": "curl/8.5.0",
                "ip": "203.0.113.7",
                "current": True,
            }
        )
    )

    id: str
    created_at: dt.datetime
    last_used_at: dt.datetime
    expires_at: dt.datetime
    user_agent: str
    ip: str
    current: bool


class TokenCreate(StrictModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    expires_in_days: Annotated[StrictInt, Field(ge=1, le=3650)] | None = None  # not 5.0 or "5"

    model_config = ConfigDict(json_schema_extra=examples({"name": "ci", "expires_in_days": 90}))


_TOKEN = {
    "id": TOKEN_ID,
    "name": "ci",
    "prefix": "tm_Xb7Q2",
    "created_at": CREATED_AT,
    "expires_at": "2026-05-31T09:15:00Z",
    "last_used_at": None,
}


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra=examples(_TOKEN))

    id: uuid.UUID
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenCreated(TokenRead):
    """Returned once, at creation: the only time the secret is visible."""

    model_config = ConfigDict(
        json_schema_extra=examples(_TOKEN | {"token": "tm_Xb7Q2mN9pL4kJ8hG6fD3sA1zV5cB0nM"})
    )

    token: str
