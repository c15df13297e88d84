"""The WebSocket data-frame fast path: the server's own `send`, offered as a scope extension.

A live socket sends one data frame per subscriber per event, so a fan-out sends many.
Every send wrapper on the way (Starlette's WebSocket and exception handling, and each of
our middlewares) costs each frame a coroutine call, and none of them needs to see data
frames: ours look only at the accept and the close. So the outermost middleware offers
the server's `send` to the app under the scope extension EXTENSION (the ASGI way for an
outer layer to offer an extra capability), and `frame_sender` hands it to the endpoint.

The rule that makes this safe: a `websocket.send` message sent this way is seen by no
middleware, so no middleware may depend on seeing one. Accept and close still go through
the whole stack (the access log writes its lines from them).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

EXTENSION = "taskmanager.websocket.frames"


class WebSocketFramesMiddleware:
    """Outermost: puts the server's `send` in the scope of each WebSocket connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # A new dict: the server's may be shared between connections.
            scope["extensions"] = {**(scope.get("extensions") or {}), EXTENSION: {"send": send}}
        await self.app(scope, receive, send)


def frame_sender(websocket: WebSocket) -> Send:
    """The send for this socket's data frames (`websocket.send` messages only, after the
    accept): the server's own behind WebSocketFramesMiddleware, else the socket's."""
    extension = (websocket.scope.get("extensions") or {}).get(EXTENSION)
    if extension is None:
        return websocket.send
    send: Send = extension["send"]
    return send
