"""Idempotency-Key for every POST, once, as pure ASGI middleware (docs/api.md#idempotency).

A POST carrying `Idempotency-Key` is recorded in Redis under (credential, path, key), where
the credential is a hash of the session cookie or the Authorization header, so two users never
share keys. The first request takes a short "in flight" marker with SET NX; when it finishes,
its status, headers and body are kept for 24 h and a retry with the same key and body gets
that response again (header `Idempotent-Replayed: true`) without running anything. The same
key with a different body is a 422; a duplicate while the first is still running is a 409.

A replay is authenticated like the first request: the record keeps the caller's user id, and
the retry must prove the same principal now (a live session with its CSRF header, or a live
token), else it gets the 401/403 the route would give and nothing of the stored answer.

What is stored: 2xx answers and 4xx answers that a retry could not change (400, 404, 413,
422...). Answers that depend on the moment or the credential (401, 403, 408, 409, 412, 425,
429) and 5xx are not stored: the key is released so the client can retry. Responses that set
cookies are never stored (a replay must not hand out a session). Routes whose answer carries
a secret (an API token) depend on `withhold_from_replay`: their success is remembered without
its body, and a retry gets a 409 `idempotency_response_withheld` (running it again would break
"at most once"; replaying it would keep the secret in Redis).

Streamed routes (uploads, see `StreamedBody`) are never buffered: the first request's body is
hashed as the route reads it, and only a success that read it all is kept; a retry's body is
hashed as it is read here and dropped. Their "same body" is the same bytes, multipart
boundary included: a client retries by sending the very same body again.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskmanager.errors import (
    AppError,
    Conflict,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationFailed,
)
from taskmanager.middleware.asgi import (
    StreamedBody,
    read_body,
    replay_body,
    send_problem,
    streamed_route,
)

logger = logging.getLogger("taskmanager.idempotency")

HEADER = "idempotency-key"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
_NOT_STORED = frozenset({401, 403, 408, 409, 412, 425, 429})
TTL_SECONDS = 24 * 3600
IN_FLIGHT_SECONDS = 120


WITHHOLD = "idempotency_withhold"
# The caller of a not-yet-routed request, checked as the route would (CSRF included): their
# user id, or an AppError (401/403) / RedisError.
Authenticate = Callable[[Scope], Awaitable[str]]


class IdempotencyInFlight(Conflict):
    code = "idempotency_in_flight"


class IdempotencyWithheld(Conflict):
    code = "idempotency_response_withheld"


async def withhold_from_replay(request: Request) -> None:
    """Route dependency: this route's success carries a secret; never store its body."""
    setattr(request.state, WITHHOLD, True)


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
    def __init__(
        self,
        app: ASGIApp,
        *,
        session_cookie_name: str,
        authenticate: Authenticate,
        streamed: Sequence[StreamedBody] = (),
    ) -> None:
        self.app = app
        self.session_cookie_name = session_cookie_name
        self.authenticate = authenticate
        self.streamed = tuple(streamed)

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
        redis = resources.redis
        redis_key = self._redis_key(scope, headers, key)
        route = streamed_route(scope, self.streamed)
        if route is not None:
            await self._streamed(scope, receive, send, redis, redis_key, route)
            return
        body, disconnect = await read_body(receive)  # bounded by the body limit, outside
        replay = replay_body(body, disconnect, receive)
        fingerprint = _fingerprint(body)
        try:
            acquired, stored = await _claim(redis, redis_key, fingerprint)
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

    async def _streamed(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        redis: Any,
        redis_key: str,
        route: StreamedBody,
    ) -> None:
        try:
            acquired, stored = await _claim(redis, redis_key, None)
        except RedisError:
            logger.warning("idempotency store unavailable; request runs unguarded")
            await self.app(scope, receive, send)
            return
        if not acquired:
            try:
                retry_fp = await _hash_body(receive, limit=route.max_bytes)
            except AppError as error:
                await send_problem(scope, send, error, close=True)
                return
            await self._answer_duplicate(scope, send, stored, retry_fp)
            return
        digest = hashlib.sha256()
        complete = False

        async def hashing_receive() -> Message:
            nonlocal complete
            message = await receive()
            if message["type"] == "http.request":
                digest.update(message.get("body", b""))
                complete = complete or not message.get("more_body", False)
            return message

        def fingerprint() -> str | None:
            # A body the route did not read to its end (it refused it) is not remembered.
            return digest.hexdigest() if complete else None

        await self._run_and_store(scope, hashing_receive, send, redis, redis_key, fingerprint)

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
        if record.get("state") in ("done", "withheld"):
            refusal = await self._refuse_other_caller(scope, record)
            if refusal is not None:
                await send_problem(scope, send, refusal)
                return
        if not record:
            await send_problem(scope, send, IdempotencyInFlight("Retry: the key just expired."))
        elif record.get("fp") is None and record.get("state") == "pending":
            await send_problem(
                scope,
                send,
                IdempotencyInFlight("A request with this Idempotency-Key is still in progress."),
            )
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
        elif record.get("state") == "withheld":
            await send_problem(
                scope,
                send,
                IdempotencyWithheld(
                    "A request with this Idempotency-Key succeeded, but its response held a "
                    "secret and was not kept; look up what it created instead of retrying."
                ),
            )
        else:
            headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in record["headers"]]
            headers.append((b"idempotent-replayed", b"true"))
            await send(
                {"type": "http.response.start", "status": record["status"], "headers": headers}
            )
            await send({"type": "http.response.body", "body": base64.b64decode(record["body"])})

    async def _refuse_other_caller(self, scope: Scope, record: dict[str, Any]) -> AppError | None:
        """Why this retry may not see the stored answer, or None if it is its caller's."""
        if "user" not in record:
            # Stored before answers kept their caller (for up to TTL_SECONDS after an
            # upgrade): nobody can be proven its owner, so nobody gets it.
            return IdempotencyWithheld(
                "The response to this Idempotency-Key cannot be replayed; look up what the "
                "first request created instead of retrying."
            )
        user = record["user"]
        if user is None:  # an anonymous route's answer: keyed by address, nothing to prove
            return None
        try:
            caller = await self.authenticate(scope)
        except AppError as error:
            return error
        except RedisError:
            return ServiceUnavailable(
                "A backing service is unavailable; retry shortly.", headers={"Retry-After": "1"}
            )
        if caller != user:
            return ValidationFailed.field(
                ("header", "Idempotency-Key"), "This key was used by another account."
            )
        return None

    async def _run_and_store(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        redis: Any,
        redis_key: str,
        fingerprint: str | Callable[[], str | None],
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
        state = scope.get("state", {})
        withheld = bool(state.get(WITHHOLD)) and 200 <= status < 300
        fp = fingerprint() if callable(fingerprint) else fingerprint
        if fp is None or (not withheld and not _storable(status, headers)):
            await self._release(redis, redis_key)
            return
        record: dict[str, Any] = {"fp": fp, "user": state.get("user_id")}
        if withheld:
            record["state"] = "withheld"
        else:
            record |= {
                "state": "done",
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


async def _hash_body(receive: Receive, *, limit: int) -> str:
    """The SHA-256 of a streamed body, read to its end and not kept."""
    digest = hashlib.sha256()
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
        digest.update(chunk)
        if not message.get("more_body", False):
            break
    return digest.hexdigest()


async def _claim(redis: Any, redis_key: str, fingerprint: str | None) -> tuple[bool, Any]:
    """Mark the key in flight unless it exists; returns (acquired, what is stored if not)."""
    acquired = await redis.set(
        redis_key,
        orjson.dumps({"state": "pending", "fp": fingerprint}),
        nx=True,
        ex=IN_FLIGHT_SECONDS,
    )
    return bool(acquired), None if acquired else await redis.get(redis_key)
