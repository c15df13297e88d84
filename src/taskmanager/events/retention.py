"""The background job that prunes the event log on an interval, one instance at a time."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.events.service import prune_batch
from taskmanager.kit.background import cancel_and_wait
from taskmanager.observability.metrics import EVENTS_PRUNED, RETENTION_ROUNDS
from taskmanager.state import Resources
from taskmanager.uow import unit_of_work

logger = logging.getLogger("taskmanager.events.retention")

LOCK_KEY = 0x746D_6576_7072_756E  # "tmevprun": the PostgreSQL advisory lock of this job
FIRST_ROUND_MAX_DELAY = 300.0
"""Instances restarted more often than the interval (deploys) must still prune sometimes."""


class RetentionJob:
    """Prunes events older than EVENT_RETENTION_DAYS, keeping each project's latest ones.

    Every instance runs one; on PostgreSQL a transaction-scoped advisory lock taken per
    batch lets only one of them delete at a time (the others skip their round). The
    counters are for tests and logs; Prometheus gets its own.
    """

    def __init__(self, resources: Resources, *, rng: random.Random | None = None) -> None:
        self.resources = resources
        self.settings = resources.settings
        self.rounds = 0
        self.done = 0
        self.skipped = 0
        self.failures = 0
        self.pruned = 0
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.settings.event_retention_interval_seconds > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-retention")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        interval = self.settings.event_retention_interval_seconds
        # Jitter: instances started together (a deploy) do not all wake at once.
        delay = self._rng.uniform(0.1, 1.0) * min(interval, FIRST_ROUND_MAX_DELAY)
        while True:
            await asyncio.sleep(delay)
            await self.run_round_safely()
            delay = interval * self._rng.uniform(0.8, 1.2)

    async def run_round_safely(self) -> None:
        """One round; any error is logged and counted, and the next round tries again."""
        try:
            pruned = await self.run_round()
        except Exception:
            self.failures += 1
            RETENTION_ROUNDS.labels("failed").inc()
            logger.exception("event retention round failed; retrying next round")
        else:
            if pruned is None:
                self.skipped += 1
                RETENTION_ROUNDS.labels("skipped").inc()
                logger.debug("event retention skipped: another instance is pruning")
            else:
                self.done += 1
                RETENTION_ROUNDS.labels("done").inc()
                if pruned:
                    logger.info("event retention pruned %d event(s)", pruned)
        finally:
            self.rounds += 1

    async def run_round(self) -> int | None:
        """Prune in batches until none is left; None when another instance holds the lock."""
        settings = self.settings
        cutoff = utcnow() - dt.timedelta(days=settings.event_retention_days)
        batch = settings.event_retention_batch_size
        total = 0
        while True:
            async with unit_of_work(self.resources) as uow:
                session = uow.session
                if not await self._try_lock(session):
                    # Another instance took over between two of our batches: it finishes.
                    return None if total == 0 else total
                deleted = await prune_batch(
                    session,
                    older_than=cutoff,
                    keep_latest=settings.event_retention_min_events,
                    limit=batch,
                )
            total += deleted
            self.pruned += deleted
            EVENTS_PRUNED.inc(deleted)
            if deleted < batch:
                return total
            await asyncio.sleep(0)  # let requests in between batches

    async def _try_lock(self, session: AsyncSession) -> bool:
        if self.settings.is_sqlite:
            return True  # embedded mode is one process: nobody to exclude
        locked = await session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
        )
        return bool(locked)
