"""The middleware layers together: a 500 is answered, headed, counted and logged like any
response; WebSocket data frames take the fast path; a body is read once and replayed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from taskmanager.app import create_app
from taskmanager.config import Settings
from taskmanager.logs import JsonFormatter
from taskmanager.middleware.access_log import AccessLogMiddleware
from taskmanager.middleware.asgi import BodyTooLarge, read_body, replay_body
from taskmanager.middleware.websocket_frames import WebSocketFramesMiddleware, frame_sender
from tests.helpers import assert_problem


class _Collect(logging.Handler):
    """Access-log lines as the JSON formatter writes them (request id included)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.formatter_ = JsonFormatter()
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(orjson.loads(self.formatter_.format(record)))


@pytest.fixture
def access_lines() -> Iterator[list[dict[str, Any]]]:
    logger = logging.getLogger("taskmanager.access")
    handler, level = _Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.entries
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _requests_counted(route: str, status: int) -> float:
    labels = {"method": "GET", "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("taskmanager_http_requests_total", labels) or 0.0


async def test_a_crash_is_a_500_with_every_header_counted_and_logged(
    make_settings: Callable[..., Settings], access_lines: list[dict[str, Any]]
) -> None:
    app = create_app(make_settings())

    @app.get("/api/v1/crash")
    async def crash() -> None:
        raise RuntimeError("secret internals")

    before = _requests_counted("/api/v1/crash", 500)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/v1/crash", headers={"X-Request-ID": "crash-1"})
    body = assert_problem(response, 500)
    assert body["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert response.headers["x-request-id"] == "crash-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-security-policy"]
    assert _requests_counted("/api/v1/crash", 500) == before + 1
    [line] = [e for e in access_lines if e.get("route") == "/api/v1/crash"]
    assert (line["status"], line["request_id"], line["method"]) == (500, "crash-1", "GET")


async def test_an_unusable_request_id_is_replaced(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for bad in (b"x" * 129, b"new\nline", b"a b", "ü".encode(), b"<script>"):
            response = await client.get("/health/live", headers={b"X-Request-ID": bad})
            assert response.status_code == 200
            made = response.headers["x-request-id"]
            assert len(made) == 32 and int(made, 16) >= 0, made


class _Spy:
    """Records the type of every message that passes this layer on its way out."""

    def __init__(self, app: ASGIApp, *, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def spied(message: Message) -> None:
            self.seen.append(message["type"])
            await send(message)

        await self.app(scope, receive, spied)


async def _frames_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    send = frame_sender(websocket)
    for n in range(3):
        await send({"type": "websocket.send", "text": f"frame {n}"})
    await websocket.close(code=1000)


async def _run_websocket(app: ASGIApp) -> list[Message]:
    """One WebSocket connection driven as a server would; what the server was sent."""
    sent: list[Message] = []
    incoming = [{"type": "websocket.connect"}]

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "scheme": "ws",
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
        "state": {},
    }
    await app(scope, receive, send)
    return sent


async def test_websocket_data_frames_bypass_the_middleware(
    access_lines: list[dict[str, Any]],
) -> None:
    seen: list[str] = []
    app = Starlette(
        routes=[WebSocketRoute("/ws", _frames_endpoint)],
        middleware=[
            Middleware(WebSocketFramesMiddleware),
            Middleware(AccessLogMiddleware),
            Middleware(_Spy, seen=seen),
        ],
    )
    sent = await _run_websocket(app)
    # The client gets everything, in order...
    assert [(m["type"], m.get("text")) for m in sent] == [
        ("websocket.accept", None),
        *[("websocket.send", f"frame {n}") for n in range(3)],
        ("websocket.close", None),
    ]
    # ...the layers see only the accept and the close, and still log both ends.
    assert seen == ["websocket.accept", "websocket.close"]
    assert [line["msg"] for line in access_lines] == ["websocket connect", "websocket disconnect"]
    assert access_lines[1]["close_code"] == 1000 and access_lines[1]["accepted"] is True


async def test_without_the_fast_path_frames_take_the_ordinary_way() -> None:
    seen: list[str] = []
    app = Starlette(
        routes=[WebSocketRoute("/ws", _frames_endpoint)],
        middleware=[Middleware(_Spy, seen=seen)],
    )
    sent = await _run_websocket(app)
    assert [m["type"] for m in sent] == seen
    assert seen.count("websocket.send") == 3


def _server(*messages: Message) -> Receive:
    """A server's receive that gives these messages, then blocks like a quiet client."""
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        pytest.fail("read past the messages the client sent")

    return receive


async def test_a_body_is_read_once_and_replayed_whole() -> None:
    receive = _server(
        {"type": "http.request", "body": b'{"a": ', "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"1}", "more_body": False},
        {"type": "http.disconnect"},
    )
    body, disconnect = await read_body(receive, limit=100)
    assert (body, disconnect) == (b'{"a": 1}', None)
    replayed = replay_body(body, disconnect, receive)
    assert await replayed() == {"type": "http.request", "body": b'{"a": 1}', "more_body": False}
    # Then the server's own receive: the app still learns when the client leaves.
    assert await replayed() == {"type": "http.disconnect"}


async def test_a_client_leaving_mid_body_is_replayed_as_its_disconnect() -> None:
    receive = _server(
        {"type": "http.request", "body": b'{"a": ', "more_body": True},
        {"type": "http.disconnect"},
    )
    body, disconnect = await read_body(receive)
    assert disconnect == {"type": "http.disconnect"}
    assert await replay_body(body, disconnect, receive)() == {"type": "http.disconnect"}


async def test_a_body_over_the_limit_stops_the_reading() -> None:
    receive = _server(
        {"type": "http.request", "body": b"x" * 60, "more_body": True},
        {"type": "http.request", "body": b"x" * 60, "more_body": True},
        {"type": "http.request", "body": b"x" * 60, "more_body": False},
    )
    with pytest.raises(BodyTooLarge):
        await read_body(receive, limit=100)
    # The third chunk is left unread (the body limit drains it, bounded, before its 413).
    assert await receive() == {"type": "http.request", "body": b"x" * 60, "more_body": False}
