"""The relying party: discovery, the authorization URL, the code exchange (Authlib) and
the ID token check (joserfc, Authlib's JOSE library) against the provider's JWKS."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from taskmanager.config import OidcProvider, Settings
from taskmanager.errors import BadRequest

with warnings.catch_warnings():
    # Authlib 1.9 would rather drive "httpx2" and says so on import; httpx is what this
    # project ships (and what Authlib falls back to), so the notice is noise here.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

DISCOVERY_TTL_SECONDS = 3600.0
TIMEOUT_SECONDS = 10.0
# Asymmetric algorithms only: an HS256 token would be "signed" with the client secret.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


class OidcFailed(BadRequest):
    code = "oidc_failed"


@dataclass
class _Cached:
    metadata: dict[str, Any]
    keys: KeySet | None = None
    fetched_at: float = field(default_factory=time.monotonic)


_cache: dict[str, _Cached] = {}


def redirect_uri(settings: Settings, provider: OidcProvider) -> str:
    return f"{settings.public_base_url}/api/v1/auth/oidc/{provider.name}/callback"


def _client(settings: Settings, provider: OidcProvider) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret.get_secret_value(),
        scope=" ".join(provider.scopes),
        redirect_uri=redirect_uri(settings, provider),
        code_challenge_method="S256",
        timeout=TIMEOUT_SECONDS,
    )


async def metadata(provider: OidcProvider) -> dict[str, Any]:
    """The provider's discovery document (cached for an hour)."""
    cached = _cache.get(provider.name)
    if cached is not None and time.monotonic() - cached.fetched_at < DISCOVERY_TTL_SECONDS:
        return cached.metadata
    url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
        response = await http.get(url)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    if document.get("issuer") != provider.issuer:
        raise OidcFailed("The provider's discovery document names another issuer.")
    _cache[provider.name] = _Cached(metadata=document)
    return document


async def _keys(provider: OidcProvider, *, refresh: bool = False) -> KeySet:
    cached = _cache[provider.name]
    if cached.keys is None or refresh:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
            response = await http.get(cached.metadata["jwks_uri"])
        response.raise_for_status()
        cached.keys = KeySet.import_key_set(response.json())
    return cached.keys


async def authorization_url(
    settings: Settings, provider: OidcProvider, *, state: str, nonce: str, verifier: str
) -> str:
    document = await metadata(provider)
    async with _client(settings, provider) as client:
        url, _ = client.create_authorization_url(
            document["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
    return str(url)


async def sign_in_claims(
    settings: Settings, provider: OidcProvider, *, code: str, verifier: str, nonce: str
) -> dict[str, Any]:
    """Exchange the code and return the verified ID token's claims (plus userinfo's)."""
    document = await metadata(provider)
    async with _client(settings, provider) as client:
        try:
            token = await client.fetch_token(
                document["token_endpoint"], code=code, code_verifier=verifier
            )
        except Exception as exc:  # the provider refused the code: a client-side problem
            raise OidcFailed("The provider refused the sign-in code.") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcFailed("The provider sent no ID token.")
        claims = await verify_id_token(provider, id_token, nonce=nonce)
        if "email" not in claims and document.get("userinfo_endpoint"):
            response = await client.get(document["userinfo_endpoint"])
            info: dict[str, Any] = response.json() if response.is_success else {}
            if info.get("sub") == claims["sub"]:  # OIDC Core 5.3.2: else it is not theirs
                claims = {**info, **claims}
    return claims


async def verify_id_token(provider: OidcProvider, id_token: str, *, nonce: str) -> dict[str, Any]:
    """Signature by a key of the provider's JWKS, then iss, aud, exp (and iat, nbf), nonce."""
    try:
        decoded = await _decode(provider, id_token)
    except JoseError as exc:
        raise OidcFailed("The ID token's signature does not verify.") from exc
    registry = jwt.JWTClaimsRegistry(
        leeway=60,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": provider.client_id},
        exp={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(decoded.claims)
    except JoseError as exc:
        raise OidcFailed(f"The ID token is not valid here: {exc.description or exc}.") from exc
    claims: dict[str, Any] = dict(decoded.claims)
    return claims


async def _decode(provider: OidcProvider, id_token: str) -> jwt.Token:
    keys = await _keys(provider)
    try:
        return jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except JoseError:
        # Perhaps the provider rotated its keys since we fetched them: once more, fresh.
        return jwt.decode(id_token, await _keys(provider, refresh=True), algorithms=ALGORITHMS)
