"""Per-user live channels: notifications for every connection of a user on this process.

Each user with at least one live connection here has this process subscribed to
`user:{id}` (one Redis subscription per user, not per socket): subscribed when the user's
first connection joins, unsubscribed when the last one leaves. A frame on that channel is
handed as-is to each of the user's connections, WebSocket or SSE, with no `subscribe`
message from the client; a `joined` frame is not for clients: it tells this process's
subscribe_all streams of the user to follow a project. Notifications are not replayed: a
client that was away reads the list over HTTP when it comes back (the rows are the truth,
as for events).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from taskmanager.kit.user_channel import JOINED, user_channel
from taskmanager.kit.user_channel import USER_CHANNEL_PREFIX as _PREFIX
from taskmanager.observability.metrics import REDIS_ERRORS
from taskmanager.realtime.connection import Connection

logger = logging.getLogger("taskmanager.realtime")

# A join waits this long for Redis to confirm the subscription, then goes on without it.
CONFIRM_SECONDS = 2.0


class UserChannels:
    """Which users are connected here, and this process's subscriptions to their channels."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.users: dict[uuid.UUID, set[Connection]] = {}
        # Something to stay subscribed to while no user is connected (a pub/sub connection
        # with no subscription cannot be read), and that nobody publishes to.
        self._idle_channel = f"realtime:idle:{uuid.uuid4()}"
        self._pubsub: PubSub | None = None  # set while listening
        self._requested: set[str] = set()  # SUBSCRIBE sent on the current pubsub
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._lock = asyncio.Lock()  # orders SUBSCRIBE/UNSUBSCRIBE with the listener's resets
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[asyncio.Future[None] | None]] = set()
        # Called for a `joined` frame (kit/user_channel.py): the hub's subscribe_all.
        self.on_joined: Callable[[uuid.UUID, uuid.UUID], None] | None = None

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self, *, wait: bool = True) -> None:
        """Start listening; with `wait`, return once listening (or after CONFIRM_SECONDS)."""
        self._task = asyncio.create_task(self._listen(), name="realtime-user-channels")
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), CONFIRM_SECONDS)

    async def stop(self) -> None:
        for task in [*self._pending, *([self._task] if self._task else [])]:
            task.cancel()
        for task in [*self._pending, *([self._task] if self._task else [])]:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- connections ---------------------------------------------------------------------
    async def join(self, connection: Connection) -> None:
        """Deliver the user's notifications to `connection` from now on.

        Returns once Redis has confirmed the subscription (or after CONFIRM_SECONDS, or at
        once while Redis is unreachable: the listener subscribes when it is back), so a
        notification committed after join() returns reaches this connection."""
        user_id = connection.identity.user_id
        self.users.setdefault(user_id, set()).add(connection)
        confirmed = await self._sync(user_id)
        if confirmed is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(confirmed), CONFIRM_SECONDS)

    def leave(self, connection: Connection) -> None:
        """Idempotent; the user's last connection leaving unsubscribes (in the background)."""
        user_id = connection.identity.user_id
        connections = self.users.get(user_id)
        if connections is None or connection not in connections:
            return
        connections.discard(connection)
        if not connections:
            del self.users[user_id]
            task = asyncio.create_task(self._sync(user_id))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _sync(self, user_id: uuid.UUID) -> asyncio.Future[None] | None:
        """Bring this process's subscription to the user's channel in line with whether
        the user has connections; returns what confirms a subscription, if one is due."""
        channel = user_channel(user_id)
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is None:
                return None  # not listening: the listener subscribes to everyone on start
            wanted = user_id in self.users
            try:
                if wanted and channel not in self._requested:
                    self._confirmed[channel] = asyncio.get_running_loop().create_future()
                    self._requested.add(channel)
                    await pubsub.subscribe(channel)
                elif not wanted and channel in self._requested:
                    self._requested.discard(channel)
                    self._confirmed.pop(channel, None)
                    await pubsub.unsubscribe(channel)
            except (RedisError, OSError):
                # The listener sees the broken connection too, and resubscribes everyone.
                REDIS_ERRORS.labels("realtime").inc()
                return None
            return self._confirmed.get(channel) if wanted else None

    # -- Redis listener ------------------------------------------------------------------
    async def _listen(self) -> None:
        backoff = 0.2
        while True:
            pubsub = self.redis.pubsub()
            try:
                async with self._lock:
                    channels = [user_channel(user_id) for user_id in self.users]
                    self._requested = set(channels)
                    self._confirmed = {
                        c: asyncio.get_running_loop().create_future() for c in channels
                    }
                    await pubsub.subscribe(self._idle_channel, *channels)
                    self._pubsub = pubsub
                self._listening.set()
                backoff = 0.2
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        try:
                            self._dispatch(message)
                        except Exception:
                            # One bad frame or callback must not end every user's live
                            # notifications on this instance.
                            logger.exception("realtime: dispatching a user channel message")
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                REDIS_ERRORS.labels("realtime").inc()
                logger.warning(
                    "realtime: user channel subscriber lost (%s); retrying", type(exc).__name__
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self._pubsub = None
                self._listening.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _dispatch(self, message: dict[str, object]) -> None:
        channel = message.get("channel")
        name = channel.decode() if isinstance(channel, bytes) else str(channel)
        if message.get("type") == "subscribe":
            confirmed = self._confirmed.get(name)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
            return
        if message.get("type") != "message" or not name.startswith(_PREFIX):
            return
        try:
            user_id = uuid.UUID(name.removeprefix(_PREFIX))
            data = message.get("data")
            frame = orjson.loads(data if isinstance(data, bytes | str) else b"")
        except (ValueError, orjson.JSONDecodeError):
            logger.warning("realtime: ignoring a malformed message on %s", name)
            return
        if not isinstance(frame, dict):
            return
        if frame.get("type") == JOINED:
            self._joined(user_id, frame.get("project_id"))
            return
        if frame.get("type") != "notification":
            return
        for connection in list(self.users.get(user_id, ())):
            connection.send_control(frame)

    def _joined(self, user_id: uuid.UUID, project_id: object) -> None:
        if self.on_joined is None or not isinstance(project_id, str):
            return
        try:
            self.on_joined(user_id, uuid.UUID(project_id))
        except ValueError:
            logger.warning("realtime: ignoring a malformed joined frame for %s", user_id)
