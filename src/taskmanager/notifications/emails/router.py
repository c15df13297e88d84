"""HTTP routes of notification e-mail: the settings of the signed-in user, and the one-click
unsubscribe link of every notification mail (authenticated by its signed token alone)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from taskmanager.auth.deps import CurrentUser
from taskmanager.db import SessionDep
from taskmanager.kit.responses import AUTHENTICATED, JSON_BODY, problems
from taskmanager.notifications.emails import pages, preferences
from taskmanager.notifications.emails.schemas import (
    NotificationSettingsRead,
    NotificationSettingsUpdate,
    UnsubscribeRead,
)
from taskmanager.notifications.emails.tokens import UNSUBSCRIBE_PATH
from taskmanager.state import ResourcesDep

router = APIRouter(tags=["notifications"], responses=problems(503))
SETTINGS_PATH = "/auth/me/notification-settings"
TokenQuery = Annotated[str, Query(min_length=1, max_length=200)]
AcceptHeader = Annotated[str | None, Header()]
TOKEN_NOTE = {400: "`invalid_token`: a tampered or unknown unsubscribe link"}
HTML_PAGE = {"text/html": {"example": "<!doctype html><html>...</html>"}}


@router.get(
    SETTINGS_PATH,
    summary="Your notification e-mail settings",
    description="Every kind is listed, with your choice or its default (`commented` off, "
    "every other kind on); `digest: daily` replaces the grouped mails with one summary a day.",
    responses=problems(*AUTHENTICATED),
)
async def get_settings(principal: CurrentUser, db: SessionDep) -> NotificationSettingsRead:
    return await preferences.get_settings(db, user_id=principal.id)


@router.put(
    SETTINGS_PATH,
    summary="Replace your notification e-mail settings",
    description="The body is the whole choice: a kind it leaves out gets its default again, "
    "and a missing `digest` is `off`. An unknown kind or digest value is a 422 at the field.",
    responses=problems(*AUTHENTICATED, *JSON_BODY, 403),
)
async def put_settings(
    body: NotificationSettingsUpdate, principal: CurrentUser, db: SessionDep
) -> NotificationSettingsRead:
    return await preferences.replace_settings(db, user_id=principal.id, body=body)


unsubscribe_path = UNSUBSCRIBE_PATH.removeprefix("/api/v1")


@router.get(
    unsubscribe_path,
    summary="What an unsubscribe link would stop (changes nothing)",
    response_model=UnsubscribeRead,
    description="Mail scanners open links, so a GET only shows what the POST would turn off "
    "(JSON, or a page with a button when a browser asks for HTML).",
    responses={200: {"content": HTML_PAGE}, **problems(400, 422, notes=TOKEN_NOTE)},
)
async def preview_unsubscribe(
    token: TokenQuery, db: SessionDep, resources: ResourcesDep, accept: AcceptHeader = None
) -> UnsubscribeRead | Response:
    target = await preferences.unsubscribe_target(db, key=resources.secret_key, token=token)
    if pages.wants_html(accept):
        return pages.confirm_page(target.kind, token)
    settings = await preferences.get_settings(db, user_id=target.user_id)
    return UnsubscribeRead(kind=target.kind, unsubscribed=False, settings=settings)


@router.post(
    unsubscribe_path,
    status_code=status.HTTP_204_NO_CONTENT,
    summary="One-click unsubscribe (RFC 8058)",
    description="What every notification mail's `List-Unsubscribe` header points to: turns "
    "off the e-mails of the token's kind, or all notification mails and the digest. Needs no "
    "session and no CSRF token (the signed token is the credential); the body, if any, is "
    "ignored (mail clients send `List-Unsubscribe=One-Click` as a form). 204, or a page for "
    "a browser that asks for HTML.",
    responses={
        200: {"content": HTML_PAGE},
        **problems(
            400,
            408,
            409,
            413,
            415,
            422,
            notes=TOKEN_NOTE | {415: "A body that is neither JSON nor a form"},
        ),
    },
    response_class=Response,
)
async def unsubscribe(
    token: TokenQuery, db: SessionDep, resources: ResourcesDep, accept: AcceptHeader = None
) -> Response:
    target = await preferences.unsubscribe_target(db, key=resources.secret_key, token=token)
    await preferences.turn_off(db, user_id=target.user_id, kind=target.kind)
    if pages.wants_html(accept):
        return pages.done_page(target.kind)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
