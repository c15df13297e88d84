"""When a notification is made: make sure one mail job is pending for each recipient it
should be mailed to, no sooner than NOTIFICATION_MAIL_INTERVAL_SECONDS after the last mail.

Runs in the notifying transaction. Each recipient's `notification_mail_state` row is locked
(FOR UPDATE on PostgreSQL; SQLite has one writer anyway) before its `job_at` is read, and the
mail job locks the same row before it collects: so either the job sees this notification,
or this transaction sees that the job is done (`job_at` null) and schedules the next one.
Either way no notification is left without a pending mail, and there is never a second job.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.auth.models import User
from taskmanager.jobs.queue import enqueue
from taskmanager.notifications.emails.models import NotificationMailState, NotificationSettings
from taskmanager.notifications.emails.preferences import email_choices
from taskmanager.notifications.emails.schemas import DIGEST_DAILY
from taskmanager.notifications.kinds import NotificationKind

MAIL_JOB = "notifications.mail"


async def schedule_mails(
    session: AsyncSession,
    *,
    kinds: Mapping[uuid.UUID, NotificationKind],
    now: dt.datetime,
) -> None:
    """Recipients (user -> the kind they were just notified of) with a verified address
    who want that kind by mail, and no daily digest (they get that instead), get a mail job
    if they have none pending."""
    rows = await session.execute(
        select(User.id, NotificationSettings.email, NotificationSettings.digest)
        .outerjoin(NotificationSettings, NotificationSettings.user_id == User.id)
        .where(User.id.in_(list(kinds)), User.email_verified.is_(True))
    )
    wanted = sorted(
        user_id
        for user_id, email, digest in rows.all()
        if digest != DIGEST_DAILY and email_choices(email)[kinds[user_id]]
    )
    if not wanted:
        return
    await ensure_states(session, wanted)
    states = await session.scalars(
        select(NotificationMailState)
        .where(NotificationMailState.user_id.in_(wanted))
        .order_by(NotificationMailState.user_id)  # one lock order: no deadlock between writers
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for state in states:
        if state.job_at is not None:
            continue  # a mail is pending: this notification joins it
        at = now if state.quiet_until is None else max(now, state.quiet_until)
        state.job_at = at
        await enqueue(
            session,
            MAIL_JOB,
            # `at` tells this job from a stale rerun of an earlier one (jobs run at least once).
            {"user_id": str(state.user_id), "at": at.isoformat()},
            delay=at - now if at > now else None,
        )
    await session.flush()


async def ensure_states(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> None:
    """The state rows, made once per user; concurrent first notifications do not collide."""
    values = [{"user_id": user_id} for user_id in user_ids]
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(make(NotificationMailState).values(values).on_conflict_do_nothing())
