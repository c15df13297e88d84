"""Reading notification mails and the mail machinery's rows in tests."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from taskmanager.jobs.models import Job
from taskmanager.notifications.emails.models import NotificationMailState
from taskmanager.notifications.emails.schedule import MAIL_JOB
from taskmanager.notifications.models import Notification
from tests.mailbox import Mailbox
from tests.server import RunningServer

UNSUBSCRIBE = re.compile(r"^<(https://\S+)>$")


def notification_mails(mailbox: Mailbox, email: str) -> list[EmailMessage]:
    """Mail to `email` that is a notification mail (account mails carry no unsubscribe)."""
    return [m for m in mailbox.to(email) if m["List-Unsubscribe"] is not None]


async def wait_for_mails(
    mailbox: Mailbox, email: str, count: int, *, timeout: float = 20
) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while len(found := notification_mails(mailbox, email)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} of {count} notification mails to {email}")
        await asyncio.sleep(0.05)
    return found


def unsubscribe_url(message: EmailMessage) -> str:
    found = UNSUBSCRIBE.match(str(message["List-Unsubscribe"]))
    assert found is not None, message["List-Unsubscribe"]
    return found.group(1)


async def mail_jobs(app: RunningServer, user: dict[str, Any]) -> list[Job]:
    """The user's pending grouped-mail jobs."""
    async with app.resources.session_factory() as db:
        jobs = await db.scalars(select(Job).where(Job.kind == MAIL_JOB))
        return [job for job in jobs if job.payload["user_id"] == user["id"]]


async def mail_state(app: RunningServer, user: dict[str, Any]) -> NotificationMailState | None:
    async with app.resources.session_factory() as db:
        return await db.get(NotificationMailState, uuid.UUID(user["id"]))


async def notifications(app: RunningServer, user: dict[str, Any]) -> list[Notification]:
    async with app.resources.session_factory() as db:
        rows = await db.scalars(
            select(Notification)
            .where(Notification.user_id == uuid.UUID(user["id"]))
            .order_by(Notification.created_at)
        )
        return list(rows)


@asynccontextmanager
async def worker_paused(app: RunningServer) -> AsyncIterator[None]:
    """The server's job worker stopped: what the test looks at is not taken meanwhile."""
    worker = app.resources.jobs
    assert worker is not None
    await worker.stop()
    try:
        yield
    finally:
        worker.start()
