"""Tell every instance that a session or token ended, so live connections using it close."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import orjson
from redis.asyncio.client import Pipeline
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.uow import UnitOfWork

REVOCATION_CHANNEL = "auth:revoked"


def revocation_message(*, sessions: Iterable[str] = (), tokens: Iterable[str] = ()) -> bytes:
    return orjson.dumps({"sessions": list(sessions), "tokens": list(tokens)})


def queue_revocation(pipe: Pipeline, *, sessions: Iterable[str] = ()) -> None:
    """Add the notice to a pipeline that also deletes the sessions (one round trip)."""
    pipe.publish(REVOCATION_CHANNEL, revocation_message(sessions=sessions))


def announce_token_revocation(session: AsyncSession, token_id: uuid.UUID) -> None:
    """Publish the notice once the deletion commits; the realtime watchdog re-checks tokens
    in the database anyway, so a lost notice delays the close by a check interval."""
    UnitOfWork.of(session).publish_after_commit(
        REVOCATION_CHANNEL, revocation_message(tokens=[str(token_id)])
    )
