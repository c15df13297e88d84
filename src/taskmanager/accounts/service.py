"""Account rules: reset and verification links, e-mail change, profile, deletion."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.accounts import mails
from taskmanager.accounts.models import RESET, VERIFY, EmailToken
from taskmanager.accounts.tokens import InvalidToken, hash_token
from taskmanager.auth.models import User
from taskmanager.auth.passwords import hash_password, verify_password
from taskmanager.auth.service import EmailTaken, _check_password_strength, normalize_email
from taskmanager.auth.throttle import LoginThrottle
from taskmanager.db import utcnow
from taskmanager.errors import Conflict, ValidationFailed
from taskmanager.events.service import append_event
from taskmanager.jobs.queue import enqueue
from taskmanager.kit.cascade import Deleting, deleting
from taskmanager.membership.access import Role
from taskmanager.membership.models import Membership
from taskmanager.tasks.service import unassign_member


class OwnsProjects(Conflict):
    code = "owns_projects"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"You own {count} project(s): transfer or delete them before deleting your account."
        )


# --- links: requested in a request, made and mailed by a job --------------------------


async def request_password_reset(session: AsyncSession, *, email: str) -> None:
    """Queue the reset mail. The same work for every address, known or not: the job finds
    out whether there is an account, so the answer and its timing reveal nothing."""
    await enqueue(
        session,
        mails.RESET_MAIL,
        {"email": normalize_email(email), "requested_at": utcnow().isoformat()},
    )


async def request_verification(session: AsyncSession, user: User, *, email: str) -> None:
    """Queue a verification link to `email` (the user's own, or a new one to switch to)."""
    await enqueue(
        session,
        mails.VERIFY_MAIL,
        {"user_id": str(user.id), "email": email, "requested_at": utcnow().isoformat()},
    )


async def _redeem(session: AsyncSession, token: str, *, purpose: str) -> tuple[EmailToken, User]:
    """The live token and its user, marked used; InvalidToken for anything else."""
    row = (
        await session.execute(
            select(EmailToken, User)
            .join(User, User.id == EmailToken.user_id)
            .where(EmailToken.token_hash == hash_token(token), EmailToken.purpose == purpose)
            .with_for_update(of=EmailToken)
        )
    ).first()
    if row is None:
        raise InvalidToken()
    found, user = row
    if found.used_at is not None or found.expires_at <= utcnow():
        raise InvalidToken()
    if purpose == RESET and found.email != user.email:
        raise InvalidToken()  # the account's e-mail changed since the link was mailed
    return found, user


async def confirm_password_reset(session: AsyncSession, *, token: str, new_password: str) -> User:
    found, user = await _redeem(session, token, purpose=RESET)
    # Checked before the token is spent: a rejected password leaves the link usable.
    _check_password_strength(new_password, field="new_password", email=user.email)
    now = utcnow()
    found.used_at = now
    user.password_hash = await hash_password(new_password)
    user.password_changed_at = now
    user.email_verified = True  # the link reached this address: it is the user's
    await session.flush()
    await mails.queue_password_changed(session, user)
    return user


async def verify_email(session: AsyncSession, *, token: str) -> User:
    found, user = await _redeem(session, token, purpose=VERIFY)
    if found.email != user.email:  # an e-mail change: the new address is now proven
        taken = await session.scalar(
            select(User.id).where(User.email == found.email, User.id != user.id)
        )
        if taken is not None:
            raise EmailTaken("An account with this e-mail address already exists.")
        user.email = found.email
    user.email_verified = True
    found.used_at = utcnow()
    await session.flush()
    return user


# --- profile --------------------------------------------------------------------------


async def check_password(
    user: User, password: str, *, throttle: LoginThrottle, ip: str, field: str = "password"
) -> None:
    """For actions that need the password again: throttled exactly like login."""
    await throttle.check(user.email, ip)
    if not await verify_password(user.password_hash, password):
        await throttle.record_failure(user.email, ip)
        raise ValidationFailed.field(["body", field], "The password is wrong")
    await throttle.record_success(user.email, ip)


async def update_profile(session: AsyncSession, user: User, *, display_name: str) -> User:
    user.display_name = display_name
    await session.flush()
    return user


async def change_email(
    session: AsyncSession,
    user: User,
    *,
    new_email: str,
    password: str,
    throttle: LoginThrottle,
    ip: str,
) -> None:
    """Mails a link to the new address (the change happens when it is followed) and a
    notice to the current one, so a hijacked session cannot quietly take the account."""
    await check_password(user, password, throttle=throttle, ip=ip)
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise ValidationFailed.field(["body", "new_email"], "This is already your e-mail")
    if await session.scalar(select(User.id).where(User.email == new_email)) is not None:
        raise EmailTaken("An account with this e-mail address already exists.")
    await request_verification(session, user, email=new_email)
    await mails.queue_email_change_notice(session, user, new_email=new_email)


async def delete_account(
    session: AsyncSession, user: User, *, password: str, throttle: LoginThrottle, ip: str
) -> None:
    """Deletes the user: memberships and tokens go with it, comments stay without an
    author (the foreign key sets it null), tasks assigned to them are unassigned with a
    task.updated event each, and each project gets member.removed."""
    await check_password(user, password, throttle=throttle, ip=ip)
    memberships = list(
        (
            await session.scalars(
                select(Membership)
                .where(Membership.user_id == user.id)
                .order_by(Membership.project_id)  # one lock order: no deadlocks
            )
        ).all()
    )
    owned = sum(1 for m in memberships if m.role == Role.owner)
    if owned:
        raise OwnsProjects(owned)
    await deleting(session, Deleting(kind="user", ids=[user.id], actor_id=user.id))
    for membership in memberships:
        await unassign_member(
            session, project_id=membership.project_id, member_id=user.id, actor_id=user.id
        )
        await append_event(
            session,
            project_id=membership.project_id,
            name="member.removed",
            actor_id=user.id,
            data={"user_id": str(user.id)},
        )
    await session.delete(user)
    await session.flush()
