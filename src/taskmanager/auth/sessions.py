"""Server-side sessions in Redis: hashed ids, idle and absolute timeouts, a per-user index."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from taskmanager.auth.revocation import queue_revocation

SESSION_KEY = "sess:{}"
USER_INDEX_KEY = "user_sessions:{}"


def _key_hash(session_id: str) -> str:
    # Only the hash is stored: a leaked Redis dump holds no usable session id.
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionData:
    key_hash: str
    public_id: str
    user_id: uuid.UUID
    csrf_token: str
    created_at: float
    absolute_expiry: float
    last_used_at: float
    user_agent: str
    ip: str


class SessionStore:
    def __init__(self, redis: Redis, *, idle_timeout: int, absolute_timeout: int) -> None:
        self.redis = redis
        self.idle_timeout = idle_timeout
        self.absolute_timeout = absolute_timeout

    async def create(
        self, user_id: uuid.UUID, *, user_agent: str, ip: str
    ) -> tuple[str, SessionData]:
        """Start a session; returns the secret id (for the cookie) and what is stored."""
        session_id = secrets.token_urlsafe(32)  # 256 bits from the OS CSPRNG
        now = time.time()
        data = SessionData(
            key_hash=_key_hash(session_id),
            public_id=uuid.uuid4().hex,
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            absolute_expiry=now + self.absolute_timeout,
            last_used_at=now,
            user_agent=user_agent[:256],
            ip=ip,
        )
        key = SESSION_KEY.format(data.key_hash)
        index = USER_INDEX_KEY.format(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "uid": str(user_id),
                    "pid": data.public_id,
                    "csrf": data.csrf_token,
                    "created": repr(now),
                    "abs": repr(data.absolute_expiry),
                    "ua": data.user_agent,
                    "ip": ip,
                },
            )
            pipe.expire(key, min(self.idle_timeout, self.absolute_timeout))
            pipe.hset(index, data.public_id, data.key_hash)
            pipe.expire(index, self.absolute_timeout)
            await pipe.execute()
        return session_id, data

    async def resolve(self, session_id: str) -> SessionData | None:
        """The live session for a cookie value, refreshing its idle timeout; None if gone."""
        if not session_id or len(session_id) > 128:
            return None
        key_hash = _key_hash(session_id)
        key = SESSION_KEY.format(key_hash)
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            # Sliding idle timeout; a no-op when the key is already gone. The absolute
            # expiry is enforced below from the stored deadline.
            pipe.expire(key, self.idle_timeout, xx=True)
            raw, _ = await pipe.execute()
        data = self._decode(key_hash, raw, ttl=self.idle_timeout, now=now, idle=self.idle_timeout)
        if data is None:
            return None
        if now >= data.absolute_expiry:
            await self._delete(data)
            return None
        return data

    async def live_sessions(self, key_hashes: Collection[str]) -> set[str]:
        """Which of these sessions (by key hash) are live, in one pipelined round trip.

        Only looks: unlike resolve(), asking does not extend a session's idle timeout (an
        expired key is gone from Redis; the absolute deadline is checked here).
        """
        hashes = list(key_hashes)
        if not hashes:
            return set()
        async with self.redis.pipeline(transaction=False) as pipe:
            for key_hash in hashes:
                pipe.hget(SESSION_KEY.format(key_hash), "abs")
            replies = cast(list[bytes | None], await pipe.execute())
        now = time.time()
        return {
            key_hash
            for key_hash, absolute in zip(hashes, replies, strict=True)
            if absolute is not None and float(absolute) > now
        }

    async def list_for_user(self, user_id: uuid.UUID) -> list[SessionData]:
        index = USER_INDEX_KEY.format(user_id)
        entries = cast(dict[bytes, bytes], await self.redis.hgetall(index))
        if not entries:
            return []
        hashes = [value.decode() for value in entries.values()]
        async with self.redis.pipeline(transaction=False) as pipe:
            for key_hash in hashes:
                pipe.hgetall(SESSION_KEY.format(key_hash))
                pipe.ttl(SESSION_KEY.format(key_hash))
            replies = await pipe.execute()
        raws = replies[0::2]
        ttls = replies[1::2]
        now = time.time()
        alive: list[SessionData] = []
        dead: list[str] = []
        for key_hash, raw, ttl in zip(hashes, raws, ttls, strict=True):
            data = self._decode(key_hash, raw, ttl=ttl, now=now, idle=self.idle_timeout)
            if data is None or now >= data.absolute_expiry:
                dead.append(next(k.decode() for k, v in entries.items() if v.decode() == key_hash))
            else:
                alive.append(data)
        if dead:
            await self.redis.hdel(index, *dead)
        return sorted(alive, key=lambda s: s.created_at)

    async def revoke(self, user_id: uuid.UUID, public_id: str) -> bool:
        index = USER_INDEX_KEY.format(user_id)
        key_hash = cast(bytes | None, await self.redis.hget(index, public_id))
        if key_hash is None:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(SESSION_KEY.format(key_hash.decode()))
            pipe.hdel(index, public_id)
            queue_revocation(pipe, sessions=[key_hash.decode()])
            await pipe.execute()
        return True

    async def revoke_all(self, user_id: uuid.UUID, *, except_public_id: str | None = None) -> int:
        index = USER_INDEX_KEY.format(user_id)
        entries = cast(dict[bytes, bytes], await self.redis.hgetall(index))
        doomed = {
            k.decode(): v.decode() for k, v in entries.items() if k.decode() != except_public_id
        }
        if not doomed:
            return 0
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(*(SESSION_KEY.format(h) for h in doomed.values()))
            pipe.hdel(index, *doomed.keys())
            queue_revocation(pipe, sessions=doomed.values())
            await pipe.execute()
        return len(doomed)

    async def destroy(self, data: SessionData) -> None:
        await self._delete(data)

    async def _delete(self, data: SessionData) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(SESSION_KEY.format(data.key_hash))
            pipe.hdel(USER_INDEX_KEY.format(data.user_id), data.public_id)
            queue_revocation(pipe, sessions=[data.key_hash])
            await pipe.execute()

    @staticmethod
    def _decode(
        key_hash: str, raw: dict[bytes, bytes], *, ttl: int, now: float, idle: int
    ) -> SessionData | None:
        if not raw:
            return None
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        try:
            return SessionData(
                key_hash=key_hash,
                public_id=fields["pid"],
                user_id=uuid.UUID(fields["uid"]),
                csrf_token=fields["csrf"],
                created_at=float(fields["created"]),
                absolute_expiry=float(fields["abs"]),
                # Every use resets the TTL to the idle timeout, so the TTL tells when it
                # was last used without a write per request.
                last_used_at=max(float(fields["created"]), now - max(0, idle - ttl)),
                user_agent=fields.get("ua", ""),
                ip=fields.get("ip", ""),
            )
        except (KeyError, ValueError):
            return None
