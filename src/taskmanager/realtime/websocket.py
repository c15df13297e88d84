"""GET /api/v1/ws: the WebSocket protocol of docs/realtime.md (subscribe, unsubscribe, ping)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, WebSocket
from redis.exceptions import RedisError
from starlette.websockets import WebSocketDisconnect

from taskmanager.auth import service as auth_service
from taskmanager.auth.deps import get_session_store, parse_bearer
from taskmanager.errors import AppError, NotAuthenticated
from taskmanager.membership.access import Role, require_role
from taskmanager.middleware.websocket_frames import frame_sender
from taskmanager.observability.metrics import REDIS_ERRORS
from taskmanager.realtime.all_projects import handle_subscribe_all
from taskmanager.realtime.connection import (
    CLOSE_UNAUTHORIZED,
    Closed,
    Connection,
    Identity,
    LiveEvent,
)
from taskmanager.realtime.frames import DirectWriter, text_frame
from taskmanager.realtime.hub import Hub, SubscribeOutcome
from taskmanager.realtime.limits import TooManyConnections
from taskmanager.state import Resources

router = APIRouter(tags=["realtime"])
logger = logging.getLogger("taskmanager.realtime")

CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
# Over a live-connection cap: like HTTP 429; the error message before it says which cap.
CLOSE_TOO_MANY_CONNECTIONS = 4429
CLOSE_TIMEOUT_SECONDS = 2.0


class WebSocketConnection(Connection):
    kind = "websocket"
    __slots__ = ("direct",)

    def __init__(self, owner: Hub, identity: Identity, *, queue_size: int) -> None:
        super().__init__(owner, identity, queue_size=queue_size)
        self.direct: DirectWriter | None = None

    def send_event(self, event: LiveEvent) -> bool:
        """Write the event's shared frame straight to the socket when nothing is ahead of
        it (queue empty, writer idle); otherwise queue it, which keeps the seq order."""
        direct = self.direct
        if direct is not None and not self.queue and not self.sending and self.close_code is None:
            frame = event.ws_frame
            if frame is None:
                frame = event.ws_frame = text_frame(event.text)
            if direct.write(frame):
                return True
        return super().send_event(event)


_DEFAULT_PORTS = {"http": 80, "https": 443}
# The WebSocket's own scheme, as the page that opened it would spell its origin.
_PAGE_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def _origin_key(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port filled in; None if it cannot be parsed."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None or parts.username is not None or parts.path:
        return None
    return scheme, parts.hostname, port


def _origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """Browsers send Origin; a cookie-authenticated socket from another site is refused.

    Same origin means same scheme, host and port: `https://host` is another origin than
    `http://host`. ALLOWED_ORIGINS entries are compared exactly.
    """
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: nothing ambient to abuse
    origin = origin.rstrip("/")
    if origin in allowed:
        return True
    scheme = _PAGE_SCHEME.get(websocket.url.scheme)
    if scheme is None:
        return False
    theirs = _origin_key(origin)
    return theirs is not None and theirs == _origin_key(
        f"{scheme}://{websocket.headers.get('host', '')}"
    )


async def _authenticate(websocket: WebSocket, resources: Resources) -> Identity | None:
    try:
        secret = parse_bearer(websocket.headers.get("authorization"))
    except NotAuthenticated:
        return None
    if secret is not None:
        async with resources.session_factory() as db:
            found = await auth_service.user_for_token(db, secret)
            await db.commit()
        if found is None:
            return None
        return Identity(user_id=found[0].id, token_id=found[1].id)
    session_id = websocket.cookies.get(resources.settings.session_cookie_name)
    if not session_id:
        return None
    data = await get_session_store(resources).resolve(session_id)
    if data is None:
        return None
    return Identity(user_id=data.user_id, session_hash=data.key_hash)


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    resources: Resources = websocket.state.resources
    settings = resources.settings
    uses_cookie = "authorization" not in websocket.headers
    if uses_cookie and not _origin_allowed(websocket, settings.allowed_origins):
        await websocket.close(code=CLOSE_POLICY_VIOLATION, reason="Origin not allowed")
        return
    try:
        identity = await _authenticate(websocket, resources)
    except (RedisError, OSError):
        REDIS_ERRORS.labels("websocket").inc()
        # The session store is down: fail closed, and say it is temporary.
        await websocket.accept()
        await websocket.send_text(
            _error("unavailable", "Sessions cannot be checked; retry shortly.")
        )
        await websocket.close(code=CLOSE_INTERNAL_ERROR)
        return
    if identity is not None:
        # For the access log's connect/disconnect lines (the middleware writes them).
        websocket.state.user_id = str(identity.user_id)
    await websocket.accept()
    if identity is None:
        await websocket.send_text(_error("unauthorized", "Log in or send a Bearer token."))
        await websocket.close(code=CLOSE_UNAUTHORIZED)
        return
    try:
        lease = await resources.limits.acquire(resources, identity.user_id, transport="websocket")
    except TooManyConnections as exc:
        await _refuse(websocket, exc)
        return
    try:
        await _serve(websocket, identity, resources)
    finally:
        await lease.release()


async def _refuse(websocket: WebSocket, exc: TooManyConnections) -> None:
    body = _error_body("too_many_connections", exc.detail)
    body["retry_after"] = exc.retry_after
    await websocket.send_text(orjson.dumps(body).decode())
    await websocket.close(
        code=CLOSE_TOO_MANY_CONNECTIONS, reason=f"Too many connections ({exc.scope})"
    )


async def _serve(websocket: WebSocket, identity: Identity, resources: Resources) -> None:
    hub = resources.hub
    settings = resources.settings
    connection = WebSocketConnection(hub, identity, queue_size=settings.realtime_send_queue_size)
    connection.direct = DirectWriter.for_send(frame_sender(websocket))
    hub.register(connection)
    await hub.users.join(connection)  # the user's notifications, without a subscribe
    writer = asyncio.create_task(_write(websocket, connection))
    reader = asyncio.create_task(_read(websocket, connection, hub, resources))
    connection.on_close = lambda: _unblock(writer, connection, hub)
    try:
        # Whichever side ends first ends the connection: the client leaving, or us
        # closing it (shutdown, overflow, revoked credentials).
        await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.unregister(connection)
        for task in (reader, writer):
            task.cancel()
        for task in (reader, writer):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _read(
    websocket: WebSocket, connection: Connection, hub: Hub, resources: Resources
) -> int:
    """Handle client messages until the client goes; returns its close code."""
    limit = resources.settings.ws_max_message_bytes
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return int(message.get("code") or 1000)
            text = message.get("text")
            if text is None:
                connection.send_control(_error_body("bad_request", "Send JSON text messages."))
            elif len(text) > limit:
                connection.close(CLOSE_TOO_BIG, "Message too big")
            else:
                await _handle(text, connection, hub, resources)
    except WebSocketDisconnect as exc:
        return exc.code


def _unblock(writer: asyncio.Task[None], connection: Connection, hub: Hub) -> None:
    """A writer stuck sending to a client that does not read must not keep it alive."""
    hub.unregister(connection)
    if connection.sending:
        writer.cancel()


async def _write(websocket: WebSocket, connection: Connection) -> None:
    # Data frames take the fast path past every send wrapper; the close below still goes
    # through them, for the access log.
    send = frame_sender(websocket)
    try:
        while True:
            text = await connection.next_message()
            if text is not None:
                connection.sending = True
                await send({"type": "websocket.send", "text": text})
                connection.sending = False
    except (Closed, asyncio.CancelledError):
        if connection.close_code is None:
            raise
        with contextlib.suppress(Exception):
            # Bounded: a client that reads nothing cannot take our close frame either.
            await asyncio.wait_for(
                websocket.close(code=connection.close_code, reason=connection.close_reason[:120]),
                CLOSE_TIMEOUT_SECONDS,
            )


async def _handle(text: str, connection: Connection, hub: Hub, resources: Resources) -> None:
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        connection.send_control(_error_body("bad_request", "Messages must be JSON."))
        return
    if not isinstance(message, dict):
        connection.send_control(_error_body("bad_request", "Messages must be JSON objects."))
        return
    kind = message.get("type")
    if kind == "ping":
        connection.send_control({"type": "pong"})
        hub.presence.heartbeat(connection)
    elif kind == "subscribe":
        await _subscribe(message, connection, hub, resources)
    elif kind == "unsubscribe":
        project_id = _project_id(message)
        if project_id is None:
            connection.send_control(_error_body("bad_request", "project_id must be a UUID."))
            return
        sub = connection.subscriptions.get(project_id)
        if sub is not None:
            hub.drop(sub)
        connection.send_control({"type": "unsubscribed", "project_id": str(project_id)})
    elif kind == "subscribe_all":
        await handle_subscribe_all(message, connection, hub)
    elif kind == "presence":
        await hub.presence.handle(message, connection)
    else:
        connection.send_control(
            _error_body(
                "bad_request",
                "type must be one of subscribe, subscribe_all, unsubscribe, ping, presence.",
            )
        )


async def _subscribe(
    message: dict[str, Any], connection: Connection, hub: Hub, resources: Resources
) -> None:
    project_id = _project_id(message)
    after_seq = message.get("after_seq")
    if project_id is None:
        connection.send_control(_error_body("bad_request", "project_id must be a UUID."))
        return
    if after_seq is not None and (
        isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0
    ):
        connection.send_control(
            _error_body("bad_request", "after_seq must be a non-negative integer.", project_id)
        )
        return
    limit = resources.settings.realtime_max_subscriptions
    if project_id not in connection.subscriptions and len(connection.subscriptions) >= limit:
        connection.send_control(
            _error_body(
                "too_many_subscriptions", f"At most {limit} projects per connection.", project_id
            )
        )
        return
    # A read: on PostgreSQL the autocommit factory saves the BEGIN and ROLLBACK round trips.
    factory = resources.read_session_factory or resources.session_factory
    try:
        async with factory() as db:
            await require_role(db, project_id, connection.identity.user_id, minimum=Role.viewer)
    except AppError:
        # Not a member, or no such project: the same answer, so nothing is revealed.
        connection.send_control(
            _error_body("forbidden", "Not a member of this project.", project_id)
        )
        return
    outcome, seq = await hub.subscribe(connection, project_id, after_seq=after_seq)
    if outcome == SubscribeOutcome.SUBSCRIBED:
        connection.send_control({"type": "subscribed", "project_id": str(project_id), "seq": seq})
    elif outcome == SubscribeOutcome.RESYNC:
        connection.send_control(
            {"type": "resync_required", "project_id": str(project_id), "seq": seq}
        )
    else:
        connection.send_control(
            _error_body("forbidden", "Not a member of this project.", project_id)
        )


def _project_id(message: dict[str, Any]) -> uuid.UUID | None:
    value = message.get("project_id")
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _error_body(code: str, text: str, project_id: uuid.UUID | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "code": code, "message": text}
    if project_id is not None:
        body["project_id"] = str(project_id)
    return body


def _error(code: str, text: str) -> str:
    return orjson.dumps(_error_body(code, text)).decode()
