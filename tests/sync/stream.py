"""Following `subscribe_all` over a real WebSocket into a Replica, until a condition holds."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from tests.realtime.wsclient import LiveClient
from tests.sync.replica import Replica


class Stream:
    def __init__(self, ws: LiveClient, replica: Replica) -> None:
        self.ws = ws
        self.replica = replica
        self.frames: list[dict[str, Any]] = []

    async def start(self, cursor: str | None = None, *, exact: bool = False) -> dict[str, Any]:
        """subscribe_all from `cursor`; `exact`: with the replica's seqs as `after`, so
        nothing it applied after that cursor frame comes again."""
        message: dict[str, Any] = {"type": "subscribe_all"}
        if cursor is not None:
            message["cursor"] = cursor
        if exact:
            message["after"] = dict(self.replica.after)
        await self.ws.send(message)
        return await self.until(lambda frame: frame["type"] == "subscribed_all")

    async def next(self, timeout: float = 10.0) -> dict[str, Any]:
        frame = await self.ws.recv(timeout)
        self.frames.append(frame)
        self.replica.apply_frame(frame)
        return frame

    async def until(
        self, done: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """Apply frames until `done(frame)`; returns that frame."""
        while True:
            frame = await self.next(timeout)
            if done(frame):
                return frame

    async def drain(self, seconds: float) -> None:
        """Apply whatever arrives within `seconds` (a client busy elsewhere meanwhile)."""
        with contextlib.suppress(TimeoutError):
            while True:
                await self.next(seconds)

    async def settle(self, expected: dict[str, Any], timeout: float = 15.0) -> None:
        """Until the replica equals `expected` and a cursor frame has confirmed it."""
        while self.replica.state() != expected:
            await self.next(timeout)
        while self.frames[-1]["type"] != "cursor":
            await self.next(timeout)
        assert self.replica.state() == expected
