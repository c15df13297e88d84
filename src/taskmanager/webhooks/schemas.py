"""Request and response bodies of webhooks and their delivery log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, get_args

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    field_validator,
)

from taskmanager.events.schemas import EventName
from taskmanager.kit.examples import CREATED_AT, PROJECT_ID, UPDATED_AT, USER_ID, examples
from taskmanager.kit.schemas import StrictModel, reject_null
from taskmanager.webhooks.addresses import split_url

EVENT_NAMES: frozenset[str] = frozenset(get_args(EventName))
WEBHOOK_ID = "8e2a4c6d-1f3b-4d5e-9a7c-0b1d2e3f4a5c"
DELIVERY_ID = "2d4f6a8c-0e1b-5c3d-8f5a-7b9c1d3e5f70"
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - an example


def _check_url(value: str) -> str:
    split_url(value)
    return value


def _check_events(value: list[str]) -> list[str]:
    if value == ["*"]:
        return value
    unknown = sorted(set(value) - EVENT_NAMES)
    if "*" in value:
        raise ValueError('"*" stands alone: it already means every event')
    if unknown:
        raise ValueError(f"unknown event name(s): {', '.join(unknown)}")
    return sorted(set(value))


WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_check_url),
]
EventFilter = Annotated[
    list[str], Field(min_length=1, max_length=50), AfterValidator(_check_events)
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]

_READ = {
    "id": WEBHOOK_ID,
    "project_id": PROJECT_ID,
    "url": "https://hooks.example.com/taskmanager",
    "description": "Chat notifications",
    "events": ["task.created", "task.updated"],
    "enabled": True,
    "disabled_reason": None,
    "failing_since": None,
    "last_delivered_seq": 41,
    "created_by": USER_ID,
    "created_at": CREATED_AT,
    "updated_at": UPDATED_AT,
}


class WebhookCreate(StrictModel):
    url: WebhookUrl
    events: EventFilter
    description: Description = ""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {"url": "https://hooks.example.com/taskmanager", "events": ["task.created"]}
        )
    )


class WebhookUpdate(StrictModel):
    url: WebhookUrl | None = None
    events: EventFilter | None = None
    description: Description | None = None
    enabled: bool | None = None

    _not_null = field_validator("url", "events", "description", "enabled")(reject_null)

    model_config = ConfigDict(json_schema_extra=examples({"enabled": True}))


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra=examples(_READ))

    id: uuid.UUID
    project_id: uuid.UUID
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: dt.datetime | None
    last_delivered_seq: int = Field(
        validation_alias=AliasChoices("cursor_seq", "last_delivered_seq")
    )
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookCreated(WebhookRead):
    """The create response: the only time the signing secret is shown."""

    model_config = ConfigDict(json_schema_extra=examples({**_READ, "secret": SECRET_EXAMPLE}))

    secret: str


class DeliveryRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra=examples(
            {
                "id": DELIVERY_ID,
                "webhook_id": WEBHOOK_ID,
                "message_id": "msg_2d4f6a8c0e1b5c3d8f5a7b9c1d3e5f70",
                "event_seq": 42,
                "event_name": "task.updated",
                "status": "failed",
                "attempts": 3,
                "response_status": 503,
                "duration_ms": 120,
                "response_body": "upstream unavailable",
                "error": None,
                "next_attempt_at": UPDATED_AT,
                "last_attempt_at": UPDATED_AT,
                "created_at": CREATED_AT,
            }
        ),
    )

    id: uuid.UUID
    webhook_id: uuid.UUID = Field(validation_alias=AliasChoices("endpoint_id", "webhook_id"))
    event_seq: int
    event_name: str
    status: str
    attempts: int
    response_status: int | None
    duration_ms: int | None
    response_body: str | None
    error: str | None
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    created_at: dt.datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message_id(self) -> str:
        """The `webhook-id` header the delivery is sent with."""
        return message_id(self.id)


def message_id(delivery_id: uuid.UUID) -> str:
    """The `webhook-id` of a delivery: the same on every attempt and redelivery."""
    return f"msg_{delivery_id.hex}"
