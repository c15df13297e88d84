"""Who is connected to this process: live connections indexed by project, session and token.

Every lookup the hub and the watchdog make is by key, so connecting, subscribing, a
revocation and a fan-out cost what they touch, never a walk over every open connection.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Collection, Iterable
from typing import TypeVar

from taskmanager.observability.metrics import LIVE_CONNECTIONS
from taskmanager.realtime.connection import Connection, Subscription

K = TypeVar("K")


def _index_add(index: dict[K, set[Connection]], key: K | None, item: Connection) -> None:
    if key is not None:
        index.setdefault(key, set()).add(item)


def _index_discard(index: dict[K, set[Connection]], key: K | None, item: Connection) -> None:
    if key is None:
        return
    members = index.get(key)
    if members is not None:
        members.discard(item)
        if not members:
            del index[key]


class Registry:
    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        # project -> its subscriptions: what a fan-out walks, and nothing else.
        self.projects: dict[uuid.UUID, set[Subscription]] = {}
        # Credential -> connections using it: a user's tabs (or a load test's thousand
        # sockets) share one session, so it is checked and revoked once, not per socket.
        self.by_session: dict[str, set[Connection]] = {}
        self.by_token: dict[uuid.UUID, set[Connection]] = {}
        self.empty = asyncio.Event()
        self.empty.set()
        # Told of every subscription that ends and every connection that goes (presence).
        self.on_drop: Callable[[Subscription], None] | None = None
        self.on_remove: Callable[[Connection], None] | None = None

    def add(self, connection: Connection) -> None:
        if connection in self.connections:
            return
        self.connections.add(connection)
        self.empty.clear()
        _index_add(self.by_session, connection.identity.session_hash, connection)
        _index_add(self.by_token, connection.identity.token_id, connection)
        LIVE_CONNECTIONS.labels(connection.kind).inc()

    def remove(self, connection: Connection) -> None:
        """Idempotent: a transport may call it from its close hook and again on exit."""
        for sub in list(connection.subscriptions.values()):
            self.drop(sub)
        if connection not in self.connections:
            return
        self.connections.discard(connection)
        _index_discard(self.by_session, connection.identity.session_hash, connection)
        _index_discard(self.by_token, connection.identity.token_id, connection)
        LIVE_CONNECTIONS.labels(connection.kind).dec()
        if self.on_remove is not None:
            self.on_remove(connection)
        if not self.connections:
            self.empty.set()

    def follow(self, sub: Subscription) -> None:
        """Make `sub` its connection's subscription to the project, replacing any earlier."""
        previous = sub.connection.subscriptions.get(sub.project_id)
        if previous is not None:
            self.drop(previous)
        self.projects.setdefault(sub.project_id, set()).add(sub)
        sub.connection.subscriptions[sub.project_id] = sub

    def drop(self, sub: Subscription) -> None:
        sub.active = False
        if sub.catch_up_task is not None and sub.catch_up_task is not asyncio.current_task():
            sub.catch_up_task.cancel()
        subs = self.projects.get(sub.project_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.projects[sub.project_id]
        if sub.connection.subscriptions.get(sub.project_id) is sub:
            del sub.connection.subscriptions[sub.project_id]
        if self.on_drop is not None:
            self.on_drop(sub)

    def subscribers(self, project_id: uuid.UUID) -> Collection[Subscription]:
        return self.projects.get(project_id, ())

    def using(
        self, *, sessions: Iterable[str] = (), tokens: Iterable[uuid.UUID] = ()
    ) -> list[Connection]:
        """The connections authenticated by any of these sessions or tokens."""
        found: list[Connection] = []
        for session_hash in sessions:
            found.extend(self.by_session.get(session_hash, ()))
        for token_id in tokens:
            found.extend(self.by_token.get(token_id, ()))
        return found
