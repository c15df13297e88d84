"""Prometheus request count and latency per method, route template and status."""

from __future__ import annotations

import time

from starlette.types import Message, Receive, Scope, Send

from taskmanager.middleware.asgi import HTTPLayer
from taskmanager.observability.metrics import observe_request, route_template


def _is_event_stream(start: Message) -> bool:
    for name, value in start.get("headers", ()):
        if name.lower() == b"content-type":
            return bool(value.startswith(b"text/event-stream"))
    return False


class MetricsMiddleware(HTTPLayer):
    """Observes each HTTP request once it ends (WebSockets have their own gauges)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 0
        stream_started: float | None = None

        async def send_observed(message: Message) -> None:
            nonlocal status, stream_started
            if message["type"] == "http.response.start":
                status = message["status"]
                if _is_event_stream(message):
                    stream_started = time.perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            # A stream lasts as long as its client stays: its latency is until it starts.
            ended = stream_started if stream_started is not None else time.perf_counter()
            observe_request(scope["method"], route_template(scope), status or 500, ended - started)
