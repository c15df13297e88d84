"""Response bodies of attachments (uploads are multipart, not JSON)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict

from taskmanager.kit.examples import CREATED_AT, TASK_ID, USER_ID, examples

ATTACHMENT_ID = "6f1c2b7e-3d0a-4c55-9e8b-5a4f3e2d1c0b"


class AttachmentRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra=examples(
            {
                "id": ATTACHMENT_ID,
                "task_id": TASK_ID,
                "filename": "wireframe.png",
                "content_type": "image/png",
                "size": 48213,
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "created_by": USER_ID,
                "created_at": CREATED_AT,
            }
        ),
    )

    id: uuid.UUID
    task_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    created_by: uuid.UUID
    created_at: dt.datetime
