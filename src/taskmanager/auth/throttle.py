"""Throttles in Redis: failed password checks (login, password change) in fixed windows per
account+address, per account and per address; registrations per address."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis

from taskmanager.config import Settings
from taskmanager.errors import RateLimited


@dataclass(frozen=True, slots=True)
class _Window:
    key: str
    limit: int
    seconds: int


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class LoginThrottle:
    """Counts failed password checks (a login, or the current password of a password
    change: one budget per account, so neither way adds guesses); blocks while any window
    is full.

    The per-account+address window is the tight one, so an attacker elsewhere can lock an
    account out only through the hourly per-account window, which always runs out.
    """

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings

    def _windows(self, email: str, ip: str) -> list[_Window]:
        account = _digest(email)
        address = _digest(ip)
        s = self.settings
        return [
            _Window(f"login_fail:acct_ip:{account}:{address}", s.login_max_failures_per_minute, 60),
            _Window(f"login_fail:acct:{account}", s.login_max_failures_per_hour, 3600),
            _Window(f"login_fail:ip:{address}", s.login_max_failures_per_ip_per_minute, 60),
        ]

    async def check(self, email: str, ip: str) -> None:
        windows = self._windows(email, ip)
        async with self.redis.pipeline(transaction=False) as pipe:
            for window in windows:
                pipe.get(window.key)
                pipe.ttl(window.key)
            replies = await pipe.execute()
        for i, window in enumerate(windows):
            count, ttl = replies[2 * i], replies[2 * i + 1]
            if count is not None and int(count) >= window.limit:
                raise RateLimited(
                    "Too many failed password attempts; try again later.",
                    retry_after=ttl if ttl and ttl > 0 else window.seconds,
                )

    async def record_failure(self, email: str, ip: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for window in self._windows(email, ip):
                pipe.incr(window.key)
                pipe.expire(window.key, window.seconds, nx=True)
            await pipe.execute()

    async def record_success(self, email: str, ip: str) -> None:
        await self.redis.delete(self._windows(email, ip)[0].key)


class RegistrationThrottle:
    """Counts every registration per address (each costs an argon2 hash), before the work.

    INCR first and compare after, so concurrent attempts cannot all pass one check.
    """

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.limit = settings.register_max_per_ip_per_minute

    async def hit(self, ip: str) -> None:
        key = f"register:ip:{_digest(ip)}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 60, nx=True)
            pipe.ttl(key)
            count, _, ttl = await pipe.execute()
        if int(count) > self.limit:
            raise RateLimited(
                "Too many registrations from this address; try again later.",
                retry_after=ttl if ttl and ttl > 0 else 60,
            )
