"""Who is calling: session cookie or Bearer token, with the CSRF rule for cookie writes."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.types import Scope

from taskmanager.auth import service
from taskmanager.auth.models import User
from taskmanager.auth.sessions import SessionData, SessionStore
from taskmanager.auth.throttle import LoginThrottle, RegistrationThrottle
from taskmanager.db import UNSAFE_METHODS, SessionDep
from taskmanager.errors import CsrfFailed, Forbidden, NotAuthenticated
from taskmanager.state import Resources, ResourcesDep

CSRF_HEADER = "x-csrf-token"
CSRF_COOKIE = "csrf_token"


@dataclass(slots=True)
class Principal:
    """The authenticated caller (the user's id) and how they proved it.

    A session resolves from Redis alone: no request reads the users row just to learn who is
    calling. The routes that show or change the row itself read it through `CurrentUserRow`.
    """

    id: uuid.UUID
    session: SessionData | None = None
    token_id: uuid.UUID | None = None


def get_session_store(resources: ResourcesDep) -> SessionStore:
    return SessionStore(
        resources.redis,
        idle_timeout=resources.settings.session_idle_timeout_seconds,
        absolute_timeout=resources.settings.session_absolute_timeout_seconds,
    )


# Dependencies are `async def` so FastAPI calls them inline, not through its thread pool.
async def _session_store_dep(resources: ResourcesDep) -> SessionStore:
    return get_session_store(resources)


async def get_login_throttle(resources: ResourcesDep) -> LoginThrottle:
    return LoginThrottle(resources.redis, resources.settings)


async def get_registration_throttle(resources: ResourcesDep) -> RegistrationThrottle:
    return RegistrationThrottle(resources.redis, resources.settings)


SessionStoreDep = Annotated[SessionStore, Depends(_session_store_dep)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
RegistrationThrottleDep = Annotated[RegistrationThrottle, Depends(get_registration_throttle)]


def parse_bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, None when there is no header.

    The one parser for every entry point (HTTP, WebSocket, /metrics); any other scheme or an
    empty token is a NotAuthenticated, never silently "no credentials".
    """
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated("Malformed Authorization header; expected 'Bearer <token>'.")
    return value.strip()


async def get_principal(
    request: Request, db: SessionDep, store: SessionStoreDep, resources: ResourcesDep
) -> Principal:
    principal = await _authenticate(request, db, store, resources.settings.session_cookie_name)
    request.state.user_id = str(principal.id)
    return principal


async def _authenticate(
    request: Request, db: SessionDep, store: SessionStore, cookie_name: str
) -> Principal:
    secret = parse_bearer(request.headers.get("authorization"))
    if secret is not None:
        found = await service.user_for_token(db, secret)
        if found is None:
            raise NotAuthenticated("Invalid, expired or revoked token.")
        user, token = found
        return Principal(id=user.id, token_id=token.id)
    session_id = request.cookies.get(cookie_name)
    if not session_id:
        raise NotAuthenticated("Log in or send 'Authorization: Bearer <token>'.")
    # Redis errors propagate: with the session store down we fail closed (503), never open.
    data = await store.resolve(session_id)
    if data is None:
        raise NotAuthenticated("Session expired or ended; log in again.")
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        # Constant-time comparison: the token is a secret the attacker is guessing.
        if not sent or not hmac.compare_digest(sent.encode(), data.csrf_token.encode()):
            raise CsrfFailed("Missing or wrong X-CSRF-Token header.")
    return Principal(id=data.user_id, session=data)


async def _authenticate_briefly(request: Request, resources: Resources) -> Principal:
    """`_authenticate` in a short transaction of its own, closed before it returns."""
    async with resources.session_factory() as db:
        if resources.settings.is_sqlite:  # a token's last_used_at write: take the lock first
            await db.connection(execution_options={"sqlite_immediate": True})
        principal = await _authenticate(
            request, db, get_session_store(resources), resources.settings.session_cookie_name
        )
        await db.commit()
    return principal


async def authenticate_scope(scope: Scope) -> str:
    """The user id of a request that has not been routed yet (an idempotent replay), proven
    exactly as `get_principal` would: live session plus CSRF for writes, or a live token."""
    request = Request(scope)
    principal = await _authenticate_briefly(request, request.state.resources)
    return str(principal.id)


async def get_streaming_principal(request: Request, resources: ResourcesDep) -> Principal:
    """`get_principal` for a route that reads a large body itself (an upload): no session is
    kept open, so no pooled connection (nor SQLite's write lock) waits on a slow client."""
    principal = await _authenticate_briefly(request, resources)
    request.state.user_id = str(principal.id)
    return principal


async def require_browser_session(
    principal: Annotated[Principal, Depends(get_principal)],
) -> Principal:
    """Credential management needs a logged-in session: a token cannot mint or widen access."""
    if principal.session is None:
        raise Forbidden("This action needs a logged-in session, not an API token.")
    return principal


async def get_user_row(
    principal: Annotated[Principal, Depends(get_principal)],
    db: SessionDep,
    store: SessionStoreDep,
) -> User:
    """The caller's users row, read fresh, for the routes that return or change it.

    Users are never deleted through the API; should a row vanish anyway, its session ends
    here (a request of any other route finds no membership and so nothing to act on).
    """
    user = await service.get_user(db, principal.id)
    if user is None:
        if principal.session is not None:
            await store.destroy(principal.session)
        raise NotAuthenticated("Session expired or ended; log in again.")
    return user


CurrentUser = Annotated[Principal, Depends(get_principal)]
BrowserUser = Annotated[Principal, Depends(require_browser_session)]
CurrentUserRow = Annotated[User, Depends(get_user_row)]
StreamingUser = Annotated[Principal, Depends(get_streaming_principal)]
