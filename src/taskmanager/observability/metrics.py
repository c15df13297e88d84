"""The service's Prometheus metrics, correct with one process or with `--workers N`.

With several workers every process writes its values to files in PROMETHEUS_MULTIPROC_DIR
(a fresh directory that `taskmanager serve` makes before the workers start) and a scrape
of any worker merges them all. The environment variable must be set before
prometheus_client is imported, which `serve` guarantees: workers are spawned, not forked.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
from typing import Any

from fastapi import APIRouter, FastAPI
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Mount
from starlette.types import Scope

# The *_created series (one per label set) double the output and no dashboard uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"

REQUESTS = Counter(
    "taskmanager_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_DURATION = Histogram(
    "taskmanager_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response (to the start, for an event stream).",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# livesum: the open connections of the workers that are alive, added up.
LIVE_CONNECTIONS = Gauge(
    "taskmanager_realtime_connections",
    "Open live connections (authenticated WebSockets, SSE streams).",
    ["transport"],
    multiprocess_mode="livesum",
)
EVENTS_PUBLISHED = Counter(
    "taskmanager_events_published", "Events published to Redis after their commit."
)
EVENTS_RECEIVED = Counter(
    "taskmanager_events_received", "Events this process received from Redis pub/sub."
)
EVENTS_DELIVERED = Counter(
    "taskmanager_events_delivered",
    "Events queued to a live client (live or replayed from the log), by transport.",
    ["transport"],
)
EVENTS_REPLAYED = Counter(
    "taskmanager_events_replayed",
    "Events read back from the database log for a live client (resume or catch-up).",
)
EVENTS_DROPPED = Counter(
    "taskmanager_events_dropped",
    "Events not pushed: the client's queue was full or it was closing (it resumes from the "
    "log), or publishing to Redis failed (subscribers catch up from the log).",
    ["reason"],
)
EVENTS_PRUNED = Counter(
    "taskmanager_events_pruned", "Events deleted from the log by the retention job."
)
RETENTION_ROUNDS = Counter(
    "taskmanager_event_retention_rounds",
    "Rounds of the retention job, by outcome: done, skipped (another instance held the "
    "lock) or failed (logged; retried next round).",
    ["outcome"],
)
SLOW_CONSUMERS_CLOSED = Counter(
    "taskmanager_realtime_slow_consumers_closed",
    "Live clients closed (1013) because their send queue overflowed.",
)
CONNECTIONS_REFUSED = Counter(
    "taskmanager_realtime_connections_refused",
    "Live connections refused over a cap (REALTIME_MAX_CONNECTIONS_PER_USER: per_user, "
    "REALTIME_MAX_CONNECTIONS: per_process), by transport.",
    ["transport", "reason"],
)
DB_POOL_IN_USE = Gauge(
    "taskmanager_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
REDIS_ERRORS = Counter(
    "taskmanager_redis_errors",
    "Redis commands that failed, by the part of the service that sent them.",
    ["component"],
)

for _transport in ("websocket", "sse"):  # present (as 0) before the first connection
    LIVE_CONNECTIONS.labels(_transport)
    EVENTS_DELIVERED.labels(_transport)
    for _cap in ("per_user", "per_process"):
        CONNECTIONS_REFUSED.labels(_transport, _cap)
for _reason in ("queue_full", "closing", "publish_failed"):
    EVENTS_DROPPED.labels(_reason)
for _component in ("request", "publish", "realtime", "websocket", "presence"):
    REDIS_ERRORS.labels(_component)


# Since FastAPI 0.137 an included router is matched lazily and scope["route"] is the
# router's own route object, whose path lacks the include prefix: the full templates are
# recorded here when the routers are included (routers are module-level, so ids are stable).
_INCLUDED: dict[int, str] = {}


def include_router(app: FastAPI, router: APIRouter, prefix: str = "") -> None:
    """`app.include_router`, remembering each route's full template for the labels."""
    app.include_router(router, prefix=prefix)
    for route in router.routes:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            _INCLUDED[id(route)] = prefix + path


def route_template(scope: Scope) -> str:
    """The matched route's template (never the raw path: one series per route, not per id)."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED_ROUTE
    included = _INCLUDED.get(id(route))
    if included is not None:
        return included
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED_ROUTE
    if isinstance(route, Mount):
        return f"{path}/{{path}}"
    return path or "/"


# The labelled children of one request series, found once: `labels()` takes a lock and
# builds its key on every call, and this runs for every request. Bounded like the series.
_REQUEST_SERIES: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    series = _REQUEST_SERIES.get(key)
    if series is None:
        labels = (method, route, str(status))
        series = _REQUEST_SERIES[key] = (
            REQUESTS.labels(*labels),
            REQUEST_DURATION.labels(*labels),
        )
    series[0].inc()
    series[1].observe(seconds)


def instrument_engine(engine: AsyncEngine) -> None:
    """Count pooled connections in use through the pool's own checkout/checkin events."""

    # Paired through the connection record: SQLAlchemy may check in a connection it never
    # reported checked out (its first connect), which must not take the gauge below zero.
    def on_checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        record.info["_tm_in_use"] = True
        DB_POOL_IN_USE.inc()

    def on_checkin(_dbapi: Any, record: Any) -> None:
        if record is not None and record.info.pop("_tm_in_use", False):
            DB_POOL_IN_USE.dec()

    event.listen(engine.sync_engine.pool, "checkout", on_checkout)
    event.listen(engine.sync_engine.pool, "checkin", on_checkin)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition() -> bytes:
    """The text exposition: this process's registry, or every worker's merged."""
    path = multiprocess_dir()
    if path is None:
        return generate_latest(REGISTRY)
    _forget_dead_processes(path)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def process_exiting() -> None:
    """A worker's live gauges stop counting once it exits (uvicorn offers no parent hook)."""
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]


_LIVE_FILE_RE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def _forget_dead_processes(path: str) -> None:
    """Drop the live gauges of workers that died without a clean exit (killed, crashed)."""
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        found = _LIVE_FILE_RE.search(name)
        if found is None:
            continue
        pid = int(found.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, under another user
