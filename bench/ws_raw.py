"""A lean WebSocket subscriber (asyncio.Protocol, no library) for the fan-out benchmark.

Thousands of subscribers share this 2-core machine with the server: a full client library
spends more per message than the server does, and its queueing would be measured as
delivery latency. This one parses frames by hand, takes the arrival time once per read,
pulls `request_id` out of event frames without decoding the JSON, and answers pings.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from typing import cast

EVENT = b'"type":"event"'
REQUEST_ID = b'"request_id":"'


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask), FIN set."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack(">Q", n)
    key = (mask * (n // 4 + 1))[:n]
    return head + mask + bytes(a ^ b for a, b in zip(payload, key, strict=True))


class RawSubscriber(asyncio.Protocol):
    """Upgrade, subscribe to one project, then report every event's request_id."""

    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        cookie: str,
        subscribe: bytes,
        on_event: Callable[[str, float], None],
    ) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: "
            f"{base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Cookie: session={cookie}\r\n\r\n"
        ).encode()
        self.subscribe = subscribe
        self.on_event = on_event
        self.buffer = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        transport = self.transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError(f"connection lost: {exc!r}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[: self.buffer.find(b"\r\n")])
            if b" 101 " not in status:
                self.subscribed.set_exception(RuntimeError(f"handshake refused: {status!r}"))
                self._close()
                return
            del self.buffer[: end + 4]
            self.upgraded = True
            self._send(masked_frame(0x1, self.subscribe))
        self._frames(now)

    def _frames(self, now: float) -> None:
        buf = self.buffer
        i = 0
        while len(buf) - i >= 2:
            opcode, length, head = buf[i] & 0x0F, buf[i + 1] & 0x7F, 2
            if length == 126:
                if len(buf) - i < 4:
                    break
                length, head = struct.unpack_from(">H", buf, i + 2)[0], 4
            elif length == 127:
                if len(buf) - i < 10:
                    break
                length, head = struct.unpack_from(">Q", buf, i + 2)[0], 10
            if len(buf) - i < head + length:
                break
            payload = bytes(buf[i + head : i + head + length])
            i += head + length
            self._frame(opcode, payload, now)
        del buf[:i]

    def _frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x1:
            if EVENT in payload[:40]:
                start = payload.find(REQUEST_ID)
                if start >= 0:
                    start += len(REQUEST_ID)
                    rid = payload[start : payload.find(b'"', start)].decode()
                    self.on_event(rid, now)
            elif payload.startswith(b'{"type":"subscribed"') and not self.subscribed.done():
                self.subscribed.set_result(None)
            elif payload.startswith(b'{"type":"error"') and not self.subscribed.done():
                self.subscribed.set_exception(RuntimeError(payload[:300].decode()))
        elif opcode == 0x9:  # ping: the server closes a client that never answers
            self._send(masked_frame(0xA, payload))
        elif opcode == 0x8:
            code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
            if not self.closed.done():
                self.closed.set_result(code)
            self._close()

    def _send(self, frame: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def close(self) -> None:
        """Send a normal close frame and drop the connection."""
        self._send(masked_frame(0x8, struct.pack(">H", 1000)))
        self._close()
