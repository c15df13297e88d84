"""One live client (a WebSocket or an SSE stream) and its subscriptions to projects."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from prometheus_client import Counter

from taskmanager.observability.metrics import (
    EVENTS_DELIVERED,
    EVENTS_DROPPED,
    SLOW_CONSUMERS_CLOSED,
)

logger = logging.getLogger("taskmanager.realtime")

# Close codes (RFC 6455 and the 4xxx range for the application).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013  # the send queue overflowed: resume with after_seq
CLOSE_UNAUTHORIZED = 4401  # the session or token ended
_DRAIN_ON_CLOSE = frozenset({CLOSE_NORMAL, CLOSE_GOING_AWAY})


@functools.cache
def _delivered(kind: str) -> Counter:
    # .labels() builds and checks a key tuple under a lock: 15% of a fan-out's CPU when it
    # ran once per subscriber per event; the labelled child never changes, so look it up once.
    return EVENTS_DELIVERED.labels(kind)


def count_delivered(kind: str, amount: int = 1) -> None:
    """Count deliveries: the hub calls it once per event and transport with the total,
    since even a cached child's inc() (a lock, or an mmap write with --workers) adds up
    over 10,000 subscribers."""
    _delivered(kind).inc(amount)


@dataclass(slots=True)
class LiveEvent:
    """An event as it travels: parsed once, serialised once, shared by every subscriber."""

    project_id: uuid.UUID
    seq: int
    name: str
    data: dict[str, Any]
    text: str
    # The WebSocket frame of `text`, built by the first socket that writes it directly
    # (realtime/frames.py) and shared by all the others.
    ws_frame: bytes | None = None

    @classmethod
    def parse(cls, raw: bytes) -> LiveEvent:
        body = orjson.loads(raw)
        return cls(
            project_id=uuid.UUID(body["project_id"]),
            seq=int(body["seq"]),
            name=str(body["name"]),
            data=body.get("data") or {},
            text=raw.decode(),
        )


class SubscriptionEnds(Protocol):
    """Told when one of a connection's subscriptions ends (realtime/all_projects.py)."""

    def ended(self, sub: Subscription, code: str) -> bool:
        """True if it has told the client itself (no `error` is sent then)."""


class SubscriptionOwner(Protocol):
    """All a connection and its subscriptions may ask of the hub that owns them."""

    def drop(self, sub: Subscription) -> None:
        """Stop delivering to `sub` and forget it."""

    def start_catch_up(self, sub: Subscription) -> None:
        """Read what `sub` missed from the log (it saw a seq beyond last_seq + 1)."""


@dataclass(eq=False, slots=True)
class Identity:
    """Who a live connection belongs to, and the credential to re-check."""

    user_id: uuid.UUID
    session_hash: str | None = None
    token_id: uuid.UUID | None = None


class Closed(Exception):
    """Raised in a writer when its connection has been told to close."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(eq=False, slots=True)
class Subscription:
    """A connection following one project: delivers in seq order, no gaps, no repeats.

    `last_seq` is what this subscriber has been given. A live event is accepted only as
    `last_seq + 1`; anything older is a repeat and dropped; anything newer means a message
    was missed, and the subscription catches up from the database before going on. While
    catching up it only notes the highest seq it has seen, and reads again until it has
    reached it, so an event that commits during the switch from replay to live is neither
    lost nor sent twice.
    """

    project_id: uuid.UUID
    connection: Connection
    last_seq: int = 0
    catching_up: bool = True
    max_seen: int = 0
    active: bool = True
    catch_up_task: asyncio.Task[None] | None = field(default=None, repr=False)

    def offer(self, event: LiveEvent) -> bool:
        """Hand a live event to this subscriber; True if it was queued for the client."""
        if not self.active:
            return False
        if event.name == "project.deleted":
            # The rows (and the log) are gone: no catching up to do, just say so and stop.
            self.last_seq = max(self.last_seq, event.seq - 1)
            return self.deliver(event)
        self.max_seen = max(self.max_seen, event.seq)
        if self.catching_up or event.seq <= self.last_seq:
            return False
        if event.seq == self.last_seq + 1:
            return self.deliver(event)
        self.connection.owner.start_catch_up(self)
        return False

    def deliver(self, event: LiveEvent) -> bool:
        """Queue the next event in seq order; True if it was (the caller counts it)."""
        if not self.active or event.seq != self.last_seq + 1:
            return False
        self.last_seq = event.seq
        queued = self.connection.send_event(event)
        if event.name == "project.deleted":
            self.connection.end_subscription(self, "not_found", "The project was deleted.")
        elif event.name == "member.removed" and event.data.get("user_id") == str(
            self.connection.identity.user_id
        ):
            self.connection.end_subscription(
                self, "forbidden", "You were removed from the project."
            )
        return queued


class Connection:
    """Transport-independent part of a live client: a bounded send queue and subscriptions.

    Producers never wait on a client: `send` puts into a bounded queue and a client whose
    queue is full is closed (1013), so one slow reader cannot hold the others back.
    """

    kind = "connection"
    # Thousands of these live at once: no per-instance __dict__, and a bare deque plus
    # futures made only while someone waits, rather than an asyncio.Queue and an Event
    # (five deques between them, ~3 KiB per connection).
    __slots__ = (
        "_room",
        "_waiter",
        "close_code",
        "close_reason",
        "follower",
        "identity",
        "on_close",
        "owner",
        "queue",
        "queue_size",
        "sending",
        "subscriptions",
    )

    def __init__(self, owner: SubscriptionOwner, identity: Identity, *, queue_size: int) -> None:
        self.owner = owner
        self.identity = identity
        self.queue: deque[str] = deque()
        self.queue_size = queue_size
        self.subscriptions: dict[uuid.UUID, Subscription] = {}
        self.close_code: int | None = None
        self.close_reason = ""
        # What replay waits on while the queue is nearly full; set when it has room again.
        self._room: asyncio.Future[None] | None = None
        # What an idle next_message() waits on: one bare future, woken by _put and close.
        self._waiter: asyncio.Future[None] | None = None
        self.sending = False  # set by a transport while it is blocked writing to the client
        self.on_close: Callable[[], None] | None = None
        # Set by a `subscribe_all`: its subscriptions end in its own messages, not errors.
        self.follower: SubscriptionEnds | None = None

    # -- what the hub and subscriptions call -------------------------------------------
    def send_event(self, event: LiveEvent) -> bool:
        """Queue an event for the client; True if queued. Deliveries are counted by the
        caller with count_delivered, once per event rather than once per subscriber."""
        if self._put(self.format_event(event)):
            return True
        EVENTS_DROPPED.labels(
            "queue_full" if self.close_code == CLOSE_TRY_AGAIN_LATER else "closing"
        ).inc()
        return False

    def send_control(self, message: dict[str, Any]) -> None:
        text = self.format_control(message)
        if text is not None:
            self._put(text)

    def send_control_text(self, text: str) -> None:
        """Queue a control message serialised once for many connections (presence)."""
        self._put(text)

    def end_subscription(self, sub: Subscription, code: str, message: str) -> None:
        self.owner.drop(sub)
        if self.follower is not None and self.follower.ended(sub, code):
            return
        self.send_control(
            {"type": "error", "code": code, "project_id": str(sub.project_id), "message": message}
        )

    def queue_nearly_full(self) -> bool:
        return self.close_code is None and len(self.queue) >= self.queue_size - 4

    def close(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            self._has_room()
            self._wake()
            if self.on_close is not None:
                self.on_close()

    # -- transport hooks ---------------------------------------------------------------
    def format_event(self, event: LiveEvent) -> str:
        return event.text

    def format_control(self, message: dict[str, Any]) -> str | None:
        return orjson.dumps(message).decode()

    async def wait_writable(self) -> None:
        """Wait until the queue has room (used by replay, which can wait; live cannot)."""
        while self.queue_nearly_full():
            # Several catch-ups (one per project) may wait on the same connection.
            if self._room is None or self._room.done():
                self._room = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._room)

    async def next_message(self, max_wait: float | None = None) -> str | None:
        """The next thing to send; None after `max_wait`; raises Closed once told to close.

        A normal close or a shutdown first sends what is queued (e.g. the final error);
        a revoked credential or an overflow does not: nothing more goes to that client.
        """
        while True:
            if self.close_code is not None and (
                self.close_code not in _DRAIN_ON_CLOSE or not self.queue
            ):
                raise Closed(self.close_code, self.close_reason)
            if self.queue:
                text = self.queue.popleft()
                if len(self.queue) <= self.queue_size // 2:
                    self._has_room()
                return text
            # One future woken by _put/close, not two Tasks under asyncio.wait: those were
            # made (and parked, per idle connection) for every message of every subscriber.
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                if max_wait is None:
                    await waiter
                else:
                    # Not wait_for: on Python 3.11 it can swallow a cancel of this sender.
                    async with asyncio.timeout(max_wait):
                        await waiter
            except TimeoutError:
                if self.close_code is None:
                    return None
            finally:
                self._waiter = None

    def _has_room(self) -> None:
        if self._room is not None:
            if not self._room.done():
                self._room.set_result(None)
            self._room = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _put(self, text: str) -> bool:
        """Queue `text`; False if it was not (closing, or the queue overflowed just now)."""
        if self.close_code is not None:
            return False
        if len(self.queue) >= self.queue_size:
            SLOW_CONSUMERS_CLOSED.inc()
            logger.info("closing a slow %s (send queue full)", self.kind)
            self.close(CLOSE_TRY_AGAIN_LATER, "Too slow: reconnect and resume with after_seq.")
            return False
        self.queue.append(text)
        self._wake()
        return True
