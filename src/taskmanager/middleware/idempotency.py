"""Idempotency-Key for every POST, once, as pure ASGI middleware (docs/api.md#idempotency).

A POST carrying `Idempotency-Key` is recorded in Redis under (credential, path, key), where
the credential is a hash of the session cookie or the Authorization header, so two users never
share keys. The first request takes a short "in flight" marker with SET NX; when it finishes,
its status, headers and body are kept for 24 h and a retry with the same key and body gets
that response again (header `Idempotent-Replayed: true`) without running anything. The same
key with a different body is a 422; a duplicate while the first is still running is a 409.

What is stored: 2xx answers and 4xx answers that a retry could not change (400, 404, 413,
422...). Answers that depend on the moment or the credential (401, 403, 408, 409, 412, 425,
429) and 5xx are not stored: the key is released so the client can retry. Responses that set
cookies are never stored (a replay must not hand out a session).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskmanager.errors import Conflict, ValidationFailed
from taskmanager.middleware.asgi import read_body, replay_body, send_problem

logger = logging.getLogger("taskmanager.idempotency")

HEADER = "idempotency-key"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
_NOT_STORED = frozenset({401, 403, 408, 409, 412, 425, 429})
TTL_SECONDS = 24 * 3600
IN_FLIGHT_SECONDS = 120


class IdempotencyInFlight(Conflict):
    code = "idempotency_in_flight"


def _storable(status: int, headers: list[tuple[bytes, bytes]]) -> bool:
    if any(name.lower() == b"set-cookie" for name, _ in headers):
        return False
    return 200 <= status < 300 or (400 <= status < 500 and status not in _NOT_STORED)


def _fingerprint(body: bytes) -> str:
    """The same JSON, however it is spaced or ordered, is the same request."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, session_cookie_name: str) -> None:
        self.app = app
        self.session_cookie_name = session_cookie_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not _KEY_RE.match(key):
            await send_problem(
                scope,
                send,
                ValidationFailed.field(
                    ("header", "Idempotency-Key"), "Must be 1 to 255 visible ASCII characters."
                ),
            )
            return
        resources = scope.get("state", {}).get("resources")
        if resources is None:
            await self.app(scope, receive, send)
            return
        body, disconnect = await read_body(receive)  # bounded by the body limit, outside
        replay = replay_body(body, disconnect, receive)
        redis = resources.redis
        redis_key = self._redis_key(scope, headers, key)
        fingerprint = _fingerprint(body)
        try:
            acquired = await redis.set(
                redis_key,
                orjson.dumps({"state": "pending", "fp": fingerprint}),
                nx=True,
                ex=IN_FLIGHT_SECONDS,
            )
            stored = None if acquired else await redis.get(redis_key)
        except RedisError:
            # Without Redis we cannot promise idempotency; session auth fails closed anyway,
            # and a token request is better served once than refused.
            logger.warning("idempotency store unavailable; request runs unguarded")
            await self.app(scope, replay, send)
            return
        if not acquired:
            await self._answer_duplicate(scope, send, stored, fingerprint)
            return
        await self._run_and_store(scope, replay, send, redis, redis_key, fingerprint)

    def _redis_key(self, scope: Scope, headers: Headers, key: str) -> str:
        cookies = cookie_parser(headers.get("cookie", ""))
        credential = headers.get("authorization") or cookies.get(self.session_cookie_name)
        if not credential:
            client = scope.get("client") or ("-", 0)
            credential = f"anonymous:{client[0]}"
        material = "\n".join([credential, scope["method"], scope["path"], key])
        return "idem:" + hashlib.sha256(material.encode()).hexdigest()

    async def _answer_duplicate(
        self, scope: Scope, send: Send, stored: bytes | None, fingerprint: str
    ) -> None:
        record: dict[str, Any] = orjson.loads(stored) if stored else {}
        if not record:
            await send_problem(scope, send, IdempotencyInFlight("Retry: the key just expired."))
        elif record.get("fp") != fingerprint:
            await send_problem(
                scope,
                send,
                ValidationFailed.field(
                    ("header", "Idempotency-Key"),
                    "This key was already used with a different request body.",
                ),
            )
        elif record.get("state") == "pending":
            await send_problem(
                scope,
                send,
                IdempotencyInFlight("A request with this Idempotency-Key is still in progress."),
            )
        else:
            headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in record["headers"]]
            headers.append((b"idempotent-replayed", b"true"))
            await send(
                {"type": "http.response.start", "status": record["status"], "headers": headers}
            )
            await send({"type": "http.response.body", "body": base64.b64decode(record["body"])})

    async def _run_and_store(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        redis: Any,
        redis_key: str,
        fingerprint: str,
    ) -> None:
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await self._release(redis, redis_key)
            raise
        if not _storable(status, headers):
            await self._release(redis, redis_key)
            return
        record = {
            "state": "done",
            "fp": fingerprint,
            "status": status,
            "headers": [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers],
            "body": base64.b64encode(b"".join(chunks)).decode(),
        }
        try:
            await redis.set(redis_key, orjson.dumps(record), ex=TTL_SECONDS)
        except RedisError:
            logger.warning("could not store an idempotent response", exc_info=True)

    @staticmethod
    async def _release(redis: Any, redis_key: str) -> None:
        try:
            await redis.delete(redis_key)
        except RedisError:
            logger.warning("could not release an idempotency key", exc_info=True)
