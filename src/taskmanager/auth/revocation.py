"""Tell every instance that a session or token ended, so live connections using it close."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

REVOCATION_CHANNEL = "auth:revoked"

logger = logging.getLogger("taskmanager.auth")


def revocation_message(*, sessions: Iterable[str] = (), tokens: Iterable[str] = ()) -> bytes:
    return orjson.dumps({"sessions": list(sessions), "tokens": list(tokens)})


def queue_revocation(pipe: Pipeline, *, sessions: Iterable[str] = ()) -> None:
    """Add the notice to a pipeline that also deletes the sessions (one round trip)."""
    pipe.publish(REVOCATION_CHANNEL, revocation_message(sessions=sessions))


async def publish_token_revocation(redis: Redis, token_id: str) -> None:
    """Best effort: the realtime watchdog re-checks tokens in the database anyway."""
    try:
        await redis.publish(REVOCATION_CHANNEL, revocation_message(tokens=[token_id]))
    except RedisError:
        logger.warning("could not publish a token revocation; the watchdog will catch it")
