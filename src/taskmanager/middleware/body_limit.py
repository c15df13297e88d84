"""Request bodies: too large (413), too slow (408) or not JSON (415) are refused before the app."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from taskmanager.errors import AppError, PayloadTooLarge, RequestTimeout, UnsupportedMediaType
from taskmanager.middleware.asgi import (
    BodyTooLarge,
    StreamedBody,
    read_body,
    replay_body,
    send_problem,
    streamed_route,
)

LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 16 * 1024 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


_FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _media(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(content_type: str) -> bool:
    media = _media(content_type)
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class BodyLimitMiddleware:
    """Rejects bodies over the limit (413) before reading them all, bodies that do not
    arrive in time (408), and non-JSON bodies (415).

    The body is read here, bounded by the limit, and replayed to the app, so a chunked
    upload without Content-Length cannot make the app buffer more than the limit either.
    The time bound is for the whole body, not per chunk: a client dribbling a byte now
    and then would reset a per-chunk timer forever.

    `streamed` routes (uploads) are the exception: their body is not read here but passed
    through, after the checks the headers allow (declared length against the route's own
    bound, its media type); the route bounds the size and time while it streams.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        body_timeout_seconds: float,
        form_paths: frozenset[str] = frozenset(),
        streamed: Sequence[StreamedBody] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds
        # Routes that take a form post from outside (RFC 8058 one-click unsubscribe); the
        # route itself ignores the body.
        self.form_paths = form_paths
        self.streamed = tuple(streamed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        route = streamed_route(scope, self.streamed)
        limit = route.max_bytes if route is not None else self.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._reject(scope, send, PayloadTooLarge("Invalid Content-Length header."))
                return
            if int(declared) > limit:
                await self._linger(receive)
                await self._reject(scope, send, self._too_large(limit))
                return
        if route is not None:
            if _media(headers.get("content-type", "")) != route.media_type:
                await self._linger(receive)
                await self._reject(
                    scope,
                    send,
                    UnsupportedMediaType(f"This upload must be sent as {route.media_type}."),
                )
                return
            await self.app(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.body_timeout_seconds):
                body, disconnect = await read_body(receive, limit=self.max_body_bytes)
        except TimeoutError:
            await self._reject(scope, send, self._timed_out())
            return
        except BodyTooLarge:
            await self._linger(receive)
            await self._reject(scope, send, self._too_large(self.max_body_bytes))
            return
        content_type = headers.get("content-type", "")
        form_ok = scope["path"] in self.form_paths and _media(content_type) in _FORMS
        if body and not _is_json(content_type) and not form_ok:
            await self._reject(
                scope,
                send,
                UnsupportedMediaType(
                    "Request bodies must be JSON (Content-Type: application/json)."
                ),
            )
            return
        await self.app(scope, replay_body(body, disconnect, receive), send)

    async def _linger(self, receive: Receive) -> None:
        """Discard (never buffer) a bounded amount of the rest of the body before the 413.

        Closing a socket with unread data makes the kernel send a reset, and the client
        then loses our 413 before reading it; draining first (nginx's lingering close)
        lets it arrive. Bounded in bytes and time so a slow or endless upload cannot
        hold us; past the bound the client may see a reset instead.
        """
        discarded = 0
        try:
            async with asyncio.timeout(LINGER_SECONDS):
                while discarded < LINGER_MAX_BYTES:
                    message = await receive()
                    if message["type"] != "http.request":
                        return
                    discarded += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        return
        except TimeoutError:
            return

    def _timed_out(self) -> RequestTimeout:
        return RequestTimeout(
            f"The request body did not arrive within {self.body_timeout_seconds:g} seconds."
        )

    @staticmethod
    def _too_large(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(f"Request body is larger than {limit} bytes.")

    @staticmethod
    async def _reject(scope: Scope, send: Send, error: AppError) -> None:
        await send_problem(scope, send, error, close=True)
