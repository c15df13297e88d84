"""The benchmark: the service against the raw floor (bench/floor.py), in one run.

    .venv/bin/python bench/run.py            # full run (~6-9 minutes), writes bench/results/
    .venv/bin/python bench/run.py --smoke    # seconds-long version for the test suite
    .venv/bin/python bench/run.py --profile  # py-spy profiles of GET task and create task

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth), Redis on 127.0.0.1:6379 (it
uses database 13 and flushes it), and wrk (installed with apt-get when missing). A fresh
database `tm_bench_<random>` is created, migrated with `taskmanager migrate` and dropped at
the end. The service (`taskmanager serve --workers 1`) and the floor run as subprocesses with
the same worker count; HTTP scenarios are measured with wrk, service and floor alternating
round by round so the ratio holds on a noisy machine. Real-time clients run in separate
processes (bench/ws_clients.py).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from common import (
    BENCH,
    PYTHON,
    REDIS_URL,
    TASKMANAGER,
    Config,
    bench_database,
    free_port,
    log,
    start_process,
    wait_http,
)
from profiling import run_profiles
from report import machine, markdown, plots, targets
from sync_bench import sync_scenarios
from wrk import http_scenarios, seed

from realtime import realtime

# --- main ----------------------------------------------------------------------------------


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    log("wrk is missing: apt-get install -y wrk")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    cfg = Config.make(args.smoke)
    if args.subscribers:
        cfg.subscribers = tuple(int(n) for n in args.subscribers.split(","))
    if args.duration:
        cfg.duration = args.duration
    if args.rounds:
        cfg.rounds = args.rounds
    out_dir = Path(args.out) if args.out else BENCH / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    ensure_wrk()
    raise_fd_limit()
    started = time.monotonic()
    result: dict[str, Any] = {
        "mode": "smoke" if cfg.smoke else ("profile" if args.profile else "full"),
        "machine": machine(),
        "config": {
            "duration": cfg.duration,
            "rounds": cfg.rounds,
            "connections": cfg.connections,
            "tasks": cfg.tasks,
            "workers": 1,
        },
    }
    redis = aioredis.Redis.from_url(REDIS_URL)
    await redis.flushdb()
    with tempfile.TemporaryDirectory(prefix="tm-bench-") as tmp:
        workdir = Path(tmp)
        async with bench_database() as dsn:
            admin = await asyncpg.connect(dsn)
            result["postgres"] = "PostgreSQL " + str(await admin.fetchval("SHOW server_version"))
            await admin.close()
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("DATABASE_", "REDIS_", "TM_", "SESSION_", "REALTIME_"))
            }
            env.update(
                DATABASE_URL=dsn,
                REDIS_URL=REDIS_URL,
                LOG_LEVEL="WARNING",
                PYTHONUNBUFFERED="1",
            )
            if cfg.queue_size:
                env["REALTIME_SEND_QUEUE_SIZE"] = str(cfg.queue_size)
            # Every fan-out subscriber is the same bench user (one token): no caps here.
            env["REALTIME_MAX_CONNECTIONS_PER_USER"] = "1000000"
            env["REALTIME_MAX_CONNECTIONS"] = "1000000"
            # The webhook receiver of the create_task_webhook scenario is on loopback.
            env["WEBHOOK_ALLOW_PRIVATE"] = "true"
            subprocess.run([TASKMANAGER, "migrate"], env=env, check=True, capture_output=True)
            service = start_process(
                "service",
                [TASKMANAGER, "serve", "--workers", "1", "--port", str(port := free_port())],
                env,
                port,
                workdir,
            )
            floor = start_process(
                "floor",
                [
                    PYTHON,
                    str(BENCH / "floor.py"),
                    "--workers",
                    "1",
                    "--port",
                    str(fport := free_port()),
                ],
                env,
                fport,
                workdir,
            )
            receiver = start_process(
                "receiver",
                [PYTHON, str(BENCH / "receiver.py"), "--port", str(rport := free_port())],
                env,
                rport,
                workdir,
            )
            try:
                await wait_http(receiver, "/health")
                await wait_http(service, "/health/live")
                await wait_http(floor, "/health")
                log(
                    f"service on :{service.port}, floor on :{floor.port}; seeding {cfg.tasks} tasks"
                )
                # The HTTP and fan-out scenarios' project (barely needed by the sync ones).
                sd = await seed(
                    service.base,
                    1 if args.sync_only else cfg.tasks,
                    f"http://127.0.0.1:{rport}/hook",
                )
                if args.profile:
                    result["profile"] = run_profiles(cfg, sd, service, workdir, out_dir)
                    (out_dir / "profile.json").write_text(json.dumps(result, indent=1))
                    return result
                result["http"] = (
                    []
                    if args.realtime_only or args.sync_only
                    else http_scenarios(cfg, sd, service, floor, workdir, args.only)
                )
                floor.stop()
                if args.http_only or args.sync_only:
                    result["realtime"] = {"fanout": [], "stall": None}
                else:
                    result["realtime"] = await realtime(cfg, service, sd, workdir)
                if not (args.http_only or args.realtime_only):
                    try:
                        result["sync"] = await sync_scenarios(cfg, service)
                    except Exception as exc:
                        log(f"sync scenarios failed: {exc!r}")
                        result["sync"] = {"error": repr(exc)}
            finally:
                service.stop()
                floor.stop()
                receiver.stop()
                await redis.flushdb()
                await redis.aclose()
    result["targets"] = targets(result)
    result["finished_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    result["elapsed_s"] = time.monotonic() - started
    (out_dir / "results.json").write_text(json.dumps(result, indent=1))
    (out_dir / "results.md").write_text(markdown(result))
    if not (args.no_plots or cfg.smoke or args.realtime_only or args.sync_only):
        result["plots"] = plots(result, out_dir)
    log(f"done in {result['elapsed_s']:.0f}s: {out_dir / 'results.md'}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="seconds-long version")
    parser.add_argument("--profile", action="store_true", help="py-spy GET task and create task")
    parser.add_argument("--out", help="results directory (default bench/results)")
    parser.add_argument("--subscribers", help="comma-separated subscriber counts")
    parser.add_argument("--duration", type=int, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, help="alternating wrk rounds per target")
    parser.add_argument("--only", help="comma-separated HTTP scenarios (e.g. get_task)")
    parser.add_argument("--http-only", action="store_true", help="skip the real-time part")
    parser.add_argument("--realtime-only", action="store_true", help="skip the HTTP part")
    parser.add_argument("--sync-only", action="store_true", help="only the sync scenarios")
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
