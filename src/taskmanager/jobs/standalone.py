"""`taskmanager worker`: the job worker as its own process, for deployments that split it out."""

from __future__ import annotations

import asyncio
import logging
import signal

from taskmanager.config import Settings
from taskmanager.jobs.worker import JobWorker
from taskmanager.standalone import standalone_resources
from taskmanager.state import Resources

logger = logging.getLogger("taskmanager.jobs")


async def run_worker(settings: Settings) -> None:
    """Run jobs until SIGTERM or SIGINT; a job cut off by the signal is retaken later."""
    async with standalone_resources(settings) as resources:
        await _run(resources)


async def _run(resources: Resources) -> None:
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
        logger.info("job worker stopped")
