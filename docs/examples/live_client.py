"""Follow projects live over the WebSocket API, reconnecting and resuming without gaps.

    python docs/examples/live_client.py --url http://127.0.0.1:8000 \\
        --token tm_... --project 6f1c2d9e-... [--after-seq 0]

prints one JSON line per event. Needs only `websockets` (a dependency of uvicorn[standard],
so it is installed with the server). The protocol is described in docs/realtime.md.

What makes it correct: the client remembers, per project, the last `seq` it handed to the
application, and every (re)subscription sends it as `after_seq`. The server replays what
came after it, in order, before live events; anything at or below it is a repeat and is
skipped. `resync_required` means the log no longer reaches back that far: the application
refetches the project (callback `on_resync`) and the client follows on from the new seq.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

Event = dict[str, Any]
OnEvent = Callable[[Event], Awaitable[None] | None]
OnResync = Callable[[str, int], Awaitable[None] | None]

# Close codes after which reconnecting cannot help (see docs/realtime.md).
FATAL_CLOSE_CODES = {
    1008: "policy violation (Origin not allowed)",
    4401: "session or token ended: log in again / use a new token",
}


class FatalClose(Exception):
    """The server ended the connection for a reason that a reconnect would not fix."""


async def _maybe_await(result: Awaitable[None] | None) -> None:
    if result is not None:
        await result


class LiveClient:
    """One WebSocket that follows `projects` (id -> last seq seen, or None for "from now")."""

    def __init__(
        self,
        base_url: str,
        token: str,
        projects: dict[str, int | None],
        on_event: OnEvent,
        on_resync: OnResync | None = None,
        *,
        min_backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        self.ws_url = base_url.rstrip("/").replace("http", "ws", 1) + "/api/v1/ws"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.last_seq: dict[str, int | None] = dict(projects)
        self.on_event = on_event
        self.on_resync = on_resync
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.connections = 0  # successful opens, so callers can see reconnects happen
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Connect, follow, and reconnect with exponential backoff until stop() or a fatal close."""
        backoff = self.min_backoff
        while not self._stopping.is_set() and self.last_seq:
            try:
                async with connect(self.ws_url, additional_headers=self.headers) as ws:
                    self.connections += 1
                    backoff = self.min_backoff  # connected: the next failure starts small again
                    await self._session(ws)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else 1006
                if code in FATAL_CLOSE_CODES:
                    raise FatalClose(f"closed {code}: {FATAL_CLOSE_CODES[code]}") from exc
            except (OSError, InvalidHandshake, TimeoutError):
                pass  # server down, restarting or unreachable: retry below
            if self._stopping.is_set():
                return
            # Full jitter, so a fleet of clients does not reconnect in lockstep.
            delay = random.uniform(0, backoff)  # noqa: S311 - not cryptographic
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            backoff = min(backoff * 2, self.max_backoff)

    async def _session(self, ws: ClientConnection) -> None:
        for project_id, seq in self.last_seq.items():
            await self._subscribe(ws, project_id, seq)
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            while True:
                receiver = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait(
                    {receiver, stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                if receiver not in done:
                    receiver.cancel()
                    await ws.close()
                    return
                await self._handle(ws, json.loads(receiver.result()))
        finally:
            stopper.cancel()

    async def _subscribe(self, ws: ClientConnection, project_id: str, seq: int | None) -> None:
        message: dict[str, Any] = {"type": "subscribe", "project_id": project_id}
        if seq is not None:
            message["after_seq"] = seq
        await ws.send(json.dumps(message))

    async def _handle(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        kind = message.get("type")
        project_id = message.get("project_id")
        if kind == "event" and project_id in self.last_seq:
            last = self.last_seq[project_id]
            seq = int(message["seq"])
            if last is not None and seq <= last:
                return  # a repeat (cannot happen with this server, but costs nothing to check)
            if last is not None and seq != last + 1:
                # A gap (never expected): resubscribe from what we have; the server replays.
                await self._subscribe(ws, project_id, last)
                return
            self.last_seq[project_id] = seq
            await _maybe_await(self.on_event(message))
        elif kind == "subscribed" and project_id in self.last_seq:
            if self.last_seq[project_id] is None:
                self.last_seq[project_id] = int(message["seq"])  # "from now": start here
        elif kind == "resync_required" and project_id in self.last_seq:
            seq = int(message["seq"])
            if self.on_resync is not None:
                await _maybe_await(self.on_resync(project_id, seq))  # refetch the project
            self.last_seq[project_id] = seq
            await self._subscribe(ws, project_id, seq)
        elif kind == "error" and message.get("code") == "resync_required" and project_id:
            # Events we still needed were pruned while we were catching up: asking again
            # from our position gets `resync_required` with the seq to refetch at (above).
            await self._subscribe(ws, project_id, self.last_seq.get(project_id))
        elif kind == "error" and message.get("code") in ("forbidden", "not_found"):
            # Not (or no longer) a member, or the project was deleted: stop following it.
            if project_id is not None:
                self.last_seq.pop(project_id, None)
            if not self.last_seq:
                await ws.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server's base URL")
    parser.add_argument("--token", required=True, help="a personal API token (tm_...)")
    parser.add_argument("--project", action="append", required=True, help="project id (repeat)")
    parser.add_argument(
        "--after-seq", type=int, default=None, help="replay events after this seq first"
    )
    args = parser.parse_args(argv)

    def show(event: Event) -> None:
        print(json.dumps(event), flush=True)

    def resync(project_id: str, seq: int) -> None:
        print(f"resync_required for {project_id}: refetch, then follow from {seq}", file=sys.stderr)

    client = LiveClient(
        args.url, args.token, dict.fromkeys(args.project, args.after_seq), show, resync
    )
    try:
        asyncio.run(client.run())
    except FatalClose as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
