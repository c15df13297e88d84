"""`taskmanager serve --workers 2`: every worker's scrape reports the total of all workers
(prometheus-client multiprocess mode). Needs PostgreSQL + Redis (several processes)."""

from __future__ import annotations

import asyncio
import glob
import os
import tempfile

import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests import backends
from tests.helpers import API, ApiClient, create_project
from tests.observability.scrape import scrape, value
from tests.processes import base_env, running_redis, running_server

pytestmark = [
    pytest.mark.skipif(
        backends.BACKEND != "postgres",
        reason="--workers needs PostgreSQL + Redis: run with TM_TEST_BACKEND=postgres "
        f"(this run uses {backends.BACKEND!r})",
    ),
    pytest.mark.postgres_only,
    pytest.mark.slow,
]

REQUESTS = "taskmanager_http_requests_total"
ROUTE = "/api/v1/projects/{project_id}"
MAX_REQUESTS = 400  # a safety stop; both workers answer long before


def _per_worker(metrics_dir: str) -> dict[int, float]:
    """This route's request count in each worker's own file."""
    counts: dict[int, float] = {}
    for path in glob.glob(os.path.join(metrics_dir, "counter_*.db")):
        pid = int(path.rsplit("_", 1)[1].removesuffix(".db"))
        for metric in MultiProcessCollector.merge([path]):  # type: ignore[no-untyped-call]
            for sample in metric.samples:
                if sample.name == REQUESTS and sample.labels.get("route") == ROUTE:
                    counts[pid] = counts.get(pid, 0.0) + sample.value
    return counts


async def test_every_worker_reports_the_total_of_all(database_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="tm-tmp-") as tmp:
        async with running_redis() as redis:
            # TMPDIR: `serve` makes its metrics directory in there, so we can look inside.
            env = base_env(database_url=database_url, redis_url=redis.url, log_level="WARNING")
            env["TMPDIR"] = tmp
            async with running_server(env, workers=2) as server:
                [metrics_dir] = glob.glob(os.path.join(tmp, "taskmanager-metrics-*"))
                async with ApiClient(base_url=server.base_url, timeout=30) as owner:
                    await owner.register()
                    pid = str((await create_project(owner, "Workers"))["id"])
                    sent = 0
                    # A new connection per request: the kernel hands them to either worker.
                    # Go on until both have answered some (so the sum really spans two).
                    while sent < MAX_REQUESTS:
                        response = await owner.get(
                            f"{API}/projects/{pid}", headers={"Connection": "close"}
                        )
                        assert response.status_code == 200, response.text
                        sent += 1
                        if sent >= 20 and len(_per_worker(metrics_dir)) >= 2:
                            break
                    # A request is counted just after its response is sent: let the last
                    # one land (bounded) before comparing.
                    async with asyncio.timeout(10):
                        while sum((per_worker := _per_worker(metrics_dir)).values()) < sent:
                            await asyncio.sleep(0.02)
                    assert len(per_worker) == 2, per_worker
                    assert sum(per_worker.values()) == sent

                    labels = {"method": "GET", "route": ROUTE, "status": "200"}
                    count = "taskmanager_http_request_duration_seconds_count"
                    for _ in range(6):  # new connections: scrapes land on both workers
                        samples = await scrape(owner, headers={"Connection": "close"})
                        assert value(samples, REQUESTS, **labels) == sent
                        assert value(samples, count, **labels) == sent
            print(f"\n{sent} requests, per worker: {sorted(per_worker.values())}")
        assert not os.path.exists(metrics_dir), "serve leaves its metrics directory behind"
