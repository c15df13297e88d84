"""What the lifespan builds once per process and every request reaches through `request.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, TypedDict

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from taskmanager.config import Settings

if TYPE_CHECKING:
    from taskmanager.events.retention import RetentionJob
    from taskmanager.jobs.worker import JobWorker
    from taskmanager.realtime.hub import Hub
    from taskmanager.realtime.limits import ConnectionLimits


@dataclass(slots=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: Redis
    # GET/HEAD sessions (see db.get_session); None: they use session_factory.
    read_session_factory: async_sessionmaker[AsyncSession] | None = None
    # Signs cursors (kit/signing.py); empty only in tests that build Resources by hand.
    secret_key: bytes = field(default=b"", repr=False)
    hub: Hub = field(init=False)
    # Live connections counted against REALTIME_MAX_CONNECTIONS(_PER_USER).
    limits: ConnectionLimits = field(init=False)
    retention: RetentionJob = field(init=False)
    # The in-process job worker (None until the lifespan makes it, e.g. in scripts).
    jobs: JobWorker | None = None


class AppState(TypedDict):
    resources: Resources


# The dependencies below are `async def` although they never await: FastAPI runs a plain
# `def` dependency in its thread pool, a thread hop (and GIL hand-off) on every request.
async def get_resources(request: Request) -> Resources:
    resources: Resources = request.state.resources
    return resources


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.state.resources.redis
    return redis


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.state.resources.settings
    return settings


ResourcesDep = Annotated[Resources, Depends(get_resources)]
RedisDep = Annotated[Redis, Depends(get_redis)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
