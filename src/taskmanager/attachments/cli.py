"""`taskmanager attachments sweep`: remove stored files that no attachment row names."""

from __future__ import annotations

import datetime as dt

from taskmanager.attachments.jobs import sweep_orphans
from taskmanager.config import Settings
from taskmanager.db import create_engine, create_session_factory
from taskmanager.kit.redis import create_redis
from taskmanager.state import Resources


async def run_sweep(settings: Settings, *, older_than_minutes: float) -> int:
    """Prints how many files were removed; exit status 0."""
    engine = create_engine(settings)
    redis = create_redis(settings)
    resources = Resources(
        settings=settings,
        engine=engine,
        session_factory=create_session_factory(engine),
        redis=redis,
    )
    try:
        removed = await sweep_orphans(
            resources, older_than=dt.timedelta(minutes=older_than_minutes)
        )
    finally:
        await redis.aclose()
        await engine.dispose()
    print(f"removed {removed} orphaned attachment file(s)")
    return 0
