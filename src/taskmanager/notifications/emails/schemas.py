"""Notification e-mail settings over HTTP, and what an unsubscribe link answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from taskmanager.kit.examples import examples
from taskmanager.kit.schemas import StrictModel
from taskmanager.notifications.kinds import NotificationKind

Digest = Literal["off", "daily"]
DIGEST_OFF: Digest = "off"
DIGEST_DAILY: Digest = "daily"

_EXAMPLE = {
    "email": {
        "assigned": True,
        "mentioned": True,
        "commented": False,
        "due_soon": True,
        "reminder": True,
        "invited": True,
        "webhook_disabled": True,
    },
    "digest": "off",
}


class NotificationSettingsRead(BaseModel):
    """Every kind is listed, with the user's choice or its default."""

    email: dict[NotificationKind, bool]
    digest: Digest

    model_config = ConfigDict(json_schema_extra=examples(_EXAMPLE))


class NotificationSettingsUpdate(StrictModel):
    """The whole choice (PUT): kinds left out take their default, `digest` left out is off."""

    email: dict[NotificationKind, bool] = Field(default_factory=dict)
    digest: Digest = DIGEST_OFF

    model_config = ConfigDict(
        json_schema_extra=examples({"email": {"commented": True, "due_soon": False}})
    )


class UnsubscribeRead(BaseModel):
    """What an unsubscribe link turns off: one kind's mails, or (`kind` null) all of them."""

    kind: NotificationKind | None
    # False on GET (a preview: mail scanners fetch links), true once the POST did it.
    unsubscribed: bool
    settings: NotificationSettingsRead

    model_config = ConfigDict(
        json_schema_extra=examples(
            {"kind": "commented", "unsubscribed": True, "settings": _EXAMPLE}
        )
    )
