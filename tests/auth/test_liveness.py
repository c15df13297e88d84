"""What auth tells the realtime watchdog: which sessions and tokens are still live, in bulk."""

from __future__ import annotations

import hashlib
import uuid

from taskmanager.auth import service
from taskmanager.auth.deps import get_session_store
from taskmanager.auth.sessions import SESSION_KEY
from tests.helpers import ApiClient, expire_token
from tests.server import RunningServer


def _key_hash(client: ApiClient) -> str:
    cookie = client.cookies.get("session")
    assert cookie is not None
    return hashlib.sha256(cookie.encode()).hexdigest()


async def test_live_sessions(server: RunningServer) -> None:
    redis = server.resources.redis
    clients = [ApiClient(base_url=server.base_url) for _ in range(3)]
    kept, logged_out, past_deadline = clients
    await kept.register()
    for other in (logged_out, past_deadline):
        await other.login(kept.email)
    hashes = [_key_hash(c) for c in clients]
    assert (await logged_out.post("/api/v1/auth/logout")).status_code == 204
    # The absolute deadline passed (the key itself lives on until its idle timeout).
    await redis.hset(SESSION_KEY.format(hashes[2]), "abs", "1.0")
    ttl_before = await redis.ttl(SESSION_KEY.format(hashes[0]))
    store = get_session_store(server.resources)
    assert await store.live_sessions([*hashes, "0" * 64]) == {hashes[0]}
    assert await store.live_sessions([]) == set()
    # Asking is not using: it does not slide the idle timeout.
    assert await redis.ttl(SESSION_KEY.format(hashes[0])) <= ttl_before
    for c in clients:
        await c.aclose()


async def test_live_token_ids(server: RunningServer, client: ApiClient) -> None:
    await client.register()
    ids = []
    for name in ("kept", "expired", "revoked"):
        created = await client.post("/api/v1/auth/tokens", json={"name": name})
        assert created.status_code == 201
        ids.append(created.json()["id"])
    await expire_token(server, ids[1])
    assert (await client.delete(f"/api/v1/auth/tokens/{ids[2]}")).status_code == 204
    asked = {uuid.UUID(i) for i in ids} | {uuid.uuid4()}
    async with server.resources.session_factory() as db:
        assert await service.live_token_ids(db, asked) == {uuid.UUID(ids[0])}
        assert await service.live_token_ids(db, []) == set()
