"""Reading and replacing a user's notification e-mail settings, defaults filled in."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.auth.models import User
from taskmanager.notifications.emails.models import NotificationSettings
from taskmanager.notifications.emails.schemas import (
    DIGEST_OFF,
    NotificationSettingsRead,
    NotificationSettingsUpdate,
)
from taskmanager.notifications.emails.tokens import (
    InvalidUnsubscribeToken,
    Unsubscribe,
    read_token,
)
from taskmanager.notifications.kinds import NotificationKind

# Mailed unless the user turns them off: what is addressed to you or needs you soon.
# Comments are chatty (every comment on every task you watch), so they are opt-in.
DEFAULT_EMAIL: dict[NotificationKind, bool] = {
    kind: kind is not NotificationKind.COMMENTED for kind in NotificationKind
}


def email_choices(stored: Mapping[str, bool] | None) -> dict[NotificationKind, bool]:
    """Every kind with the user's choice, or its default where they made none."""
    stored = stored or {}
    return {kind: bool(stored.get(kind.value, default)) for kind, default in DEFAULT_EMAIL.items()}


def to_read(row: NotificationSettings | None) -> NotificationSettingsRead:
    if row is None:
        return NotificationSettingsRead(email=email_choices(None), digest=DIGEST_OFF)
    return NotificationSettingsRead(email=email_choices(row.email), digest=row.digest)


async def get_settings(session: AsyncSession, *, user_id: uuid.UUID) -> NotificationSettingsRead:
    return to_read(await session.get(NotificationSettings, user_id))


async def replace_settings(
    session: AsyncSession, *, user_id: uuid.UUID, body: NotificationSettingsUpdate
) -> NotificationSettingsRead:
    """PUT semantics: the body is the whole choice; a kind it leaves out has its default."""
    email = {kind.value: enabled for kind, enabled in body.email.items()}
    row = await session.get(NotificationSettings, user_id)
    if row is None:
        row = NotificationSettings(user_id=user_id, email=email, digest=body.digest)
        session.add(row)
    else:
        row.email, row.digest = email, body.digest
    await session.flush()
    return to_read(row)


async def turn_off(
    session: AsyncSession, *, user_id: uuid.UUID, kind: NotificationKind | None
) -> NotificationSettingsRead:
    """One kind's mails off, or (kind None) every notification mail and the digest."""
    row = await session.get(NotificationSettings, user_id, with_for_update=True)
    if row is None:
        row = NotificationSettings(user_id=user_id, email={}, digest=DIGEST_OFF)
        session.add(row)
    email = dict(row.email)
    for each in NotificationKind if kind is None else (kind,):
        email[each.value] = False
    row.email = email  # a new dict: the JSON column sees the change
    if kind is None:
        row.digest = DIGEST_OFF
    await session.flush()
    return to_read(row)


async def unsubscribe_target(session: AsyncSession, *, key: bytes, token: str) -> Unsubscribe:
    """Whose mails and which a token stops; a bad token, or one of a deleted user, is a 400."""
    target = read_token(key, token)
    if await session.get(User, target.user_id) is None:
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.")
    return target
