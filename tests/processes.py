"""Real processes for tests: `taskmanager serve` / `migrate` and a private redis-server.

Unlike tests/server.py (uvicorn inside the test's event loop), these run the installed
command exactly as production does, so signals, exit codes, `--workers` and several
instances sharing PostgreSQL + Redis can be tested. Every process gets its own session
(process group) so cleanup can reach uvicorn's worker processes too.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

from taskmanager.config import Settings
from tests import backends
from tests.helpers import API, ApiClient

ROOT = Path(__file__).resolve().parent.parent
TASKMANAGER = str(Path(sys.executable).with_name("taskmanager"))
REDIS_SERVER = "redis-server"


def free_port() -> int:
    """A loopback port that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env(**settings: str | float | int | None) -> dict[str, str]:
    """This process's environment without any Settings variable, plus `settings`.

    Keys are Settings field names (database_url=...) or env names; None leaves one unset.
    """
    known = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in known}
    env["PYTHONUNBUFFERED"] = "1"
    # Test servers see every user registered from one address in seconds.
    env["REGISTER_MAX_PER_IP_PER_MINUTE"] = "100000"
    for name, value in settings.items():
        if value is not None:
            env[name.upper()] = str(value)
    return env


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text[-limit:]


def _kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Signal the process group we created for `proc` (its session), if it still exists."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


async def wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The exit code, or None if `proc` is still running after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            return code
        await asyncio.sleep(0.02)
    return proc.poll()


# --- redis-server -------------------------------------------------------------------------


@dataclass
class RedisProcess:
    """A redis-server of our own on a fixed port: it can be killed and started again."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self, timeout: float = 10.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "redis-server already runs"
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    if await client.ping():
                        return
                except (OSError, aioredis.RedisError):
                    pass
                if self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} exited at start-up")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"redis-server on port {self.port} did not answer")
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def kill(self) -> None:
        """SIGKILL: an outage, not a shutdown (no chance to tell clients)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            await wait_exit(self.proc, 5)


@asynccontextmanager
async def running_redis() -> AsyncIterator[RedisProcess]:
    redis = RedisProcess()
    await redis.start()
    try:
        yield redis
    finally:
        await redis.kill()


# --- taskmanager serve / migrate ----------------------------------------------------------


@dataclass
class ServerProcess:
    """`taskmanager serve` in a subprocess; its stdout+stderr go to `log`."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        return _tail(self.log)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send `sig` and wait for the exit code; SIGKILL the whole group if it hangs."""
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                self.proc.send_signal(sig)
        code = await wait_exit(self.proc, timeout)
        if code is None:
            _kill_group(self.proc)
            await wait_exit(self.proc, 5)
            raise TimeoutError(
                f"server on port {self.port} ignored signal {sig} for {timeout}s:\n" + self.output()
            )
        # uvicorn's workers share the group: make sure none outlives its supervisor.
        _kill_group(self.proc)
        return code


def run_command(
    args: list[str], env: Mapping[str, str], timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run `taskmanager <args>` to completion (in a scratch directory: no `.env` is read)."""
    with tempfile.TemporaryDirectory(prefix="tm-cmd-") as cwd:
        return subprocess.run(
            [TASKMANAGER, *args],
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def migrate(env: Mapping[str, str]) -> None:
    result = run_command(["migrate"], env)
    assert result.returncode == 0, f"taskmanager migrate failed:\n{result.stderr}"


@asynccontextmanager
async def migrated_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database migrated by `taskmanager migrate`, dropped afterwards."""
    url = await backends.create_database()
    try:
        await asyncio.to_thread(migrate, base_env(database_url=url, log_level="WARNING"))
        yield url
    finally:
        await backends.drop_database(url)


def server_env(database_url: str, redis: RedisProcess, **extra: Any) -> dict[str, str]:
    """The environment of a `serve` on this database and Redis (quick real-time checks)."""
    return base_env(
        database_url=database_url,
        redis_url=redis.url,
        log_level="WARNING",
        realtime_check_interval_seconds=0.5,
        **extra,
    )


def bearer(base_url: str, secret: str, timeout: float = 30) -> ApiClient:
    """A client that authenticates with an API token instead of a session."""
    return ApiClient(
        base_url=base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=timeout
    )


async def make_token(client: ApiClient) -> str:
    """A new API token of `client`'s user; its secret."""
    response = await client.post(f"{API}/auth/tokens", json={"name": "process tests"})
    assert response.status_code == 201, response.text
    secret: str = response.json()["token"]
    return secret


async def start_server(
    env: Mapping[str, str], *, workers: int = 1, timeout: float = 30.0
) -> ServerProcess:
    """Start `taskmanager serve` on a free port and wait until /health/live answers 200."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="tm-serve-"))
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [TASKMANAGER, "serve", "--host", "127.0.0.1", "--port", str(port)]
            + (["--workers", str(workers)] if workers != 1 else []),
            env=dict(env),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(port=port, proc=proc, log=log)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=server.base_url, timeout=1.0) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"taskmanager serve exited with {proc.returncode} at start-up:\n"
                    + server.output()
                )
            with suppress(httpx.TransportError):
                if (await client.get("/health/live")).status_code == 200:
                    return server
            if time.monotonic() > deadline:
                _kill_group(proc)
                raise TimeoutError(f"taskmanager serve did not come up:\n{server.output()}")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def running_server(
    env: Mapping[str, str], *, workers: int = 1
) -> AsyncIterator[ServerProcess]:
    """A server for the duration of the block; stopped with SIGTERM (then SIGKILL) after."""
    server = await start_server(env, workers=workers)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            with suppress(TimeoutError):
                await server.stop(timeout=10)
        _kill_group(server.proc)
