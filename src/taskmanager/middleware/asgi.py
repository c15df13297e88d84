"""ASGI plumbing our layers share: HTTP-only dispatch, one body read and replay, problems."""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskmanager.errors import AppError, problem_response


class HTTPLayer(abc.ABC):
    """A layer that acts on HTTP requests only: WebSockets and lifespan pass straight on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    @abc.abstractmethod
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The layer's job, for one HTTP request."""


@dataclass(frozen=True, slots=True)
class StreamedBody:
    """A route that reads its own request body as a stream (an upload), with its own size
    bound and media type: the body-limit and idempotency layers pass its body through
    instead of reading it whole, and check what they can from the headers alone."""

    method: str
    path: re.Pattern[str]
    max_bytes: int
    media_type: str

    def matches(self, scope: Scope) -> bool:
        return scope["method"] == self.method and self.path.fullmatch(scope["path"]) is not None


def streamed_route(scope: Scope, routes: tuple[StreamedBody, ...]) -> StreamedBody | None:
    return next((route for route in routes if route.matches(scope)), None)


class BodyTooLarge(Exception):
    """The body passed the limit while being read; nothing past the limit was kept."""


async def read_body(receive: Receive, *, limit: int | None = None) -> tuple[bytes, Message | None]:
    """The whole body, and the client's disconnect message if it left before the end.

    Raises BodyTooLarge as soon as more than `limit` bytes arrived, so a chunked upload
    without Content-Length cannot make us buffer more than the limit.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), message
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None


def replay_body(body: bytes, disconnect: Message | None, receive: Receive) -> Receive:
    """A receive for the app: first the body already read as one message (or the client's
    disconnect, if it left while sending it), then the server's own receive, which is
    where a later disconnect comes from."""
    first: Message = (
        disconnect
        if disconnect is not None
        else {"type": "http.request", "body": body, "more_body": False}
    )
    replayed = False

    async def receive_replayed() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return first

    return receive_replayed


async def send_problem(scope: Scope, send: Send, error: AppError, *, close: bool = False) -> None:
    """Answer `error` as problem+json without running the app (`close`: drop the connection
    after it, when the rest of the request will not be read)."""
    response = problem_response(error, instance=scope.get("path"))
    if close:
        response.headers["connection"] = "close"
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    """The receive of an answer given without the app: the request is not read further."""
    return {"type": "http.disconnect"}
