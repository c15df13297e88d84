"""Unsubscribe tokens: the user and what to stop, signed with the server secret (no row)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from taskmanager.config import Settings
from taskmanager.errors import BadRequest
from taskmanager.kit.signing import check, tag
from taskmanager.notifications.kinds import NotificationKind

PURPOSE = b"notifications.unsubscribe"
ALL = "all"
UNSUBSCRIBE_PATH = "/api/v1/notifications/unsubscribe"


class InvalidUnsubscribeToken(BadRequest):
    code = "invalid_token"


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    user_id: uuid.UUID
    kind: NotificationKind | None  # None: every notification mail and the digest


def make_token(key: bytes, user_id: uuid.UUID, kind: NotificationKind | None) -> str:
    """`<user id hex>.<kind or all>.<tag>`: it never expires (a mail may be read late),
    and only proves what the mail was sent for; it signs no one in."""
    body = f"{user_id.hex}.{kind.value if kind is not None else ALL}"
    return f"{body}.{tag(key, PURPOSE, body.encode())}"


def read_token(key: bytes, token: str) -> Unsubscribe:
    user_hex, _, rest = token.partition(".")
    scope, _, given = rest.partition(".")
    body = f"{user_hex}.{scope}"
    if not key or not given or not check(key, PURPOSE, body.encode(), given):
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.")
    try:
        user_id = uuid.UUID(hex=user_hex)
        kind = None if scope == ALL else NotificationKind(scope)
    except ValueError:  # signed by us, so only a kind since removed gets here
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.") from None
    return Unsubscribe(user_id=user_id, kind=kind)


def unsubscribe_url(
    settings: Settings, key: bytes, user_id: uuid.UUID, kind: NotificationKind | None
) -> str:
    """From PUBLIC_BASE_URL, like every link in a mail. A query parameter, not a fragment:
    a mail client's one-click POST (RFC 8058) sends the URL as it is and nothing else."""
    query = urlencode({"token": make_token(key, user_id, kind)})
    return f"{settings.public_base_url}{UNSUBSCRIBE_PATH}?{query}"
