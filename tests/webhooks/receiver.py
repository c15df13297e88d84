"""A real webhook receiver for the tests: an HTTP server on loopback, in a thread, that
verifies each request with the `standardwebhooks` package (as a receiver would) and answers
what the test scripted for its path."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hang: float = 0.0  # seconds to wait before answering


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    verified: bool
    at: float

    @property
    def seq(self) -> int:
        return int(self.body["seq"])


class Receiver:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.script: dict[str, deque[Reply]] = defaultdict(deque)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.port = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def answer(self, path: str, *replies: Reply) -> None:
        """Queue replies for `path`; once they are used up it answers 200."""
        with self.lock:
            self.script[path].extend(replies)

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    async def wait_for(self, path: str, count: int, timeout: float = 60) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.on(path)
            if len(got) >= count:
                return got
            await asyncio.sleep(0.05)
        raise AssertionError(f"{path}: {len(self.on(path))} of {count} requests arrived")

    def _next_reply(self, path: str) -> Reply:
        with self.lock:
            queue = self.script[path]
            return queue.popleft() if queue else Reply()

    def _record(self, path: str, headers: dict[str, str], raw: bytes) -> None:
        secret = self.secrets.get(path)
        verified = False
        if secret is not None:
            try:
                Webhook(secret).verify(raw, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        with self.lock:
            self.received.append(
                Received(path, headers, json.loads(raw), verified, time.monotonic())
            )


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            reply = receiver._next_reply(self.path)
            receiver._record(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
            if reply.hang:
                time.sleep(reply.hang)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            # OSError: the sender stopped reading (it keeps 1 KiB) or gave up.
            with contextlib.suppress(OSError):
                self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
