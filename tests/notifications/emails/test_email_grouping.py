"""Notification mails through real SMTP: only to verified addresses, grouped (one mail per
user per NOTIFICATION_MAIL_INTERVAL_SECONDS), per-kind preferences, RFC 8058 headers."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update

from taskmanager.jobs.models import Job
from taskmanager.jobs.registry import JobContext, lookup
from taskmanager.notifications.emails.schedule import MAIL_JOB
from taskmanager.notifications.kinds import NotificationKind as K
from taskmanager.notifications.models import Notification
from taskmanager.notifications.service import notify
from taskmanager.uow import unit_of_work
from tests import backends
from tests.helpers import API, PASSWORD, ApiClient
from tests.mailbox import Mailbox, html_body, text_body
from tests.notifications.emails.conftest import INTERVAL_SECONDS, PUBLIC, Scene
from tests.notifications.emails.email_helpers import (
    mail_jobs,
    mail_state,
    notification_mails,
    notifications,
    wait_for_mails,
    worker_paused,
)
from tests.server import RunningServer

Recipient = Callable[..., Any]


async def test_several_notifications_make_one_mail_with_unsubscribe_headers(
    scene: Scene, recipient: Recipient, mailbox: Mailbox
) -> None:
    bob = await recipient()
    await scene.notify((bob, K.ASSIGNED), (bob, K.MENTIONED), (bob, K.DUE_SOON))
    (mail,) = await wait_for_mails(mailbox, bob.email, 1)
    assert mail["Subject"] == "3 new notifications"
    text, page = text_body(mail), html_body(mail)
    assert "Test User assigned you “Water the roses” in Garden" in text
    assert "Test User mentioned you on “Water the roses” in Garden" in text
    assert "“Water the roses” in Garden is due soon" in text
    board = f"{PUBLIC}/#/p/{scene.project['id']}"
    assert board in text and f'href="{board}"' in page
    # RFC 8058: an HTTPS URI to POST to, and the one-click marker.
    assert str(mail["List-Unsubscribe"]).startswith(
        f"<{PUBLIC}/api/v1/notifications/unsubscribe?token="
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert all(n.emailed_at is not None for n in await notifications(scene.app, bob.user))
    # Nothing is pending any more: the next notification schedules a new mail.
    assert await mail_jobs(scene.app, bob.user) == []


async def test_a_burst_after_a_mail_waits_for_the_interval_and_comes_as_one(
    scene: Scene, recipient: Recipient, mailbox: Mailbox
) -> None:
    carol = await recipient()
    await scene.notify((carol, K.ASSIGNED))
    (first,) = await wait_for_mails(mailbox, carol.email, 1)
    assert first["Subject"] == "Test User assigned you “Water the roses” in Garden"
    state = await mail_state(scene.app, carol.user)
    assert state is not None and state.quiet_until is not None
    quiet_until = state.quiet_until
    # Two more writes, each its own transaction, right after the mail: one job, due then.
    async with worker_paused(scene.app):
        await scene.notify((carol, K.MENTIONED))
        await scene.notify((carol, K.REMINDER))
        (job,) = await mail_jobs(scene.app, carol.user)
        assert job.run_at >= quiet_until
        assert dt.datetime.fromisoformat(job.payload["at"]) == quiet_until
    mails = await wait_for_mails(mailbox, carol.email, 2, timeout=INTERVAL_SECONDS + 20)
    assert len(mails) == 2
    second = text_body(mails[1])
    assert mails[1]["Subject"] == "2 new notifications"
    assert "mentioned you" in second and "Reminder: “Water the roses”" in second
    assert "assigned you" not in second  # mailed once, in the first mail
    later = [n for n in await notifications(scene.app, carol.user) if n.kind != "assigned"]
    assert all(n.emailed_at is not None and n.emailed_at >= quiet_until for n in later)


async def test_unverified_addresses_get_nothing(
    scene: Scene, recipient: Recipient, mailbox: Mailbox
) -> None:
    unverified, verified = await recipient(verified=False), await recipient()
    await scene.notify((unverified, K.ASSIGNED), (verified, K.ASSIGNED))
    await wait_for_mails(mailbox, verified.email, 1)
    # No job was ever made for the unverified address, so nothing is on its way either.
    assert await mail_jobs(scene.app, unverified.user) == []
    assert await mail_state(scene.app, unverified.user) is None
    assert notification_mails(mailbox, unverified.email) == []
    assert all(n.emailed_at is None for n in await notifications(scene.app, unverified.user))


async def test_preferences_choose_the_kinds_that_are_mailed(
    scene: Scene, recipient: Recipient, mailbox: Mailbox
) -> None:
    dave = await recipient()
    # `commented` is off by default: no mail is even scheduled.
    await scene.notify((dave, K.COMMENTED))
    assert await mail_jobs(scene.app, dave.user) == []
    assert await mail_state(scene.app, dave.user) is None
    settings = {"email": {"commented": True, "assigned": False}, "digest": "off"}
    assert (await dave.put(f"{API}/auth/me/notification-settings", json=settings)).is_success
    await scene.notify((dave, K.ASSIGNED))
    assert await mail_jobs(scene.app, dave.user) == []
    await scene.notify((dave, K.COMMENTED))
    (mail,) = await wait_for_mails(mailbox, dave.email, 1)
    # Only the kind now wanted, and only the notification made after it was chosen? No:
    # every unmailed, unread one of a wanted kind, so the earlier comment comes too.
    text = text_body(mail)
    assert text.count("commented on “Water the roses”") == 2
    assert "assigned you" not in text
    assigned = [n for n in await notifications(scene.app, dave.user) if n.kind == "assigned"]
    assert assigned and assigned[0].emailed_at is None


async def test_read_notifications_are_not_mailed(
    scene: Scene, recipient: Recipient, mailbox: Mailbox, app: RunningServer
) -> None:
    erin = await recipient()
    await scene.notify((erin, K.ASSIGNED))
    await wait_for_mails(mailbox, erin.email, 1)
    # The next mail waits; a notification read meanwhile is left out of it.
    async with worker_paused(app):
        await scene.notify((erin, K.MENTIONED), (erin, K.INVITED))
        async with app.resources.session_factory() as db:
            await db.execute(
                update(Notification)
                .where(
                    Notification.user_id == uuid.UUID(erin.user["id"]),
                    Notification.kind == "mentioned",
                )
                .values(read_at=dt.datetime.now(dt.UTC))
            )
            await db.commit()
    mails = await wait_for_mails(mailbox, erin.email, 2, timeout=INTERVAL_SECONDS + 20)
    assert mails[1]["Subject"] == "Test User invited you to Garden"
    assert "mentioned" not in text_body(mails[1])


async def test_a_mail_job_that_runs_again_mails_nothing_again(
    scene: Scene, recipient: Recipient, mailbox: Mailbox, app: RunningServer
) -> None:
    frank = await recipient()
    async with worker_paused(app):
        await scene.notify((frank, K.ASSIGNED))
        (job,) = await mail_jobs(scene.app, frank.user)
    payload = dict(job.payload)
    await wait_for_mails(mailbox, frank.email, 1)
    # At least once: the worker may run a job again after it did its work.
    handler = lookup(MAIL_JOB)
    assert handler is not None
    context = JobContext(resources=app.resources, job_id=str(uuid.uuid4()), attempt=2)
    await handler(context, payload)
    async with worker_paused(app):
        await scene.notify((frank, K.MENTIONED))  # grouped by the interval: it waits
        (pending,) = await mail_jobs(scene.app, frank.user)
        await handler(context, payload)  # a stale rerun does not take the pending one's turn
        mailed = [n.emailed_at is not None for n in await notifications(scene.app, frank.user)]
        assert mailed == [True, False]
    await wait_for_mails(mailbox, frank.email, 2, timeout=INTERVAL_SECONDS + 20)
    assert len(notification_mails(mailbox, frank.email)) == 2
    assert pending.payload != payload


async def test_a_user_deleted_before_the_mail_gets_none_and_the_job_ends(
    scene: Scene, recipient: Recipient, mailbox: Mailbox, app: RunningServer
) -> None:
    gone = await recipient()
    async with worker_paused(app):
        await scene.notify((gone, K.ASSIGNED))
        (job,) = await mail_jobs(app, gone.user)
        deleted = await gone.request("DELETE", f"{API}/auth/me", json={"password": PASSWORD})
        assert deleted.status_code == 204, deleted.text
    # The job runs, finds no one, and is done (not retried, not given up).
    deadline = time.monotonic() + 20
    while await mail_jobs(app, gone.user):
        assert time.monotonic() < deadline, "the mail job of a deleted user never ended"
        await asyncio.sleep(0.05)
    async with app.resources.session_factory() as db:
        assert await db.get(Job, job.id) is None
    assert notification_mails(mailbox, gone.email) == []


async def test_writers_notifying_the_same_users_in_opposite_orders_do_not_deadlock(
    backend: backends.Backend, scene: Scene, recipient: Recipient, mailbox: Mailbox
) -> None:
    """Each transaction locks its recipients' mail state once, in user id order, at commit:
    one that notifies B then A and one that notifies A then B never wait in a cycle."""
    if not backend.is_postgres:
        pytest.skip("SQLite runs one writing transaction at a time: nothing can interleave")
    ann, ben = await recipient(), await recipient()
    ready = [asyncio.Event(), asyncio.Event()]

    async def write(me: int, first: ApiClient, second: ApiClient) -> None:
        async with unit_of_work(scene.app.resources) as uow:
            for step, (who, kind) in enumerate(((first, K.ASSIGNED), (second, K.MENTIONED))):
                await notify(
                    uow.session,
                    recipients=[uuid.UUID(who.user["id"])],
                    kind=kind,
                    actor_id=uuid.UUID(scene.actor.user["id"]),
                    project_id=uuid.UUID(scene.project["id"]),
                )
                if step == 0:  # both hold their first notification before either goes on
                    ready[me].set()
                    await ready[1 - me].wait()

    await asyncio.wait_for(asyncio.gather(write(0, ann, ben), write(1, ben, ann)), timeout=30)
    for user in (ann, ben):  # both committed, and the mail follows
        assert {n.kind for n in await notifications(scene.app, user.user)} == {
            "assigned",
            "mentioned",
        }
        await wait_for_mails(mailbox, user.email, 1)
