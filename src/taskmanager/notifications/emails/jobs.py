"""The mail jobs: collect a user's unmailed notifications (grouped or as the daily digest),
then send them as one mail.

Collecting and sending are two jobs. The collecting job marks the notifications
`emailed_at` and enqueues the sending job in one transaction, so a collecting job that runs
twice finds nothing left to take and never mails the same notification twice. The sending
job only reads; run twice, it sends the same message (same Message-ID, one outbox file).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.auth.models import User
from taskmanager.db import utcnow
from taskmanager.jobs.queue import enqueue
from taskmanager.jobs.registry import JobContext, handler, open_session
from taskmanager.mail.jobs import send_now
from taskmanager.notifications.emails.compose import compose_notifications, load_items
from taskmanager.notifications.emails.models import NotificationMailState, NotificationSettings
from taskmanager.notifications.emails.preferences import email_choices
from taskmanager.notifications.emails.schedule import MAIL_JOB, ensure_states
from taskmanager.notifications.emails.schemas import DIGEST_DAILY
from taskmanager.notifications.emails.tokens import unsubscribe_url
from taskmanager.notifications.kinds import NotificationKind
from taskmanager.notifications.models import Notification
from taskmanager.state import Resources

logger = logging.getLogger("taskmanager.notifications")

SEND_JOB = "notifications.send_mail"
DIGEST_JOB = "notifications.daily_digest"
# Older unmailed notifications (say, from before the address was verified) stay in the
# inbox: a first mail is not a flood of the past.
MAX_AGE = dt.timedelta(hours=24)


async def _locked_state(session: AsyncSession, user_id: uuid.UUID) -> NotificationMailState | None:
    """The user's state row, locked (None once the user is deleted: it went with them)."""
    state: NotificationMailState | None = await session.scalar(
        select(NotificationMailState)
        .where(NotificationMailState.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return state


async def _take(
    session: AsyncSession, user: User, prefs: NotificationSettings | None, now: dt.datetime
) -> list[uuid.UUID]:
    """Mark the user's unread, unmailed notifications of the kinds they want as mailed."""
    choices = email_choices(prefs.email if prefs is not None else None)
    kinds = [kind.value for kind, on in choices.items() if on]
    ids = list(
        await session.scalars(
            select(Notification.id).where(
                Notification.user_id == user.id,
                Notification.emailed_at.is_(None),
                Notification.read_at.is_(None),
                Notification.kind.in_(kinds),
                Notification.created_at >= now - MAX_AGE,
            )
        )
    )
    if ids:
        await session.execute(
            update(Notification)
            .where(Notification.id.in_(ids))
            .values(emailed_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


async def _queue_send(
    session: AsyncSession, user_id: uuid.UUID, ids: list[uuid.UUID], *, digest: bool
) -> None:
    payload = {"user_id": str(user_id), "notification_ids": [str(i) for i in ids]}
    await enqueue(session, SEND_JOB, {**payload, "digest": digest})


@handler(MAIL_JOB)
async def _collect(context: JobContext, payload: dict[str, Any]) -> None:
    """A user's grouped mail: everything since the last one, at most one per interval."""
    user_id = uuid.UUID(payload["user_id"])
    interval = dt.timedelta(seconds=context.resources.settings.notification_mail_interval_seconds)
    async with await open_session(context.resources) as session:
        state = await _locked_state(session, user_id)
        if state is None or state.job_at != dt.datetime.fromisoformat(payload["at"]):
            return  # a rerun of a job that did its work: the pending one (if any) is another
        now = utcnow()
        state.job_at = None
        user = await session.get(User, user_id)
        prefs = await session.get(NotificationSettings, user_id)
        daily = prefs is not None and prefs.digest == DIGEST_DAILY
        if user is not None and user.email_verified and not daily:
            ids = await _take(session, user, prefs, now)
            if ids:
                state.quiet_until = now + interval
                await _queue_send(session, user_id, ids, digest=False)
        await session.commit()


@handler(SEND_JOB)
async def _send(context: JobContext, payload: dict[str, Any]) -> None:
    resources = context.resources
    user_id = uuid.UUID(payload["user_id"])
    ids = [uuid.UUID(i) for i in payload["notification_ids"]]
    digest = bool(payload.get("digest"))
    async with resources.session_factory() as session:
        user = await session.get(User, user_id)
        if user is None or not user.email_verified:
            return  # deleted, or the address changed and is not verified yet
        items = await load_items(session, ids)
    if not items:
        return  # all read (or gone) meanwhile: nothing left worth a mail
    kinds = {item.kind for item in items}
    # A mail about one kind offers to stop that kind; a mixed one or a digest, all of them.
    only: NotificationKind | None = kinds.pop() if len(kinds) == 1 and not digest else None
    await send_now(
        context,
        compose_notifications(
            resources.settings,
            to=user.email,
            name=user.display_name,
            items=items,
            digest=digest,
            unsubscribe=unsubscribe_url(resources.settings, resources.secret_key, user_id, only),
            unsubscribe_what=(
                f"mails about “{only.value.replace('_', ' ')}” notifications"
                if only is not None
                else "all notification mails"
            ),
        ),
    )


@handler(DIGEST_JOB)
async def _daily_digest(context: JobContext, payload: dict[str, Any]) -> None:
    """Run by the periodic scheduler (often, e.g. hourly): mails only from
    NOTIFICATION_DIGEST_HOUR_UTC on, once per user and day."""
    await run_digest(context.resources, now=utcnow(), any_hour=False)


async def run_digest(resources: Resources, *, now: dt.datetime, any_hour: bool) -> int:
    """Collect today's digest of every user who chose one and has not had it yet; returns
    how many digest mails were queued. `any_hour`: also before the digest hour (the CLI)."""
    if not any_hour and now.hour < resources.settings.notification_digest_hour_utc:
        return 0
    today = now.date()
    async with resources.session_factory() as session:
        due = list(
            await session.scalars(
                select(User.id)
                .join(NotificationSettings, NotificationSettings.user_id == User.id)
                .outerjoin(NotificationMailState, NotificationMailState.user_id == User.id)
                .where(
                    NotificationSettings.digest == DIGEST_DAILY,
                    User.email_verified.is_(True),
                    (NotificationMailState.last_digest_on.is_(None))
                    | (NotificationMailState.last_digest_on < today),
                )
            )
        )
    queued = 0
    for user_id in due:  # one short transaction per user: a failure costs one digest
        async with await open_session(resources) as session:
            user = await session.get(User, user_id)
            prefs = await session.get(NotificationSettings, user_id)
            if user is None or prefs is None:
                continue  # deleted since
            await ensure_states(session, [user_id])
            state = await _locked_state(session, user_id)
            if state is None or state.last_digest_on == today:
                continue
            state.last_digest_on = today
            if prefs.digest == DIGEST_DAILY and user.email_verified:
                ids = await _take(session, user, prefs, now)
                if ids:
                    await _queue_send(session, user_id, ids, digest=True)
                    queued += 1
            await session.commit()
    if queued:
        logger.info("daily digest: %d mail(s) queued", queued)
    return queued
