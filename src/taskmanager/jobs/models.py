"""The jobs table: one row per job that is due, running or given up."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from taskmanager.db import Base, UUIDPrimaryKey, utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")

QUEUED = "queued"
FAILED = "failed"


class Job(UUIDPrimaryKey, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # What the worker's claim reads: queued jobs in due order.
        Index("ix_jobs_status_run_at", "status", "run_at"),
        # At most one waiting job per dedupe key (jobs.queue.enqueue's `key`). Partial:
        # most jobs have no key, and only waiting ones keep theirs (the claim clears it).
        Index(
            "uq_jobs_waiting_key",
            "key",
            unique=True,
            postgresql_where=text("key IS NOT NULL"),
            sqlite_where=text("key IS NOT NULL"),
        ),
    )

    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # queued (waiting or running) | failed (gave up after JOB_MAX_ATTEMPTS; kept for the
    # operator to inspect).
    # A job that succeeds is deleted.
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    run_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    # The lease of the worker running it; a job whose lease ran out (the worker died) is
    # claimed again.
    locked_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The dedupe key while the job waits to start; the claim clears it, so that work which
    # arrives while a job runs queues the next one instead of being folded into this run.
    key: Mapped[str | None] = mapped_column(String(200), default=None)
