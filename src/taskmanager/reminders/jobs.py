"""The periodic reminder sweep job (its interval: REMINDER_SWEEP_SECONDS)."""

from __future__ import annotations

from typing import Any

from taskmanager.db import utcnow
from taskmanager.jobs.registry import JobContext, handler
from taskmanager.reminders.service import BATCH, prune_sent, send_due_reminders
from taskmanager.uow import unit_of_work

REMINDER_SWEEP = "reminders.sweep"


@handler(REMINDER_SWEEP)
async def _sweep(context: JobContext, _payload: dict[str, Any]) -> None:
    # One transaction per batch: the notifications of a batch and its sent records commit
    # together, so a crash between batches leaves nothing half sent (the next run resumes).
    async with unit_of_work(context.resources) as uow:
        now = utcnow()
        await prune_sent(uow.session, now=now)
        due = await send_due_reminders(uow.session, now=now)
    while due >= BATCH:
        async with unit_of_work(context.resources) as uow:
            due = await send_due_reminders(uow.session, now=utcnow())
