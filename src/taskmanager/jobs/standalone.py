"""`taskmanager worker`: the job worker as its own process, for deployments that split it out."""

from __future__ import annotations

import asyncio
import logging
import signal

from taskmanager.config import Settings
from taskmanager.db import create_engine, create_session_factory
from taskmanager.jobs.worker import JobWorker
from taskmanager.kit.redis import create_redis
from taskmanager.kit.signing import load_secret_key
from taskmanager.state import Resources

logger = logging.getLogger("taskmanager.jobs")


async def run_worker(settings: Settings) -> None:
    """Run jobs until SIGTERM or SIGINT; a job cut off by the signal is retaken later."""
    engine = create_engine(settings)
    redis = create_redis(settings)
    resources = Resources(
        settings=settings,
        engine=engine,
        session_factory=create_session_factory(engine),
        redis=redis,
        # Jobs sign and encrypt with the server's key, as `serve` would: a notification
        # mail's unsubscribe link, a webhook's stored secret.
        secret_key=load_secret_key(settings),
    )
    worker = resources.jobs = JobWorker(resources)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker.start()
    logger.info("job worker started")
    try:
        await stop.wait()
    finally:
        await worker.stop()
        await redis.aclose()
        await engine.dispose()
        logger.info("job worker stopped")
