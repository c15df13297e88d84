"""Presence: who is viewing or editing what in a project, shared by every instance.

Ephemeral: kept in Redis with an expiry (presence_store.py), never in the event log or the
database. A socket may announce presence in a project it follows; its entry ends with that
subscription (unsubscribe, close, removal from the project), or lapses PRESENCE_TTL_SECONDS
after its last heartbeat (a ping or the same message again). After every change a notice
goes to every instance; each one with local subscribers of the project reads the project's
entries once (never once per subscriber), builds one frame, and sends it to its
subscribers only if the list differs from the last one it sent them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.exceptions import RedisError
from sqlalchemy import select

from taskmanager.auth.models import User
from taskmanager.observability.metrics import REDIS_ERRORS
from taskmanager.realtime import presence_store as store
from taskmanager.realtime.connection import Connection, Subscription
from taskmanager.realtime.registry import Registry
from taskmanager.state import Resources
from taskmanager.tasks.models import Task

logger = logging.getLogger("taskmanager.realtime")

STATES = ("viewing", "editing")
RATE_WINDOW_SECONDS = 10.0
# Sweeps of lapsed entries: at least this often, and at least four times per TTL.
SWEEP_EVERY_SECONDS = 1.0


@dataclass(slots=True)
class _Entry:
    task_id: str | None
    state: str
    value: bytes  # what is stored in the project's hash


@dataclass(eq=False, slots=True)
class _Client:
    """One WebSocket that has announced presence: its id in Redis and what it said."""

    key: str
    user_id: uuid.UUID
    display_name: str | None = None
    entries: dict[uuid.UUID, _Entry] = field(default_factory=dict)
    window_start: float = 0.0
    window_count: int = 0
    last_beat: float = 0.0
    # Redis writes of one socket in order: an announcement and the removal that follows
    # an unsubscribe must not overtake each other.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Presence:
    """This process's side of presence: its sockets' entries, their fan-out and the sweep."""

    def __init__(self, resources: Resources, registry: Registry) -> None:
        self.resources = resources
        self.registry = registry
        self.clients: dict[Connection, _Client] = {}
        # The frame last sent to this process's subscribers of each project.
        self.current: dict[uuid.UUID, str] = {}
        # Those of them whose list is not empty: with none (and no socket of ours
        # announcing), this process has nothing to sweep for.
        self.listed: set[uuid.UUID] = set()
        # Projects being re-read -> whether another read is wanted after this one.
        self._refreshing: dict[uuid.UUID, bool] = {}
        # Sockets owed the list in answer to their own presence message.
        self._acks: dict[uuid.UUID, set[Connection]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Sent with our notices, so we do not re-read for a change we made (and read) here.
        self.instance = uuid.uuid4().hex.encode()
        registry.on_drop = self.on_drop
        registry.on_remove = self.on_remove

    @property
    def ttl(self) -> float:
        return self.resources.settings.presence_ttl_seconds

    # -- client messages -----------------------------------------------------------------
    async def handle(self, message: dict[str, Any], connection: Connection) -> None:
        """A `presence` message: record it, answer with the list, tell the others."""
        project_id = store.parse_uuid(message.get("project_id"))
        if project_id is None:
            connection.send_control(_error("bad_request", "project_id must be a UUID."))
            return
        state = message.get("state")
        raw_task = message.get("task_id")
        task_id = store.parse_uuid(raw_task)
        if state not in STATES:
            text = "state must be viewing or editing."
            connection.send_control(_error("bad_request", text, project_id))
            return
        if (raw_task is not None and task_id is None) or (state == "editing" and task_id is None):
            text = "task_id must be a task's UUID (required when editing)."
            connection.send_control(_error("bad_request", text, project_id))
            return
        if project_id not in connection.subscriptions:
            # Only members can subscribe, so this also turns away non-members (same
            # answer whether or not the project exists: nothing is revealed).
            text = "Subscribe to the project first (members only)."
            connection.send_control(_error("forbidden", text, project_id))
            return
        client = self.clients.get(connection)
        if client is None:
            client = self.clients[connection] = _Client(
                uuid.uuid4().hex, connection.identity.user_id
            )
        retry_after = self._over_rate(client)
        if retry_after is not None:
            body = _error("rate_limited", "Too many presence messages.", project_id)
            body["retry_after"] = retry_after
            connection.send_control(body)
            return
        if not await self._load(client, project_id, task_id):
            text = "task_id is not a task of this project."
            connection.send_control(_error("bad_request", text, project_id))
            return
        try:
            await self._announce(client, connection, project_id, task_id, state)
        except (RedisError, OSError):
            REDIS_ERRORS.labels("presence").inc()
            text = "Presence is unavailable right now; retry shortly."
            connection.send_control(_error("unavailable", text, project_id))

    def heartbeat(self, connection: Connection) -> None:
        """Any sign of life from a socket (a ping) keeps its entries from lapsing."""
        client = self.clients.get(connection)
        if client is None or not client.entries:
            return
        now = time.monotonic()
        if now - client.last_beat < self.ttl / 5:
            return
        client.last_beat = now
        self._spawn(self._beat(client))

    def _over_rate(self, client: _Client) -> int | None:
        """Seconds until the socket may send presence again; None if it may now."""
        now = time.monotonic()
        if now - client.window_start >= RATE_WINDOW_SECONDS:
            client.window_start, client.window_count = now, 0
        if client.window_count >= self.resources.settings.presence_max_messages:
            return max(1, math.ceil(client.window_start + RATE_WINDOW_SECONDS - now))
        client.window_count += 1
        return None

    async def _load(
        self, client: _Client, project_id: uuid.UUID, task_id: uuid.UUID | None
    ) -> bool:
        """Fetch the display name once per socket; False if the task is not the project's."""
        if client.display_name is not None and task_id is None:
            return True
        factory = self.resources.read_session_factory or self.resources.session_factory
        async with factory() as db:
            if client.display_name is None:
                name = await db.scalar(select(User.display_name).where(User.id == client.user_id))
                client.display_name = name or ""
            if task_id is not None:
                owner = await db.scalar(select(Task.project_id).where(Task.id == task_id))
                return owner == project_id
        return True

    async def _announce(
        self,
        client: _Client,
        connection: Connection,
        project_id: uuid.UUID,
        task_id: uuid.UUID | None,
        state: str,
    ) -> None:
        task = str(task_id) if task_id is not None else None
        async with client.lock:
            entry = client.entries.get(project_id)
            if entry is not None and entry.task_id == task and entry.state == state:
                # Said again: a heartbeat. The answer is the list as it stands.
                changed = await self._write(client, [(project_id, entry)])
            else:
                value = store.entry_value(client.user_id, client.display_name or "", task, state)
                entry = _Entry(task, state, value)
                await self._write(client, [(project_id, entry)])
                # Only once stored: after a failed write, saying it again is a change.
                client.entries[project_id] = entry
                changed = [project_id]
                # A socket is in one place at a time: announcing here ends its presence in
                # any other project it still follows (the board switching projects keeps
                # following them all under subscribe_all, and its pings would keep the old
                # entry alive).
                for elsewhere in [p for p in client.entries if p != project_id]:
                    del client.entries[elsewhere]
                    await store.remove(self.resources.redis, elsewhere, client.key)
                    changed.append(elsewhere)
            client.last_beat = time.monotonic()
        if changed:
            # Owed before _notify starts the re-read here: that read answers the sender
            # (with the broadcast if the list changed, so only once).
            self._acks.setdefault(project_id, set()).add(connection)
            await self._notify(changed)
        elif project_id in self.current:
            connection.send_control_text(self.current[project_id])
        else:
            self._refresh(project_id, ack=connection)
        # The subscription may have ended while we wrote: then the entry goes again.
        self._settle_later(connection, project_id)

    async def _write(
        self, client: _Client, entries: list[tuple[uuid.UUID, _Entry]]
    ) -> list[uuid.UUID]:
        pairs = [(project_id, entry.value) for project_id, entry in entries]
        return await store.store(self.resources.redis, client.key, pairs, self.ttl)

    async def _beat(self, client: _Client) -> None:
        async with client.lock:
            entries = list(client.entries.items())
            if not entries:
                return
            try:
                await self._notify(await self._write(client, entries))
            except (RedisError, OSError):
                REDIS_ERRORS.labels("presence").inc()

    async def _notify(self, project_ids: list[uuid.UUID]) -> None:
        """Tell every instance (one publish per project), and re-read here at once."""
        if not project_ids:
            return
        await store.publish(self.resources.redis, project_ids, self.instance)
        for project_id in project_ids:
            if self.registry.subscribers(project_id):
                self._refresh(project_id)

    # -- subscriptions ending --------------------------------------------------------------
    def on_drop(self, sub: Subscription) -> None:
        """Registry hook: a subscription ended (or is being replaced by a new one)."""
        if not self.registry.subscribers(sub.project_id):
            self.current.pop(sub.project_id, None)
            self.listed.discard(sub.project_id)
        client = self.clients.get(sub.connection)
        if client is not None:
            self._settle_later(sub.connection, sub.project_id)

    def on_remove(self, connection: Connection) -> None:
        """Registry hook: a socket ended. Its entries go with its subscriptions (on_drop)."""
        client = self.clients.get(connection)
        if client is not None and not client.entries:
            del self.clients[connection]

    def _settle_later(self, connection: Connection, project_id: uuid.UUID) -> None:
        # Decided once the registry is done: a re-subscribe drops the old subscription
        # just before it adds the new one, and that must not blink the entry.
        self._spawn(self._settle(connection, project_id))

    async def _settle(self, connection: Connection, project_id: uuid.UUID) -> None:
        """Remove the socket's entry for the project if it no longer follows it."""
        client = self.clients.get(connection)
        if client is None:
            return
        async with client.lock:
            live = connection in self.registry.connections and connection.close_code is None
            if project_id in client.entries and not (
                live and project_id in connection.subscriptions
            ):
                del client.entries[project_id]
                try:
                    await store.remove(self.resources.redis, project_id, client.key)
                    await self._notify([project_id])
                except (RedisError, OSError):
                    # It lapses within the TTL instead.
                    REDIS_ERRORS.labels("presence").inc()
            if not live and not client.entries:
                self.clients.pop(connection, None)

    # -- fan-out ---------------------------------------------------------------------------
    def on_notice(self, channel: str, sender: bytes) -> None:
        """Hub hook: something changed in a project's presence (on another instance)."""
        if sender == self.instance:
            return  # ours: re-read already
        project_id = store.parse_uuid(channel.removeprefix(store.CHANNEL_PREFIX))
        if project_id is not None and self.registry.subscribers(project_id):
            self._refresh(project_id)

    def resync(self) -> None:
        """After the Redis subscriber reconnects: notices may have been missed, and a
        restarted Redis may have lost every entry, so ours are stored again first."""
        self._spawn(self._recover())

    async def _recover(self) -> None:
        await asyncio.gather(*(self._beat(c) for c in list(self.clients.values()) if c.entries))
        for project_id in list(self.current):
            self._refresh(project_id)

    def _refresh(self, project_id: uuid.UUID, *, ack: Connection | None = None) -> None:
        """Re-read a project's presence; bursts coalesce into at most one more read."""
        if ack is not None:
            self._acks.setdefault(project_id, set()).add(ack)
        if project_id in self._refreshing:
            self._refreshing[project_id] = True
            return
        self._refreshing[project_id] = False
        self._spawn(self._reread(project_id))

    async def _reread(self, project_id: uuid.UUID) -> None:
        try:
            while True:
                self._refreshing[project_id] = False
                acks = self._acks.pop(project_id, set())
                try:
                    raw = await self.resources.redis.hgetall(store.project_key(project_id))
                except (RedisError, OSError):
                    REDIS_ERRORS.labels("presence").inc()
                    self._acks.pop(project_id, None)
                    return
                self._send(project_id, raw, acks)
                if not self._refreshing[project_id]:
                    return
        finally:
            del self._refreshing[project_id]

    def _send(self, project_id: uuid.UUID, raw: dict[Any, Any], acks: set[Connection]) -> None:
        users = store.users_of(raw)
        text = orjson.dumps(
            {"type": "presence", "project_id": str(project_id), "users": users}
        ).decode()
        subscribers = [
            sub.connection
            for sub in self.registry.subscribers(project_id)
            if sub.connection.kind == "websocket"
        ]
        if not subscribers:
            self.current.pop(project_id, None)
            self.listed.discard(project_id)
            return
        if users:
            self.listed.add(project_id)
        else:
            self.listed.discard(project_id)
        if self.current.get(project_id) != text:
            self.current[project_id] = text
            targets: Any = subscribers
        else:
            targets = [c for c in acks if project_id in c.subscriptions]
        for connection in targets:
            connection.send_control_text(text)

    # -- lapsed entries --------------------------------------------------------------------
    async def run(self) -> None:
        """Sweep lapsed entries (of silent sockets, or of instances that died)."""
        while True:
            await asyncio.sleep(min(SWEEP_EVERY_SECONDS, self.ttl / 4))
            if not self.clients and not self.listed:
                continue  # nobody here announces or is shown anyone: nothing to tell
            try:
                await self.sweep_once()
            except (RedisError, OSError):
                REDIS_ERRORS.labels("presence").inc()
            except Exception:
                logger.warning("presence sweep failed", exc_info=True)

    async def sweep_once(self) -> None:
        await self._notify(await store.take_lapsed(self.resources.redis))

    async def stop(self) -> None:
        """Let pending removals finish (briefly), so closed sockets do not linger a TTL."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*self._tasks, return_exceptions=True), timeout=2
                )
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _error(code: str, text: str, project_id: uuid.UUID | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "code": code, "message": text}
    if project_id is not None:
        body["project_id"] = str(project_id)
    return body
