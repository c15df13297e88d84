"""What the ASGI middleware stack costs per request: the app driven in-process, no server.

Calls the app's ASGI callable directly (no sockets, no HTTP parsing, no client) for
`--requests` GETs of a path, `--rounds` times, once with the middleware `create_app`
installs and once with none, and prints the CPU microseconds per request of each (the
best round: on a shared machine the others only add noise) and their difference: the
stack's own cost, which a real server's noise would hide.

    .venv/bin/python bench/middleware_overhead.py [--requests N] [--rounds R] [--path P]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

from taskmanager.app import create_app
from taskmanager.config import Settings


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _round(app: ASGIApp, path: str, requests: int) -> float:
    """CPU microseconds per request over `requests` sequential requests (process time, so
    other processes on the machine do not count)."""
    statuses: list[int] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(requests):
        await app(_scope(path), _receive, send)
    elapsed = time.process_time() - started
    assert set(statuses) == {200}, set(statuses)
    return elapsed / requests * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--path", default="/health/live")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tm-mw-bench-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), log_level="WARNING")
        full = create_app(settings)
        bare = create_app(settings)
        bare.user_middleware.clear()  # the same routes, no middleware of ours
        results: dict[str, list[float]] = {"with middleware": [], "without": []}
        await _round(full, args.path, 200)  # warm-up: build the stacks, fill caches
        await _round(bare, args.path, 200)
        for _ in range(args.rounds):  # interleaved, so a noisy neighbour hits both alike
            results["with middleware"].append(await _round(full, args.path, args.requests))
            results["without"].append(await _round(bare, args.path, args.requests))
    best = {name: min(values) for name, values in results.items()}
    print(f"GET {args.path}, {args.requests} requests x {args.rounds} rounds (best round)")
    for name, value in best.items():
        print(f"  {name:16} {value:7.1f} us/request")
    overhead = best["with middleware"] - best["without"]
    print(f"  {'stack overhead':16} {overhead:7.1f} us/request")


if __name__ == "__main__":
    asyncio.run(main())
