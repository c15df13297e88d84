"""The access log: one JSON line per HTTP request, one per WebSocket connect and disconnect."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskmanager.observability.metrics import route_template

access_log = logging.getLogger("taskmanager.access")


def _fields(scope: Scope) -> dict[str, Any]:
    """What every line says about the request (the request id comes from the formatter)."""
    return {
        "route": route_template(scope),
        "path": scope.get("path", ""),
        # Set by authentication (auth/deps.py, realtime/websocket.py) once it knows.
        "user_id": scope.get("state", {}).get("user_id"),
        "client": (scope.get("client") or ("-",))[0],
    }


class AccessLogMiddleware:
    """Logs each request when it ends, with its status and duration; a WebSocket when it is
    accepted and when it ends (accepted or refused at the handshake) with its close code."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 0

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            fields = _fields(scope)
            # Scrapes come every few seconds: routine ones only at DEBUG.
            quiet = fields["route"] == "/metrics" and status == 200
            level = logging.DEBUG if quiet else logging.INFO
            if access_log.isEnabledFor(level):
                access_log.log(
                    level,
                    "request",
                    extra={
                        **fields,
                        "method": scope["method"],
                        "status": status or 500,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        close_code: int | None = None  # whichever side closed first
        accepted = False

        async def receive_logged() -> Message:
            nonlocal close_code
            message = await receive()
            if message["type"] == "websocket.disconnect" and close_code is None:
                close_code = int(message.get("code") or 1005)
            return message

        async def send_logged(message: Message) -> None:
            nonlocal close_code, accepted
            if message["type"] == "websocket.accept":
                accepted = True
                access_log.info("websocket connect", extra=_fields(scope))
            elif message["type"] == "websocket.close" and close_code is None:
                close_code = int(message.get("code") or 1000)
            await send(message)

        try:
            await self.app(scope, receive_logged, send_logged)
        finally:
            access_log.info(
                "websocket disconnect",
                extra={
                    **_fields(scope),
                    "accepted": accepted,
                    "close_code": close_code if close_code is not None else 1006,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
