"""Request and response bodies of comments."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from taskmanager.kit.examples import (
    COMMENT_ID,
    CREATED_AT,
    PROJECT_ID,
    TASK_ID,
    UPDATED_AT,
    USER_ID,
    examples,
)
from taskmanager.kit.schemas import StrictModel

Body = Annotated[str, Field(min_length=1, max_length=10000)]


class CommentCreate(StrictModel):
    body: Body

    model_config = ConfigDict(json_schema_extra=examples({"body": "Draft is in the wiki."}))


class CommentUpdate(StrictModel):
    body: Body

    model_config = ConfigDict(json_schema_extra=examples({"body": "Draft is in the wiki (v2)."}))


class CommentRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra=examples(
            {
                "id": COMMENT_ID,
                "task_id": TASK_ID,
                "project_id": PROJECT_ID,
                "author_id": USER_ID,
                "body": "Draft is in the wiki.",
                "created_at": CREATED_AT,
                "updated_at": UPDATED_AT,
            }
        ),
    )

    id: uuid.UUID
    task_id: uuid.UUID
    project_id: uuid.UUID
    author_id: uuid.UUID | None
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime
