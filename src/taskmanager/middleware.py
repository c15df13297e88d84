"""Pure ASGI middleware: request ids and access logs, security headers, body limits."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskmanager.errors import (
    PROBLEM_JSON,
    AppError,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    problem_body,
    problem_response,
)
from taskmanager.logs import request_id_var
from taskmanager.observability.metrics import observe_request, route_template

access_log = logging.getLogger("taskmanager.access")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc load their code from the CDN; the pages' own inline scripts are
# allowed by hash (computed from the page as sent), never by 'unsafe-inline'.
_DOCS_CSP = (
    "default-src 'none'; script-src 'self' https://cdn.jsdelivr.net{hashes}; "
    "style-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; img-src 'self' data: "
    "https://fastapi.tiangolo.com; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_INLINE_SCRIPT_RE = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def docs_csp(html: bytes) -> str:
    """The docs CSP allowing exactly the inline scripts of `html` (by their SHA-256)."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT_RE.findall(html)
    )
    return _DOCS_CSP.format(hashes=hashes)


_INTERNAL_ERROR_BODY = orjson.dumps(
    problem_body(
        500, "Internal Server Error", "An unexpected error occurred.", code="internal_error"
    )
)


# Where a WebSocket's handler finds the server's own `send` for its data frames.
WEBSOCKET_DATA_SEND = "websocket_data_send"


def _state(scope: Scope) -> MutableMapping[str, Any]:
    state: MutableMapping[str, Any] = scope.setdefault("state", {})
    return state


class RequestContextMiddleware:
    """Accepts or makes an X-Request-ID, echoes it, adds security headers, logs one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        state = _state(scope)
        state["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0
        path = scope.get("path", "")
        is_docs = path in ("/docs", "/redoc") or path.startswith("/docs/")
        held: Message | None = None  # a docs page's start, until its body gives the hashes
        held_body: list[bytes] = []

        stream_started: float | None = None  # an event stream's start: its latency
        ws_code: int | None = None  # a WebSocket's close code, whichever side closed
        ws_accepted = False

        async def receive_wrapper() -> Message:
            nonlocal ws_code
            message = await receive()
            if message["type"] == "websocket.disconnect" and ws_code is None:
                ws_code = int(message.get("code") or 1005)
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status, held, stream_started, ws_code, ws_accepted
            if message["type"] == "websocket.accept":
                ws_accepted = True
                access_log.info("websocket connect", extra=_ws_fields(scope, state, path))
            elif message["type"] == "websocket.close" and ws_code is None:
                ws_code = int(message.get("code") or 1000)
            elif message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/event-stream"):
                    stream_started = time.perf_counter()
                headers["x-request-id"] = request_id
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "no-referrer")
                headers.setdefault("x-frame-options", "DENY")
                if path.startswith("/api/"):
                    headers.setdefault("cache-control", "no-store")
                if is_docs and "content-security-policy" not in headers:
                    held = message  # small, non-streaming HTML pages
                    return
                headers.setdefault("content-security-policy", _API_CSP)
            elif held is not None and message["type"] == "http.response.body":
                held_body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(held_body)
                MutableHeaders(scope=held)["content-security-policy"] = docs_csp(body)
                start, held = held, None
                await send(start)
                message = {"type": "http.response.body", "body": body, "more_body": False}
            await send(message)

        if scope["type"] == "websocket":
            # A live socket's data frames (one per subscriber per event) go straight to the
            # server (realtime/websocket.py): the wrappers here and in Starlette look only at
            # the accept and the close, and cost a fan-out ~4 coroutine frames per frame.
            state[WEBSOCKET_DATA_SEND] = send
        try:
            await self.app(
                scope, receive_wrapper if scope["type"] == "websocket" else receive, send_wrapper
            )
        except Exception:
            # Starlette's ServerErrorMiddleware (outside every middleware) would answer
            # without the headers above; answer here so a 500 carries them too. It still
            # sees the exception (and logs it), and sends nothing once we have started.
            if scope["type"] == "http" and status == 0:
                await send_wrapper(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", PROBLEM_JSON.encode())],
                    }
                )
                await send_wrapper(
                    {"type": "http.response.body", "body": _INTERNAL_ERROR_BODY, "more_body": False}
                )
            raise
        finally:
            duration = time.perf_counter() - started
            if scope["type"] == "http":
                route = route_template(scope)
                method = scope.get("method", "")
                # A stream lasts as long as its client stays: its latency is until it starts.
                latency = duration if stream_started is None else stream_started - started
                observe_request(method, route, status or 500, latency)
                # Scrapes come every few seconds: routine ones only at DEBUG.
                quiet = route == "/metrics" and status == 200
                access_log.log(
                    logging.DEBUG if quiet else logging.INFO,
                    "request",
                    extra={
                        "method": method,
                        "route": route,
                        "path": path,
                        "status": status or 500,
                        "duration_ms": round(duration * 1000, 2),
                        "user_id": state.get("user_id"),
                        "client": (scope.get("client") or ("-",))[0],
                    },
                )
            else:
                # One line per end, accepted or refused at the handshake (403).
                access_log.info(
                    "websocket disconnect",
                    extra={
                        **_ws_fields(scope, state, path),
                        "accepted": ws_accepted,
                        "close_code": ws_code if ws_code is not None else 1006,
                        "duration_ms": round(duration * 1000, 2),
                    },
                )
            request_id_var.reset(token)


def _ws_fields(scope: Scope, state: MutableMapping[str, Any], path: str) -> dict[str, Any]:
    return {
        "route": route_template(scope),
        "path": path,
        "user_id": state.get("user_id"),
        "client": (scope.get("client") or ("-",))[0],
    }


LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 16 * 1024 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _TooLarge(Exception):
    """The body passed the limit while being read (control flow inside BodyLimitMiddleware)."""


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
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
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout_seconds: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._reject(scope, send, PayloadTooLarge("Invalid Content-Length header."))
                return
            if int(declared) > self.max_body_bytes:
                await self._linger(receive)
                await self._reject(scope, send, self._too_large())
                return
        chunks: list[bytes] = []
        disconnect: Message | None = None
        try:
            async with asyncio.timeout(self.body_timeout_seconds):
                disconnect = await self._read(receive, chunks)
        except TimeoutError:
            await self._reject(scope, send, self._timed_out())
            return
        except _TooLarge:
            await self._linger(receive)
            await self._reject(scope, send, self._too_large())
            return
        body = b"".join(chunks)
        if body and not _is_json(headers.get("content-type", "")):
            await self._reject(
                scope,
                send,
                UnsupportedMediaType(
                    "Request bodies must be JSON (Content-Type: application/json)."
                ),
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if disconnect is not None:
                    return disconnect
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive, chunks: list[bytes]) -> Message | None:
        """Append the body's chunks to `chunks`; the client's disconnect message, if any."""
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
            more = message.get("more_body", False)
        return None

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

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"Request body is larger than {self.max_body_bytes} bytes.")

    async def _reject(self, scope: Scope, send: Send, error: AppError) -> None:
        response = problem_response(error, instance=scope.get("path"))
        response.headers["connection"] = "close"
        await response(scope, self._no_receive, send)

    @staticmethod
    async def _no_receive() -> Message:
        return {"type": "http.disconnect"}
