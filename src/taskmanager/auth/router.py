"""HTTP routes of /api/v1/auth: parse, call the service, set or clear cookies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from taskmanager.auth import service
from taskmanager.auth.deps import (
    CSRF_COOKIE,
    BrowserUser,
    CurrentUser,
    CurrentUserRow,
    LoginThrottleDep,
    SessionStoreDep,
)
from taskmanager.auth.models import User
from taskmanager.auth.schemas import (
    AuthRead,
    LoginRequest,
    PasswordChange,
    SessionRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserRead,
)
from taskmanager.auth.sessions import SessionStore
from taskmanager.db import SessionDep
from taskmanager.errors import NotFound
from taskmanager.kit.responses import JSON_BODY, problems
from taskmanager.middleware.idempotency import withhold_from_replay
from taskmanager.state import SettingsDep

router = APIRouter(prefix="/auth", tags=["auth"], responses=problems(503))
# Credential management with the session cookie: CSRF (403), and a token is refused (403).
SESSION_WRITE = (401, 403)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _start_session(
    request: Request, response: Response, store: SessionStore, settings: SettingsDep, user: User
) -> AuthRead:
    """A brand-new session id (never reuse one across a login) and its cookies."""
    session_id, data = await store.create(
        user.id, user_agent=request.headers.get("user-agent", ""), ip=client_ip(request)
    )
    max_age = settings.session_absolute_timeout_seconds
    response.set_cookie(
        settings.session_cookie_name,
        session_id,
        max_age=max_age,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    response.set_cookie(
        CSRF_COOKIE,
        data.csrf_token,
        max_age=max_age,
        path="/",
        secure=settings.cookie_secure,
        httponly=False,
        samesite="lax",
    )
    request.state.user_id = str(user.id)
    return AuthRead(**UserRead.model_validate(user).model_dump(), csrf_token=data.csrf_token)


def _clear_cookies(response: Response, settings: SettingsDep) -> None:
    for name in (settings.session_cookie_name, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=settings.cookie_secure, samesite="lax")


@router.post(
    "/login",
    responses=problems(
        *JSON_BODY, 401, 409, 429, notes={401: "Invalid e-mail or password (one message for both)"}
    ),
)
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    db: SessionDep,
    store: SessionStoreDep,
    throttle: LoginThrottleDep,
    settings: SettingsDep,
) -> AuthRead:
    user = await service.login(
        db, throttle=throttle, email=body.email, password=body.password, ip=client_ip(request)
    )
    old = request.cookies.get(settings.session_cookie_name)
    if old:  # a login from a browser that still holds a session ends that session
        previous = await store.resolve(old)
        if previous is not None:
            await store.destroy(previous)
    return await _start_session(request, response, store, settings, user)


@router.post(
    "/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 403, 409, 422)
)
async def logout(
    principal: CurrentUser, response: Response, store: SessionStoreDep, settings: SettingsDep
) -> None:
    if principal.session is not None:
        await store.destroy(principal.session)
        _clear_cookies(response, settings)


@router.get("/me", responses=problems(401))
async def me(user: CurrentUserRow) -> UserRead:
    return UserRead.model_validate(user)


@router.patch(
    "/me/password",
    responses=problems(
        *JSON_BODY, *SESSION_WRITE, 429, notes={429: "Too many wrong current passwords"}
    ),
)
async def change_password(
    body: PasswordChange,
    principal: BrowserUser,
    user: CurrentUserRow,
    request: Request,
    response: Response,
    db: SessionDep,
    store: SessionStoreDep,
    throttle: LoginThrottleDep,
    settings: SettingsDep,
) -> AuthRead:
    """Changes the password, ends every session (this one too) and starts a fresh one.

    Wrong current passwords count against the same budget as failed logins (429)."""
    await service.change_password(
        db,
        user,
        throttle=throttle,
        ip=client_ip(request),
        current_password=body.current_password,
        new_password=body.new_password,
    )
    await store.revoke_all(principal.id)
    return await _start_session(request, response, store, settings, user)


@router.get("/sessions", responses=problems(401))
async def list_sessions(principal: CurrentUser, store: SessionStoreDep) -> list[SessionRead]:
    current = principal.session.public_id if principal.session else None
    return [
        SessionRead(
            id=s.public_id,
            created_at=_ts(s.created_at),
            last_used_at=_ts(s.last_used_at),
            expires_at=_ts(s.absolute_expiry),
            user_agent=s.user_agent,
            ip=s.ip,
            current=s.public_id == current,
        )
        for s in await store.list_for_user(principal.id)
    ]


SessionId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Session id from the list")]


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(*SESSION_WRITE, 404, 422),
)
async def revoke_session(
    session_id: SessionId,
    principal: BrowserUser,
    response: Response,
    store: SessionStoreDep,
    settings: SettingsDep,
) -> None:
    if not await store.revoke(principal.id, session_id):
        raise NotFound("No such session.")
    if principal.session is not None and principal.session.public_id == session_id:
        _clear_cookies(response, settings)


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    responses=problems(
        *JSON_BODY,
        *SESSION_WRITE,
        409,
        notes={409: "Idempotency-Key already used: the secret is never replayed"},
    ),
    # The secret is shown once: a retry with the same Idempotency-Key gets a 409, never it.
    dependencies=[Depends(withhold_from_replay)],
)
async def create_token(body: TokenCreate, principal: BrowserUser, db: SessionDep) -> TokenCreated:
    token, secret = await service.create_token(
        db, principal.id, name=body.name, expires_in_days=body.expires_in_days
    )
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=secret)


@router.get("/tokens", responses=problems(401))
async def list_tokens(principal: CurrentUser, db: SessionDep) -> list[TokenRead]:
    return [TokenRead.model_validate(t) for t in await service.list_tokens(db, principal.id)]


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(*SESSION_WRITE, 404, 422),
)
async def revoke_token(token_id: uuid.UUID, principal: BrowserUser, db: SessionDep) -> None:
    await service.revoke_token(db, principal.id, token_id)


def _ts(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)
