"""A `taskmanager worker` killed while a delivery is in flight loses nothing: the next
worker takes the job again once its lease runs out, sends the interrupted event again (same
`webhook-id`) and then the rest, in seq order. Real processes on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import backends
from tests.helpers import ApiClient, create_project, create_task
from tests.processes import (
    TASKMANAGER,
    RedisProcess,
    _kill_group,
    base_env,
    running_server,
    wait_exit,
)
from tests.webhooks.conftest import add_webhook
from tests.webhooks.receiver import Receiver, Reply, running_receiver

pytestmark = [
    pytest.mark.skipif(
        backends.BACKEND != "postgres",
        reason="separate serve and worker processes share one database: needs "
        f"TM_TEST_BACKEND=postgres (this run uses {backends.BACKEND!r})",
    ),
    pytest.mark.postgres_only,
    pytest.mark.slow,
]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [TASKMANAGER, "worker"],
        env=env,
        cwd=tempfile.mkdtemp(prefix="tm-worker-"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def test_a_worker_killed_mid_delivery_loses_no_delivery(
    database_url: str, redis_server: RedisProcess, receiver: Receiver, tmp_path: Path
) -> None:
    env = base_env(
        database_url=database_url,
        redis_url=redis_server.url,
        log_level="WARNING",
        secret_key=secrets.token_urlsafe(32),  # serve encrypts the secret, the worker reads it
        jobs_in_serve="false",
        job_poll_seconds=0.1,
        job_lease_seconds=6,
        webhook_timeout_seconds=2.5,
        webhook_allow_private="true",
        webhook_retry_base_seconds=0.2,
    )
    receiver.answer("/crash", Reply(hang=20))  # the first request never gets its answer
    first_worker = start_worker(env)
    second_worker: subprocess.Popen[bytes] | None = None
    try:
        async with (
            running_server(env) as server,
            ApiClient(base_url=server.base_url, timeout=30) as owner,
        ):
            await owner.register()
            project = await create_project(owner, "Crash")
            await add_webhook(owner, project["id"], receiver, "/crash")
            for i in range(5):
                await create_task(owner, project["id"], f"Task {i}")
            [in_flight] = await receiver.wait_for("/crash", 1)
            _kill_group(first_worker, signal.SIGKILL)
            assert await wait_exit(first_worker, 10) is not None
            second_worker = start_worker(env)
            got = await receiver.wait_for("/crash", 6, timeout=90)
            await asyncio.sleep(1)  # nothing more should come
            got = receiver.on("/crash")
        seqs = [r.seq for r in got]
        # The interrupted event again, then every other one once, in order.
        assert seqs[0] == seqs[1] == in_flight.seq
        assert seqs[1:] == list(range(in_flight.seq, in_flight.seq + 5))
        assert got[0].headers["webhook-id"] == got[1].headers["webhook-id"]
        assert all(r.verified for r in got)
    finally:
        _kill_group(first_worker, signal.SIGKILL)
        if second_worker is not None:
            second_worker.send_signal(signal.SIGTERM)
            if await wait_exit(second_worker, 15) is None:
                _kill_group(second_worker, signal.SIGKILL)
