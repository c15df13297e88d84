"""Request and response bodies of labels."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from taskmanager.kit.examples import CREATED_AT, LABEL_ID, PROJECT_ID, UPDATED_AT, examples
from taskmanager.kit.schemas import StrictModel, reject_null

LabelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]


class LabelCreate(StrictModel):
    name: LabelName
    color: Color

    model_config = ConfigDict(json_schema_extra=examples({"name": "docs", "color": "#1f77b4"}))


class LabelUpdate(StrictModel):
    name: LabelName | None = None
    color: Color | None = None

    _not_null = field_validator("name", "color")(reject_null)

    model_config = ConfigDict(json_schema_extra=examples({"color": "#d62728"}))


class LabelRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra=examples(
            {
                "id": LABEL_ID,
                "project_id": PROJECT_ID,
                "name": "docs",
                "color": "#1f77b4",
                "created_at": CREATED_AT,
                "updated_at": UPDATED_AT,
            }
        ),
    )

    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    color: str
    created_at: dt.datetime
    updated_at: dt.datetime
