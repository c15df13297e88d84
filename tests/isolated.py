"""Resources on a database of their own: for tests of the job worker, which the shared
test server's own worker must not race."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from taskmanager.config import Settings
from taskmanager.db import create_engine, create_session_factory
from taskmanager.jobs.models import Job
from taskmanager.kit.redis import create_redis
from taskmanager.migrations.runner import upgrade_to_head
from taskmanager.state import Resources
from tests import backends
from tests.processes import migrated_database
from tests.server import RunningServer, run_server


@asynccontextmanager
async def isolated_settings(
    backend: backends.Backend, make_settings: Callable[..., Settings], **overrides: Any
) -> AsyncIterator[Settings]:
    """Settings for a fresh, migrated database (and data directory) of their own."""
    data_dir = Path(tempfile.mkdtemp(prefix="tm-iso-"))
    if backend.is_postgres:
        async with migrated_database() as url:
            yield make_settings(database_url=url, data_dir=data_dir, **overrides)
    else:
        settings = make_settings(database_url=None, redis_url=None, data_dir=data_dir, **overrides)
        await asyncio.to_thread(upgrade_to_head, settings)
        yield settings


@asynccontextmanager
async def isolated_resources(
    backend: backends.Backend, make_settings: Callable[..., Settings], **overrides: Any
) -> AsyncIterator[Resources]:
    async with (
        isolated_settings(backend, make_settings, **overrides) as settings,
        _resources(settings) as resources,
    ):
        yield resources


@asynccontextmanager
async def _resources(settings: Settings) -> AsyncIterator[Resources]:
    engine = create_engine(settings)
    redis = create_redis(settings)
    try:
        yield Resources(
            settings=settings,
            engine=engine,
            session_factory=create_session_factory(engine),
            redis=redis,
        )
    finally:
        await redis.aclose()
        await engine.dispose()


async def clear_jobs(resources: Resources) -> None:
    async with resources.session_factory() as session:
        await session.execute(delete(Job))
        await session.commit()


@asynccontextmanager
async def isolated_server(
    backend: backends.Backend, make_settings: Callable[..., Settings], **overrides: Any
) -> AsyncIterator[RunningServer]:
    """A real server (with its job worker) on a database of its own, so that what its
    worker does (say, send through a test SMTP server) is not taken by another's."""
    async with (
        isolated_settings(backend, make_settings, **overrides) as settings,
        run_server(settings) as running,
    ):
        yield running
