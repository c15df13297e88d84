"""The per-user pub/sub channel: frames for every live connection of one user, on any
instance (notifications for the client; `joined` for the server's own subscribe_all)."""

from __future__ import annotations

import uuid

import orjson

from taskmanager.uow import UnitOfWork

USER_CHANNEL_PREFIX = "user:"
JOINED = "joined"
"""A frame the instances keep to themselves: the user can now see a project."""


def user_channel(user_id: uuid.UUID) -> str:
    """The pub/sub channel every instance listens on for one user's live frames."""
    return f"{USER_CHANNEL_PREFIX}{user_id}"


def announce_joined(uow: UnitOfWork, user_id: uuid.UUID, project_id: uuid.UUID) -> None:
    """Once the transaction commits, tell the user's subscribe_all streams they can see a
    project that no event announces (they created it): followed at once, not at the next
    membership check a second or more later."""
    frame = {"type": JOINED, "project_id": str(project_id)}
    uow.publish_after_commit(user_channel(user_id), orjson.dumps(frame))
