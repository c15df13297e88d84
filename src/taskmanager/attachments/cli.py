"""`taskmanager attachments sweep`: remove stored files that no attachment row names."""

from __future__ import annotations

import datetime as dt

from taskmanager.attachments.jobs import sweep_orphans
from taskmanager.config import Settings
from taskmanager.standalone import standalone_resources


async def run_sweep(settings: Settings, *, older_than_minutes: float) -> int:
    """Prints how many files were removed; exit status 0."""
    async with standalone_resources(settings) as resources:
        removed = await sweep_orphans(
            resources, older_than=dt.timedelta(minutes=older_than_minutes)
        )
    print(f"removed {removed} orphaned attachment file(s)")
    return 0
