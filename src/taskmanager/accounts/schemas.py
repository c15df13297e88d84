"""Request bodies of the account self-service routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from taskmanager.accounts.tokens import MAX_TOKEN_LENGTH
from taskmanager.auth.passwords import MAX_LENGTH
from taskmanager.auth.schemas import DisplayName, Password
from taskmanager.kit.examples import examples
from taskmanager.kit.schemas import StrictModel

Token = Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]
CurrentPassword = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]
TOKEN_EXAMPLE = "Jq4Zb0Xw9kP2sV7mN1cR5tY8uE3hG6aL0dF4iO2pQ9w"  # noqa: S105 - an example


class Accepted(BaseModel):
    """202: the request was taken; what follows arrives by mail (if anything does)."""

    model_config = ConfigDict(json_schema_extra=examples({}))


class PasswordResetRequest(StrictModel):
    email: EmailStr = Field(max_length=320)

    model_config = ConfigDict(json_schema_extra=examples({"email": "ada@example.com"}))


class PasswordResetConfirm(StrictModel):
    token: Token
    new_password: Password

    model_config = ConfigDict(
        json_schema_extra=examples({"token": TOKEN_EXAMPLE, "new_password": "a new passphrase 7"})
    )


class TokenBody(StrictModel):
    token: Token

    model_config = ConfigDict(json_schema_extra=examples({"token": TOKEN_EXAMPLE}))


class ProfileUpdate(StrictModel):
    display_name: DisplayName

    model_config = ConfigDict(json_schema_extra=examples({"display_name": "Ada Lovelace"}))


class EmailChange(StrictModel):
    new_email: EmailStr = Field(max_length=320)
    password: CurrentPassword

    model_config = ConfigDict(
        json_schema_extra=examples(
            {"new_email": "ada@lovelace.example", "password": "correct horse battery"}
        )
    )


class AccountDelete(StrictModel):
    password: CurrentPassword

    model_config = ConfigDict(json_schema_extra=examples({"password": "correct horse battery"}))
