"""Resources for commands that run outside `serve`: the worker, the digest, the sweep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from taskmanager.config import Settings
from taskmanager.db import create_engine, create_session_factory
from taskmanager.kit.redis import create_redis
from taskmanager.kit.signing import load_secret_key
from taskmanager.state import Resources


@asynccontextmanager
async def standalone_resources(settings: Settings) -> AsyncIterator[Resources]:
    """An engine and a Redis client of the command's own, closed when it ends, and the
    server's secret key: jobs sign and encrypt as `serve` does (a notification mail's
    unsubscribe link, a webhook's stored secret), so every process must share it."""
    engine = create_engine(settings)
    redis = create_redis(settings)
    try:
        yield Resources(
            settings=settings,
            engine=engine,
            session_factory=create_session_factory(engine),
            redis=redis,
            secret_key=load_secret_key(settings),
        )
    finally:
        await redis.aclose()
        await engine.dispose()
