"""`taskmanager digest`: the daily digest run once, by hand or from cron."""

from __future__ import annotations

import sys

from taskmanager.config import Settings
from taskmanager.db import utcnow
from taskmanager.notifications.emails.jobs import run_digest
from taskmanager.standalone import standalone_resources


async def run_digest_command(settings: Settings) -> int:
    """Queues the digests (the mails go out from the job worker, in `serve` or `worker`)."""
    async with standalone_resources(settings) as resources:
        queued = await run_digest(resources, now=utcnow(), any_hour=True)
    print(f"taskmanager: {queued} daily digest mail(s) queued", file=sys.stderr)
    return 0
