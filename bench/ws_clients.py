"""WebSocket clients for the real-time benchmark, run as separate processes by bench/run.py.

`subscribe` mode: open --count WebSockets (session cookie; the lean client of ws_raw.py, or
the websockets library with --library), subscribe each to --project, print
`READY <connected> <failed>` once all are subscribed, then record the receive time
(time.monotonic(), system-wide on Linux, so comparable with the writer's clock in another
process) of every event by its `request_id`. A line `expect K` on stdin says how many events
each connection should get; the process writes its JSON results to --out when every
connection has K events, or --timeout seconds after `expect`, and prints `DONE`.

`stall` mode: a raw WebSocket with a 4 KiB receive buffer that subscribes and then stops
reading. It prints `READY <local port>`; on `drain` from stdin it reads what the server
managed to send (events and the close frame, if any) and writes that to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import resource
import socket
import struct
import sys
import time
from collections import defaultdict
from typing import Any

import orjson


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Recorder:
    def __init__(self, count: int) -> None:
        self.count = count
        self.recv: dict[str, list[float]] = defaultdict(list)
        self.per_conn: list[int] = [0] * count
        self.expect: int | None = None
        self.done = asyncio.Event()
        self.complete = 0
        self.close_codes: dict[str, int] = defaultdict(int)
        self.errors: list[str] = []
        self.connected = count
        self.retries = 0

    def got(self, index: int) -> None:
        self.per_conn[index] += 1
        if self.expect is not None and self.per_conn[index] == self.expect:
            self.complete += 1
            self._check()

    def set_expect(self, expect: int, connected: int) -> None:
        self.expect = expect
        self.complete = sum(1 for n in self.per_conn if n >= expect)
        self.connected = connected
        self._check()

    def _check(self) -> None:
        if self.expect is not None and self.complete >= self.connected:
            self.done.set()


async def _one(
    index: int,
    args: argparse.Namespace,
    rec: Recorder,
    ready: asyncio.Queue[bool],
    gate: asyncio.Semaphore,
) -> None:
    from websockets.asyncio.client import connect

    subscribed = False
    try:
        async with gate:
            ws = await connect(
                args.url,
                additional_headers=[("Cookie", f"session={args.cookie}")],
                compression=None if args.no_compression else "deflate",
                ping_interval=None,
                open_timeout=120,
                close_timeout=2,
                max_size=2**22,
            )
            await ws.send(orjson.dumps({"type": "subscribe", "project_id": args.project}).decode())
            while True:
                first = orjson.loads(await ws.recv())
                if first.get("type") == "subscribed":
                    break
                if first.get("type") == "error":
                    raise RuntimeError(f"subscribe refused: {first}")
        subscribed = True
        await ready.put(True)
        async for message in ws:
            now = time.monotonic()
            body = orjson.loads(message)
            if body.get("type") == "event":
                rec.recv[str(body.get("request_id"))].append(now)
                rec.got(index)
                if rec.expect is not None and rec.per_conn[index] >= rec.expect:
                    break
        code = ws.close_code
        rec.close_codes[str(code)] += 1
        await ws.close()
    except Exception as exc:  # report, never crash the other connections
        if len(rec.errors) < 20:
            rec.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        if not subscribed:
            await ready.put(False)
        else:
            rec.close_codes["error"] += 1


async def _one_raw(
    index: int,
    args: argparse.Namespace,
    rec: Recorder,
    ready: asyncio.Queue[bool],
    gate: asyncio.Semaphore,
) -> None:
    """The same as _one with the lean protocol of ws_raw.py (the default)."""
    from ws_raw import RawSubscriber

    host, _, rest = args.url.removeprefix("ws://").partition(":")
    port, _, path = rest.partition("/")
    subscribe = orjson.dumps({"type": "subscribe", "project_id": args.project})

    def on_event(rid: str, now: float) -> None:
        rec.recv[rid].append(now)
        rec.got(index)

    loop = asyncio.get_running_loop()
    proto: RawSubscriber | None = None
    subscribed = False
    try:
        async with gate:
            for attempt in range(6):
                _, proto = await loop.create_connection(
                    lambda: RawSubscriber(
                        host, int(port), "/" + path, args.cookie, subscribe, on_event
                    ),
                    host,
                    int(port),
                )
                try:
                    await asyncio.wait_for(proto.subscribed, 120)
                    break
                except RuntimeError as exc:
                    # What a real client does with "unavailable ... retry shortly" (the
                    # server failing closed when it cannot check the session in time).
                    proto.close()
                    if '"unavailable"' not in str(exc) or attempt == 5:
                        raise
                    rec.retries += 1
                    await asyncio.sleep(0.5 * (attempt + 1))
        assert proto is not None
        subscribed = True
        await ready.put(True)
        code = await proto.closed
        rec.close_codes[str(code)] += 1
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # report, never crash the other connections
        if len(rec.errors) < 20:
            rec.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        if not subscribed:
            await ready.put(False)
        else:
            rec.close_codes["error"] += 1
    finally:
        if proto is not None:
            proto.close()


async def _stdin_lines() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def subscribe_mode(args: argparse.Namespace) -> None:
    rec = Recorder(args.count)
    ready: asyncio.Queue[bool] = asyncio.Queue()
    gate = asyncio.Semaphore(args.concurrency)
    started = time.monotonic()
    one = _one if args.library else _one_raw
    tasks = [asyncio.create_task(one(i, args, rec, ready, gate)) for i in range(args.count)]
    ok = failed = 0
    while ok + failed < args.count:
        if await ready.get():
            ok += 1
        else:
            failed += 1
    connect_seconds = time.monotonic() - started
    print(f"READY {ok} {failed}", flush=True)
    stdin = await _stdin_lines()
    while True:
        line = (await stdin.readline()).decode().strip()
        if not line or line.startswith("expect"):
            break
    expect = int(line.split()[1]) if line else 0
    rec.set_expect(expect, ok)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(rec.done.wait(), args.timeout)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    result: dict[str, Any] = {
        "connected": ok,
        "failed": failed,
        "connect_seconds": connect_seconds,
        "recv": rec.recv,
        "per_conn_min": min(rec.per_conn[:ok]) if ok else 0,
        "close_codes": rec.close_codes,
        "retries": rec.retries,
        "errors": rec.errors,
    }
    with open(args.out, "wb") as fh:
        fh.write(orjson.dumps(result))
    print("DONE", flush=True)


# --- the stalled client --------------------------------------------------------------------


def _stalled_socket(host: str, port: int, path: str, cookie: str, project: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Cookie: session={cookie}\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed during the handshake")
        response += chunk
    if b" 101 " not in response.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"handshake refused: {response[:200]!r}")
    payload = orjson.dumps({"type": "subscribe", "project_id": project})
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    return sock


def _parse_frames(data: bytes) -> tuple[int, int | None, int]:
    """(event frames, close code or None, bytes left unparsed) of unmasked server frames."""
    events = 0
    close_code = None
    i = 0
    while i + 2 <= len(data):
        opcode = data[i] & 0x0F
        length = data[i + 1] & 0x7F
        head = 2
        if length == 126:
            if i + 4 > len(data):
                break
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            head = 4
        elif length == 127:
            if i + 10 > len(data):
                break
            length = struct.unpack(">Q", data[i + 2 : i + 10])[0]
            head = 10
        if i + head + length > len(data):
            break
        payload = data[i + head : i + head + length]
        if opcode == 0x1 and payload.startswith(b'{"type":"event"'):
            events += 1
        elif opcode == 0x8 and len(payload) >= 2:
            close_code = struct.unpack(">H", payload[:2])[0]
        i += head + length
    return events, close_code, len(data) - i


def stall_mode(args: argparse.Namespace) -> None:
    host, _, port = args.url.removeprefix("ws://").partition("/")[0].partition(":")
    sock = _stalled_socket(host, int(port), "/api/v1/ws", args.cookie, args.project)
    print(f"READY {sock.getsockname()[1]}", flush=True)
    sys.stdin.readline()  # "drain": until then, read nothing at all
    sock.settimeout(3.0)
    data = bytearray()
    eof = False
    with contextlib.suppress(OSError):
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                eof = True
                break
            data += chunk
    events, close_code, rest = _parse_frames(bytes(data))
    with open(args.out, "wb") as fh:
        fh.write(
            orjson.dumps(
                {
                    "bytes": len(data),
                    "events": events,
                    "close_code": close_code,
                    "eof": eof,
                    "unparsed": rest,
                }
            )
        )
    print("DONE", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["subscribe", "stall"])
    parser.add_argument("--url", required=True, help="ws://host:port/api/v1/ws")
    parser.add_argument("--cookie", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--no-compression", action="store_true")
    parser.add_argument(
        "--library", action="store_true", help="the websockets client, not the lean one"
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    raise_fd_limit()
    if args.mode == "stall":
        stall_mode(args)
        return
    try:
        import uvloop

        uvloop.run(subscribe_mode(args))
    except ImportError:
        asyncio.run(subscribe_mode(args))


if __name__ == "__main__":
    main()
