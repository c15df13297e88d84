"""A 500 problem+json when the app fails before answering, with every header a response gets."""

from __future__ import annotations

import orjson
from starlette.types import Message, Receive, Scope, Send

from taskmanager.errors import PROBLEM_JSON, problem_body
from taskmanager.middleware.asgi import HTTPLayer

_BODY = orjson.dumps(
    problem_body(
        500, "Internal Server Error", "An unexpected error occurred.", code="internal_error"
    )
)
_HEADERS = ((b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(_BODY)).encode()))


class InternalErrorMiddleware(HTTPLayer):
    """Answers an exception that escaped the app before its response started.

    Starlette's own ServerErrorMiddleware sits outside every middleware and would answer
    without the request id and security headers, uncounted and unlogged; this one sits
    inside them, so its 500 passes through them like any response. The exception is
    raised on, so the server still logs it (and Starlette sends nothing more).
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception:
            if not started:
                # Fresh messages: the middleware outside adds headers to them in place.
                await send(
                    {"type": "http.response.start", "status": 500, "headers": list(_HEADERS)}
                )
                await send({"type": "http.response.body", "body": _BODY, "more_body": False})
            raise
