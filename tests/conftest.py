"""Fixtures: one real server per test session on the selected backend, clean state per module."""

from __future__ import annotations

import asyncio
import gc
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from taskmanager.config import Settings
from taskmanager.models import Base
from tests import backends
from tests.helpers import ApiClient, client_factory
from tests.processes import RedisProcess, migrated_database, running_redis
from tests.server import RunningServer, run_server

SKIPPED_REASON: list[str] = []


@pytest.fixture(scope="session")
async def backend() -> AsyncIterator[backends.Backend]:
    data_dir = Path(tempfile.mkdtemp(prefix="tm-test-"))
    if backends.BACKEND == "embedded":
        yield backends.Backend("embedded", None, None, data_dir)
        return
    problem = await backends.postgres_problem()
    if problem is not None:
        if backends.IN_CI:
            pytest.fail(f"CI needs PostgreSQL + Redis: {problem}")
        SKIPPED_REASON.append(problem)
        pytest.skip(f"PostgreSQL + Redis tests SKIPPED: {problem}")
    url = await backends.create_database()
    try:
        yield backends.Backend("postgres", url, backends.REDIS_URL, data_dir)
    finally:
        await backends.drop_database(url)


@pytest.fixture(scope="session")
def make_settings(backend: backends.Backend) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": backend.database_url,
            "redis_url": backend.redis_url,
            "data_dir": backend.data_dir,
            "log_level": os.environ.get("TM_TEST_LOG_LEVEL", "WARNING"),
            # The tests play a local proxy: X-Forwarded-For gives each test its own address.
            "forwarded_allow_ips": ["127.0.0.1"],
            # Modules register dozens of users from one address in seconds.
            "register_max_per_ip_per_minute": 100_000,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture(scope="session")
async def migrated(backend: backends.Backend, make_settings: Callable[..., Settings]) -> None:
    from taskmanager.migrations.runner import upgrade_to_head

    await asyncio.to_thread(upgrade_to_head, make_settings())


@pytest.fixture(scope="session")
async def server(
    migrated: None, make_settings: Callable[..., Settings]
) -> AsyncIterator[RunningServer]:
    async with run_server(make_settings()) as running:
        yield running


StartServer = Callable[..., Awaitable[RunningServer]]


@pytest.fixture
async def start_server(
    migrated: None, make_settings: Callable[..., Settings]
) -> AsyncIterator[StartServer]:
    """Start extra servers with overridden settings (e.g. short session timeouts)."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> RunningServer:
            return await stack.enter_async_context(run_server(make_settings(**overrides)))

        yield start


async def reset_state(running: RunningServer) -> None:
    """Empty every table and Redis: each test module starts from a clean database."""
    resources = running.resources
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    for attempt in range(5):
        try:
            async with resources.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # A background task of the server (watchdog, retention, a job) may hold a
                    # row lock TRUNCATE waits for while it waits for ours: PostgreSQL then
                    # aborts one side as a deadlock. Ours is the one to retry.
                    await conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                    await conn.execute(
                        text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
                    )
                else:
                    for table in tables:
                        await conn.execute(text(f"DELETE FROM {table}"))
            break
        except DBAPIError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
    await resources.redis.flushdb()


@pytest.fixture(scope="module", autouse=True)
async def _clean_module(server: RunningServer) -> AsyncIterator[None]:
    await reset_state(server)
    yield
    # A socket or transport a module forgot to close is reported here, against that
    # module, instead of whenever the garbage collector happens to run in a later test.
    gc.collect()


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url=server.base_url, timeout=30) as c:
        yield c


@pytest.fixture
async def make_client(server: RunningServer) -> AsyncIterator[Callable[[], ApiClient]]:
    """Any number of independent clients, each with its own cookie jar."""
    async with client_factory(server.base_url) as factory:
        yield factory


@pytest.fixture(scope="module")
async def database_url(backend: backends.Backend) -> AsyncIterator[str]:
    """For tests of real `taskmanager serve` processes: a fresh database for this module."""
    async with migrated_database() as url:
        yield url


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisProcess]:
    """A private redis-server that the test may stop and start."""
    async with running_redis() as redis:
        yield redis


WEB_TESTS = Path(__file__).parent / "web"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests and multi-process (`slow`) tests are `serial`: scripts/test runs them
    after the xdist part, when the machine is no longer busy with four test processes
    (their waits are sized for a loaded machine, not an overloaded one)."""
    for item in items:
        if item.path.is_relative_to(WEB_TESTS) or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.serial)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    banner = f"backend: {backends.BACKEND}"
    terminalreporter.write_sep("=", banner)
    config = terminalreporter.config
    xdist_controller = bool(getattr(config.option, "numprocesses", None)) and not hasattr(
        config, "workerinput"
    )
    if not SKIPPED_REASON and backends.BACKEND == "postgres" and xdist_controller:
        # Under pytest-xdist the skip happened in the workers: ask again, so the run that
        # skipped says so here, where it is read.
        problem = asyncio.run(backends.postgres_problem())
        if problem is not None:
            SKIPPED_REASON.append(problem)
    for reason in SKIPPED_REASON:
        terminalreporter.write_line(
            f"!!! SKIPPED the PostgreSQL + Redis run: {reason}", red=True, bold=True
        )
