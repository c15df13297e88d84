"""Settings of the live side: connections, their caps, presence and the event log's retention."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RealtimeSettings(BaseModel):
    """WebSockets, SSE, presence, and how long the event log they resume from is kept."""

    event_retention_days: int = Field(
        default=30, ge=1, description="Events older than this may be pruned..."
    )
    event_retention_min_events: int = Field(
        default=1000, ge=0, description="...but the latest this many per project are always kept."
    )
    event_retention_interval_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="How often each instance prunes the event log (with jitter; the first "
        "round comes within 5 minutes of start; one instance at a time). 0: never.",
    )
    event_retention_batch_size: int = Field(
        default=1000,
        ge=1,
        description="Events deleted per transaction while pruning: short locks, however "
        "large the backlog.",
    )
    realtime_send_queue_size: int = Field(
        default=256,
        ge=8,
        description="Messages a live client may have unsent before it is "
        "closed with 1013 (it then resumes with after_seq).",
    )
    realtime_max_subscriptions: int = Field(
        default=100, ge=1, description="Projects one WebSocket may follow at once."
    )
    realtime_max_connections_per_user: int = Field(
        default=20,
        ge=1,
        description="Live connections (WebSockets and SSE streams together) one user may "
        "hold across all instances (leases in Redis); more are refused (WebSocket close "
        "4429, SSE 429).",
    )
    realtime_max_connections: int = Field(
        default=5000,
        ge=1,
        description="Live connections one process holds at most, all users together; "
        "keep `ulimit -n` above it.",
    )
    realtime_check_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often live connections are re-checked against the "
        "database and Redis (missed events, membership, revoked credentials).",
    )
    presence_ttl_seconds: float = Field(
        default=25.0,
        gt=0,
        description="A WebSocket's presence lapses this long after its last heartbeat "
        "(a ping or presence message), plus up to a second's sweep; keep it above the "
        "clients' ping interval (the board pings every 15 s).",
    )
    presence_max_messages: int = Field(
        default=10,
        ge=1,
        description="Presence messages one WebSocket may send per 10 seconds; more are "
        "answered with an error `rate_limited` (the socket stays open).",
    )
    ws_max_message_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest WebSocket message a client may send."
    )
    sse_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="Interval of SSE comment heartbeats that keep proxies open."
    )
