"""Request and response bodies of comments."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from taskmanager.kit.schemas import StrictModel

Body = Annotated[str, Field(min_length=1, max_length=10000)]


class CommentCreate(StrictModel):
    body: Body


class CommentUpdate(StrictModel):
    body: Body


class CommentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    project_id: uuid.UUID
    author_id: uuid.UUID | None
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime
