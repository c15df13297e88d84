"""Example values for the OpenAPI docs: one consistent story shared by every schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.config import JsonDict

USER_ID = "0b6c1f0e-3d2a-4f5b-9c8d-7e6f5a4b3c2d"
OTHER_USER_ID = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
PROJECT_ID = "6f1c2d9e-8a4b-4c1e-9d3f-2b7a5e0c4d11"
TASK_ID = "3a9e7c51-2f4d-4b8a-a1c6-5d0e9f8b7a62"
OTHER_TASK_ID = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
LABEL_ID = "c4d5e6f7-0a1b-4c2d-8e3f-9a0b1c2d3e4f"
RELATION_ID = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
COMMENT_ID = "9f8e7d6c-5b4a-4e3d-8c2b-1a0f9e8d7c6b"
TOKEN_ID = "5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170"  # noqa: S105 - an example id
CREATED_AT = "2026-03-02T09:15:00Z"
UPDATED_AT = "2026-03-02T10:40:12Z"
CURSOR = "WyJwb3NpdGlvbiIsImEwIiwiM2E5ZTdjNTEiXQ.x1Y2z3A4b5C6"


def examples(*values: Any) -> JsonDict:
    """`json_schema_extra` for a model: its examples, listed once."""
    return {"examples": list(values)}


def first_example(model: type[BaseModel]) -> Any:
    """The first example declared on `model` (None if it has none)."""
    extra = model.model_config.get("json_schema_extra")
    if isinstance(extra, dict):
        found = extra.get("examples")
        if isinstance(found, list) and found:
            return found[0]
    return None
