"""HTTP routes of OpenID Connect sign-in: providers, login (redirect), callback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict

from taskmanager.auth.deps import SessionStoreDep
from taskmanager.auth.router import _start_session
from taskmanager.db import WriteSessionDep
from taskmanager.kit.examples import examples
from taskmanager.kit.responses import problems
from taskmanager.oidc import client, service
from taskmanager.oidc.service import InvalidState
from taskmanager.state import RedisDep, SettingsDep

router = APIRouter(prefix="/auth", tags=["auth"], responses=problems(503))
STATE_COOKIE = "oidc_state"
STATE_COOKIE_PATH = "/api/v1/auth/oidc/"


class ProviderRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=examples({"name": "corp", "display_name": "Corp account"})
    )

    name: str
    display_name: str


@router.get("/providers", summary="Sign-in providers (OpenID Connect) configured here")
async def providers(settings: SettingsDep) -> list[ProviderRead]:
    return [ProviderRead(name=p.name, display_name=p.display_name) for p in settings.oidc_providers]


@router.get(
    "/oidc/{name}/login",
    status_code=302,
    response_class=RedirectResponse,
    summary="Start signing in with a provider (302 to it)",
    description="Code flow with PKCE (S256), state and nonce; the state is also bound to "
    "this browser by a short-lived cookie.",
    responses=problems(404, 422, notes={404: "No such provider"}),
)
async def login(name: str, redis: RedisDep, settings: SettingsDep) -> RedirectResponse:
    provider = service.provider_named(settings, name)
    state, nonce, verifier = await service.begin(redis, provider)
    url = await client.authorization_url(
        settings, provider, state=state, nonce=nonce, verifier=verifier
    )
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=service.STATE_TTL_SECONDS,
        path=STATE_COOKIE_PATH,
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get(
    "/oidc/{name}/callback",
    status_code=302,
    response_class=RedirectResponse,
    summary="Where the provider sends the browser back (302 to /, signed in)",
    description="Checks the state (and its cookie), exchanges the code with the PKCE "
    "verifier, verifies the ID token (signature on the provider's JWKS, iss, aud, exp, "
    "nonce). Any failure is a 400 and no session; 409 `account_exists` when the provider's "
    "e-mail is unverified and belongs to an existing account.",
    responses=problems(400, 404, 409, 422),
)
async def callback(
    name: str,
    request: Request,
    db: WriteSessionDep,
    redis: RedisDep,
    store: SessionStoreDep,
    settings: SettingsDep,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=2000)] = "",
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> RedirectResponse:
    provider = service.provider_named(settings, name)
    if not state or request.cookies.get(STATE_COOKIE) != state:
        raise InvalidState()  # not started in this browser: a login CSRF attempt
    saved = await service.take_state(redis, provider, state)
    if error is not None or not code:
        raise client.OidcFailed(f"The provider did not sign you in ({error or 'no code'}).")
    claims = await client.sign_in_claims(
        settings, provider, code=code, verifier=saved["verifier"], nonce=saved["nonce"]
    )
    user = await service.user_for_claims(db, provider, claims)
    response = RedirectResponse("/", status_code=302)
    await _start_session(request, response, store, settings, user)
    response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH)
    return response
