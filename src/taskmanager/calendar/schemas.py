"""Response bodies of the calendar feed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from taskmanager.kit.examples import examples


class FeedRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=examples({"url": "https://tasks.example.com/api/v1/calendar/3q2.ics"})
    )

    url: str
