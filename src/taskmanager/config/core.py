"""Settings every part of the service uses: where its data lives, HTTP, sessions, throttles,
pools, secrets."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import NoDecode

_SECRET_MIN_LENGTH = {"metrics_token": 16, "secret_key": 32}


class CoreSettings(BaseModel):
    """The database, Redis, the data directory and the HTTP side."""

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
