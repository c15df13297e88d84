"""CPU instructions per request, counted by callgrind in the server process.

Wall-clock and CPU-time benchmarks on a shared 2-core machine move by 2x between identical
runs; the number of instructions a request executes hardly moves with load, so it shows a
change of a few percent. The server runs under valgrind (PostgreSQL + Redis, no job
worker); for each kind of request the counters are zeroed, N requests are made after a
warm-up, and the counters are dumped. What the server's background loops do meanwhile is
counted too (about a second's worth around each phase).

    python bench/instructions.py [-n 40] [--src OTHER_CHECKOUT/src]

`--src` measures another tree's code with this one's environment, for an A/B pair.
Needs valgrind (apt-get install valgrind); one run takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from common import API, PYTHON, REDIS_URL, TASKMANAGER, bench_database, free_port, log

PASSWORD = "correct horse battery staple"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="requests counted per kind")
    parser.add_argument("--src", help="a src/ directory to import taskmanager from instead")
    args = parser.parse_args()
    asyncio.run(run(args.n, args.src))


async def run(n: int, src: str | None) -> None:
    async with bench_database() as database_url:
        with tempfile.TemporaryDirectory(prefix="tm-instr-") as tmp:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL,
                "JOBS_IN_SERVE": "false",
                "LOG_LEVEL": "WARNING",
                "DATA_DIR": tmp,
                "REGISTER_MAX_PER_IP_PER_MINUTE": "100000",
                "SECRET_KEY": "bench-instructions-secret-key-0123456789abcdef",
            }
            if src:
                env["PYTHONPATH"] = str(Path(src).resolve())
            subprocess.run([TASKMANAGER, "migrate"], env=env, check=True, capture_output=True)
            port = free_port()
            out = Path(tmp) / "callgrind.out"
            server = subprocess.Popen(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p",
                 PYTHON, TASKMANAGER, "serve", "--port", str(port)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                results = measure(server.pid, f"http://127.0.0.1:{port}", n, out)
            finally:
                server.terminate()
                server.wait(120)
    for kind, count in results.items():
        print(f"{kind:8} {count / n / 1e6:6.2f}M instructions per request")


def measure(pid: int, base: str, n: int, out: Path) -> dict[str, int]:
    client = httpx.Client(base_url=base, timeout=120)
    deadline = time.monotonic() + 900  # imports under valgrind take minutes
    while True:
        try:
            if client.get("/health/live").status_code == 200:
                break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)
    body = {"email": "bench@example.com", "password": PASSWORD, "display_name": "Bench"}
    client.post(f"{API}/auth/register", json=body).raise_for_status()
    client.headers["X-CSRF-Token"] = client.cookies["csrf_token"]
    project = client.post(f"{API}/projects", json={"name": "Bench"}).json()["id"]
    tasks = [
        client.post(f"{API}/projects/{project}/tasks", json={"title": f"Task {i}"}).json()["id"]
        for i in range(60)
    ]

    def control(*command: str) -> None:
        """valgrind reads a command once the server runs code again: its background loops
        (the realtime watchdog) wake it every second, so this returns within about one."""
        subprocess.run(["callgrind_control", *command, str(pid)], check=True, capture_output=True)

    def phase(kind: str, request: Callable[[int], httpx.Response]) -> int:
        for i in range(5):
            request(i).raise_for_status()
        control("--zero")
        for i in range(n):
            request(i).raise_for_status()
        control(f"--dump={kind}")
        dump = max(Path(out.parent).glob(f"{out.name}.{pid}.*"), key=lambda p: p.stat().st_mtime)
        for line in dump.read_text().splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1])
        raise RuntimeError(f"no summary in {dump}")

    log("counting (each kind takes a minute or two under valgrind)")
    return {
        "get": phase("get", lambda i: client.get(f"{API}/tasks/{tasks[i % len(tasks)]}")),
        "list50": phase("list50", lambda _: client.get(f"{API}/projects/{project}/tasks")),
        "create": phase(
            "create",
            lambda i: client.post(f"{API}/projects/{project}/tasks", json={"title": f"New {i}"}),
        ),
    }


if __name__ == "__main__":
    main()
