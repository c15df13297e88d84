"""The per-user pub/sub channel: frames for every live connection of one user, on any
instance (notifications for the client; `joined` for the server's own subscribe_all)."""

from __future__ import annotations

import uuid

import orjson

USER_CHANNEL_PREFIX = "user:"
JOINED = "joined"
"""A frame the instances keep to themselves: the user can now see a project."""


def user_channel(user_id: uuid.UUID) -> str:
    """The pub/sub channel every instance listens on for one user's live frames."""
    return f"{USER_CHANNEL_PREFIX}{user_id}"


def joined_message(project_id: uuid.UUID) -> bytes:
    """For the user's channel once a transaction that made them see a project commits, when
    no event announces it (they created the project): their subscribe_all streams follow it
    at once, not at the next membership check a second or more later."""
    return orjson.dumps({"type": JOINED, "project_id": str(project_id)})
