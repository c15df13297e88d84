"""Webhook endpoints (with their delivery cursor and lease) and the delivery log."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from taskmanager.db import Base, UUIDPrimaryKey, utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"


class WebhookEndpoint(UUIDPrimaryKey, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_project_created", "project_id", "created_at"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Event names, or ["*"] for every event.
    events: Mapped[list[str]] = mapped_column(JSONType)
    # The signing secret, AES-GCM encrypted with a key derived from SECRET_KEY (see
    # webhooks/secrets.py): a copy of the database alone cannot sign.
    secret_encrypted: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    # Why it was disabled: "manual", "gone" (the receiver answered 410) or "failing" (a
    # day of failures).
    disabled_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    # The seq of the last event handled (delivered, or skipped by the filter): deliveries
    # are derived from the event log after it, strictly in seq order.
    cursor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # When the failing head event may be tried again (None: now).
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Start of the current run of failures; a day of them disables the endpoint.
    failing_since: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The delivery job that holds the endpoint: one sender per endpoint at a time.
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint: its attempts so far and the last outcome."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_seq"),
        # The log, newest first, keyset paged on (created_at, id).
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
    )

    # uuid5 of (endpoint, seq): the same on every attempt, so `webhook-id` stays stable
    # even for an attempt whose outcome a crash kept from being recorded.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_seq: Mapped[int] = mapped_column(BigInteger)
    event_name: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    response_status: Mapped[int | None] = mapped_column(default=None)
    duration_ms: Mapped[int | None] = mapped_column(default=None)
    # At most 1 KiB of the receiver's answer; longer bodies are cut, never stored whole.
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
