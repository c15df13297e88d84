"""The per-process hub: one Redis subscriber fans events out to local live connections.

Redis pub/sub is only the doorbell; the database log is the truth. Each subscription
checks seq continuity and reads any missing range from the log (catch-up here), and the
watchdog (watchdog.py) finds what a lost notification did not deliver. Who is connected
is the registry's (registry.py); the hub starts, stops, subscribes and dispatches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from taskmanager.auth.revocation import REVOCATION_CHANNEL
from taskmanager.events.service import event_to_message, read_events
from taskmanager.membership.models import Project
from taskmanager.observability.metrics import EVENTS_RECEIVED, EVENTS_REPLAYED, REDIS_ERRORS
from taskmanager.realtime.all_projects import AllProjects
from taskmanager.realtime.connection import (
    CLOSE_GOING_AWAY,
    CLOSE_UNAUTHORIZED,
    Connection,
    LiveEvent,
    Subscription,
    count_delivered,
)
from taskmanager.realtime.presence import Presence
from taskmanager.realtime.presence_store import CHANNEL_PREFIX, PRESENCE_PATTERN
from taskmanager.realtime.registry import Registry
from taskmanager.realtime.user_channels import UserChannels
from taskmanager.realtime.watchdog import Watchdog
from taskmanager.state import Resources

logger = logging.getLogger("taskmanager.realtime")

CATCH_UP_BATCH = 500
PROJECT_PATTERN = "project:*"


class SubscribeOutcome:
    SUBSCRIBED = "subscribed"
    RESYNC = "resync_required"
    GONE = "not_found"


class Hub:
    """Satisfies connection.SubscriptionOwner: connections call back only drop and catch-up."""

    def __init__(self, resources: Resources, *, pubsub_redis: Redis) -> None:
        self.resources = resources
        self.pubsub_redis = pubsub_redis
        self.registry = Registry()
        # Notifications: each connected user's own channel (no subscribe message needed).
        self.users = UserChannels(pubsub_redis)
        self.watchdog = Watchdog(resources, self.registry, catch_up=self.start_catch_up)
        self.presence = Presence(resources, self.registry)
        self.all_projects = AllProjects(self)
        self.users.on_joined = self.all_projects.joined
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="realtime-listen"),
            asyncio.create_task(self.watchdog.run(), name="realtime-watchdog"),
            asyncio.create_task(self.presence.run(), name="realtime-presence"),
            asyncio.create_task(self.all_projects.run(), name="realtime-all-projects"),
        ]
        # Not required for correctness (the watchdog catches up), but lets the first
        # events after start-up arrive through pub/sub rather than a second later.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 2)
        # Redis unreachable (the wait above timed out): do not wait a second time.
        await self.users.start(wait=self._listening.is_set())

    async def close_all(
        self, code: int = CLOSE_GOING_AWAY, reason: str = "Server shutting down"
    ) -> None:
        """Tell every live client to go (1001 on shutdown) and wait briefly for them to."""
        for connection in list(self.registry.connections):
            connection.close(code, reason)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.registry.empty.wait(), 3)

    async def stop(self) -> None:
        await self.close_all()
        await self.presence.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.users.stop()
        if self.pubsub_redis is not self.resources.redis:
            await self.pubsub_redis.aclose()

    # -- connections and subscriptions ---------------------------------------------------
    def register(self, connection: Connection) -> None:
        self.registry.add(connection)

    def unregister(self, connection: Connection) -> None:
        """Idempotent: a transport may call it from its close hook and again on exit."""
        self.all_projects.forget(connection)
        self.registry.remove(connection)
        self.users.leave(connection)

    def drop(self, sub: Subscription) -> None:
        self.registry.drop(sub)

    async def subscribe(
        self, connection: Connection, project_id: uuid.UUID, *, after_seq: int | None
    ) -> tuple[str, int]:
        """Follow a project (membership already checked). Returns (outcome, latest seq).

        The subscription is registered *before* the latest seq is read, so an event that
        commits in between is seen live (and then read from the log), never missed.
        """
        sub = Subscription(project_id=project_id, connection=connection)
        self.registry.follow(sub)
        async with self.resources.session_factory() as session:
            latest = await session.scalar(select(Project.event_seq).where(Project.id == project_id))
            first_kept = None
            if after_seq is not None and latest is not None and after_seq < latest:
                rows = await read_events(
                    session, project_id=project_id, after_seq=after_seq, limit=1
                )
                first_kept = rows[0].seq if rows else None
        if latest is None:
            self.drop(sub)
            return SubscribeOutcome.GONE, 0
        if after_seq is not None and (
            after_seq > latest or (after_seq < latest and first_kept != after_seq + 1)
        ):
            # The client is ahead of us (another database?) or the log no longer reaches
            # back to its position: it must refetch, then subscribe from `latest`.
            self.drop(sub)
            return SubscribeOutcome.RESYNC, latest
        sub.last_seq = latest if after_seq is None else after_seq
        self.start_catch_up(sub, force=True)
        return SubscribeOutcome.SUBSCRIBED, latest

    def start_catch_up(self, sub: Subscription, *, force: bool = False) -> None:
        if not sub.active or (sub.catch_up_task is not None and not sub.catch_up_task.done()):
            return
        if not force and sub.catching_up:
            return
        sub.catching_up = True
        sub.catch_up_task = asyncio.create_task(self._catch_up(sub))

    async def _catch_up(self, sub: Subscription) -> None:
        try:
            idle_rounds = 0
            while sub.active:
                async with self.resources.session_factory() as session:
                    rows = await read_events(
                        session,
                        project_id=sub.project_id,
                        after_seq=sub.last_seq,
                        limit=CATCH_UP_BATCH,
                    )
                if rows and rows[0].seq != sub.last_seq + 1:
                    sub.connection.end_subscription(
                        sub, "resync_required", "Missed events were pruned."
                    )
                    return
                for row in rows:
                    # Replay is pulled from the database, so it can wait for the client
                    # instead of overflowing its queue (which would make a reconnect loop).
                    await sub.connection.wait_writable()
                    if not sub.active:
                        return
                    EVENTS_REPLAYED.inc()
                    if sub.deliver(LiveEvent.parse(event_to_message(row))):
                        count_delivered(sub.connection.kind)
                if len(rows) == CATCH_UP_BATCH:
                    continue
                if sub.max_seen <= sub.last_seq:
                    return
                # Seen live but not yet readable (or already pruned/deleted): retry a few
                # times, then leave it to the watchdog.
                idle_rounds += 1
                if idle_rounds > 20:
                    return
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("catch-up failed for project %s", sub.project_id)
        finally:
            sub.catching_up = False

    # -- Redis listener ------------------------------------------------------------------
    async def _listen(self) -> None:
        backoff = 0.2
        while True:
            pubsub = self.pubsub_redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(PROJECT_PATTERN, PRESENCE_PATTERN)
                await pubsub.subscribe(REVOCATION_CHANNEL)
                self._listening.set()
                backoff = 0.2
                # Whatever was published while we were not listening is in the log.
                self._resync_everyone()
                self.presence.resync()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                REDIS_ERRORS.labels("realtime").inc()
                self._listening.clear()
                logger.warning("realtime: Redis subscriber lost (%s); retrying", type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _dispatch(self, channel: bytes | str, data: bytes | str) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        raw = data if isinstance(data, bytes) else data.encode()
        try:
            if name.startswith(CHANNEL_PREFIX):
                self.presence.on_notice(name, raw)
                return
            if name == REVOCATION_CHANNEL:
                self._revoke(orjson.loads(raw))
                return
            event = LiveEvent.parse(raw)
        except (ValueError, KeyError, TypeError):
            logger.warning("realtime: ignoring a malformed message on %s", name)
            return
        EVENTS_RECEIVED.inc()
        delivered: dict[str, int] = {}
        for sub in list(self.registry.subscribers(event.project_id)):
            if sub.offer(event):
                kind = sub.connection.kind
                delivered[kind] = delivered.get(kind, 0) + 1
        for kind, amount in delivered.items():
            count_delivered(kind, amount)
        self.all_projects.seen(event)

    def _revoke(self, message: dict[str, list[str]]) -> None:
        sessions = message.get("sessions", [])
        tokens = [uuid.UUID(token_id) for token_id in message.get("tokens", [])]
        for connection in self.registry.using(sessions=sessions, tokens=tokens):
            connection.close(CLOSE_UNAUTHORIZED, "Your session or token has ended.")

    def _resync_everyone(self) -> None:
        for subs in list(self.registry.projects.values()):
            for sub in list(subs):
                self.start_catch_up(sub)
