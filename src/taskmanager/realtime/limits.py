"""Caps on live connections (WebSockets and SSE streams together), per user and per process.

Both are counted in this process. The per-process cap is what protects a process's memory
and file descriptors. The per-user cap is per process too, on purpose: a count shared in
Redis would outlive an instance that dies without releasing it (and need leases renewed
by every instance), while the point of the cap, one user starving a process, is local.
With N processes behind a balancer a user may hold up to N times the cap in all.
"""

from __future__ import annotations

import uuid
from collections import Counter

from taskmanager.config import Settings
from taskmanager.errors import RateLimited
from taskmanager.observability.metrics import CONNECTIONS_REFUSED

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

    __slots__ = ("_limits", "_released", "user_id")

    def __init__(self, limits: ConnectionLimits, user_id: uuid.UUID) -> None:
        self._limits = limits
        self.user_id = user_id
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._limits.forget(self.user_id)


class ConnectionLimits:
    """This process's live connections, in total and per user."""

    __slots__ = ("by_user", "total")

    def __init__(self) -> None:
        self.total = 0
        self.by_user: Counter[uuid.UUID] = Counter()

    def acquire(self, user_id: uuid.UUID, settings: Settings, *, transport: str) -> Lease:
        """Count a new connection, or raise TooManyConnections (and count the refusal)."""
        if self.by_user[user_id] >= settings.realtime_max_connections_per_user:
            CONNECTIONS_REFUSED.labels(transport, "per_user").inc()
            raise TooManyConnections(
                f"At most {settings.realtime_max_connections_per_user} live connections per "
                "user; close another tab or stream first.",
                retry_after=PER_USER_RETRY_AFTER,
                scope="per_user",
            )
        if self.total >= settings.realtime_max_connections:
            CONNECTIONS_REFUSED.labels(transport, "per_process").inc()
            raise TooManyConnections(
                "This server holds as many live connections as it may; retry shortly.",
                retry_after=PER_PROCESS_RETRY_AFTER,
                scope="per_process",
            )
        self.total += 1
        self.by_user[user_id] += 1
        return Lease(self, user_id)

    def forget(self, user_id: uuid.UUID) -> None:
        self.total -= 1
        self.by_user[user_id] -= 1
        if self.by_user[user_id] <= 0:
            del self.by_user[user_id]  # no entry per user that ever connected
