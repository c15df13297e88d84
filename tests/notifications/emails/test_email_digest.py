"""The daily digest: one mail a day of the unread notifications, instead of grouped mails,
from the periodic job (`notifications.daily_digest`) or `taskmanager digest`."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from taskmanager.db import utcnow
from taskmanager.jobs.models import Job
from taskmanager.jobs.queue import enqueue
from taskmanager.notifications.emails.jobs import DIGEST_JOB, SEND_JOB, run_digest
from taskmanager.notifications.kinds import NotificationKind as K
from taskmanager.uow import unit_of_work
from tests.helpers import API, ApiClient
from tests.mailbox import Mailbox, text_body
from tests.notifications.emails.conftest import Scene
from tests.notifications.emails.email_helpers import (
    mail_jobs,
    mail_state,
    notifications,
    wait_for_mails,
)
from tests.server import RunningServer

SETTINGS = f"{API}/auth/me/notification-settings"
Recipient = Callable[..., Any]


async def _daily(recipient: Recipient) -> ApiClient:
    client: ApiClient = await recipient()
    put = await client.put(SETTINGS, json={"digest": "daily"})
    assert put.status_code == 200, put.text
    return client


async def _send_jobs(app: RunningServer, user: dict[str, Any]) -> list[Job]:
    async with app.resources.session_factory() as db:
        jobs = await db.scalars(select(Job).where(Job.kind == SEND_JOB))
        return [job for job in jobs if job.payload["user_id"] == user["id"]]


async def test_the_periodic_job_mails_one_digest_a_day(
    app: RunningServer, scene: Scene, recipient: Recipient, mailbox: Mailbox
) -> None:
    gus = await _daily(recipient)
    await scene.notify((gus, K.ASSIGNED), (gus, K.REMINDER), (gus, K.COMMENTED))
    # Digest users get no grouped mails.
    assert await mail_jobs(app, gus.user) == []
    async with unit_of_work(app.resources) as uow:
        await enqueue(uow.session, DIGEST_JOB, {})
    (mail,) = await wait_for_mails(mailbox, gus.email, 1)
    assert mail["Subject"] == "Your daily summary: 2 notifications"
    text = text_body(mail)
    assert "assigned you “Water the roses”" in text and "Reminder: “Water the roses”" in text
    assert "commented" not in text  # the kind preferences hold for the digest too
    assert "Stop all notification mails" in text
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    state = await mail_state(app, gus.user)
    assert state is not None and state.last_digest_on == utcnow().date()
    # The job runs again (hourly, or twice): today's digest went out, nothing more is sent.
    before = {job.id for job in await _send_jobs(app, gus.user)}  # the first, if not yet done
    await scene.notify((gus, K.MENTIONED))
    assert await run_digest(app.resources, now=utcnow(), any_hour=True) == 0
    assert {job.id for job in await _send_jobs(app, gus.user)} <= before
    mentioned = [n for n in await notifications(app, gus.user) if n.kind == "mentioned"]
    assert mentioned[0].emailed_at is None  # tomorrow's digest


async def test_the_job_waits_for_the_digest_hour(
    app: RunningServer, scene: Scene, recipient: Recipient
) -> None:
    hal = await _daily(recipient)
    await scene.notify((hal, K.ASSIGNED))
    later = app.settings.model_copy(update={"notification_digest_hour_utc": 23})
    resources = dataclasses.replace(app.resources, settings=later)
    before_hour = utcnow().replace(hour=22)
    assert await run_digest(resources, now=before_hour, any_hour=False) == 0
    assert await mail_state(app, hal.user) is None
    assert await _send_jobs(app, hal.user) == []


async def test_the_command_queues_the_digests_at_any_hour(
    app: RunningServer, scene: Scene, recipient: Recipient, mailbox: Mailbox
) -> None:
    ivy = await _daily(recipient)
    unverified: ApiClient = await recipient(verified=False)
    await unverified.put(SETTINGS, json={"digest": "daily"})
    await scene.notify((ivy, K.MENTIONED), (unverified, K.MENTIONED))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"DATA_DIR": str(app.settings.data_dir), "LOG_LEVEL": "WARNING"}
    if app.settings.database_url is not None:
        env |= {"DATABASE_URL": app.settings.database_url}
        env |= {"REDIS_URL": app.settings.redis_url or ""}
    proc = await asyncio.create_subprocess_exec(
        f"{sys.prefix}/bin/taskmanager",
        "digest",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    assert "daily digest mail(s) queued" in err.decode()
    (mail,) = await wait_for_mails(mailbox, ivy.email, 1)
    assert mail["Subject"] == "Your daily summary: 1 notification"
    assert "mentioned you on “Water the roses”" in text_body(mail)
    assert await mail_state(app, unverified.user) is None  # no digest for an unverified one
