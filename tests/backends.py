"""Which backend a test run uses: the embedded default or PostgreSQL + Redis (TM_TEST_BACKEND)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

BACKEND = os.environ.get("TM_TEST_BACKEND", "embedded")
PG_ADMIN_URL = os.environ.get("TM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# pytest-xdist: each worker process runs its own server on its own database (conftest's
# `backend`), and here its own Redis database: FLUSHDB between modules must not empty
# another worker's. Worker 0 (or a run without xdist) keeps the configured database.
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
_REDIS_BASE = os.environ.get("TM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Database 14 is the bench smoke test's (tests/bench); workers count down below it.
REDIS_URL = (
    _REDIS_BASE
    if WORKER == 0
    else f"{_REDIS_BASE.rpartition('/')[0]}/{int(_REDIS_BASE.rpartition('/')[2]) - 1 - WORKER}"
)

assert BACKEND in {"embedded", "postgres"}, (
    f"TM_TEST_BACKEND must be embedded or postgres, not {BACKEND}"
)


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str | None
    redis_url: str | None
    data_dir: Path

    @property
    def is_postgres(self) -> bool:
        return self.database_url is not None


async def postgres_problem() -> str | None:
    """Why PostgreSQL + Redis cannot be used, or None when both answer."""
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc}"
    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except (OSError, aioredis.RedisError) as exc:
        return f"Redis at {REDIS_URL} is unreachable: {exc}"
    finally:
        await client.aclose()
    return None


def _db_url(name: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


async def create_database() -> str:
    name = f"tm_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _db_url(name)


async def drop_database(url: str) -> None:
    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
