"""Caps on live connections (WebSockets and SSE streams together): per user, across every
instance (leases in Redis), and per process (in memory).

Per user: each connection holds a lease, a member of the sorted set `live:{user_id}`
scored by its expiry. Live leases are renewed every LEASE_SECONDS / 3 by the process that
holds them, so the leases of an instance that died (killed, partitioned) lapse within
LEASE_SECONDS instead of counting against its users for ever. If Redis cannot be reached
the cap is applied to this process's own connections (fail open to the local count: a
Redis outage must not end live updates).

Per process: a plain counter; it protects this process's memory and file descriptors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from taskmanager.errors import RateLimited
from taskmanager.observability.metrics import CONNECTIONS_REFUSED, REDIS_ERRORS

if TYPE_CHECKING:
    from taskmanager.state import Resources

logger = logging.getLogger("taskmanager.realtime")

LEASE_SECONDS = 60.0
LEASE_KEY = "live:{}"
# A user's own connections end when they close a tab; a full process frees up sooner.
PER_USER_RETRY_AFTER = 30
PER_PROCESS_RETRY_AFTER = 5


class TooManyConnections(RateLimited):
    """A live connection over a cap: 429 for SSE, close code 4429 for a WebSocket."""

    code = "too_many_connections"

    def __init__(self, detail: str, *, retry_after: int, scope: str) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.scope = scope


class Lease:
    """One counted connection; `release` is idempotent (close hooks may run twice)."""

    __slots__ = ("_limits", "_released", "member", "user_id")

    def __init__(self, limits: ConnectionLimits, user_id: uuid.UUID, member: str) -> None:
        self._limits = limits
        self.user_id = user_id
        self.member = member
        self._released = False

    @property
    def key(self) -> str:
        return LEASE_KEY.format(self.user_id)

    async def release(self) -> None:
        if not self._released:
            self._released = True
            await self._limits.forget(self)


class ConnectionLimits:
    """This process's live connections and their per-user leases."""

    def __init__(self) -> None:
        self.total = 0
        self.by_user: Counter[uuid.UUID] = Counter()
        self.leases: set[Lease] = set()
        self._resources: Resources | None = None  # known from the first acquire on
        self._renewer: asyncio.Task[None] | None = None
        self._removals: set[asyncio.Future[int]] = set()  # ZREMs of released leases

    async def acquire(self, resources: Resources, user_id: uuid.UUID, *, transport: str) -> Lease:
        """Count a new connection, or raise TooManyConnections (and count the refusal)."""
        self._resources = resources
        settings = resources.settings
        if self.total >= settings.realtime_max_connections:
            raise self._refuse(transport, "per_process")
        lease = Lease(self, user_id, uuid.uuid4().hex)
        # Counted before the await below, so concurrent connects cannot overshoot locally.
        self.total += 1
        self.by_user[user_id] += 1
        self.leases.add(lease)
        cap = settings.realtime_max_connections_per_user
        try:
            held = await self._lease(resources, lease)
        except (RedisError, OSError):
            REDIS_ERRORS.labels("realtime").inc()
            held = self.by_user[user_id]
        if held > cap:
            await lease.release()
            raise self._refuse(transport, "per_user")
        self._start_renewing()
        return lease

    @staticmethod
    def _refuse(transport: str, scope: str) -> TooManyConnections:
        CONNECTIONS_REFUSED.labels(transport, scope).inc()
        if scope == "per_user":
            return TooManyConnections(
                "Too many live connections for this user; close another tab or stream first.",
                retry_after=PER_USER_RETRY_AFTER,
                scope=scope,
            )
        return TooManyConnections(
            "This server holds as many live connections as it may; retry shortly.",
            retry_after=PER_PROCESS_RETRY_AFTER,
            scope=scope,
        )

    @staticmethod
    async def _lease(resources: Resources, lease: Lease) -> int:
        """Add the lease to the user's set (dropping lapsed ones); the user's lease count."""
        now = time.time()
        async with resources.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(lease.key, "-inf", now)
            pipe.zadd(lease.key, {lease.member: now + LEASE_SECONDS})
            pipe.zcard(lease.key)
            pipe.expire(lease.key, int(LEASE_SECONDS) + 1)
            results = await pipe.execute()
        return int(results[2])

    async def forget(self, lease: Lease) -> None:
        self.leases.discard(lease)
        self.total -= 1
        self.by_user[lease.user_id] -= 1
        if self.by_user[lease.user_id] <= 0:
            del self.by_user[lease.user_id]  # no entry per user that ever connected
        if self._resources is not None:
            # Shielded: a stream's release runs as its task is cancelled (the client went
            # away), and a cancelled ZREM left the lease counting against the user for
            # LEASE_SECONDS. Best effort otherwise: a lease left behind lapses by then.
            removal = asyncio.ensure_future(self._resources.redis.zrem(lease.key, lease.member))
            self._removals.add(removal)  # held (asyncio keeps weak references); stop() waits
            removal.add_done_callback(self._removals.discard)
            removal.add_done_callback(_retrieve_error)  # no "never retrieved" if cancelled
            with contextlib.suppress(RedisError, OSError):
                await asyncio.shield(removal)

    def _start_renewing(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew(), name="realtime-leases")

    async def _renew(self) -> None:
        """Push the expiry of every live lease forward while there are any."""
        while self.leases and self._resources is not None:
            await asyncio.sleep(LEASE_SECONDS / 3)
            try:
                await self.renew_once(self._resources)
            except (RedisError, OSError):
                REDIS_ERRORS.labels("realtime").inc()
                logger.warning("could not renew live-connection leases; retrying")

    async def renew_once(self, resources: Resources) -> None:
        """One renewal round: two commands per user with live connections, however many
        connections each holds (a command per lease was 20,000 at 10,000 sockets)."""
        expiry = time.time() + LEASE_SECONDS
        by_key: dict[str, dict[str, float]] = {}
        for lease in self.leases:
            by_key.setdefault(lease.key, {})[lease.member] = expiry
        if not by_key:
            return
        async with resources.redis.pipeline(transaction=False) as pipe:
            for key, members in by_key.items():
                # xx: only leases still there; one released meanwhile stays gone.
                pipe.zadd(key, members, xx=True)
                pipe.expire(key, int(LEASE_SECONDS) + 1)
            await pipe.execute()

    async def stop(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        if self._removals:
            # Releases started as the connections closed: done before Redis is closed.
            await asyncio.wait(set(self._removals), timeout=2)
        await self._release_left_behind()

    async def _release_left_behind(self) -> None:
        """Drop the leases of connections still open as the process stops (a stream that
        ignored its 1001): left in Redis they would count against their users on every
        other instance for up to LEASE_SECONDS, refusing the reconnects a restart causes."""
        if not self.leases or self._resources is None:
            return
        by_key: dict[str, list[str]] = {}
        for lease in self.leases:
            by_key.setdefault(lease.key, []).append(lease.member)
        with contextlib.suppress(RedisError, OSError):
            async with self._resources.redis.pipeline(transaction=False) as pipe:
                for key, members in by_key.items():
                    pipe.zrem(key, *members)
                await pipe.execute()


def _retrieve_error(task: asyncio.Future[int]) -> None:
    if not task.cancelled():
        task.exception()
