"""`taskmanager digest`: the daily digest run once, by hand or from cron."""

from __future__ import annotations

import sys

from taskmanager.config import Settings
from taskmanager.db import create_engine, create_session_factory, utcnow
from taskmanager.kit.redis import create_redis
from taskmanager.kit.signing import load_secret_key
from taskmanager.notifications.emails.jobs import run_digest
from taskmanager.state import Resources


async def run_digest_command(settings: Settings) -> int:
    """Queues the digests (the mails go out from the job worker, in `serve` or `worker`)."""
    engine = create_engine(settings)
    redis = create_redis(settings)
    resources = Resources(
        settings=settings,
        engine=engine,
        session_factory=create_session_factory(engine),
        redis=redis,
        secret_key=load_secret_key(settings),
    )
    try:
        queued = await run_digest(resources, now=utcnow(), any_hour=True)
    finally:
        await redis.aclose()
        await engine.dispose()
    print(f"taskmanager: {queued} daily digest mail(s) queued", file=sys.stderr)
    return 0
