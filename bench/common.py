"""Shared pieces of the benchmark: configuration, processes, /proc readings, the database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

BENCH = Path(__file__).resolve().parent


ROOT = BENCH.parent
PYTHON = sys.executable
TASKMANAGER = str(Path(sys.executable).with_name("taskmanager"))
ADMIN_DSN = os.environ.get("BENCH_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
API = "/api/v1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Config:
    smoke: bool
    duration: int = 10
    warmup: int = 2
    rounds: int = 3
    connections: int = 16
    tasks: int = 1000
    subscribers: tuple[int, ...] = (1, 100, 1000, 10000)
    stall_healthy: int = 50
    stall_description: int = 20_000
    queue_size: int | None = None  # the service's default (256)
    sync_projects: int = 50
    sync_tasks: int = 10_000
    sync_missed: int = 1000
    sync_rounds: int = 3

    @classmethod
    def make(cls, smoke: bool) -> Config:
        if smoke:
            return cls(
                smoke=True,
                duration=1,
                warmup=0,
                rounds=1,
                connections=4,
                tasks=60,
                subscribers=(1, 10),
                stall_healthy=3,
                stall_description=20_000,
                queue_size=8,
                sync_projects=5,
                sync_tasks=200,
                sync_missed=50,
                sync_rounds=1,
            )
        return cls(smoke=False)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- processes and /proc -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def descendants(pid: int) -> list[int]:
    """pid and every process below it (uvicorn workers, if any)."""
    found = [pid]
    i = 0
    while i < len(found):
        task_dir = Path(f"/proc/{found[i]}/task")
        with contextlib.suppress(OSError):
            for tid in task_dir.iterdir():
                with contextlib.suppress(OSError):
                    found.extend(int(c) for c in (tid / "children").read_text().split())
        i += 1
    return list(dict.fromkeys(found))


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK_TCK


def tree_cpu(pid: int) -> float:
    return cpu_seconds(descendants(pid))


def backend_pids() -> list[int]:
    """PostgreSQL and Redis server processes on this machine (shared with anyone else)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() in ("postgres", "redis-server"):
                    pids.append(int(entry.name))
    return pids


def rss_bytes(pid: int) -> int:
    total = 0
    for p in descendants(pid):
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def tcp_tx_queue(server_port: int, client_port: int) -> int:
    """Bytes in the server-side send queue of one connection (/proc/net/tcp), or -1."""
    want_local = f":{server_port:04X}"
    want_remote = f":{client_port:04X}"
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            parts = line.split()
            if parts[1].endswith(want_local) and parts[2].endswith(want_remote):
                return int(parts[4].split(":")[0], 16)
    return -1


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def start_process(
    name: str, argv: Sequence[str], env: dict[str, str], port: int, workdir: Path
) -> Server:
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )
    return Server(name, port, proc, log_path)


async def wait_http(server: Server, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(
                    f"{server.name} exited:\n{server.log_path.read_text(errors='replace')[-3000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(server.base + path, timeout=2)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{server.name} did not answer {path} within {timeout}s")


# --- database and seed -------------------------------------------------------------------


@contextlib.asynccontextmanager
async def bench_database() -> AsyncIterator[str]:
    name = f"tm_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass
class Seed:
    cookie: str
    csrf: str
    token: str
    project_id: str
    task_ids: list[str]
    by_status: dict[str, list[str]] = field(default_factory=dict)
    # A second project with one webhook endpoint (bench/receiver.py): the cost per write
    # of webhooks is create_task there minus create_task in `project_id`.
    hooked_project_id: str = ""
