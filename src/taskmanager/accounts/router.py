"""HTTP routes of account self-service under /api/v1/auth: register (which mails the first
verification link), reset, verify, profile, delete."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Body, Request, Response, status
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.accounts import service
from taskmanager.accounts.schemas import (
    Accepted,
    AccountDelete,
    EmailChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    ProfileUpdate,
    TokenBody,
)
from taskmanager.accounts.throttle import MailThrottle
from taskmanager.auth import service as auth_service
from taskmanager.auth.deps import (
    BrowserUser,
    CurrentUserRow,
    LoginThrottleDep,
    RegistrationThrottleDep,
    SessionStoreDep,
)
from taskmanager.auth.router import _clear_cookies, _start_session, client_ip
from taskmanager.auth.schemas import AuthRead, UserCreate, UserRead
from taskmanager.auth.sessions import SessionStore
from taskmanager.config import Settings
from taskmanager.db import SessionDep
from taskmanager.kit.responses import JSON_BODY, problems
from taskmanager.state import RedisDep, SettingsDep
from taskmanager.uow import UnitOfWork

router = APIRouter(prefix="/auth", tags=["auth"], responses=problems(503))
TOKEN_NOTE = {400: "Malformed JSON, or `invalid_token`: a bad, used or expired link"}
REAUTH_NOTE = (
    " The password is checked like a login: wrong ones count towards the login throttle"
    " (429 with Retry-After), and a wrong one is a 422 at `password`."
)


def _end_sessions_after_commit(db: AsyncSession, store: SessionStore, user_id: uuid.UUID) -> None:
    """Every session of the user ends once the change is committed (not if it fails)."""

    async def end_sessions() -> None:
        await store.revoke_all(user_id)

    UnitOfWork.of(db).call_after_commit(end_sessions)


async def _throttle(
    redis: Redis, settings: Settings, request: Request, *, scope: str, key: str
) -> None:
    """Mail-sending requests: limited per address (or user) and per client, hourly."""
    await MailThrottle(redis, scope=scope).hit(
        [
            (key, settings.password_reset_max_per_email_per_hour),
            (f"ip:{client_ip(request)}", settings.password_reset_max_per_ip_per_hour),
        ]
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses=problems(
        *JSON_BODY,
        409,
        429,
        notes={409: "E-mail already registered", 429: "Too many registrations from this address"},
    ),
    description="A link to confirm the address is mailed (see POST /auth/verify-email).",
)
async def register(
    body: UserCreate,
    request: Request,
    response: Response,
    db: SessionDep,
    store: SessionStoreDep,
    throttle: RegistrationThrottleDep,
    settings: SettingsDep,
) -> AuthRead:
    await throttle.hit(client_ip(request))
    user = await auth_service.register(
        db, email=body.email, password=body.password, display_name=body.display_name
    )
    await service.request_verification(db, user, email=user.email)  # mailed after the commit
    return await _start_session(request, response, store, settings, user)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail a password reset link",
    description="Always 202 `{}`, with the same timing whether or not an account has this "
    "e-mail; if one does, a link to `/reset-password#token=...` (valid once, for "
    "PASSWORD_RESET_TTL_MINUTES) is mailed, and it voids any earlier link. Throttled per "
    "e-mail address and per client (429).",
    responses=problems(*JSON_BODY, 409, 429),
)
async def request_password_reset(
    body: PasswordResetRequest,
    request: Request,
    db: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> Accepted:
    await _throttle(redis, settings, request, scope="reset", key=f"email:{body.email.lower()}")
    await service.request_password_reset(db, email=body.email)
    return Accepted()


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with a reset link's token",
    description="Every session of the account ends (no one is logged in by this) and a "
    "notice is mailed. A bad, used or expired token is a 400 with code `invalid_token`; a "
    "too weak password is a 422 and leaves the token usable.",
    responses=problems(*JSON_BODY, 409, notes=TOKEN_NOTE),
)
async def confirm_password_reset(
    body: PasswordResetConfirm, db: SessionDep, store: SessionStoreDep
) -> None:
    user = await service.confirm_password_reset(
        db, token=body.token, new_password=body.new_password
    )
    _end_sessions_after_commit(db, store, user.id)


@router.post(
    "/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Confirm an e-mail address with a verification link's token",
    description="Marks the address verified, or, for a link sent by an e-mail change, "
    "makes the new address the account's e-mail (409 `email_taken` if another account got "
    "it meanwhile). Needs no session: the link may be opened on another device.",
    responses=problems(*JSON_BODY, 409, notes=TOKEN_NOTE),
)
async def verify_email(body: TokenBody, db: SessionDep) -> None:
    await service.verify_email(db, token=body.token)


@router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail a new verification link to my e-mail",
    description="202 `{}`; nothing is sent when the address is verified already. "
    "Throttled like password reset requests (429).",
    responses=problems(401, 403, 409, 429),
)
async def resend_verification(
    user: CurrentUserRow,
    request: Request,
    db: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> Accepted:
    await _throttle(redis, settings, request, scope="verify", key=f"user:{user.id}")
    if not user.email_verified:
        await service.request_verification(db, user, email=user.email)
    return Accepted()


@router.patch("/me", summary="Change my display name", responses=problems(*JSON_BODY, 401, 403))
async def update_profile(body: ProfileUpdate, user: CurrentUserRow, db: SessionDep) -> UserRead:
    user = await service.update_profile(db, user, display_name=body.display_name)
    return UserRead.model_validate(user)


@router.post(
    "/me/email",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Change my e-mail address (after confirming the new one)",
    description="A verification link goes to the new address and a notice to the current "
    "one; the e-mail changes when the link is followed (POST /auth/verify-email). 409 "
    "`email_taken` when another account has the new address." + REAUTH_NOTE,
    responses=problems(*JSON_BODY, 401, 403, 409, 429),
)
async def change_email(
    body: EmailChange,
    principal: BrowserUser,
    user: CurrentUserRow,
    request: Request,
    db: SessionDep,
    throttle: LoginThrottleDep,
) -> Accepted:
    await service.change_email(
        db,
        user,
        new_email=body.new_email,
        password=body.password,
        throttle=throttle,
        ip=client_ip(request),
    )
    return Accepted()


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete my account",
    description="409 `owns_projects` while you own a project (transfer or delete it first). "
    "Your comments stay, with `author_id: null`; tasks assigned to you are unassigned (a "
    "`task.updated` event each) and each project gets `member.removed`. Every session "
    "ends." + REAUTH_NOTE,
    responses=problems(*JSON_BODY, 401, 403, 409, 429),
)
async def delete_account(
    principal: BrowserUser,
    user: CurrentUserRow,
    request: Request,
    response: Response,
    db: SessionDep,
    store: SessionStoreDep,
    throttle: LoginThrottleDep,
    settings: SettingsDep,
    body: AccountDelete = Body(),
) -> None:
    user_id = principal.id
    await service.delete_account(
        db, user, password=body.password, throttle=throttle, ip=client_ip(request)
    )
    _end_sessions_after_commit(db, store, user_id)
    _clear_cookies(response, settings)
