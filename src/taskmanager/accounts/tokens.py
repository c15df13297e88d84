"""One-time link tokens: 256 random bits, stored only as their SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.accounts.models import EmailToken
from taskmanager.auth.models import User
from taskmanager.db import utcnow
from taskmanager.errors import BadRequest

MAX_TOKEN_LENGTH = 200


class InvalidToken(BadRequest):
    code = "invalid_token"

    def __init__(self) -> None:
        super().__init__("This link is invalid, was already used or has expired.")


def new_token() -> tuple[str, str]:
    """(the token for the link, the hash to store)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(
    session: AsyncSession,
    user: User,
    *,
    purpose: str,
    email: str,
    requested_at: dt.datetime,
    ttl: dt.timedelta,
) -> str | None:
    """A new link token; None when a newer request for the same purpose already made one.

    The newest request wins: older unused tokens of this purpose are deleted, and the
    token is dated by its request, so jobs that run out of order still leave the newest
    request's token as the only valid one. The user row is locked first so two such jobs
    for one user take turns.
    """
    await session.execute(select(User.id).where(User.id == user.id).with_for_update(key_share=True))
    same = (EmailToken.user_id == user.id) & (EmailToken.purpose == purpose)
    newer = await session.scalar(
        select(EmailToken.id).where(same, EmailToken.created_at > requested_at).limit(1)
    )
    if newer is not None:
        return None
    await session.execute(delete(EmailToken).where(same, EmailToken.used_at.is_(None)))
    token, digest = new_token()
    session.add(
        EmailToken(
            user_id=user.id,
            purpose=purpose,
            email=email,
            token_hash=digest,
            created_at=requested_at,
            expires_at=utcnow() + ttl,
        )
    )
    await session.flush()
    return token
