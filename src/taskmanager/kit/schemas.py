"""Small shared pieces of request/response bodies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    field_validator,
)


def reject_nul(value: Any) -> Any:
    """Text may not contain U+0000: PostgreSQL cannot store it (the driver error was a 500)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain the NUL character (U+0000)")
    return value


NoNul = AfterValidator(reject_nul)
"""For text taken outside a request body (e.g. a search query parameter)."""


class StrictModel(BaseModel):
    """Request bodies: unknown fields are an error (no mass assignment), and no text holds
    NUL, so both backends answer the same 422 at the field."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)


def reject_null(value: Any) -> Any:
    """For PATCH fields that may be omitted but not set to null."""
    if value is None:
        raise ValueError("may be omitted but not null")
    return value


def _to_utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        # 0001-01-01T00:00:00+14:00 is a valid RFC 3339 string but falls before year 1 in
        # UTC: a ValueError makes it a 422 at the field instead of an OverflowError (500).
        raise ValueError("must be between 0001-01-01 and 9999-12-31 in UTC") from None


def _require_text(value: Any) -> Any:
    # pydantic would read a number, or a number in text (a query parameter), as Unix
    # time; the contract says RFC 3339.
    if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        raise ValueError("must be an RFC 3339 date-time string")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


UTCDateTimeIn = Annotated[AwareDatetime, BeforeValidator(_require_text), AfterValidator(_to_utc)]
"""A datetime input that must carry an offset; stored and returned in UTC."""
