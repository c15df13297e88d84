"""Settings read from the environment and `.env`, validated once at start-up."""

from __future__ import annotations

import ipaddress
import json
import sys
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

_SECRET_MIN_LENGTH = {"metrics_token": 16, "secret_key": 32}


class OidcProvider(BaseModel):
    """One OpenID Connect identity provider users may sign in with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    display_name: str = Field(min_length=1, max_length=60)
    issuer: str = Field(pattern=r"^https?://\S+$")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])


class Settings(BaseSettings):
    """Every knob the service has. Unset DATABASE_URL / REDIS_URL select the embedded mode."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user:pass@host/db). Unset: embedded SQLite.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL (redis://host:6379/0). Unset: in-process stand-in."
    )
    data_dir: Path = Field(
        default=Path("./data"), description="Where the embedded SQLite file lives."
    )
    session_idle_timeout_seconds: int = Field(
        default=24 * 3600, ge=1, description="A session ends after this long without use."
    )
    session_absolute_timeout_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=1,
        description="A session ends this long after login, used or not.",
    )
    cookie_secure: bool = Field(
        default=False,
        description="Mark cookies Secure (and name the session cookie `__Host-session`). "
        "Turn on behind HTTPS.",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed for CORS and WebSocket connections (JSON list or "
        "comma-separated). Same-origin requests are always allowed.",
    )
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxies (IP addresses or networks, comma-separated, or `*`) whose "
        "`X-Forwarded-For` / `X-Forwarded-Proto` are believed. Empty: these headers are "
        "ignored and the peer address is the client (throttles, logs, sessions).",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body accepted (bytes)."
    )
    request_body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A request body must arrive in full within this time, else 408: a slow "
        "or stalled upload cannot hold the server.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level for the JSON logs."
    )
    login_max_failures_per_minute: int = Field(
        default=5, ge=1, description="Failed logins per account and address per minute."
    )
    login_max_failures_per_hour: int = Field(
        default=100, ge=1, description="Failed logins per account per hour, from any address."
    )
    login_max_failures_per_ip_per_minute: int = Field(
        default=30, ge=1, description="Failed logins per client address per minute."
    )
    register_max_per_ip_per_minute: int = Field(
        default=10,
        ge=1,
        description="Registrations (accepted or not) per client address per minute: each "
        "costs an argon2 hash.",
    )
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
    db_pool_size: int = Field(
        default=20,
        ge=1,
        description="PostgreSQL connections per process, kept open; more concurrent "
        "requests wait for one.",
    )
    db_pool_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a request waits for a free PostgreSQL connection in a load "
        "spike before it is a 503.",
    )
    redis_max_connections: int = Field(
        default=64,
        ge=1,
        description="Redis connections per process (the pub/sub listener has its own). More "
        "concurrent Redis operations wait for one instead of failing.",
    )
    redis_pool_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a Redis operation waits for a free connection before it is a 503.",
    )
    shutdown_grace_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long in-flight requests get to finish on SIGTERM/SIGINT (rounded up "
        "to whole seconds; 0: not at all).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs pagination cursors (HMAC-SHA256); at least 32 characters. Unset: "
        "one is made on first start and kept in `DATA_DIR/secret_key`, which every process "
        "sharing DATA_DIR reads. Several machines must all be given the same value.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, `GET /metrics` requires `Authorization: Bearer <this token>`. "
        "Unset: /metrics is open (keep it off the public network).",
    )

    jobs_in_serve: bool = Field(
        default=True,
        description="Run the background job worker (mail, reminders) inside `serve`. Turn off when "
        "`taskmanager worker` runs as its own process.",
    )
    job_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often an idle job worker looks for due jobs."
    )
    job_max_attempts: int = Field(
        default=12,
        ge=1,
        description="Attempts before a failing job is given up and kept as failed (the delay "
        "doubles from 2 s up to an hour, with jitter: about 4 hours in all at 12).",
    )
    job_lease_seconds: int = Field(
        default=300,
        ge=5,
        description="A claimed job that is not finished within this time (its worker died) "
        "is taken again by another worker.",
    )
    reminder_sweep_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How often a job worker looks for due reminders (`due_soon` and "
        "`remind_at`): a reminder arrives at most this late. One sweep at a time across all "
        "workers. 0: no reminders are sent.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks reach loopback, private, link-local, unique-local and other "
        "non-public addresses (tests and local development only: it opens the server to SSRF).",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Connect and response timeout of one webhook delivery attempt. Keep it "
        "well under JOB_LEASE_SECONDS.",
    )
    webhook_retry_base_seconds: float = Field(
        default=10.0,
        gt=0,
        description="First delay before a failed webhook delivery is retried; it doubles per "
        "attempt, with jitter, up to an hour (a receiver's Retry-After wins).",
    )
    webhook_disable_after_seconds: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="An endpoint that keeps failing this long is disabled and the project's "
        "owner and admins are notified (the retries go on for all of it).",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="Mail server: smtp://user:pass@host:587 (STARTTLS when offered) or "
        "smtps://user:pass@host:465 (implicit TLS). Unset: mail is written as .eml files to "
        "MAIL_OUTBOX_DIR.",
    )
    smtp_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Connect and send timeout for the mail server."
    )
    mail_from: str = Field(
        default="Task Manager <noreply@localhost>",
        min_length=3,
        description="The From address of every mail.",
    )
    mail_outbox_dir: Path | None = Field(
        default=None,
        description="Where mail goes as .eml files when SMTP_URL is unset. Unset: "
        "DATA_DIR/outbox (data/outbox).",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address users reach the board at. Every link in a mail is built "
        "from it, never from a request's Host header.",
    )
    password_reset_ttl_minutes: int = Field(
        default=30, ge=1, description="How long a password reset link stays valid."
    )
    email_verification_ttl_hours: int = Field(
        default=48, ge=1, description="How long an e-mail verification link stays valid."
    )
    password_reset_max_per_email_per_hour: int = Field(
        default=5, ge=1, description="Password reset requests per e-mail address per hour."
    )
    password_reset_max_per_ip_per_hour: int = Field(
        default=30, ge=1, description="Password reset requests per client address per hour."
    )
    notification_mail_interval_seconds: int = Field(
        default=300,
        ge=1,
        description="At most one notification mail per user in this time: what comes "
        "meanwhile is grouped into the next mail.",
    )
    attachment_sweep_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="How often a job worker removes stored files that no attachment row "
        "names and that are over an hour old (left by a crash mid-upload). 0: only by "
        "`taskmanager attachments sweep`.",
    )
    notification_digest_sweep_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="How often a job worker runs the daily digest job (it mails each user "
        "once per day, from NOTIFICATION_DIGEST_HOUR_UTC on). 0: digests only by "
        "`taskmanager digest`.",
    )
    notification_digest_hour_utc: int = Field(
        default=7,
        ge=0,
        le=23,
        description="The hour (UTC) from which the periodic daily digest job mails each "
        "user who chose `digest: daily` (once per day); `taskmanager digest` mails at any hour.",
    )
    oidc_providers: list[OidcProvider] = Field(
        default_factory=list,
        description="OpenID Connect sign-in providers, a JSON list of {name, display_name, "
        "issuer, client_id, client_secret, scopes}. Register PUBLIC_BASE_URL"
        "/api/v1/auth/oidc/<name>/callback as the redirect URI at each.",
    )

    attachment_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1024,
        description="Largest file a task attachment may be (bytes); a larger upload is cut "
        "off with 413 while it streams, and nothing of it is kept.",
    )
    attachment_upload_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="An attachment upload must arrive in full within this time, else 408 "
        "(uploads have their own bound: REQUEST_BODY_TIMEOUT_SECONDS is for JSON bodies).",
    )
    attachments_dir: Path | None = Field(
        default=None,
        description="Where attachments are stored when S3_URL is unset. Unset: "
        "DATA_DIR/attachments (data/attachments). Every instance must see the same directory.",
    )
    s3_url: str | None = Field(
        default=None,
        description="Store attachments in S3-compatible object storage instead: the endpoint "
        "and bucket, e.g. https://s3.eu-west-1.amazonaws.com/my-bucket or "
        "http://127.0.0.1:9000/my-bucket (MinIO).",
    )
    s3_access_key_id: str | None = Field(
        default=None, description="Access key of S3_URL (unset: the environment's AWS_* chain)."
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="Secret key of S3_URL."
    )
    s3_region: str = Field(default="us-east-1", description="Region of S3_URL's bucket.")

    @field_validator("oidc_providers")
    @classmethod
    def _check_providers(cls, value: list[OidcProvider]) -> list[OidcProvider]:
        names = [p.name for p in value]
        if len(set(names)) != len(names):
            raise ValueError("provider names must be unique")
        for provider in value:
            if "openid" not in provider.scopes:
                raise ValueError(f"{provider.name}: scopes must include openid")
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    parsed = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"not a JSON list: {exc.msg}") from None
                return (
                    [str(item).rstrip("/") for item in parsed]
                    if isinstance(parsed, list)
                    else parsed
                )
            return [part.strip().rstrip("/") for part in text.split(",") if part.strip()]
        return value

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            if item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(f"{item!r} is not an IP address, a network or *") from None
        return value

    @field_validator("metrics_token", "secret_key")
    @classmethod
    def _check_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        minimum = _SECRET_MIN_LENGTH[str(info.field_name)]
        if len(value.get_secret_value()) < minimum:
            raise ValueError(f"must be at least {minimum} characters (or unset)")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        url = urlsplit(value.get_secret_value())
        if url.scheme not in {"smtp", "smtps"} or not url.hostname:
            raise ValueError("must look like smtp://user:pass@host:587 or smtps://host:465")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _check_public_base_url(cls, value: str) -> str:
        url = urlsplit(value.strip())
        if url.scheme not in {"http", "https"} or not url.netloc or url.query or url.fragment:
            raise ValueError("must be an http(s):// address such as https://tasks.example.com")
        return value.strip().rstrip("/")

    @field_validator("s3_url")
    @classmethod
    def _check_s3_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        url = urlsplit(value.strip())
        bucket = url.path.strip("/")
        if url.scheme not in {"http", "https"} or not url.netloc or not bucket or "/" in bucket:
            raise ValueError("must be http(s)://host[:port]/bucket")
        return value.strip().rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split("://", 1)[0]
        if scheme not in {"postgresql", "postgres", "postgresql+asyncpg", "sqlite+aiosqlite"}:
            raise ValueError("must start with postgresql:// (or sqlite+aiosqlite:// for tests)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.split("://", 1)[0] not in {"redis", "rediss", "unix"}:
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("webhook_timeout_seconds")
    @classmethod
    def _check_webhook_timeout(cls, value: float, info: ValidationInfo) -> float:
        # A delivery job must finish its attempt well within its lease, or a second worker
        # could take the job (and the endpoint) while the first still sends.
        lease = info.data.get("job_lease_seconds")
        if lease is not None and value * 2 >= lease:
            raise ValueError("must be less than half of JOB_LEASE_SECONDS")
        return value

    @property
    def embedded(self) -> bool:
        """True when either backend is the in-process stand-in: one process only."""
        return self.database_url is None or self.redis_url is None

    @cached_property
    def sqlalchemy_url(self) -> str:
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'taskmanager.db').resolve()}"
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url

    @property
    def outbox_dir(self) -> Path:
        return self.mail_outbox_dir or self.data_dir / "outbox"

    @property
    def attachment_dir(self) -> Path:
        return self.attachments_dir or self.data_dir / "attachments"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def session_cookie_name(self) -> str:
        # The __Host- prefix pins the cookie to this host, path / and HTTPS.
        return "__Host-session" if self.cookie_secure else "session"


def load_settings() -> Settings:
    """Settings from the environment, or exit 2 with one line per bad variable."""
    try:
        return Settings()
    except SettingsError as exc:  # a value the environment source itself could not parse
        print(f"taskmanager: invalid configuration\n  {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except ValidationError as exc:
        print("taskmanager: invalid configuration", file=sys.stderr)
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper() or "SETTINGS"
            value = error.get("input")
            shown = (
                f" (got {value!r})"
                if isinstance(value, str | int | float)
                and "URL" not in name
                and "TOKEN" not in name  # never echo a secret
                and "SECRET" not in name
                and "OIDC" not in name
                else ""
            )
            print(f"  {name}: {error['msg']}{shown}", file=sys.stderr)
        raise SystemExit(2) from None
