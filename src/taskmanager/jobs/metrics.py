"""Prometheus metrics of the job queue."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS_QUEUED = Gauge(
    "taskmanager_jobs_queued",
    "Jobs waiting or running (due now or later) by kind, as last counted by a worker.",
    ["kind"],
    multiprocess_mode="livemax",
)
JOBS_FAILED_TOTAL = Gauge(
    "taskmanager_jobs_given_up",
    "Jobs kept as failed after their last attempt by kind, as last counted by a worker.",
    ["kind"],
    multiprocess_mode="livemax",
)
JOB_LATENCY = Histogram(
    "taskmanager_job_latency_seconds",
    "Time from when a job was due to when a worker started it, by kind.",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0),
)
JOB_DURATION = Histogram(
    "taskmanager_job_duration_seconds",
    "Time a job's handler ran, by kind.",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0),
)
JOB_RUNS = Counter(
    "taskmanager_job_runs",
    "Job attempts by kind and outcome: done, retry (failed, will run again), failed (given "
    "up; for a periodic job: this run failed, the next one is scheduled).",
    ["kind", "outcome"],
)
