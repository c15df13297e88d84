"""Accounts, credentials and API tokens: the auth rules, free of HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.auth.models import ApiToken, User
from taskmanager.auth.passwords import hash_password, is_common, verify_password
from taskmanager.auth.revocation import announce_token_revocation
from taskmanager.auth.throttle import LoginThrottle
from taskmanager.auth.token_use import mark_token_used
from taskmanager.db import utcnow
from taskmanager.errors import Conflict, InvalidCredentials, NotFound, ValidationFailed

TOKEN_PREFIX = "tm_"  # noqa: S105 - a public marker, not a secret
# Writing last_used_at on every request would turn each read into a write; a minute's
# resolution is plenty to answer "is this token still in use?".
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class EmailTaken(Conflict):
    code = "email_taken"


class WeakPassword(ValidationFailed):
    code = "weak_password"


class TokenNotFound(NotFound):
    code = "token_not_found"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _check_password_strength(password: str, *, field: str, email: str) -> None:
    local_part = email.split("@", 1)[0]
    if is_common(password) or password.lower() in {email, local_part}:
        raise WeakPassword(
            f"{field}: this password is too common or too easy to guess",
            errors=[
                {"loc": ["body", field], "msg": "This password is too common or too easy to guess"}
            ],
        )


async def register(session: AsyncSession, *, email: str, password: str, display_name: str) -> User:
    email = normalize_email(email)
    _check_password_strength(password, field="password", email=email)
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken("An account with this e-mail address already exists.")
    user = User(email=email, display_name=display_name, password_hash=await hash_password(password))
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise EmailTaken("An account with this e-mail address already exists.") from exc
    return user


async def login(
    session: AsyncSession, *, throttle: LoginThrottle, email: str, password: str, ip: str
) -> User:
    """The user for these credentials; one message for unknown e-mail and wrong password."""
    email = normalize_email(email)
    await throttle.check(email, ip)
    user = await session.scalar(select(User).where(User.email == email))
    # Always run argon2 (against a dummy hash for unknown accounts) so timing reveals nothing.
    ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not ok:
        await throttle.record_failure(email, ip)
        raise InvalidCredentials("Invalid e-mail or password.")
    await throttle.record_success(email, ip)
    return user


async def change_password(
    session: AsyncSession,
    user: User,
    *,
    throttle: LoginThrottle,
    ip: str,
    current_password: str,
    new_password: str,
) -> None:
    # A stolen session must not become an unthrottled password oracle.
    await throttle.check(user.email, ip)
    if not await verify_password(user.password_hash, current_password):
        await throttle.record_failure(user.email, ip)
        raise ValidationFailed.field(["body", "current_password"], "Current password is wrong")
    await throttle.record_success(user.email, ip)
    _check_password_strength(new_password, field="new_password", email=user.email)
    user.password_hash = await hash_password(new_password)
    user.password_changed_at = utcnow()
    await session.flush()


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_token(
    session: AsyncSession, user_id: uuid.UUID, *, name: str, expires_in_days: int | None
) -> tuple[ApiToken, str]:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user_id,
        name=name,
        token_hash=_hash_token(secret),
        prefix=secret[:8],
        created_at=now,
        expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def list_tokens(session: AsyncSession, user_id: uuid.UUID) -> list[ApiToken]:
    rows = await session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at)
    )
    return list(rows)


async def revoke_token(session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID) -> None:
    token = await session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise TokenNotFound("No such token.")
    await session.delete(token)
    await session.flush()
    announce_token_revocation(session, token_id)  # live connections using it close at once


async def user_for_token(session: AsyncSession, secret: str) -> tuple[User, ApiToken] | None:
    """The owner of a live token, marking it used; None for unknown, revoked or expired."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 128:
        return None
    row = (
        await session.execute(
            select(User, ApiToken)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == _hash_token(secret))
        )
    ).first()
    if row is None:
        return None
    user, token = row
    now = utcnow()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        mark_token_used(session, token, now)
    return user, token


async def live_token_ids(session: AsyncSession, token_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these tokens still exist and have not expired, in one statement."""
    if not token_ids:
        return set()
    live = await session.scalars(
        select(ApiToken.id).where(
            ApiToken.id.in_(list(token_ids)),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()),
        )
    )
    return set(live)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)
