"""Small shared pieces of request/response bodies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Request bodies: unknown fields are an error (no mass assignment)."""

    model_config = ConfigDict(extra="forbid")


def reject_null(value: Any) -> Any:
    """For PATCH fields that may be omitted but not set to null."""
    if value is None:
        raise ValueError("may be omitted but not null")
    return value


def _to_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


UTCDateTimeIn = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A datetime input that must carry an offset; stored and returned in UTC."""
