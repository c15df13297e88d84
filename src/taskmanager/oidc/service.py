"""Sign-in state kept server-side, and who a provider's account is here."""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.auth.models import User
from taskmanager.auth.service import normalize_email
from taskmanager.config import OidcProvider, Settings
from taskmanager.errors import Conflict, NotFound
from taskmanager.oidc.client import OidcFailed
from taskmanager.oidc.models import OidcIdentity

STATE_TTL_SECONDS = 600
STATE_KEY = "oidc_state:{}"
# Never a valid argon2 hash: an account made by sign-in has no password until a reset.
NO_PASSWORD = "!oidc"  # noqa: S105


class UnknownProvider(NotFound):
    code = "unknown_provider"

    def __init__(self) -> None:
        super().__init__("No such sign-in provider.")


class InvalidState(OidcFailed):
    code = "invalid_state"

    def __init__(self) -> None:
        super().__init__("This sign-in was not started here, was used already or timed out.")


class AccountExists(Conflict):
    code = "account_exists"

    def __init__(self) -> None:
        super().__init__(
            "An account with this e-mail exists, and the provider does not vouch for the "
            "address: log in with your password instead."
        )


def provider_named(settings: Settings, name: str) -> OidcProvider:
    for provider in settings.oidc_providers:
        if provider.name == name:
            return provider
    raise UnknownProvider()


async def begin(redis: Redis, provider: OidcProvider) -> tuple[str, str, str]:
    """(state, nonce, PKCE verifier), remembered for STATE_TTL_SECONDS under the state."""
    # The PKCE verifier: 43-128 unreserved characters (RFC 7636 4.1); 64 here.
    state, nonce, verifier = (secrets.token_urlsafe(n) for n in (32, 32, 48))
    await redis.set(
        STATE_KEY.format(state),
        orjson.dumps({"provider": provider.name, "nonce": nonce, "verifier": verifier}),
        ex=STATE_TTL_SECONDS,
    )
    return state, nonce, verifier


async def take_state(redis: Redis, provider: OidcProvider, state: str) -> dict[str, str]:
    """The flow's saved values, once: a replayed callback finds nothing."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.get(STATE_KEY.format(state))
        pipe.delete(STATE_KEY.format(state))
        raw, _ = await pipe.execute()
    if raw is None:
        raise InvalidState()
    saved: dict[str, str] = orjson.loads(raw)
    if saved.get("provider") != provider.name:
        raise InvalidState()
    return saved


async def user_for_claims(
    session: AsyncSession, provider: OidcProvider, claims: dict[str, Any]
) -> User:
    """The user this provider account signs in as: linked before; else the account with
    the e-mail the provider marks verified (then linked); else a new account. An address
    the provider does not vouch for never reaches an existing account."""
    subject = str(claims["sub"])
    linked = await session.scalar(
        select(User)
        .join(OidcIdentity, OidcIdentity.user_id == User.id)
        .where(OidcIdentity.provider == provider.name, OidcIdentity.subject == subject)
    )
    if linked is not None:
        return linked
    raw_email = claims.get("email")
    if not isinstance(raw_email, str) or "@" not in raw_email:
        raise OidcFailed("The provider shared no e-mail address; it is needed for an account.")
    email = normalize_email(raw_email)
    verified = claims.get("email_verified") is True
    user = await session.scalar(select(User).where(User.email == email))
    if user is not None and not verified:
        raise AccountExists()
    if user is None:
        name = claims.get("name") or claims.get("preferred_username") or email.split("@")[0]
        user = User(
            email=email,
            display_name=str(name)[:100],
            password_hash=NO_PASSWORD,
            email_verified=verified,
        )
        session.add(user)
    elif verified:
        user.email_verified = True
    await session.flush()
    session.add(OidcIdentity(provider=provider.name, subject=subject, user_id=user.id))
    await session.flush()
    return user
