"""Background removal of stored files: those whose rows were deleted, and orphans (files with
no row, left by a crash between storing the bytes and writing the row)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select

from taskmanager.attachments.models import Attachment
from taskmanager.attachments.service import PURGE_JOB
from taskmanager.attachments.storage import Storage, storage_for
from taskmanager.db import utcnow
from taskmanager.jobs.registry import JobContext, handler, open_session
from taskmanager.state import Resources

logger = logging.getLogger("taskmanager.attachments")

SWEEP_JOB = "attachments.sweep"
# Younger files may belong to an upload still arriving (or its row about to be written).
ORPHAN_AGE = dt.timedelta(hours=1)
_BATCH = 500


async def _known(resources: Resources, keys: list[str]) -> set[str]:
    async with await open_session(resources) as session:
        found = await session.scalars(
            select(Attachment.storage_key).where(Attachment.storage_key.in_(keys))
        )
        return set(found.all())


async def sweep_orphans(
    resources: Resources, *, prefix: str = "", older_than: dt.timedelta = ORPHAN_AGE
) -> int:
    """Remove stored files under `prefix` older than `older_than` that no row names; returns
    how many. Safe to run at any time and on several instances at once."""
    storage = storage_for(resources.settings)
    cutoff = utcnow() - older_than
    removed = 0
    batch: list[str] = []

    async def flush() -> int:
        orphans = sorted(set(batch) - await _known(resources, batch))
        for key in orphans:
            await storage.delete(key)
        batch.clear()
        return len(orphans)

    async for key, written in storage.list(prefix):
        if written <= cutoff:
            batch.append(key)
            if len(batch) >= _BATCH:
                removed += await flush()
    if batch:
        removed += await flush()
    if removed:
        logger.info("removed %d orphaned attachment file(s)", removed, extra={"prefix": prefix})
    return removed


async def _purge(storage: Storage, keys: list[str]) -> None:
    for key in keys:
        await storage.delete(key)  # a missing file is fine: the job may be running again


@handler(PURGE_JOB)
async def purge(context: JobContext, payload: dict[str, Any]) -> None:
    """The files of deleted attachment rows (keys, deleted whatever their age), then the
    orphans under the deleted project's prefix, if one was deleted."""
    resources = context.resources
    keys = [str(key) for key in payload.get("keys", [])]
    # A key whose row exists again cannot happen (keys hold the row's id); checked anyway,
    # so a bad payload can never remove a live file.
    live = await _known(resources, keys) if keys else set()
    await _purge(storage_for(resources.settings), [k for k in keys if k not in live])
    if payload.get("sweep"):
        await sweep_orphans(resources, prefix=str(payload["sweep"]))


@handler(SWEEP_JOB)
async def sweep(context: JobContext, payload: dict[str, Any]) -> None:
    """Every orphan in the storage: a periodic job (ATTACHMENT_SWEEP_SECONDS), also run by
    `taskmanager attachments sweep`."""
    await sweep_orphans(context.resources, prefix=str(payload.get("prefix", "")))
