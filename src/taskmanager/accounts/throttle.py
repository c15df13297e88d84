"""Request throttles for mail-sending endpoints: fixed windows per address and per client."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from taskmanager.errors import RateLimited


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class MailThrottle:
    """Counts every request (not only failures, unlike login): each one may send a mail,
    so the limits protect both the inboxes and the mail server's reputation."""

    def __init__(self, redis: Redis, *, scope: str) -> None:
        self.redis = redis
        self.scope = scope

    async def hit(self, limits: list[tuple[str, int]], *, seconds: int = 3600) -> None:
        """Count one request against each (key, limit); 429 when any window is over."""
        keys = [f"mail_throttle:{self.scope}:{_digest(key)}" for key, _ in limits]
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.incr(key)
                pipe.expire(key, seconds, nx=True)
                pipe.ttl(key)
            replies = await pipe.execute()
        for i, (_, limit) in enumerate(limits):
            count, ttl = replies[3 * i], replies[3 * i + 2]
            if int(count) > limit:
                raise RateLimited(
                    "Too many requests for this address; try again later.",
                    retry_after=ttl if ttl and ttl > 0 else seconds,
                )
