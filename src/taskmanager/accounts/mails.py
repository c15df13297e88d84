"""The account mails and the jobs that make their links (a token is made when the job runs)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.accounts.models import RESET, VERIFY
from taskmanager.accounts.tokens import issue_token
from taskmanager.auth.models import User
from taskmanager.jobs.registry import JobContext, handler, open_session
from taskmanager.mail.jobs import queue_mail, send_now
from taskmanager.mail.message import compose, public_link

RESET_MAIL = "accounts.reset_mail"
VERIFY_MAIL = "accounts.verify_mail"
IGNORE = "If you did not ask for this, you can ignore this mail."


async def queue_password_changed(session: AsyncSession, user: User) -> None:
    await queue_mail(
        session,
        compose(
            user.email,
            "Your password was changed",
            [
                f"Hello {user.display_name},",
                "The password of your Task Manager account was just changed, and every "
                "session was signed out.",
                "If this was not you, reset your password at once from the sign-in page.",
            ],
        ),
    )


async def queue_email_change_notice(session: AsyncSession, user: User, *, new_email: str) -> None:
    await queue_mail(
        session,
        compose(
            user.email,
            "Your e-mail address is about to change",
            [
                f"Hello {user.display_name},",
                f"Someone signed in to your account asked to change its e-mail address to "
                f"{new_email}. It changes once a link sent there is followed.",
                "If this was not you, reset your password now from the sign-in page: that "
                "signs every session of your account out.",
            ],
        ),
    )


@handler(RESET_MAIL)
async def _send_reset(context: JobContext, payload: dict[str, Any]) -> None:
    settings = context.resources.settings
    async with await open_session(context.resources) as session:
        user = await session.scalar(select(User).where(User.email == payload["email"]))
        if user is None:
            return  # no account: nothing is sent (the request answered the same anyway)
        token = await issue_token(
            session,
            user,
            purpose=RESET,
            email=user.email,
            requested_at=dt.datetime.fromisoformat(payload["requested_at"]),
            ttl=dt.timedelta(minutes=settings.password_reset_ttl_minutes),
        )
        await session.commit()
    if token is None:
        return  # a newer request made its own link
    minutes = settings.password_reset_ttl_minutes
    await send_now(
        context,
        compose(
            user.email,
            "Reset your password",
            [
                f"Hello {user.display_name},",
                f"Someone asked to reset the password of your Task Manager account. The "
                f"link below works once, for {minutes} minutes.",
            ],
            link=public_link(settings, "/reset-password", token),
            link_label="Choose a new password",
            footer=IGNORE,
        ),
    )


@handler(VERIFY_MAIL)
async def _send_verification(context: JobContext, payload: dict[str, Any]) -> None:
    settings = context.resources.settings
    email = str(payload["email"])
    async with await open_session(context.resources) as session:
        user = await session.get(User, uuid.UUID(payload["user_id"]))
        if user is None or (user.email == email and user.email_verified):
            return  # deleted since, or verified meanwhile
        token = await issue_token(
            session,
            user,
            purpose=VERIFY,
            email=email,
            requested_at=dt.datetime.fromisoformat(payload["requested_at"]),
            ttl=dt.timedelta(hours=settings.email_verification_ttl_hours),
        )
        await session.commit()
    if token is None:
        return
    changing = email != user.email
    await send_now(
        context,
        compose(
            email,
            "Confirm your new e-mail address" if changing else "Confirm your e-mail address",
            [
                f"Hello {user.display_name},",
                "Follow the link below to confirm that this address is yours"
                + (" and make it your account's e-mail." if changing else ".")
                + f" It works once, for {settings.email_verification_ttl_hours} hours.",
            ],
            link=public_link(settings, "/verify-email", token),
            link_label="Confirm this address",
            footer=IGNORE,
        ),
    )
