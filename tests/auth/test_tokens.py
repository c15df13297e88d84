"""Personal API tokens: shown once, hashed at rest, expiry, last use, revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from sqlalchemy import select

from taskmanager.auth.models import ApiToken
from tests.helpers import ApiClient, assert_problem, expire_token
from tests.server import RunningServer


async def _bearer(server: RunningServer, token: str) -> ApiClient:
    return ApiClient(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"})


async def test_token_lifecycle(client: ApiClient, server: RunningServer) -> None:
    await client.register()
    created = await client.post("/api/v1/auth/tokens", json={"name": "ci", "expires_in_days": 30})
    assert created.status_code == 201
    body = created.json()
    secret = body["token"]
    assert secret.startswith("tm_") and len(secret) > 40
    assert body["last_used_at"] is None
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(days=29) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)

    listed = (await client.get("/api/v1/auth/tokens")).json()
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0]
    assert secret not in (await client.get("/api/v1/auth/tokens")).text

    async with server.resources.session_factory() as db:
        stored = await db.scalar(select(ApiToken).where(ApiToken.id == uuid.UUID(body["id"])))
        assert stored is not None
        assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in {stored.token_hash, stored.prefix}

    async with await _bearer(server, secret) as bot:
        me = await bot.get("/api/v1/auth/me")
        assert me.status_code == 200 and me.json()["email"] == client.email
        # Bearer requests are exempt from CSRF (no cookie, no ambient authority).
        assert (await bot.post("/api/v1/auth/logout")).status_code == 204
        # A token cannot mint more tokens.
        assert_problem(await bot.post("/api/v1/auth/tokens", json={"name": "x"}), 403)
    used = (await client.get("/api/v1/auth/tokens")).json()[0]
    assert used["last_used_at"] is not None

    assert (await client.delete(f"/api/v1/auth/tokens/{body['id']}")).status_code == 204
    async with await _bearer(server, secret) as bot:
        assert_problem(await bot.get("/api/v1/auth/me"), 401)
    assert_problem(await client.delete(f"/api/v1/auth/tokens/{body['id']}"), 404)


async def test_expired_token_is_refused(client: ApiClient, server: RunningServer) -> None:
    await client.register()
    body = (
        await client.post("/api/v1/auth/tokens", json={"name": "old", "expires_in_days": 1})
    ).json()
    await expire_token(server, body["id"])
    async with await _bearer(server, body["token"]) as bot:
        assert_problem(await bot.get("/api/v1/auth/me"), 401)


async def test_token_validation_and_bad_bearer(client: ApiClient, server: RunningServer) -> None:
    await client.register()
    assert_problem(await client.post("/api/v1/auth/tokens", json={"name": ""}), 422, field="name")
    for days in (0, 5.0, "5"):  # a number of days, not one coerced from a float or text
        assert_problem(
            await client.post("/api/v1/auth/tokens", json={"name": "x", "expires_in_days": days}),
            422,
            field="expires_in_days",
        )
    assert_problem(await client.delete("/api/v1/auth/tokens/not-a-uuid"), 422)
    assert (await client.get("/api/v1/auth/tokens")).json() == []
    for header in ("Bearer tm_forged", "Basic abc", "Bearer", "Bearer tm_" + "x" * 200):
        async with ApiClient(base_url=server.base_url, headers={"Authorization": header}) as c:
            assert_problem(await c.get("/api/v1/auth/me"), 401)


async def test_cannot_revoke_another_users_token(client: ApiClient, server: RunningServer) -> None:
    await client.register()
    secret_body = (await client.post("/api/v1/auth/tokens", json={"name": "mine"})).json()
    async with ApiClient(base_url=server.base_url) as other:
        await other.register()
        assert_problem(await other.delete(f"/api/v1/auth/tokens/{secret_body['id']}"), 404)
    async with await _bearer(server, secret_body["token"]) as bot:
        assert (await bot.get("/api/v1/auth/me")).status_code == 200
