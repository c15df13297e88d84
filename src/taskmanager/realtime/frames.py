"""Fan-out fast path: one WebSocket frame built per event, written straight to each socket.

A live event goes to every subscriber of a project. Through the queue, each delivery wakes
the socket's writer task, which encodes the same text into a frame of its own and writes
it: a task switch and an encode per subscriber per event. Here the hub's dispatch loop
writes one pre-built frame (built once per event, shared by every subscriber) to each
socket's transport itself, and falls back to the bounded queue (and so to 1013 for a
slow consumer) whenever the direct write could reorder or pile up:

- something is queued or being written for that socket (order is kept by the queue),
- the transport's write buffer is above HIGH_WATER (the client is not keeping up),
- the socket is closing or uses an extension (permessage-deflate) that changes frames.

It relies on uvicorn's websockets-sansio protocol (what `taskmanager serve` runs); under
any other server `DirectWriter.for_send` returns None and every frame takes the queue.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

# Below the transport's own pause threshold (64 KiB): past this, frames wait in the
# bounded queue, whose overflow is what closes a client that stopped reading.
HIGH_WATER = 32 * 1024


def text_frame(text: str) -> bytes:
    """An unmasked, unfragmented server text frame (RFC 6455 section 5.2)."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class DirectWriter:
    """Writes whole frames to one socket's transport, when that cannot reorder or pile up."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    @classmethod
    def for_send(cls, send: Any) -> DirectWriter | None:
        """The writer behind the server's own `send`; None if frames must take `send`."""
        protocol = getattr(send, "__self__", None)
        if not isinstance(protocol, WebSocketsSansIOProtocol) or protocol.conn.extensions:
            return None
        return cls(protocol)

    def write(self, frame: bytes) -> bool:
        """Write `frame` now; False if it must go through the queue instead."""
        protocol = self._protocol
        transport = protocol.transport
        if (
            protocol.close_sent
            or protocol.disconnected
            or not protocol.writable.is_set()
            or protocol.conn.state is not State.OPEN
            or transport.is_closing()
            or transport.get_write_buffer_size() > HIGH_WATER
        ):
            return False
        transport.write(frame)
        return True
