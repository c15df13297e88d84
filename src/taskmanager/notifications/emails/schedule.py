"""When a notification is made: make sure one mail job is pending for each recipient it
should be mailed to, no sooner than NOTIFICATION_MAIL_INTERVAL_SECONDS after the last mail.

Runs in the notifying transaction, just before it commits. Each recipient's
`notification_mail_state` row is locked (FOR UPDATE on PostgreSQL; SQLite has one writer
anyway) before its `job_at` is read, and the mail job locks the same row before it
collects: so either the job sees these notifications, or this transaction sees that the job
is done (`job_at` null) and schedules the next one. Either way no notification is left
without a pending mail, and there is never a second job.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.auth.models import User
from taskmanager.db import utcnow
from taskmanager.jobs.queue import enqueue
from taskmanager.notifications.emails.models import NotificationMailState, NotificationSettings
from taskmanager.notifications.emails.preferences import email_choices
from taskmanager.notifications.emails.schemas import DIGEST_DAILY
from taskmanager.notifications.kinds import NotificationKind
from taskmanager.uow import UnitOfWork

MAIL_JOB = "notifications.mail"
_PENDING = "notifications.emails.pending"  # session.info: recipient -> kinds, this transaction


def schedule_mails(
    session: AsyncSession, *, user_ids: Sequence[uuid.UUID], kind: NotificationKind
) -> None:
    """Note the recipients; their mail jobs are scheduled once, just before the commit.

    Once per transaction, however many notify() calls it makes: the state rows are then
    locked at one moment and in one order (by user id), so two transactions notifying the
    same users never wait for each other in a cycle.
    """
    pending: dict[uuid.UUID, set[NotificationKind]] = session.info.setdefault(_PENDING, {})
    for user_id in user_ids:
        pending.setdefault(user_id, set()).add(kind)

    async def schedule() -> None:
        await _schedule(session, session.info.pop(_PENDING, {}))

    UnitOfWork.of(session).call_before_commit(_PENDING, schedule)


async def _schedule(session: AsyncSession, pending: dict[uuid.UUID, set[NotificationKind]]) -> None:
    """Recipients with a verified address who want one of their kinds by mail, and no
    daily digest (they get that instead), get a mail job if they have none pending."""
    if not pending:
        return
    rows = await session.execute(
        select(User.id, NotificationSettings.email, NotificationSettings.digest)
        .outerjoin(NotificationSettings, NotificationSettings.user_id == User.id)
        .where(User.id.in_(pending), User.email_verified.is_(True))
    )
    wanted = sorted(
        user_id
        for user_id, email, digest in rows.all()
        if digest != DIGEST_DAILY and any(email_choices(email)[k] for k in pending[user_id])
    )
    if not wanted:
        return
    now = utcnow()
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
            continue  # a mail is pending: these notifications join it
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
